#pragma once
// Firm-level surplus episodes and their causes (DESIGN §6), and the answer to "does firm F's
// surplus at date D indicate market oversupply?". Pure functions of a run and its diagnosis.
#include <string>
#include <vector>

#include "gpumm/diagnosis.hpp"
#include "gpumm/scenario.hpp"
#include "gpumm/simulate.hpp"

namespace gpumm {

/// The diagnosis of a run: its relative balance and market utilization per period, split and
/// classified with the scenario's diagnosis settings (their defaults resolved for its step).
SeriesDiagnosis diagnose_run(const Scenario& s, const RunResult& r);

/// A run of periods in which a firm has more idle capacity than unserved demand.
struct Episode {
  int firm = -1;
  int first = 0, last = 0;          ///< periods, inclusive
  double peak_h100e = 0;            ///< largest balance (idle - unserved) in the episode
  double h100e_months = 0;          ///< balance summed over the episode, in H100e x months
  double shortage_share = 0;        ///< share of its periods in structural shortage
  // causes of the idle capacity, as shares of the idle H100e-months (they sum to 1)
  double slipped_project_share = 0, take_or_pay_share = 0, generation_transition_share = 0,
         stranded_share = 0, region_mismatch_share = 0, weak_demand_share = 0;
  std::string main_cause() const;
};

/// A firm's balance counts as a surplus when it exceeds this share of its deployed capacity.
inline constexpr double kEpisodeMinShare = 0.02;

/// Every surplus run of every firm: periods where the firm's balance exceeds `min_share` of
/// its deployed capacity, merged while consecutive. Sorted by firm, then start.
std::vector<Episode> find_episodes(const Scenario& s, const RunResult& r, const SeriesDiagnosis& d,
                                   double min_share = kEpisodeMinShare);

/// The answer for firm `firm` at period `t`, with its evidence, as text (`gpumm explain`).
std::string explain_surplus(const Scenario& s, const RunResult& r, const SeriesDiagnosis& d,
                            const std::vector<Episode>& episodes, int firm, int t);

}  // namespace gpumm
