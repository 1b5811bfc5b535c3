#include <doctest/doctest.h>

#include <cmath>

#include "gpumm/supply.hpp"

using namespace gpumm;

namespace {
Date d(const char* s) { return parse_date(s).value; }

Generation ramped() {
  Generation g;
  g.id.assign(1, 'x');
  g.it_kw_per_gpu = 1.0;
  g.first_shipment = d("2024-01-01");
  g.ramp = {12, Duration::Unit::month};    // 2024-01-01 .. 2025-01-01: 366 days
  g.peak_units_per_year = 365000;          // 1000 per day in a 365-day year
  g.end_of_production = d("2025-07-01");
  g.ramp_down = {6, Duration::Unit::month};  // 2025-07-01 .. 2026-01-01: 184 days
  return g;
}
}  // namespace

TEST_CASE("supply: production on the plateau is the yearly rate over actual days") {
  Generation g = ramped();
  CHECK(production_units(g, d("2025-01-01"), d("2025-02-01")) == doctest::Approx(31000.0));
  CHECK(production_units(g, d("2025-02-01"), d("2025-03-01")) == doctest::Approx(28000.0));
}

TEST_CASE("supply: production ramps linearly up and down") {
  Generation g = ramped();
  // first month of 2024: a triangle under a line reaching 31/366 of the 2024 daily peak
  const double per_day_2024 = 365000.0 / 366.0;
  CHECK(production_units(g, d("2024-01-01"), d("2024-02-01")) ==
        doctest::Approx(0.5 * 31.0 * (31.0 / 366.0) * per_day_2024));
  // the whole ramp-down is a triangle of 184 days at 1000 per day
  CHECK(production_units(g, d("2025-07-01"), d("2026-01-01")) == doctest::Approx(92000.0));
  CHECK(production_units(g, d("2026-01-01"), d("2026-06-01")) == 0.0);
  CHECK(production_units(g, d("2023-01-01"), d("2024-01-01")) == 0.0);
}

TEST_CASE("supply: node capacity grows by expansions after their lag, at a capped rate") {
  UpstreamNode n;
  n.capacity_per_year = 1200;
  n.expansions.push_back({d("2024-01-01"), 1200, {3, Duration::Unit::month}});
  Calendar cal(d("2024-01-01"), d("2024-12-31"), Step::month);
  SUBCASE("uncapped: the expansion lands whole in April") {
    auto cap = node_capacity_per_period(n, cal);
    CHECK(cap[0] == doctest::Approx(1200.0 * 31 / 366));
    CHECK(cap[2] == doctest::Approx(1200.0 * 31 / 366));
    CHECK(cap[3] == doctest::Approx(2400.0 * 30 / 366));
  }
  SUBCASE("capped at +50% a year") {
    n.max_growth_per_year = 0.5;
    auto cap = node_capacity_per_period(n, cal);
    const double april = 1200.0 * std::pow(1.5, 30.0 / 366);
    const double may = april * std::pow(1.5, 31.0 / 366);
    CHECK(cap[3] == doctest::Approx(april * 30 / 366));
    CHECK(cap[4] == doctest::Approx(may * 31 / 366));
  }
}

TEST_CASE("supply: scarce output is shared pro-rata and never above a claim") {
  std::vector<double> claims{30, 60, 10}, out(3);
  CHECK(allocate_pro_rata(60, claims, out) == 60);
  CHECK(out == std::vector<double>{18, 36, 6});
  CHECK(allocate_pro_rata(500, claims, out) == 100);
  CHECK(out == claims);
  CHECK(allocate_pro_rata(0, claims, out) == 0);
  CHECK(out == std::vector<double>{0, 0, 0});
}

TEST_CASE("supply: usable IT power is the smaller of energized power over PUE and built shells") {
  CellDeployment a = usable_it_power(125, 1.25, 80);
  CHECK(a.usable_it_mw == 80);
  CHECK(a.power_binding == Binding::building);
  CellDeployment b = usable_it_power(125, 1.25, 120);
  CHECK(b.usable_it_mw == 100);
  CHECK(b.power_binding == Binding::power);
}

