#include "gpumm/market.hpp"

#include <algorithm>
#include <cmath>

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

double capex_multiplier(const InvestmentRule& rule, const Perception& seen, double reference) {
  double m = 1.0 + rule.utilization_weight * (seen.utilization - rule.target_utilization) / rule.target_utilization;
  if (reference > 0) m += rule.price_weight * (seen.price_usd_per_h100e_hour / reference - 1.0);
  if (rule.supply_line && seen.installed_h100e > 0)
    m -= rule.supply_line_weight * (seen.supply_line_h100e / seen.installed_h100e - rule.normal_supply_line);
  return std::clamp(m, rule.min_multiplier, rule.max_multiplier);
}

}  // namespace gpumm
