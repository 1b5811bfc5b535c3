// Speed and memory of a run, in-process and without I/O (no observer):
//   BM_Base        the bundled base scenario (10 firms x 7 regions x 18 generations, 120 months)
//   BM_Large/Y     a synthetic 100 firms x 20 regions x 8 generations over Y years, monthly
// Counters: `peak_MiB` is the most heap memory in use during one run (allocations are counted
// by this program's operator new), so it shows whether memory grows with the horizon.
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>

#include "gpumm/scenario.hpp"
#include "gpumm/simulate.hpp"

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


void BM_Base(benchmark::State& state) {
  const gpumm::Scenario s = gpumm::load_scenario_file(GPUMM_SOURCE_DIR "/inputs/base.yaml");
  g_peak = g_live.load();
  const long long before = g_live.load();
  for (auto _ : state) {
    gpumm::RunResult r = gpumm::simulate(s);
    benchmark::DoNotOptimize(r.periods.back().deployed_h100e);
  }
  state.counters["peak_MiB"] = static_cast<double>(g_peak.load() - before) / (1 << 20);
}
BENCHMARK(BM_Base)->Unit(benchmark::kMicrosecond);

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

}  // namespace

BENCHMARK_MAIN();
