#pragma once
// Diagnosis (DESIGN §6): the market's structural balance (a trend of the relative balance),
// the temporary component around it, the mismatch index, and the regime of each period.
// Pure functions of series, so each can be tested on series with known answers.
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

/// The decomposition of a run's relative balance and its regimes.
struct SeriesDiagnosis {
  DiagnosisSettings settings;      ///< with the step's defaults filled in
  std::vector<double> trend;       ///< structural component of the relative balance
  std::vector<double> temporary;   ///< relative balance - trend
  std::vector<Regime> regimes;
};

/// Split the relative balance into trend (HP or centred moving average) and temporary
/// component, and classify each period. `settings` must be resolved (`resolve_defaults`).
SeriesDiagnosis diagnose_series(std::span<const double> relative_balance,
                                std::span<const double> utilization, const DiagnosisSettings& settings);

/// A run of consecutive periods in one regime, [first, last].
struct RegimeRun {
  Regime regime = Regime::balanced;
  int first = 0, last = 0;
};
std::vector<RegimeRun> regime_runs(std::span<const Regime> regimes);

}  // namespace gpumm
