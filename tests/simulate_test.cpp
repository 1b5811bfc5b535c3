#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "gpumm/scenario.hpp"
#include "gpumm/simulate.hpp"

using namespace gpumm;

namespace {

// Of per-period records with a `last` day, the last one ending on or before `d` (the first
// when none does).
template <class Record>
const Record& last_ending_by(const std::vector<Record>& records, Date d) {
  const Record* found = &records.front();
  for (const Record& r : records)
    if (!(d < r.last)) found = &r;
  return *found;
}

// One firm in one region, one generation with ample production; `extra` adds firm keys.
// The run warned once, at its start, of `code` with `message`.
void check_only_warning(const RunResult& r, const std::string& code, const std::string& message) {
  REQUIRE(r.warnings.size() == 1);
  CHECK(r.warnings[0].period == 0);
  CHECK(r.warnings[0].code == code);
  CHECK(r.warnings[0].message == message);
}

std::string one_firm(const std::string& step, const std::string& start, const std::string& end,
                     const std::string& firm_extra, const std::string& gen_extra = "",
                     const std::string& region_extra = "", const std::string& top_extra = "") {
  return "start: " + start + "\nend: " + end + "\nstep: " + step + "\n" + top_extra +
         "generations:\n"
         "  g1: {it_power: 1 kW, first_shipment: 2020-01-01, ramp: 0mo, peak_units_per_year: 1e8, "
         "price: $10000, lead_time: 3mo" + gen_extra + "}\n"
         "regions:\n"
         "  r1: {pue: 1.25" + region_extra + "}\n"
         "firms:\n"
         "  f1:\n"
         "    regions: {r1: 1.0}\n" + firm_extra;
}

Scenario load(const std::string& yaml) { return load_scenario_text(yaml, "test.yaml"); }

}  // namespace

TEST_CASE("simulate: a power tranche arrives exactly at commit + lead time, for every step") {
  struct Case {
    const char* step;
    const char* start;
    const char* lead;
    int commit_period;
    int lead_periods;
  };
  for (Case c : {Case{"month", "2024-01", "6mo", 2, 6}, Case{"quarter", "2024-Q1", "2q", 1, 2},
                 Case{"week", "2024-01-01", "6w", 3, 6}, Case{"month", "2024-01", "1y", 0, 12}}) {
    CAPTURE(c.step);
    Step step;
    parse_step(c.step, step);
    Calendar steps(parse_date(c.start).value, parse_date("2027-12-31").value, step);
    const std::string commit = to_iso(steps[c.commit_period].start);
    Scenario s = load(one_firm(c.step, c.start, "2027-12-31",
                               "    builds: [{region: r1, power: 100 MW, commit: " + commit +
                                   ", lead_time: " + c.lead + ", build_time: 0d, stage: operational}]\n"));
    RunResult r = simulate(s);
    const int arrive = c.commit_period + c.lead_periods;
    CHECK(r.periods[static_cast<size_t>(arrive - 1)].energized_mw == 0.0);
    CHECK(r.periods[static_cast<size_t>(arrive)].energized_mw == 100.0);
  }
}

TEST_CASE("simulate: an order is delivered after the generation's lead time") {
  Scenario s = load(one_firm("month", "2024-01", "2024-12-31",
                             "    power_at_start: {r1: 1 GW}\n"
                             "    orders: [{generation: g1, units: 1000, date: 2024-02-01}]\n"));
  RunResult r = simulate(s);
  CHECK(r.periods[1].ordered_gpus == 1000);
  CHECK(r.periods[1].on_order_gpus == 1000);
  CHECK(r.periods[3].delivered_gpus == 0);
  CHECK(r.periods[4].delivered_gpus == 1000);
  CHECK(r.periods[4].installed_gpus == 1000);  // 2024-02-01 + 3mo = 2024-05-01, period 4
  CHECK(r.periods[3].installed_gpus == 0);
}

