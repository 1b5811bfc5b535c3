// libFuzzer target for the scenario loader and the run (see README, "Fuzzing").
// Any text either loads or is refused with a ScenarioError; a scenario that loads runs
// without a fault. Anything else (another exception, a crash, a sanitizer report, a hang)
// is a bug.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "gpumm/error.hpp"
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
  try {
    (void)gpumm::simulate(s);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "a scenario that loaded failed to run: %s\n", e.what());
    std::abort();
  }
  return 0;
}
