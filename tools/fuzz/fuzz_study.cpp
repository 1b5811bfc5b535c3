// libFuzzer target for the study-file loader (see README, "Fuzzing"). Any text either loads
// or is refused with a ScenarioError (located problems); anything else is a bug.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>

#include "gpumm/error.hpp"
#include "gpumm/study.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // the loader reads a file: one per fuzzing process, written for every input and removed after
  // it (a crash leaves it behind, beside libFuzzer's copy of the input)
  static const std::string path =
      (std::filesystem::temp_directory_path() / ("gpumm-fuzz-study-" + std::to_string(getpid()) + ".yaml")).string();
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    (void)gpumm::load_study_file(path);
  } catch (const gpumm::ScenarioError&) {
  } catch (const std::exception& e) {
    std::fprintf(stderr, "the study loader threw something other than a ScenarioError: %s\n", e.what());
    std::abort();
  }
  std::error_code ignored;
  std::filesystem::remove(path, ignored);
  return 0;
}