TEST_CASE("simulate: orders due before the start join the first period and are warned of") {
  // lead time 3mo: dated 2023-09-01, due 2023-12-01 (before the start); dated 2023-11-01, due
  // 2024-02-01 (after it): only the first is warned of, and both are ordered in period 0
  Scenario s = load(one_firm("month", "2024-01", "2024-12-31",
                             "    power_at_start: {r1: 1 GW}\n"
                             "    orders: [{generation: g1, units: 1000, date: 2023-09-01},\n"
                             "             {generation: g1, units: 500, date: 2023-11-01}]\n"));
  RunResult r = simulate(s);
  CHECK(r.periods[0].ordered_gpus == 1500);
  check_only_warning(r, "orders_before_start",
                     "orders for 1000 GPUs (the first dated 2023-09-01) fall due before the start, 2024-01-01: they join the first "
                     "period's backlog and wait for production then; a scenario that starts after its orders would give those "
                     "GPUs as fleet_at_start");
  // nothing lost: all 1,500 arrive within the year
  CHECK(r.periods.back().installed_gpus == 1500);
  // due at the start itself is not before it
  Scenario on_time = load(one_firm("month", "2024-01", "2024-12-31",
                                   "    power_at_start: {r1: 1 GW}\n"
                                   "    orders: [{generation: g1, units: 1000, date: 2023-10-01}]\n"));
  CHECK(simulate(on_time).warnings.empty());
}

TEST_CASE("simulate: an order spread over a quarter is placed month by month") {
  Scenario s = load(one_firm("month", "2024-01", "2024-12-31",
                             "    power_at_start: {r1: 1 GW}\n"
                             "    orders: [{generation: g1, units: 910, date: 2024-01-01, over: 1q}]\n"));
  RunResult r = simulate(s);
  // January 31, February 29 and March 31 of the quarter's 91 days
  CHECK(r.periods[0].ordered_gpus == doctest::Approx(310));
  CHECK(r.periods[1].ordered_gpus == doctest::Approx(290));
  CHECK(r.periods[2].ordered_gpus == doctest::Approx(310));
  CHECK(r.periods[5].installed_gpus == doctest::Approx(910));
}

TEST_CASE("simulate: scarce production is shared pro-rata to backlog, the rest waits") {
  // 36,500 a year in 2025 is exactly 100 a day, 700 a week
  std::string yaml =
      "start: 2025-01-06\nend: 2025-03-31\nstep: week\n"
      "generations:\n"
      "  g1: {it_power: 1 kW, first_shipment: 2020-01-01, ramp: 0mo, peak_units_per_year: 36500, price: $1, lead_time: 2w}\n"
      "regions:\n  r1: {}\n"
      "firms:\n"
      "  a: {regions: {r1: 1.0}, power_at_start: {r1: 1 GW}, orders: [{generation: g1, units: 600, date: 2025-01-06}]}\n"
      "  b: {regions: {r1: 1.0}, power_at_start: {r1: 1 GW}, orders: [{generation: g1, units: 800, date: 2025-01-06}]}\n";
  Scenario s = load(yaml);
  std::vector<std::vector<double>> installed, backlog;
  simulate(s, [&](int, const State& st, const PeriodSummary&) {
    installed.push_back({st.installed[0], st.installed[1]});
    backlog.push_back({st.backlog[0], st.backlog[1]});
  });
  // due in week 2: 1400 wanted, 700 made -> 300 and 400, the rest next week
  CHECK(installed[1] == std::vector<double>{0, 0});
  CHECK(installed[2][0] == doctest::Approx(300));
  CHECK(installed[2][1] == doctest::Approx(400));
  CHECK(backlog[2][0] == doctest::Approx(300));
  CHECK(backlog[2][1] == doctest::Approx(400));
  CHECK(installed[3][0] == doctest::Approx(600));
  CHECK(installed[3][1] == doctest::Approx(800));
  CHECK(backlog[3][0] == doctest::Approx(0));
}

