#pragma once
// Firm-level surplus episodes and their causes (DESIGN §6), and the answer to "does firm F's
// surplus at date D indicate market oversupply?". Pure functions of a run and its diagnosis.
#include <array>
#include <cstdint>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "gpumm/diagnosis.hpp"
#include "gpumm/scenario.hpp"
#include "gpumm/simulate.hpp"

namespace gpumm {

/// The diagnosis of a run: its relative balance and market utilization per period, split and
/// classified with the scenario's diagnosis settings (their defaults resolved for its step).
SeriesDiagnosis diagnose_run(const Scenario& s, const RunResult& r);

/// The same, with how far the trend may yet move near the horizon's end measured
/// (`SeriesDiagnosis::revision`; two years of periods added in the test): for what a run
/// writes and `gpumm explain` says.
SeriesDiagnosis diagnose_run_revised(const Scenario& s, const RunResult& r);

/// For a period in the last two years of a run whose diagnosis measured how far its trend may
/// yet move (`diagnose_run_revised`): a paragraph on that move and on how far the trend is from
/// the threshold it would have to cross; "" for any other period.
std::string trend_revision_note(const Calendar& cal, const SeriesDiagnosis& d, int t);

/// A run of periods in which a firm has more idle capacity than unserved demand.
struct Episode {
  int firm = -1;
  int first = 0, last = 0;          ///< periods, inclusive
  double peak_h100e = 0;            ///< largest balance (idle - unserved) in the episode
  double h100e_months = 0;          ///< balance summed over the episode, in H100e x months
  double shortage_share = 0;        ///< share of its periods in structural shortage
  // causes of the idle capacity, as shares of the idle H100e-months (they sum to 1)
  double slipped_project_share = 0, take_or_pay_share = 0, generation_transition_share = 0,
         stranded_share = 0, sold_to_short_firms_share = 0, custom_accelerator_share = 0, region_mismatch_share = 0,
         weak_demand_share = 0;
  /// The id of the cause with the largest share (the first of equals, in kSpareCauses' order).
  std::string main_cause() const;
};

/// A cause of a firm's spare capacity (FirmRecord), with where each output keeps it.
struct SpareCause {
  const char* id;                  ///< as `main_cause` names it, e.g. "take_or_pay_excess"
  const char* text;                ///< in sentences (`gpumm explain`)
  const char* firms_column;        ///< firms.csv, H100e per period
  const char* episodes_column;     ///< episodes.csv, share of the episode's spare H100e-months
  const char* meaning;             ///< what it says about the market (verdict.txt)
  double FirmRecord::*per_period;  ///< its H100e in one period
  double Episode::*share;          ///< its share of an episode
};

/// The causes, in the order of the output columns; they add up to the spare capacity.
inline constexpr SpareCause kSpareCauses[] = {
    {"slipped_training_project", "slipped training project",
     "spare_slipped_project_h100e", "slipped_training_project_share",
     "capacity a training project would have used had it not slipped",
     &FirmRecord::idle_slipped_project, &Episode::slipped_project_share},
    {"take_or_pay_excess", "take-or-pay excess",
     "spare_take_or_pay_h100e", "take_or_pay_share",
     "contracted capacity the buyer did not use",
     &FirmRecord::idle_take_or_pay, &Episode::take_or_pay_share},
    {"generation_transition", "generation transition",
     "spare_generation_transition_h100e", "generation_transition_share",
     "older GPUs idle while training waits for newer ones",
     &FirmRecord::idle_generation_transition, &Episode::generation_transition_share},
    {"stranded", "stranded (a cluster incomplete for want of power, building or network)",
     "spare_stranded_h100e", "stranded_share",
     "idle GPUs of a cluster a waiting run would fill if its stranded GPUs could run",
     &FirmRecord::idle_stranded, &Episode::stranded_share},
    {"sold_to_short_firms", "sold to firms short of capacity",
     "spare_sold_to_short_firms_h100e", "sold_to_short_firms_share",
     "bought on the market by firms short of capacity (the market at work, not a glut)",
     &FirmRecord::idle_sold_to_short_firms, &Episode::sold_to_short_firms_share},
    {"custom_accelerator", "custom accelerators no firm short of capacity may use",
     "spare_custom_accelerator_h100e", "custom_accelerator_share",
     "idle custom chips that no firm short of capacity may use",
     &FirmRecord::idle_custom_accelerator, &Episode::custom_accelerator_share},
    {"region_mismatch", "region mismatch",
     "spare_region_mismatch_h100e", "region_mismatch_share",
     "idle where unserved demand could not reach it (another region or latency group, no cluster big enough)",
     &FirmRecord::idle_region_mismatch, &Episode::region_mismatch_share},
    {"weak_demand", "weak demand",
     "spare_weak_demand_h100e", "weak_demand_share",
     "no demand within reach wanted it",
     &FirmRecord::idle_weak_demand, &Episode::weak_demand_share},
};

/// A number per cause of spare capacity, in kSpareCauses' order.
using CauseNumbers = std::array<double, std::size(kSpareCauses)>;
/// The id of the cause with the largest number (the first of equals, in kSpareCauses' order).
const char* largest_cause(const CauseNumbers& x);
/// Adds `weight` times each cause's H100e in a firm's period to `sum`.
void add_causes(CauseNumbers& sum, const FirmRecord& rec, double weight);

/// The id of the largest cause of a firm's spare capacity in one period; "" when it has none.
const char* main_spare_cause(const FirmRecord& rec);

/// A firm's balance counts as a surplus when it exceeds this share of its deployed capacity.
inline constexpr double kEpisodeMinShare = 0.02;

/// Every surplus run of every firm: periods where the firm's balance exceeds `min_share` of
/// its deployed capacity, merged while consecutive. Sorted by firm, then start.
std::vector<Episode> find_episodes(const Scenario& s, const RunResult& r, const SeriesDiagnosis& d,
                                   double min_share = kEpisodeMinShare);

/// All firms' spare capacity over a run, in H100e x months (30.44-day months), and each cause's
/// part of it, in the order of kSpareCauses.
struct SpareTotals {
  double h100e_months = 0;
  CauseNumbers by_cause{};
  /// "66% sold to firms short of capacity, 17% region mismatch, 11% weak demand": the `n`
  /// largest causes with their shares, largest first (the first of equals in kSpareCauses'
  /// order), leaving out those after the first whose share rounds to 0%; "" when there is no
  /// spare capacity.
  std::string largest(int n) const;
};
SpareTotals spare_totals(const RunResult& r);

/// What `explain_surplus` answers, as data: the firm has no surplus (its balance is not
/// above 0); it has one during market oversupply (Yes); or it has one while the market is short
/// or balanced: a local, temporary mismatch (No).
enum class SurplusAnswer { no_surplus, oversupply, mismatch };
SurplusAnswer surplus_answer(const FirmRecord& rec, Regime regime);

/// The question `explain_surplus` answers, asked of `runs` runs of a scenario that differ only
/// in their seed (s.seed, s.seed + 1, ...: their slips and random draws): how often each answer
/// and each regime comes at period `t`, and the spread of the firm's balance then.
struct SeedSpread {
  std::uint64_t first_seed = 0;
  int runs = 0;
  std::array<int, 3> answers{};  ///< runs per SurplusAnswer
  std::array<int, 3> answers_then{};  ///< runs per SurplusAnswer by the regime read in real time at t
  std::array<int, 3> regimes{};  ///< runs per Regime at t
  std::array<int, 3> realtime_regimes{};  ///< runs per Regime at t read in real time (TrendRevision)
  int in_episode = 0;            ///< runs in which the firm is in a surplus episode at t
  std::vector<double> balances;  ///< the firm's balance at t (H100e), run by run in seed order
};
/// Runs on `threads` threads (the result does not depend on how many); `progress(done, runs)`
/// is called as runs end, one call at a time. Needs s.seed + runs - 1 <= kMaxSeed.
SeedSpread across_seeds(const Scenario& s, int firm, int t, int runs, int threads = 1,
                        const std::function<void(int, int)>& progress = {});

/// A spread across seeds as a paragraph of `gpumm explain --seeds`: the answers, the regimes
/// (after the fact and read in real time) and the firm's balance (P10, median, P90) at period
/// `t` of the calendar `cal`.
std::string explain_across_seeds(const Scenario& s, const Calendar& cal, const SeedSpread& spread, int firm, int t);

/// The answer for firm `firm` at period `t`, with its evidence, as text (`gpumm explain`).
std::string explain_surplus(const Scenario& s, const RunResult& r, const SeriesDiagnosis& d,
                            const std::vector<Episode>& episodes, int firm, int t);

}  // namespace gpumm
