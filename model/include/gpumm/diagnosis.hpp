#pragma once
// Diagnosis (DESIGN §6): the market's structural balance (a trend of the relative balance),
// the temporary component around it, the mismatch index, and the regime of each period.
// Pure functions of series, so each can be tested on series with known answers.
#include <algorithm>
#include <cmath>
#include <span>
#include <string>
#include <vector>

#include "gpumm/calendar.hpp"

namespace gpumm {

/// Hodrick-Prescott trend of `y`: the tau minimizing sum (y - tau)^2 + lambda sum (D2 tau)^2,
/// i.e. the solution of (I + lambda D'D) tau = y with D the second-difference matrix, solved
/// as a sparse banded system (Eigen SimplicialLDLT). Series of fewer than 3 points, and
/// lambda = 0, are their own trend.
std::vector<double> hp_trend(std::span<const double> y, double lambda);

/// HP smoothing parameter for a step, scaling with the fourth power of the observation
/// frequency from 1600 for quarters: 1600 x 3^4 = 129,600 monthly, 1600 x 13^4 weekly.
double hp_lambda_for(Step step);

/// Centred moving average over `window` points (odd). Near the ends the window shrinks
/// symmetrically to the points available, so the first and last points are their own
/// average.
std::vector<double> centred_moving_average(std::span<const double> y, int window);

/// Mismatch index over cells with balances b_i: (sum |b_i| - |sum b_i|) / sum |b_i|; 0 when
/// every balance is 0. Near 1: surpluses and shortages coexist; near 0: all on one side.
double mismatch_index(std::span<const double> b);

enum class Regime { balanced, structural_shortage, oversupply };
std::string to_string(Regime r);

/// Settings of the diagnosis; the defaults depend on the step (see `defaults_for`).
struct DiagnosisSettings {
  enum class Method { hp, moving_average };
  Method method = Method::hp;
  double lambda = 0;               ///< HP smoothing; 0: by step (hp_lambda_for)
  int window = 0;                  ///< moving-average points (odd); 0: a year, rounded to odd
  double threshold = 0.05;         ///< theta: |trend of the relative balance| beyond it is structural
  int persistence = 0;             ///< P: periods the trend must stay beyond theta; 0: six months
  double utilization = 0.85;       ///< u*: oversupply needs market utilization below it
};
/// The settings with every "by step" default filled in.
DiagnosisSettings resolve_defaults(DiagnosisSettings s, Step step);

/// Regime of each period: `structural_shortage` in every run of at least `persistence`
/// periods with trend < -threshold; `oversupply` in every run of at least `persistence`
/// periods with trend > +threshold and utilization < u*; otherwise `balanced`. The whole run
/// is labelled (the trend is two-sided: this is a diagnosis after the fact).
std::vector<Regime> classify_regimes(std::span<const double> trend, std::span<const double> utilization,
                                     const DiagnosisSettings& s);

/// A structural shortage after the fact, periods [first, last], and the first of its periods
/// that the reading in real time called a shortage (last + 1 when none did).
struct ShortageSeen {
  int first = 0, last = 0, seen = 0;
  int lag() const { return seen - first; }  ///< periods of it before it was first seen
};

/// How the trend reads with fewer later periods: in real time, and near the horizon's end, where
/// it may yet move. Both trends are two-sided: the trend
/// of a period rests on the periods after it as much as on those before, and the last periods
/// of a run have fewer after them, so their trend is revised when the horizon is extended (for
/// the HP filter by several points of demand in the last year). Measured on the series itself,
/// as a pseudo-real-time test: the series is cut at each period e from `lookahead` to
/// n - 1 - `lookahead`, and the trend of the series cut at e is compared, at each distance k
/// (0 to `lookahead` - 1) before e, with the trend of the series cut `lookahead` periods later.
/// A guide, not a bound: a turn of the series after the horizon can move the trend further.
struct TrendRevision {
  int lookahead = 0;                ///< periods added to a cut series in the test
  int samples = 0;                  ///< cuts measured; 0 when the series is shorter than 2 x lookahead + 1
  /// per period: for the last `lookahead` periods (the zone), the largest move measured at
  /// the period's distance from the end (a fraction of demand, as the trend); NaN there when
  /// nothing could be measured (samples 0); 0 before the zone
  std::vector<double> bound;
  /// per period: the threshold nearest the trend whose crossing changes the regime: -theta, or
  /// +theta where market utilization is below u* (above it, oversupply cannot be called)
  std::vector<double> threshold;
  /// per period t: the trend read in real time, from periods 0 to t only (the trend of the
  /// series cut at t, at t: what an analyst would have measured then; by a centred moving
  /// average, which shrinks to the last point at a cut's end, the relative balance itself)
  std::vector<double> realtime;
  /// per period t: the regime an analyst would have called then, by the same rule (threshold,
  /// persistence, utilization) applied to the series cut at t, at its end: the trend of the cut
  /// beyond the threshold in each of its last `persistence` periods. Unlike the regime after the
  /// fact, it never looks at a later period, not even to see whether a run beyond the threshold
  /// lasts. A run's first `persistence` - 1 periods, too few to confirm a regime, stand for the
  /// market before the run (which an analyst would have known and the run does not hold) and
  /// keep the regime after the fact.
  std::vector<Regime> realtime_regimes;
  /// per period t: of the last `persistence` periods of the series cut at t, how many in a row,
  /// counted back from t, have its trend beyond the threshold on the side of its value at t
  /// (above +theta with utilization below u*); 0 where it is within the thresholds. A regime
  /// is called in real time where this reaches the persistence.
  std::vector<int> realtime_run;
  /// Whether the regime of period t may change when the horizon is extended: t is in the zone
  /// and its trend is within the bound of its threshold (or the bound is not measured).
  bool may_change(const std::vector<double>& trend, size_t t) const {
    return static_cast<int>(t) >= zone_start() && !(std::abs(trend[t] - threshold[t]) > bound[t]);
  }
  /// The periods whose regime may change, in order.
  std::vector<int> may_change(const std::vector<double>& trend) const;
  /// Periods whose regime read in real time differs from `regimes`, the regimes after the fact.
  int misread(std::span<const Regime> regimes) const;
  /// Periods of structural shortage in `regimes` that the reading in real time did not call one.
  int shortage_missed(std::span<const Regime> regimes) const;
  /// Each run of structural shortage in `regimes`, with when the reading in real time first
  /// called it one.
  std::vector<ShortageSeen> shortages_seen(std::span<const Regime> regimes) const;
  /// The first period of the zone (n - lookahead, at least 0).
  int zone_start() const { return std::max(0, static_cast<int>(bound.size()) - lookahead); }
  bool measured() const { return samples > 0; }
};

/// Periods added in the revision test: two years of periods (24 months, 8 quarters, 104 weeks).
int revision_lookahead(Step step);

/// The decomposition of a run's relative balance and its regimes.
struct SeriesDiagnosis {
  DiagnosisSettings settings;      ///< with the step's defaults filled in
  std::vector<double> trend;       ///< structural component of the relative balance
  std::vector<double> temporary;   ///< relative balance - trend
  std::vector<Regime> regimes;
  /// The trend read in real time, and how far it may yet move near the horizon's end: measured
  /// by `revise_trend` (a run's output and `gpumm explain` do; studies, which do not show it,
  /// skip it and leave it empty).
  TrendRevision revision;
};

/// Split the relative balance into trend (HP or centred moving average) and temporary
/// component, and classify each period. `settings` must be resolved (`resolve_defaults`).
SeriesDiagnosis diagnose_series(std::span<const double> relative_balance,
                                std::span<const double> utilization, const DiagnosisSettings& settings);

/// Measure `d.revision` (see TrendRevision) for the series `d` was made from, with the same
/// method and settings; `lookahead` periods are added in the test. Also reads the trend in
/// real time, period by period.
void revise_trend(SeriesDiagnosis& d, std::span<const double> relative_balance,
                  std::span<const double> utilization, int lookahead);

/// A run of consecutive periods in one regime, [first, last].
struct RegimeRun {
  Regime regime = Regime::balanced;
  int first = 0, last = 0;
};
std::vector<RegimeRun> regime_runs(std::span<const Regime> regimes);

}  // namespace gpumm