TEST_CASE("simulate: the binding input of stranded GPUs is named") {
  SUBCASE("power: not enough energized MW") {
    Scenario s = load(one_firm("month", "2024-01", "2024-03-31",
                               "    power_at_start: {r1: 1.25 MW}\n    fleet_at_start: {g1: 3000}\n"));
    RunResult r = simulate(s);
    CHECK(r.periods[0].deployed_gpus == doctest::Approx(1000));  // 1.25 MW / 1.25 = 1 MW of IT
    CHECK(r.periods[0].stranded_power_gpus == doctest::Approx(2000));
  }
  SUBCASE("building: power energized before the shells are built") {
    Scenario s = load(one_firm("month", "2024-01", "2024-12-31",
                               "    fleet_at_start: {g1: 10000}\n"
                               "    builds: [{region: r1, power: 12.5 MW, commit: 2024-01-01, lead_time: 2mo, build_time: 6mo, stage: operational}]\n"));
    RunResult r = simulate(s);
    CHECK(r.periods[3].energized_mw == doctest::Approx(12.5));
    CHECK(r.periods[3].stranded_building_gpus == doctest::Approx(10000));
    CHECK(r.periods[6].deployed_gpus == doctest::Approx(10000));
    CHECK(r.periods[6].stranded_gpus == 0);
  }
  SUBCASE("network: ports arrive later than GPUs") {
    Scenario s = load(one_firm("month", "2024-01", "2024-12-31",
                               "    power_at_start: {r1: 1 GW}\n"
                               "    orders: [{generation: g1, units: 1000, date: 2024-01-01}]\n",
                               "", "", "network: {lead_time: 6mo}\n"));
    RunResult r = simulate(s);
    CHECK(r.periods[3].installed_gpus == doctest::Approx(1000));
    CHECK(r.periods[3].stranded_network_gpus == doctest::Approx(1000));
    CHECK(r.periods[6].stranded_gpus == 0);
  }
}

TEST_CASE("simulate: GPUs retire at the end of their useful life, with their ports") {
  Scenario s = load(one_firm("month", "2024-01", "2026-12-31",
                             "    power_at_start: {r1: 1 GW}\n"
                             "    orders: [{generation: g1, units: 500, date: 2024-01-01}]\n",
                             ", useful_life: 1y"));
  std::vector<double> ports;
  RunResult r = simulate(s, [&](int, const State& st, const PeriodSummary&) { ports.push_back(st.ports[0]); });
  CHECK(r.periods[14].installed_gpus == 500);  // delivered April 2024 (period 3)
  CHECK(r.periods[15].installed_gpus == 0);    // retired April 2025 (period 15)
  CHECK(r.periods[15].retired_gpus == 500);
  CHECK(ports[14] == 500);
  CHECK(ports[15] == 0);
}

TEST_CASE("simulate: the interconnect cap energizes at most its share per period, pro-rata") {
  // 3650 MW a year is 10 MW a day: 310 MW in January 2025
  std::string yaml =
      "start: 2025-01\nend: 2025-06-30\n"
      "generations:\n  g1: {it_power: 1 kW, first_shipment: 2020-01-01, peak_units_per_year: 1}\n"
      "regions:\n  r1: {interconnect_cap: 3650 MW/y}\n"
      "firms:\n"
      "  a: {regions: {r1: 1.0}, builds: [{power: 300 MW, commit: 2024-01-01, lead_time: 12mo, stage: operational}]}\n"
      "  b: {regions: {r1: 1.0}, builds: [{power: 100 MW, commit: 2024-01-01, lead_time: 12mo, stage: operational}]}\n";
  Scenario s = load(yaml);
  std::vector<std::vector<double>> energized;
  RunResult r = simulate(s, [&](int, const State& st, const PeriodSummary&) {
    energized.push_back({st.energized_mw[0], st.energized_mw[1]});
  });
  CHECK(r.periods[0].energized_mw == doctest::Approx(310));
  CHECK(energized[0][0] == doctest::Approx(232.5));  // 3/4 of the slots to the 300 MW firm
  CHECK(energized[0][1] == doctest::Approx(77.5));
  CHECK(r.periods[0].grid_queue_mw == doctest::Approx(90));
  CHECK(r.periods[1].energized_mw == doctest::Approx(400));
  CHECK(r.periods[1].grid_queue_mw == doctest::Approx(0));
}

