// libFuzzer target for the comparison of scenarios (`gpumm diff`; see README, "Fuzzing"). Each
// input is scenario B, set beside copies of the bundled scenarios as `cases/b.yaml` (so a case's
// `extends: ../base.yaml` finds the base), compared with the base as A. A text that does not
// load is refused with a ScenarioError; for one that does, A with every change made must load,
// A with any one change or any first changes must load or be refused with a ScenarioError, and
// a waterfall of up to four changes must end at B's metrics with effects that add up. Anything
// else (another exception, a crash, a sanitizer report, a hang) is a bug.
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>

#include "gpumm/compare.hpp"
#include "gpumm/error.hpp"
#include "gpumm/scenario.hpp"

namespace fs = std::filesystem;

namespace {

[[noreturn]] void bug(const std::string& what) {
  std::fprintf(stderr, "%s\n", what.c_str());
  std::abort();
}

// The base beside the case folder, written once per fuzzing process.
const fs::path& folder() {
  static const fs::path dir = [] {
    const fs::path d = fs::temp_directory_path() / ("gpumm-fuzz-diff-" + std::to_string(getpid()));
    fs::create_directories(d / "cases");
    fs::copy_file(GPUMM_SOURCE_DIR "/inputs/base.yaml", d / "base.yaml", fs::copy_options::overwrite_existing);
    // the other cases, which a case may extend (generation-switch extends glut)
    for (const auto& f : fs::directory_iterator(GPUMM_SOURCE_DIR "/inputs/cases"))
      fs::copy_file(f.path(), d / "cases" / f.path().filename(), fs::copy_options::overwrite_existing);
    return d;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const gpumm::ScenarioTemplate base = gpumm::ScenarioTemplate::from_file((folder() / "base.yaml").string());
  const fs::path path = folder() / "cases" / "b.yaml";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    const gpumm::ScenarioTemplate b = [&] {
      try {
        return gpumm::ScenarioTemplate::from_file(path.string());
      } catch (const gpumm::ScenarioError&) {
        throw;
      } catch (const std::exception& e) {
        bug(std::string("loading B threw something other than a ScenarioError: ") + e.what());
      }
    }();
    const auto changes = base.changes_to(b);
    std::vector<size_t> all;
    for (size_t k = 0; k < changes.size(); ++k) all.push_back(k);
    try {
      (void)base.with_changes(b, all);
    } catch (const gpumm::ScenarioError& e) {
      bug("every change made does not load although B does: " + e.diagnostics().front().to_string());
    }
    for (size_t k = 0; k < changes.size(); ++k) {
      std::vector<size_t> first(all.begin(), all.begin() + static_cast<long>(k) + 1);
      for (const std::vector<size_t>& which : {std::vector<size_t>{k}, first}) {
        try {
          (void)base.with_changes(b, which);
        } catch (const gpumm::ScenarioError&) {
        }
      }
    }
    if (changes.size() <= 4) {
      const gpumm::Waterfall w = gpumm::waterfall(base, b, {"mean_relative_balance_frac", "peak_unserved_h100e"});
      for (size_t m = 0; m < w.metrics.size(); ++m) {
        double sum = 0;
        for (size_t k = 0; k < w.steps.size(); ++k) sum += w.effect(k, m);
        const double total = w.end[m] - w.start[m];
        if (!w.steps.empty() && w.steps.back().after[m] != w.end[m]) bug("the waterfall does not end at B");
        if (std::abs(sum - total) > 1e-9 * std::max(1.0, std::abs(total))) bug("the effects do not add up");
      }
    }
  } catch (const gpumm::ScenarioError&) {
  } catch (const std::exception& e) {
    bug(std::string("the comparison threw something other than a ScenarioError: ") + e.what());
  }
  return 0;
}
