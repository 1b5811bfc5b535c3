#pragma once
// Why two scenarios' outcomes differ (DESIGN §8, `gpumm diff`): a waterfall from scenario A
// to scenario B on chosen metrics of a run, making the changes between their documents one at
// a time. Each step's effect is what its change adds to the changes before it, so the effects
// add up to B minus A exactly; each change is also run alone on A, and the gap between the
// total and the sum of the alone effects is what the changes do together (their interactions,
// and the reason the order of the steps matters when it does).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "gpumm/io.hpp"
#include "gpumm/scenario.hpp"

namespace gpumm {

/// One step: the changes it makes (one; more when a change does not load without the next,
/// such as a contract with a firm the next change adds) and each metric after it.
struct WaterfallStep {
  std::vector<size_t> changes;  ///< indices into Waterfall::changes; none for the entry-order step
  std::vector<double> after;    ///< per metric: A with the changes of this step and all before
  std::vector<double> alone;    ///< per metric: A with this step's changes only (NaN: not loadable)
};

struct Waterfall {
  std::string from, to;                            ///< the scenarios' names
  std::vector<ScenarioTemplate::Change> changes;   ///< from A to B, in B's order
  std::vector<std::string> metrics;
  std::vector<double> start, end;                  ///< per metric: A's and B's
  /// The codes of the warnings A's run and B's run raised (space separated; "" for none): a
  /// seller short of a contract in one of them is part of why they differ.
  std::string warnings_from, warnings_to;
  /// The steps; the last one's `after` is `end`. When the documents differ only in the order
  /// of entries (firms listed in another order...), which a run can feel, a last step without
  /// changes takes the metrics from there to B.
  std::vector<WaterfallStep> steps;
  int runs = 0;                                    ///< simulations it took

  /// The metric before step k: the step before's `after`, or A's.
  double before(size_t k, size_t metric) const;
  /// What step k added: its `after` minus `before`.
  double effect(size_t k, size_t metric) const;
  /// Its changes alone on A: `alone` minus A's (NaN when they do not load alone).
  double alone_effect(size_t k, size_t metric) const;
  /// B minus A, minus the alone effects: what the changes do only together.
  double interactions(size_t metric) const;
};

/// Called as runs of a waterfall end, with how many have and how many it takes (at most A, B
/// and two per change; fewer as documents that do not load are found, which also calls it); one
/// call at a time, from any of its threads.
using WaterfallProgress = std::function<void(int done, int total)>;

/// The waterfall from `a` to `b` on `metrics` (names from `study_metrics`; check them with
/// `metric_problem`). With `seed`, every run takes it instead of its scenario's seed. Its runs
/// share `threads` threads; the result does not depend on how many.
Waterfall waterfall(const ScenarioTemplate& a, const ScenarioTemplate& b, const std::vector<std::string>& metrics,
                    std::optional<std::uint64_t> seed = {}, int threads = 1, const WaterfallProgress& progress = {});

/// `diff.csv` in `out`: a row per step and metric with the step's changes (paths and values in
/// A and B), the metric before and after it, its effect and its changes' effect alone.
void write_waterfall(const Waterfall& w, OutputDir& out);
const std::vector<std::string>& waterfall_columns();

}  // namespace gpumm