TEST_CASE("supply: Leontief deployment, best H100e per kW first, names the binding input") {
  std::vector<Generation> gens(2);
  gens[0].it_kw_per_gpu = 1.0;  // old
  gens[0].ports_per_gpu = 1.0;
  gens[1].it_kw_per_gpu = 2.0;  // new
  gens[1].ports_per_gpu = 1.0;
  const int order[] = {1, 0};
  std::vector<double> installed{50000, 40000}, deployed(2), stranded(2);
  std::vector<Binding> by(2);
  CellDeployment cell{100, Binding::power};  // 100 MW = 100,000 kW
  SUBCASE("power runs out first") {
    deploy_cell(gens, order, cell, 60000, installed, deployed, stranded, by);
    // new: min(40000, 50000 by power, 60000 by ports) = 40000, leaving 20000 kW and 20000 ports
    CHECK(deployed[1] == 40000);
    CHECK(stranded[1] == 0);
    CHECK(by[1] == Binding::none);
    CHECK(deployed[0] == 20000);
    CHECK(stranded[0] == 30000);
    CHECK(by[0] == Binding::power);
  }
  SUBCASE("ports run out first") {
    deploy_cell(gens, order, cell, 50000, installed, deployed, stranded, by);
    CHECK(deployed[0] == 10000);
    CHECK(stranded[0] == 40000);
    CHECK(by[0] == Binding::network);
  }
  SUBCASE("GPUs committed to contracts run first") {
    // 30,000 old committed: 30,000 kW to them; new then gets min(40000, 70,000 kW / 2 kW) =
    // 35,000 (5,000 stranded for power); the other 20,000 old find no power left
    const std::vector<double> committed{30000, 0};
    deploy_cell(gens, order, cell, 1e9, installed, deployed, stranded, by, committed);
    CHECK(deployed[0] == 30000);
    CHECK(stranded[0] == 20000);
    CHECK(by[0] == Binding::power);
    CHECK(deployed[1] == 35000);
    CHECK(stranded[1] == 5000);
    CHECK(by[1] == Binding::power);
  }
  SUBCASE("a commitment beyond what is installed runs what is installed") {
    const std::vector<double> committed{90000, 0};
    deploy_cell(gens, order, cell, 1e9, installed, deployed, stranded, by, committed);
    CHECK(deployed[0] == 50000);
    CHECK(stranded[0] == 0);
    CHECK(by[0] == Binding::none);
    CHECK(deployed[1] == 25000);  // 50,000 kW left, 2 kW each
  }
  SUBCASE("everything fits with room to spare: all deployed, nothing binds") {
    deploy_cell(gens, order, CellDeployment{200, Binding::power}, 1e9, installed, deployed, stranded, by);
    CHECK(deployed == installed);
    CHECK(stranded == std::vector<double>{0, 0});
    CHECK(by == std::vector<Binding>{Binding::none, Binding::none});
  }
  SUBCASE("everything fits exactly, power and ports to the last unit: all deployed, nothing binds") {
    // 40,000 new x 2 kW + 50,000 old x 1 kW = 130,000 kW; 90,000 ports
    deploy_cell(gens, order, CellDeployment{130, Binding::power}, 90000, installed, deployed, stranded, by);
    CHECK(deployed == installed);
    CHECK(stranded == std::vector<double>{0, 0});
    CHECK(by == std::vector<Binding>{Binding::none, Binding::none});
  }
  SUBCASE("one GPU more than fits is stranded, for the input that ran out") {
    deploy_cell(gens, order, CellDeployment{130, Binding::power}, 89999, installed, deployed, stranded, by);
    CHECK(deployed[1] == 40000);
    CHECK(deployed[0] == 49999);
    CHECK(stranded[0] == 1);
    CHECK(by[0] == Binding::network);
  }
  SUBCASE("a building shortage is reported as building") {
    deploy_cell(gens, order, CellDeployment{10, Binding::building}, 1e9, installed, deployed, stranded, by);
    CHECK(deployed[1] == 5000);
    CHECK(deployed[0] == 0);
    CHECK(by[1] == Binding::building);
    CHECK(by[0] == Binding::building);
  }
  for (int g = 0; g < 2; ++g) {
    CHECK(deployed[static_cast<size_t>(g)] <= installed[static_cast<size_t>(g)]);
    CHECK(deployed[static_cast<size_t>(g)] + stranded[static_cast<size_t>(g)] ==
          doctest::Approx(installed[static_cast<size_t>(g)]));
  }
}

TEST_CASE("supply: binding inputs have names") {
  CHECK(to_string(Binding::network) == "network");
  CHECK(to_string(Binding::building) == "building");
}
