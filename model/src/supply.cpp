#include "gpumm/supply.hpp"

#include "rounding.hpp"

#include <algorithm>
#include <cmath>

namespace gpumm {

std::string to_string(Binding b) {
  switch (b) {
    case Binding::none: return "none";
    case Binding::power: return "power";
    case Binding::building: return "building";
    case Binding::network: return "network";
  }
  return "none";
}

namespace {

double day_number(Date d) { return static_cast<double>(d.day_number()); }

// Integral of a linear function through (x0, y0), (x1, y1) over [a, b] within [x0, x1].
double trapezoid(double x0, double y0, double x1, double y1, double a, double b) {
  if (b <= a) return 0.0;
  auto at = [&](double x) { return x1 == x0 ? y1 : y0 + (y1 - y0) * (x - x0) / (x1 - x0); };
  return 0.5 * (at(a) + at(b)) * (b - a);
}

}  // namespace

ProductionRamp::ProductionRamp(const Generation& g) : peak_per_year_(g.peak_units_per_year) {
  t0_ = day_number(g.first_shipment);
  t1_ = day_number(Calendar::add(g.first_shipment, g.ramp));
  t2_ = g.end_of_production ? day_number(*g.end_of_production) : 1e12;
  t2_ = std::max(t2_, t1_);  // the ramp-down cannot begin before the ramp-up ends
  t3_ = g.end_of_production ? std::max(t2_, day_number(Calendar::add(*g.end_of_production, g.ramp_down)))
                            : 1e12;
}

double ProductionRamp::units(double a, double b, int year_days) const {
  if (!(a < b) || peak_per_year_ <= 0) return 0.0;
  const double per_day = peak_per_year_ / year_days;
  double total = 0.0;
  // ramp up, plateau, ramp down: each segment integrated over its overlap with [a, b)
  total += trapezoid(t0_, 0.0, t1_, per_day, std::max(a, t0_), std::min(b, t1_));
  total += per_day * std::max(0.0, std::min(b, t2_) - std::max(a, t1_));
  total += trapezoid(t2_, per_day, t3_, 0.0, std::max(a, t2_), std::min(b, t3_));
  return total;
}

double production_units(const Generation& g, Date from, Date to) {
  return ProductionRamp(g).units(day_number(from), day_number(to), days_in_year(from.year()));
}

std::vector<double> node_capacity_per_period(const UpstreamNode& n, const Calendar& cal) {
  const int T = cal.size();
  // nominal capacity per year: base plus expansions that have come online
  std::vector<double> nominal(static_cast<size_t>(T), n.capacity_per_year);
  for (const auto& x : n.expansions) {
    int from = cal.arrival(x.commit, x.lag);
    for (int t = std::max(from, 0); t < T; ++t) nominal[static_cast<size_t>(t)] += x.add_per_year;
  }
  std::vector<double> out(static_cast<size_t>(T));
  double effective = nominal.empty() ? 0.0 : nominal[0];
  for (int t = 0; t < T; ++t) {
    const double days = cal[t].days;
    const int year_days = days_in_year(cal[t].start.year());
    if (t > 0) {
      double cap = n.max_growth_per_year == kUnlimited
                       ? kUnlimited
                       : effective * std::pow(1.0 + n.max_growth_per_year, days / year_days);
      effective = std::min(nominal[static_cast<size_t>(t)], cap);
    }
    out[static_cast<size_t>(t)] = effective * days / year_days;
  }
  return out;
}

double allocate_pro_rata(double supply, std::span<const double> claims, std::span<double> out) {
  double total = 0.0;
  for (double c : claims) total += c;
  if (total <= 0.0 || supply <= 0.0) {
    std::fill(out.begin(), out.end(), 0.0);
    return 0.0;
  }
  if (supply >= total) {
    std::copy(claims.begin(), claims.end(), out.begin());
    return total;
  }
  const double share = supply / total;
  for (size_t i = 0; i < claims.size(); ++i) out[i] = claims[i] * share;
  return supply;
}

CellDeployment usable_it_power(double energized_mw, double pue, double it_built_mw) {
  CellDeployment c;
  const double from_power = energized_mw / pue;
  if (it_built_mw < from_power) {
    c.usable_it_mw = it_built_mw;
    c.power_binding = Binding::building;
  } else {
    c.usable_it_mw = from_power;
    c.power_binding = Binding::power;
  }
  return c;
}

void deploy_cell(const std::vector<Generation>& gens, std::span<const int> order,
                 const CellDeployment& cell, double ports, std::span<const double> installed,
                 std::span<double> deployed, std::span<double> stranded,
                 std::span<Binding> binding, std::span<const double> committed) {
  double kw_left = cell.usable_it_mw * 1000.0;
  double ports_left = ports;
  // run up to `want` GPUs of generation g on what is left; returns how many ran, and names
  // the input that stopped it when it stopped short of `want`
  const auto take = [&](size_t gi, double want, Binding& short_of) {
    const Generation& gen = gens[gi];
    // All of `want` fits with room to spare (the usual case): the divisions below would give
    // `want` too, exactly (the margin is far beyond rounding), so they are skipped; a division's
    // latency is most of this function's time.
    constexpr double kSure = 1.0 + 1e-12;
    if (want * gen.it_kw_per_gpu * kSure < kw_left && want * gen.ports_per_gpu * kSure < ports_left) {
      const double run = std::max(0.0, want);
      kw_left = detail::left_after(kw_left, run * gen.it_kw_per_gpu);
      ports_left = detail::left_after(ports_left, run * gen.ports_per_gpu);
      return run;
    }
    const double by_power = kw_left / gen.it_kw_per_gpu;
    const double by_ports = gen.ports_per_gpu > 0 ? ports_left / gen.ports_per_gpu : kUnlimited;
    const double run = std::max(0.0, std::min({want, by_power, by_ports}));
    kw_left = detail::left_after(kw_left, run * gen.it_kw_per_gpu);
    ports_left = detail::left_after(ports_left, run * gen.ports_per_gpu);
    if (run < want) short_of = by_power <= by_ports ? cell.power_binding : Binding::network;
    return run;
  };
  // GPUs committed to contracts run first, then everything else, best H100e per kW first
  for (int g : order) {
    const auto gi = static_cast<size_t>(g);
    deployed[gi] = 0.0;
    binding[gi] = Binding::none;
    if (!committed.empty() && committed[gi] > 0 && installed[gi] > 0)
      deployed[gi] = take(gi, std::min(installed[gi], committed[gi]), binding[gi]);
  }
  for (int g : order) {
    const auto gi = static_cast<size_t>(g);
    const double have = installed[gi];
    if (have <= 0.0) {
      deployed[gi] = stranded[gi] = 0.0;
      binding[gi] = Binding::none;
      continue;
    }
    if (binding[gi] == Binding::none) deployed[gi] += take(gi, have - deployed[gi], binding[gi]);
    stranded[gi] = have - deployed[gi];
    if (stranded[gi] <= 1e-9 * have) {  // rounding, not a shortage
      deployed[gi] = have;
      stranded[gi] = 0.0;
      binding[gi] = Binding::none;
    }
  }
}

}  // namespace gpumm
