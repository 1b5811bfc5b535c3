// Speed and memory of a run, in-process and without I/O (no observer):
//   BM_Base        the bundled base scenario (12 firms x 7 regions x 18 generations, 120 months)
//   BM_BaseNoMarket, BM_SupplyOnly  the base without contracts and market, and its supply alone
//                  (tools/bench/base_no_market.yaml, base_supply_only.yaml): what the parts cost
//   BM_LoadBase    reading and validating the base scenario's YAML (what `gpumm run` does first)
//   BM_Large/Y     a synthetic 100 firms x 20 regions x 8 generations over Y years, monthly
//   BM_StudySample one sample of a study on the base: set 10 parameters in the document,
//                  load it, simulate, diagnose (what every run of a study costs, one thread)
//   BM_StudyInstantiate, BM_StudySimulate, BM_StudyDiagnose  its three parts apart (the
//                  simulation on the first 96 points of BM_SobolStudy's design)
//   BM_DiagnoseRevised the diagnosis a written run makes: BM_StudyDiagnose's, the trend read
//                  in real time, and how far the last two years' trend may yet move
//   BM_SobolStudy  a Sobol study of 10 base parameters, N = 64 (768 runs) on 2 threads;
//                  `runs_per_s` extrapolates to the N = 2^13 (98,304-run) study
//   BM_ExplainSeeds `gpumm explain --seeds 256` on the base (meta, 2026-07), 2 threads
// Counters: `peak_MiB` is the most heap memory in use during one run (allocations are counted
// by this program's operator new), so it shows whether memory grows with the horizon.
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <atomic>
#include <cstdlib>
#include <functional>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "gpumm/episodes.hpp"
#include "gpumm/scenario.hpp"
#include "gpumm/sensitivity.hpp"
#include "gpumm/simulate.hpp"
#include "gpumm/study.hpp"

namespace {
std::atomic<long long> g_live{0}, g_peak{0};
}  // namespace

