#pragma once
// Market building blocks (DESIGN §5), as pure functions so each can be tested by hand: how a
// contract's volume comes into force over its ramp, the floor of a generation's spot at its
// operating cost, the spot's step with market utilization, the first-order lags through which
// prices and firms perceive the market, and the investment rule's capex multiplier. The
// engine (simulate.cpp) applies them to the firms, regions and generations of a run.
#include <algorithm>
#include <cmath>
#include <string>

#include "gpumm/calendar.hpp"
#include "gpumm/scenario.hpp"

namespace gpumm {

/// A contract's ramp: x days after its start, min(1, x / days) of its volume is in force, so
/// over [0, x) it has been in force for `days_in_force(x)` full-volume days.
struct ContractRamp {
  double days = 0;  ///< length of the ramp in days; 0: all of the volume from the start
  explicit ContractRamp(const Contract& k);
  /// Full-volume days in force over the first `x` days after the start.
  double days_in_force(double x) const;
  /// The mean share in force over the days [a, b) after the start (days before the start
  /// count as at it); 1 for an empty span.
  double mean_share(double a, double b) const;
};

/// Years of a duration, by its approximate length in days (a month is 30.44 days).
inline double years_of(const Duration& d) { return d.approx_days() / 365.2425; }

/// The share of the gap a first-order lag with time constant `tau_years` closes over `years`:
/// 1 - exp(-years / tau); 1 (no lag) when tau is 0. Perceptions and the term price move by
/// this share of the distance to what they follow, each period.
inline double lag_share(double years, double tau_years) {
  return tau_years > 0 ? 1.0 - std::exp(-years / tau_years) : 1.0;
}

/// The floor of a generation's spot ($ per H100e-hour): its operating cost, (electricity $ per
/// kWh x IT kW per unit x `mean_pue` + other cost per unit-hour) / training H100e per unit,
/// never below the market's `spot_floor` nor above its `spot_cap`.
double operating_floor_usd_per_h100e_hour(const Generation& g, const MarketSettings& m, double mean_pue);

/// A generation's market utilization in a period: matched / offered H100e; 1 when nothing of
/// it is offered while bids go unmet (a merchant GPU: anyone could have bought it); -1 when
/// neither, which leaves its price where it is.
inline double market_utilization(double offered_h100e, double matched_h100e, double unmet_h100e, bool merchant) {
  if (offered_h100e > 0) return matched_h100e / offered_h100e;
  return unmet_h100e > 0 && merchant ? 1.0 : -1.0;
}

/// One period's step of a spot price under d ln(spot)/dt = sensitivity x (u - target): spot x
/// exp(sensitivity_per_year x (perceived_utilization - target) x years), kept within
/// [floor, m.spot_cap]. Exact over the period, so steps of any length agree.
inline double next_spot(double spot, double perceived_utilization, const MarketSettings& m, double years,
                        double floor) {
  return std::clamp(spot * std::exp(m.sensitivity_per_year * (perceived_utilization - m.target_utilization) * years),
                    floor, m.spot_cap);
}

/// Whether a spot index sits at the market's floor (within 5% of it), as the verdict and
/// `gpumm explain` count it.
inline bool spot_at_floor(double spot, const MarketSettings& m) { return spot <= 1.05 * m.spot_floor; }

/// Why a spot that falls, or sits at its floor, during a structural shortage is no sign of
/// oversupply; verdict.txt and `gpumm explain` say it where it happens. It adds how slowly the
/// price can climb back: at most exp(sensitivity_per_year x (1 - target_utilization)) a year,
/// when every offer sells, which from the floor to the reference takes ln(reference / floor) /
/// (sensitivity_per_year x (1 - target_utilization)) years.
std::string spot_in_shortage_note(const MarketSettings& m);

/// What a firm perceives when its investment rule sets a year's capex.
struct Perception {
  double utilization = 0;  ///< (deployed - idle + unserved) / deployed, smoothed
  double price_usd_per_h100e_hour = 0;  ///< the spot index, smoothed
  double supply_line_h100e = 0;  ///< on order and backlogged, training H100e
  double installed_h100e = 0;
};

/// The investment rule's capex multiplier: 1 + utilization_weight x (u - target) / target,
/// + price_weight x (price / reference - 1) when `reference` > 0 (a market sets prices), -
/// supply_line_weight x (supply line / installed - normal supply line) when the rule counts
/// its supply line and something is installed; within [min_multiplier, max_multiplier].
double capex_multiplier(const InvestmentRule& rule, const Perception& seen, double reference);

}  // namespace gpumm
