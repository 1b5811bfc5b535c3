#include "gpumm/market.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace gpumm {

ContractRamp::ContractRamp(const Contract& k)
    : days(k.ramp.count > 0 ? static_cast<double>((Calendar::add(k.start, k.ramp) - k.start).days()) : 0.0) {}

double ContractRamp::days_in_force(double x) const {
  if (x <= 0) return 0.0;
  return x <= days ? x * x / (2 * days) : x - days / 2;
}

double ContractRamp::mean_share(double a, double b) const {
  a = std::max(a, 0.0);
  return b > a ? (days_in_force(b) - days_in_force(a)) / (b - a) : 1.0;
}

double operating_floor_usd_per_h100e_hour(const Generation& g, const MarketSettings& m, double mean_pue) {
  const double cost =
      g.train_h100e > 0
          ? (m.electricity_usd_per_kwh * g.it_kw_per_gpu * mean_pue + m.other_opex_usd_per_gpu_hour) / g.train_h100e
          : 0.0;
  return std::min(m.spot_cap, std::max(m.spot_floor, cost));
}

std::string spot_in_shortage_note(const MarketSettings& m) {
  std::string note =
      "A spot that falls, or sits at its floor, in a structural shortage is no sign of oversupply: it moves "
      "with the share of offered capacity that sells, and offers that cannot serve the unmet bids (another "
      "region or latency group, a cluster too small, custom accelerators) stay idle and pull it down while "
      "those bids go unmet (market.csv says why each offer stayed idle).";
  // the share sold is at most 1, so the price climbs at most this fast, however many bids go unmet
  const double rate = m.sensitivity_per_year * (1.0 - m.target_utilization);
  char buf[320];
  if (rate <= 0) {
    std::snprintf(buf, sizeof buf,
                  " Nor can it climb back: with a target utilization of %.0f%%, even a market that sells every "
                  "offer leaves it where it is, however many bids go unmet.",
                  100 * m.target_utilization);
    return note + buf;
  }
  std::snprintf(buf, sizeof buf,
                " Nor can it climb back fast: even when every offer sells it rises at most %.0f%% a year "
                "(sensitivity %.3g a year x (1 - target utilization %.3g)), however many bids go unmet",
                100 * std::expm1(rate), m.sensitivity_per_year, m.target_utilization);
  note += buf;
  if (m.reference() > m.spot_floor) {
    std::snprintf(buf, sizeof buf, ", and takes %.1f years from its $%.2f floor to its $%.2f reference",
                  std::log(m.reference() / m.spot_floor) / rate, m.spot_floor, m.reference());
    note += buf;
  }
  return note + ".";
}

double capex_multiplier(const InvestmentRule& rule, const Perception& seen, double reference) {
  double m = 1.0 + rule.utilization_weight * (seen.utilization - rule.target_utilization) / rule.target_utilization;
  if (reference > 0) m += rule.price_weight * (seen.price_usd_per_h100e_hour / reference - 1.0);
  if (rule.supply_line && seen.installed_h100e > 0)
    m -= rule.supply_line_weight * (seen.supply_line_h100e / seen.installed_h100e - rule.normal_supply_line);
  return std::clamp(m, rule.min_multiplier, rule.max_multiplier);
}

}  // namespace gpumm
