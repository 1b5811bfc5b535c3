// libFuzzer target for the scenario loader, the run and its diagnosis (see README, "Fuzzing").
// Any text either loads or is refused with a ScenarioError; a scenario that loads runs
// without a fault, keeps its stocks within their bounds (no `invariant` warning) and gives
// finite numbers, and its diagnosis (the trend, read in real time and revised near the end,
// episodes, the verdict) is made without a fault and with finite numbers. Anything else
// (another exception, a crash, a sanitizer report, a hang, a NaN) is a bug.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "gpumm/episodes.hpp"
#include "gpumm/error.hpp"
#include "gpumm/io.hpp"
#include "gpumm/scenario.hpp"
#include "gpumm/simulate.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  gpumm::Scenario s;
  try {
    s = gpumm::load_scenario_text(text, "fuzz.yaml");
  } catch (const gpumm::ScenarioError&) {
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "the loader threw something other than a ScenarioError: %s\n", e.what());
    std::abort();
  }
  const gpumm::RunResult run = [&] {
    try {
      return gpumm::simulate(s);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "a scenario that loaded failed to run: %s\n", e.what());
      std::abort();
    }
  }();
  for (const gpumm::Warning& w : run.warnings)
    if (w.code == "invariant") {
      std::fprintf(stderr, "%s\n", w.message.c_str());
      std::abort();
    }
  for (const gpumm::PeriodSummary& p : run.periods)
    for (double x : {p.installed_h100e, p.deployed_h100e, p.stranded_gpus, p.energized_mw, p.usable_it_mw,
                     p.ordered_gpus, p.delivered_gpus, p.backlog_gpus, p.capex_spent_usd, p.demand_h100e(),
                     p.served_h100e, p.unserved_h100e, p.idle_h100e, p.spot_usd_per_h100e_hour,
                     p.market_matched_h100e, p.mismatch_index})
      if (!std::isfinite(x)) {
        std::fprintf(stderr, "period %d: a number that is not finite\n", p.period);
        std::abort();
      }
  // what a written run adds: the diagnosis with its trend's revision, episodes and the verdict
  try {
    const gpumm::SeriesDiagnosis d = gpumm::diagnose_run_revised(s, run);
    for (size_t t = 0; t < d.trend.size(); ++t) {
      const double bound = d.revision.bound[t];
      if (!std::isfinite(d.trend[t]) || !std::isfinite(d.revision.realtime[t]) ||
          !(std::isfinite(bound) || (std::isnan(bound) && !d.revision.measured()))) {
        std::fprintf(stderr, "period %zu: a trend, its real-time reading or its revision that is not finite\n", t);
        std::abort();
      }
    }
    (void)gpumm::verdict_text(s, run, d, gpumm::find_episodes(s, run, d));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "the diagnosis of a run failed: %s\n", e.what());
    std::abort();
  }
  return 0;
}
