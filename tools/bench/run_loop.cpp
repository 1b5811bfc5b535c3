// gpumm_run_loop SCENARIO N: load a scenario once and simulate it N times in-process (no
// observer, no I/O), for counting the instructions of a run with a profiler:
// tools/bench/instructions.sh runs it under callgrind with N and with 0 runs and divides the
// difference by N, so that loading the scenario does not count.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "gpumm/scenario.hpp"
#include "gpumm/simulate.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: gpumm_run_loop SCENARIO.yaml N\n");
    return 2;
  }
  try {
    const gpumm::Scenario s = gpumm::load_scenario_file(argv[1]);
    const long n = std::strtol(argv[2], nullptr, 10);
    double check = 0;
    for (long i = 0; i < n; ++i) check += gpumm::simulate(s).periods.back().installed_h100e;
    std::printf("%ld runs, final installed H100e summed: %.17g\n", n, check);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gpumm_run_loop: %s\n", e.what());
    return 1;
  }
  return 0;
}