TEST_CASE("simulate: a build without a region is split by the firm's region weights") {
  // 100 MW committed 2024-01-01 with a 6-month lead: nothing in June, 25 MW and 75 MW in July.
  const std::string yaml =
      "start: 2024-01\nend: 2024-12-31\nstep: month\n"
      "generations:\n"
      "  g1: {it_power: 1 kW, first_shipment: 2020-01-01, ramp: 0mo, peak_units_per_year: 1e8, "
      "price: $10000, lead_time: 3mo}\n"
      "regions:\n  r1: {pue: 1.25}\n  r2: {pue: 1.25}\n"
      "firms:\n  f1:\n    regions: {r1: 0.25, r2: 0.75}\n"
      "    builds: [{power: 100 MW, commit: 2024-01-01, lead_time: 6mo, build_time: 0d, stage: operational}]\n";
  std::vector<std::vector<double>> mw;  // per period, per cell (firm f1: cells r1, r2)
  simulate(load(yaml), [&](int, const State& st, const PeriodSummary&) { mw.push_back(st.energized_mw); });
  REQUIRE(mw.size() == 12);
  CHECK(mw[5] == std::vector<double>{0.0, 0.0});
  CHECK(mw[6] == std::vector<double>{25.0, 75.0});
  CHECK(mw[11] == std::vector<double>{25.0, 75.0});
}

TEST_CASE("simulate: a build counts at its stage's completion probability") {
  std::string firm = "    builds: [{region: r1, power: 100 MW, commit: 2023-01-01, lead_time: 6mo, stage: announced}]\n";
  SUBCASE("expected pipeline") {
    RunResult r = simulate(load(one_firm("month", "2024-01", "2024-03-31", firm)));
    CHECK(r.periods[0].energized_mw == doctest::Approx(30));  // 100 MW x 0.3
  }
  SUBCASE("sampled pipeline: each build completes or not, drawn from the seed") {
    std::string many;
    for (int i = 0; i < 40; ++i)
      many += "      - {region: r1, power: 1 MW, commit: 2023-01-01, lead_time: 6mo, stage: permitted}\n";
    auto energized = [&](int seed) {
      Scenario s = load(one_firm("month", "2024-01", "2024-03-31", "    builds:\n" + many, "", "",
                                 "pipeline: sampled\nseed: " + std::to_string(seed) + "\n"));
      return simulate(s).periods[0].energized_mw;
    };
    const double a = energized(1), b = energized(2);
    CHECK(a == std::floor(a));  // whole builds only
    CHECK(a == energized(1));   // same seed, same draw
    CHECK(a != b);              // another seed, other draws
    CHECK(a > 10);              // 40 draws at p = 0.6
    CHECK(a < 38);
  }
}

TEST_CASE("simulate: capex buys GPUs at their price, spread over the year by days") {
  Scenario s = load(one_firm("month", "2025-01", "2025-12-31",
                             "    power_at_start: {r1: 1 GW}\n"
                             "    capex: {2025: $365M}\n"
                             "    capex_split: {gpus: 0.5, facilities: 0, network: 0}\n"
                             "    family_mix: {g1: 1.0}\n"));
  RunResult r = simulate(s);
  // $182.5M a year is $0.5M a day; January: $15.5M at $10,000 + 1 port x $1,500 each
  CHECK(r.periods[0].capex_spent_usd == doctest::Approx(15.5e6));
  CHECK(r.periods[0].ordered_gpus == doctest::Approx(15.5e6 / 11500));
  CHECK(r.periods[1].capex_spent_usd == doctest::Approx(14.0e6));
}