void* operator new(std::size_t n) {
  void* p = std::malloc(n ? n : 1);
  if (!p) throw std::bad_alloc();
  long long live = g_live += static_cast<long long>(malloc_usable_size(p));
  long long peak = g_peak.load();
  while (live > peak && !g_peak.compare_exchange_weak(peak, live)) {
  }
  return p;
}
void operator delete(void* p) noexcept {
  if (!p) return;
  g_live -= static_cast<long long>(malloc_usable_size(p));
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept { operator delete(p); }

namespace {

std::string large_scenario(int years) {
  std::string y = "name: large\nstart: 2025-01\nend: " + std::to_string(2024 + years) +
                  "-12-31\nstep: month\nupstream:\n  cowos: {capacity_per_year: 2000000, "
                  "max_growth_per_year: 0.5, expansions: [{commit: 2026-01-01, add_per_year: 1000000}]}\n"
                  "generations:\n";
  for (int g = 0; g < 8; ++g) {
    const int year = 2021 + 2 * (g / 2);
    y += "  g" + std::to_string(g) + ": {family: fam" + std::to_string(g % 2) +
         ", train_h100e: " + std::to_string(1 + g) + ", it_power: " + std::to_string(1 + 0.2 * g) +
         " kW, first_shipment: " + std::to_string(year) + "-01-01, ramp: 12mo, peak_units_per_year: 3000000, "
         "price: $" + std::to_string(20000 + 5000 * g) + ", uses: {cowos: 0.05}}\n";
  }
  y += "regions:\n";
  for (int r = 0; r < 20; ++r)
    y += "  r" + std::to_string(r) + ": {pue: 1.2, interconnect_cap: 3 GW/y}\n";
  y += "firms:\n";
  for (int f = 0; f < 100; ++f) {
    y += "  f" + std::to_string(f) + ":\n    regions: {";
    for (int r = 0; r < 20; ++r) y += (r ? ", r" : "r") + std::to_string(r) + ": 0.05";
    y += "}\n    power_at_start: {r0: 200 MW, r1: 100 MW}\n    fleet_at_start: {g0: 20000, g1: 10000}\n";
    y += "    family_mix: {fam0: 0.6, fam1: 0.4}\n    capex: {";
    for (int yr = 2025; yr < 2025 + years; ++yr)
      y += (yr > 2025 ? ", " : "") + std::to_string(yr) + ": $" + std::to_string(2 + f % 5) + "B";
    y += "}\n    builds: [{power: 500 MW, commit: 2024-01-01, lead_time: 24mo, stage: permitted}]\n";
  }
  return y;
}


// Runs of one scenario file (relative to the source folder), with the heap's peak during them.
void run_scenario(benchmark::State& state, const char* file) {
  const gpumm::Scenario s = gpumm::load_scenario_file(std::string(GPUMM_SOURCE_DIR "/") + file);
  g_peak = g_live.load();
  const long long before = g_live.load();
  for (auto _ : state) {
    gpumm::RunResult r = gpumm::simulate(s);
    benchmark::DoNotOptimize(r.periods.back().deployed_h100e);
  }
  state.counters["peak_MiB"] = static_cast<double>(g_peak.load() - before) / (1 << 20);
}
void BM_Base(benchmark::State& state) { run_scenario(state, "inputs/base.yaml"); }
BENCHMARK(BM_Base)->Unit(benchmark::kMicrosecond);
void BM_BaseNoMarket(benchmark::State& state) { run_scenario(state, "tools/bench/base_no_market.yaml"); }
BENCHMARK(BM_BaseNoMarket)->Unit(benchmark::kMicrosecond);
void BM_SupplyOnly(benchmark::State& state) { run_scenario(state, "tools/bench/base_supply_only.yaml"); }
BENCHMARK(BM_SupplyOnly)->Unit(benchmark::kMicrosecond);

// Reading and validating the base scenario, as `gpumm run` does before it simulates.
void BM_LoadBase(benchmark::State& state) {
  for (auto _ : state) {
    const gpumm::Scenario s = gpumm::load_scenario_file(GPUMM_SOURCE_DIR "/inputs/base.yaml");
    benchmark::DoNotOptimize(s.firms.size());
  }
}
BENCHMARK(BM_LoadBase)->Unit(benchmark::kMillisecond);

void BM_Large(benchmark::State& state) {
  const gpumm::Scenario s = gpumm::load_scenario_text(large_scenario(static_cast<int>(state.range(0))), "large.yaml");
  const long long before = g_live.load();
  g_peak = before;
  for (auto _ : state) {
    gpumm::RunResult r = gpumm::simulate(s);
    benchmark::DoNotOptimize(r.periods.back().deployed_h100e);
  }
  state.counters["peak_MiB"] = static_cast<double>(g_peak.load() - before) / (1 << 20);
  state.counters["cells"] = 100 * 20 * 8;
}
BENCHMARK(BM_Large)->Arg(10)->Arg(20)->Unit(benchmark::kMillisecond);

// Ten parameters of the base scenario (those of inputs/studies/sobol.yaml and five more).
std::vector<gpumm::StudyParameter> base_parameters(const gpumm::ScenarioTemplate& t) {
  std::vector<gpumm::StudyParameter> ps = {
      {"firms.microsoft.capex.2027", 120, 230},
      {"regions.us_central.interconnect_cap", 6, 18},
      {"programs.openai_frontier.growth_per_year", 2.0, 4.6},
      {"inference.chatgpt.tokens_per_user.growth_per_year", 0.5, 2.5},
      {"other_demand.google_workloads.h100e.2028", 12000000, 24000000},
      // these five: the scenario's value +-25%
      {"firms.meta.capex.2027", 0, 0},
      {"firms.google.capex.2027", 0, 0},
      {"firms.amazon.capex.2027", 0, 0},
      {"regions.us_east.interconnect_cap", 0, 0},
      {"programs.anthropic_frontier.growth_per_year", 0, 0},
  };
  for (auto& p : ps) {
    p.base = t.value_at(p.path);
    if (p.low == 0 && p.high == 0) {
      p.low = 0.75 * p.base;
      p.high = 1.25 * p.base;
    }
  }
  return ps;
}

// What a study of the base holds for its runs: the document, the ten parameters, and the
// maker of a scenario from their values.
struct BaseStudy {
  gpumm::ScenarioTemplate t = gpumm::ScenarioTemplate::from_file(GPUMM_SOURCE_DIR "/inputs/base.yaml");
  std::vector<gpumm::StudyParameter> ps = base_parameters(t);
  gpumm::ScenarioTemplate::Instantiator make{t};
};

// The values of the parameters at the point x (each in [0, 1]) of their ranges.
std::vector<std::pair<std::string, double>> values_at(const std::vector<gpumm::StudyParameter>& ps,
                                                      const std::function<double(size_t)>& x) {
  std::vector<std::pair<std::string, double>> values;
  for (size_t j = 0; j < ps.size(); ++j) values.emplace_back(ps[j].path, ps[j].low + (ps[j].high - ps[j].low) * x(j));
  return values;
}

// The k-th of ten points on the diagonal of the parameter space (0.3, 0.0, 0.7, ...).
std::vector<std::pair<std::string, double>> diagonal_point(const std::vector<gpumm::StudyParameter>& ps, int k) {
  return values_at(ps, [k](size_t) { return ((k * 7 + 3) % 10) / 10.0; });
}

void BM_StudySample(benchmark::State& state) {
  BaseStudy base;
  int k = 0;
  for (auto _ : state) {
    const gpumm::Scenario s = base.make(diagonal_point(base.ps, k++));
    const gpumm::RunResult r = gpumm::simulate(s);
    const auto d = gpumm::diagnose_run(s, r);
    benchmark::DoNotOptimize(d.trend.back());
  }
}
BENCHMARK(BM_StudySample)->Unit(benchmark::kMillisecond);

// BM_StudySample's parts: setting the parameters and reloading what they touch, and the
// diagnosis of a run; the rest is the simulation (BM_StudySimulate, on Sobol design points)
void BM_StudyInstantiate(benchmark::State& state) {
  BaseStudy base;
  int k = 0;
  for (auto _ : state) benchmark::DoNotOptimize(base.make(diagonal_point(base.ps, k++)).firms.size());
}
BENCHMARK(BM_StudyInstantiate)->Unit(benchmark::kMillisecond);

void BM_StudySimulate(benchmark::State& state) {
  BaseStudy base;
  // the points of BM_SobolStudy's design, the first 96 runs
  const Eigen::MatrixXd x = gpumm::saltelli_design(64, static_cast<int>(base.ps.size()));
  std::vector<gpumm::Scenario> scenarios;
  for (int k = 0; k < 96; ++k)
    scenarios.push_back(base.make(values_at(base.ps, [&](size_t j) { return x(k, static_cast<int>(j)); })));
  size_t k = 0;
  for (auto _ : state) {
    const gpumm::RunResult r = gpumm::simulate(scenarios[k++ % scenarios.size()]);
    benchmark::DoNotOptimize(r.periods.back().deployed_h100e);
  }
}
BENCHMARK(BM_StudySimulate)->Unit(benchmark::kMillisecond);

void BM_StudyDiagnose(benchmark::State& state) {
  const gpumm::Scenario s = gpumm::load_scenario_file(GPUMM_SOURCE_DIR "/inputs/base.yaml");
  const gpumm::RunResult r = gpumm::simulate(s);
  for (auto _ : state) {
    const auto d = gpumm::diagnose_run(s, r);
    benchmark::DoNotOptimize(d.trend.back());
  }
}
BENCHMARK(BM_StudyDiagnose)->Unit(benchmark::kMillisecond);

void BM_DiagnoseRevised(benchmark::State& state) {
  const gpumm::Scenario s = gpumm::load_scenario_file(GPUMM_SOURCE_DIR "/inputs/base.yaml");
  const gpumm::RunResult r = gpumm::simulate(s);
  for (auto _ : state) {
    const auto d = gpumm::diagnose_run_revised(s, r);
    benchmark::DoNotOptimize(d.revision.bound.back());
  }
}
BENCHMARK(BM_DiagnoseRevised)->Unit(benchmark::kMillisecond);

void BM_SobolStudy(benchmark::State& state) {
  gpumm::Study study;
  study.scenario = GPUMM_SOURCE_DIR "/inputs/base.yaml";
  study.method = gpumm::StudyMethod::sobol;
  study.samples = 64;
  study.outputs = {"periods_in_structural_shortage", "mean_mismatch_index_frac"};
  const auto t = gpumm::ScenarioTemplate::from_file(study.scenario);
  study.parameters = base_parameters(t);
  long runs = 0;
  for (auto _ : state) {
    const gpumm::StudyResult r = gpumm::run_study(study, t, 2);
    runs += r.outputs.rows();
    benchmark::DoNotOptimize(r.outputs(0, 0));
  }
  state.counters["runs_per_s"] = benchmark::Counter(static_cast<double>(runs), benchmark::Counter::kIsRate);
  state.counters["runs"] = static_cast<double>(runs) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_SobolStudy)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();

// `gpumm explain --seeds 256` without its one run and its text: the question asked of 256 runs of
// the base with consecutive seeds, on 2 threads.
void BM_ExplainSeeds(benchmark::State& state) {
  const gpumm::Scenario s = gpumm::load_scenario_file(GPUMM_SOURCE_DIR "/inputs/base.yaml");
  const gpumm::Calendar cal(s.start, s.end, s.step);
  int meta = 0;
  while (s.firms[static_cast<size_t>(meta)].id != "meta") ++meta;
  const int t = cal.index_of(gpumm::parse_date("2026-07-01").value);
  long runs = 0;
  for (auto _ : state) {
    const gpumm::SeedSpread spread = gpumm::across_seeds(s, meta, t, 256, 2);
    runs += spread.runs;
    benchmark::DoNotOptimize(spread.in_episode);
  }
  state.counters["runs_per_s"] = benchmark::Counter(static_cast<double>(runs), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ExplainSeeds)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