TEST_CASE("simulate: years of the run without capex after a firm's first are warned of, and spend nothing") {
  // 2024-2028 by quarters; capex given for 2025 and 2027 only: 2024 is before the plan (no
  // warning: a firm may start spending later), 2026 is skipped and 2028 is past the plan's end
  const std::string firm = "    power_at_start: {r1: 1 GW}\n"
                           "    capex: {2025: $3B, 2027: $5B}\n    family_mix: {g1: 1.0}\n";
  Scenario s = load(one_firm("quarter", "2024-Q1", "2028-12-31", firm));
  const std::vector<MissingCapex> missing = missing_capex(s, Calendar(s.start, s.end, s.step));
  REQUIRE(missing.size() == 2);
  CHECK(missing[0].year == 2026);
  CHECK(missing[1].year == 2028);
  RunResult r = simulate(s);
  check_only_warning(r, "capex_missing",
                     "years of the run without capex, which spend nothing: f1 2026, 2028 (after a firm's first year of capex, a year "
                     "it does not give is $0: give it, or $0 where none is meant)");
  // the quarters of 2026 and 2028 spend nothing; those of 2025 and 2027 do
  for (const PeriodSummary& p : r.periods) {
    const int year = r.calendar[p.period].start.year();
    CHECK_MESSAGE((p.capex_spent_usd > 0) == (year == 2025 || year == 2027), std::to_string(year));
  }
  // $0 written for those years says it is meant: no warning
  Scenario zero = load(one_firm("quarter", "2024-Q1", "2028-12-31",
                                "    power_at_start: {r1: 1 GW}\n"
                                "    capex: {2025: $3B, 2026: $0, 2027: $5B, 2028: $0}\n    family_mix: {g1: 1.0}\n"));
  CHECK(simulate(zero).warnings.empty());
  // a capex_start after the plan's first year counts from the first year the run spends
  Scenario later = load(one_firm("quarter", "2024-Q1", "2026-12-31",
                                 "    power_at_start: {r1: 1 GW}\n"
                                 "    capex: {2023: $1B, 2025: $3B, 2026: $4B}\n    capex_start: 2025-01-01\n"
                                 "    family_mix: {g1: 1.0}\n"));
  CHECK(missing_capex(later, Calendar(later.start, later.end, later.step)).empty());
}

TEST_CASE("simulate: capex of years that no period spends is warned of, with its years and sums") {
  // quarters of 2025-2026; capex from 2025-05-01: the quarter Apr-Jun 2025 is the first spent
  // (its last day is after that date), so 2025 and 2026 are spent, 2023-2024 and 2027-2029 not
  const std::string firm = "    power_at_start: {r1: 1 GW}\n"
                           "    capex: {2023: $1B, 2024: $2B, 2025: $3B, 2026: $4B, 2027: $5B, 2029: $7B}\n"
                           "    capex_start: 2025-05-01\n    family_mix: {g1: 1.0}\n";
  Scenario s = load(one_firm("quarter", "2025-Q1", "2026-12-31", firm));
  const std::vector<UnspentCapex> unspent = unspent_capex(s, Calendar(s.start, s.end, s.step));
  REQUIRE(unspent.size() == 4);
  CHECK(unspent[0].year == 2023);
  CHECK(unspent[0].usd == 1e9);
  CHECK(unspent[3].year == 2029);
  for (const UnspentCapex& u : unspent) {
    CHECK(u.firm == 0);
    CHECK(u.first_year == 2025);
    CHECK(u.last_year == 2026);
  }
  RunResult r = simulate(s);
  check_only_warning(r, "capex_outside_run",
                     "capex that no period spends: f1 2023-2024 ($3B), 2027 ($5B), 2029 ($7B), outside 2025-2026 (a year's capex is "
                     "spent in the periods it overlaps, from the firm's capex_start, or the start, to the end)");
  // what is spent is 2025 from its second quarter and 2026: 3 x 91/365 of $3B is not, the rest is
  double spent = 0;
  for (const PeriodSummary& p : r.periods) spent += p.capex_spent_usd;
  CHECK(spent == doctest::Approx((3e9 * (365 - 90) / 365 + 4e9) * 0.85));  // the default split spends 85%

  // a capex_start after the end spends nothing, which is said so
  Scenario late = load(one_firm("quarter", "2025-Q1", "2026-12-31",
                                "    capex: {2026: $4B}\n    capex_start: 2027-01-01\n    family_mix: {g1: 1.0}\n"));
  RunResult rl = simulate(late);
  REQUIRE(rl.warnings.size() == 1);
  CHECK(rl.warnings[0].message.find("f1 2026 ($4B), as its capex_start is after the end") != std::string::npos);
  // years within the run warn of nothing
  Scenario inside = load(one_firm("quarter", "2025-Q1", "2026-12-31", "    capex: {2025: $4B, 2026: $4B}\n    family_mix: {g1: 1.0}\n"));
  CHECK(simulate(inside).warnings.empty());
}

TEST_CASE("simulate: an upstream node scales production and is named as binding") {
  std::string top = "upstream:\n  cowos: {capacity_per_year: 365}\n";  // 1 wafer a day
  Scenario s = load(one_firm("month", "2025-01", "2025-06-30",
                             "    power_at_start: {r1: 1 GW}\n"
                             "    orders: [{generation: g1, units: 1000, date: 2024-10-01}]\n",
                             ", uses: {cowos: 0.1}", "", top));
  RunResult r = simulate(s);
  // January: 31 wafers make 310 GPUs of the 1000 due
  CHECK(r.periods[0].delivered_gpus == doctest::Approx(310));
  CHECK(r.periods[0].backlog_gpus == doctest::Approx(690));
  CHECK(binding_upstream_name(s, r.periods[0].binding_upstream) == "cowos");
  CHECK(r.periods[3].backlog_gpus == doctest::Approx(0));
  CHECK(binding_upstream_name(s, r.periods[4].binding_upstream) == "none");
}

TEST_CASE("simulate: backlog of an ended generation is re-ordered as its successor, by value") {
  std::string yaml =
      "start: 2025-01\nend: 2025-12-31\ncosts: {port: $0}\n"
      "generations:\n"
      "  old: {family: f, it_power: 1 kW, first_shipment: 2020-01-01, ramp: 0mo, peak_units_per_year: 0, price: $100}\n"
      "  new: {family: f, it_power: 1 kW, first_shipment: 2020-01-01, ramp: 0mo, peak_units_per_year: 1e9, price: $200}\n"
      "regions:\n  r1: {}\n"
      "firms:\n  a: {regions: {r1: 1.0}, power_at_start: {r1: 1 GW}, orders: [{generation: old, units: 1000, date: 2025-01-01}]}\n";
  RunResult r = simulate(load(yaml));
  CHECK(r.periods[3].rolled_over_gpus == doctest::Approx(1000));
  CHECK(r.periods[3].ordered_gpus == doctest::Approx(500));  // same value at twice the price
  CHECK(r.periods[6].installed_gpus == doctest::Approx(500));
}

TEST_CASE("simulate: invariants hold every period of the base scenario") {
  Scenario s = load_scenario_file(GPUMM_SOURCE_DIR "/inputs/base.yaml");
  int periods = 0;
  simulate(s, [&](int t, const State& st, const PeriodSummary&) {
    ++periods;
    CAPTURE(t);
    double backlog = 0, on_order = 0;
    bool ok = true;
    for (size_t i = 0; i < st.installed.size(); ++i) {
      // no stock goes negative; deployed never exceeds installed; stranded is the difference
      ok = ok && st.installed[i] >= 0 && st.backlog[i] >= 0 && st.on_order[i] >= 0 &&
           st.deployed[i] >= 0 && st.deployed[i] <= st.installed[i] * (1 + 1e-12) &&
           std::abs(st.installed[i] - st.deployed[i] - st.stranded[i]) <= 1e-6 * (1 + st.installed[i]);
      backlog += st.backlog[i];
      on_order += st.on_order[i];
    }
    for (size_t c = 0; c < st.energized_mw.size(); ++c)
      ok = ok && st.energized_mw[c] >= 0 && st.grid_queue_mw[c] >= 0 && st.ports[c] >= 0 &&
           st.it_built_mw[c] >= 0;
    CHECK(ok);
    // what is ordered is delivered, backlogged, still on order (due after the horizon
    // included) or rolled over
    const double accounted = st.delivered_total + backlog + on_order + st.rolled_over_total;
    CHECK(accounted == doctest::Approx(st.ordered_total).epsilon(1e-9));
  });
  CHECK(periods == 120);
}

TEST_CASE("simulate: the same scenario gives bit-identical results") {
  Scenario s = load_scenario_file(GPUMM_SOURCE_DIR "/inputs/base.yaml");
  RunResult a = simulate(s), b = simulate(s);
  REQUIRE(a.periods.size() == b.periods.size());
  bool same = true;
  for (size_t t = 0; t < a.periods.size(); ++t)
    same = same && a.periods[t].installed_h100e == b.periods[t].installed_h100e &&
           a.periods[t].deployed_h100e == b.periods[t].deployed_h100e &&
           a.periods[t].energized_mw == b.periods[t].energized_mw &&
           a.periods[t].backlog_gpus == b.periods[t].backlog_gpus;
  CHECK(same);
}

TEST_CASE("simulate: the supply buildout does not depend on the time step") {
  // the base without its investment rules (which read prices, and so demand), by quarters,
  // months and weeks: at the end of every quarter, what has been delivered so far, the power
  // energized and the order book agree (a retirement dated inside a quarter falls one period
  // later in the coarser step, so installed GPUs are compared through deliveries)
  struct At {
    Date last;
    double delivered, energized, book;
  };
  std::map<Step, std::vector<At>> runs;
  for (Step step : {Step::quarter, Step::month, Step::week}) {
    Scenario s = load_scenario_file(GPUMM_SOURCE_DIR "/inputs/base.yaml");
    s.step = step;
    for (Firm& f : s.firms) f.investment.reset();
    const RunResult r = simulate(s);
    double delivered = 0;
    for (size_t t = 0; t < r.periods.size(); ++t) {
      const PeriodSummary& p = r.periods[t];
      delivered += p.delivered_gpus;
      runs[step].push_back({r.calendar[static_cast<int>(t)].last, delivered, p.energized_mw, p.backlog_gpus + p.on_order_gpus});
    }
  }
  const auto at = [&](Step step, Date d) { return last_ending_by(runs[step], d); };
  int quarters = 0;
  for (const At& q : runs[Step::quarter]) {
    if (q.last.year() < 2024) continue;  // 2023 holds too little to compare shares of
    CAPTURE(to_iso(q.last));
    const At m = at(Step::month, q.last), w = at(Step::week, q.last);
    // months end with the quarter
    CHECK(m.delivered == doctest::Approx(q.delivered).epsilon(0.005));
    CHECK(m.energized == doctest::Approx(q.energized).epsilon(0.005));
    CHECK(m.book == doctest::Approx(q.book).epsilon(0.01));
    // weeks: the last one ends up to six days before the month, and a dated arrival counts from
    // the first week starting on or after it (up to six days late), in a buildout growing 2-3x
    // a year: within 3%
    CHECK(w.delivered == doctest::Approx(m.delivered).epsilon(0.03));
    CHECK(w.energized == doctest::Approx(m.energized).epsilon(0.03));
    ++quarters;
  }
  CHECK(quarters == 36);
}

TEST_CASE("simulate: steady demand is read at the period's end, the instant of the supply it meets") {
  // the base without the price feedback into inference or investment: inference and other
  // demand of the period ending with each quarter is read on the same day by quarters and by
  // months, and at most six days earlier by weeks (read on each period's first day, the month
  // would see two months' more growth than the quarter)
  struct At {
    Date last;
    double steady;
  };
  std::map<Step, std::vector<At>> runs;
  for (Step step : {Step::quarter, Step::month, Step::week}) {
    Scenario s = load_scenario_file(GPUMM_SOURCE_DIR "/inputs/base.yaml");
    s.step = step;
    for (Firm& f : s.firms) f.investment.reset();
    for (InferenceService& sv : s.inference) sv.price_follows_spot = false;
    for (InferenceService& sv : s.inference)
      for (Launch& l : sv.launches) l.delay.probability = 0;  // launch dates drawn alike
    const RunResult r = simulate(s);
    for (size_t t = 0; t < r.periods.size(); ++t) {
      const PeriodSummary& p = r.periods[t];
      runs[step].push_back({r.calendar[static_cast<int>(t)].last, p.demand_inference_h100e + p.demand_other_h100e});
    }
  }
  const auto at = [&](Step step, Date d) { return last_ending_by(runs[step], d); };
  int quarters = 0;
  for (const At& q : runs[Step::quarter]) {
    CAPTURE(to_iso(q.last));
    const At m = at(Step::month, q.last), w = at(Step::week, q.last);
    REQUIRE(m.last == q.last);
    CHECK(m.steady == doctest::Approx(q.steady).epsilon(1e-12));
    // demand grows at most about 6x a year (2024): six days are within 4%
    CHECK(w.steady == doctest::Approx(m.steady).epsilon(0.04));
    CHECK(w.steady <= m.steady * (1 + 1e-12));
    ++quarters;
  }
  CHECK(quarters == 40);
}
