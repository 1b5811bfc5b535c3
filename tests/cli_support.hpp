// What the end-to-end tests of the gpumm program share: running it as a user would (in a
// folder, or on a terminal), scratch folders, and reading what it leaves (lines, CSV cells and
// columns).
#pragma once
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "gpumm/market.hpp"
#include "gpumm/scenario.hpp"
#include "scratch_dir.hpp"
#include "slurp.hpp"

namespace gpumm::testing {

namespace fs = std::filesystem;

inline const fs::path kSource = GPUMM_SOURCE_DIR;
inline const std::string kBin = GPUMM_BIN;

struct Result {
  int code = -1;
  std::string out, err;
};

// The note on a falling spot in a shortage, with the base's market settings (a climb of at most
// 42% a year, 5.1 years from its floor to its reference, as market_test works out by hand).
inline std::string spot_note() {
  return gpumm::spot_in_shortage_note(gpumm::load_scenario_file((kSource / "inputs/base.yaml").string()).market);
}

// This process's scratch folder, removed when the process ends.
inline const fs::path& scratch_root() {
  static const gpumm::testing::ScratchDir dir("gpumm-cli-test");
  return dir.path();
}

inline fs::path scratch(const std::string& name) {
  fs::path p = scratch_root() / name;
  fs::remove_all(p);
  fs::create_directories(p.parent_path());
  return p;
}

// Run `gpumm ARGS` in `cwd` with optional environment prefix; capture exit code and streams.
inline Result run_gpumm(const std::string& args, const fs::path& cwd = kSource, const std::string& env = "") {
  const fs::path base = scratch("io");
  fs::create_directories(base);
  const fs::path out = base / "stdout", err = base / "stderr";
  const std::string cmd = "cd '" + cwd.string() + "' && " + env + " '" + kBin + "' " + args + " >'" +
                          out.string() + "' 2>'" + err.string() + "'";
  const int status = std::system(cmd.c_str());
  Result r;
  if (WIFEXITED(status)) r.code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) r.code = 128 + WTERMSIG(status);
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

// Run `gpumm ARGS` in the source folder on a terminal (a pseudo-terminal from util-linux's
// `script`): what it shows there, standard output and error together as the terminal got them.
inline Result run_on_terminal(const std::string& args) {
  const fs::path base = scratch("tty");
  fs::create_directories(base);
  const fs::path out = base / "typescript";
  const std::string cmd = "cd '" + kSource.string() + "' && script -qec \"'" + kBin + "' " + args + "\" /dev/null >'" +
                          out.string() + "' 2>&1";
  const int status = std::system(cmd.c_str());
  Result r;
  if (WIFEXITED(status)) r.code = WEXITSTATUS(status);
  r.out = slurp(out);
  return r;
}

// `text` with its first `from` replaced by `to`; `from` must be there.
inline void replace_once(std::string& text, std::string_view from, std::string_view to) {
  const size_t at = text.find(from);
  REQUIRE_MESSAGE(at != std::string::npos, "not in the text: " << std::string(from));
  text.replace(at, from.size(), to);
}

inline std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> v;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    if (!l.empty() && l.back() == '\r') l.pop_back();
    v.push_back(l);
  }
  return v;
}

inline std::string join(const std::vector<std::string>& cols) {
  std::string s;
  for (const auto& c : cols) s += (s.empty() ? "" : ",") + c;
  return s;
}

inline const char* const kFiles[] = {"summary.csv",  "firms.csv",    "regions.csv",   "timeseries.csv",
                        "projects.csv", "episodes.csv", "contracts.csv", "market.csv",
                        "warnings.csv", "verdict.txt",  "scenario.resolved.yaml"};

// The cells of one CSV row (RFC 4180: quoted cells may hold commas and doubled quotes).
inline std::vector<std::string> cells(const std::string& row) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (size_t i = 0; i < row.size(); ++i) {
    const char c = row[i];
    if (quoted && c == '"' && i + 1 < row.size() && row[i + 1] == '"') out.back() += row[++i];
    else if (c == '"') quoted = !quoted;
    else if (c == ',' && !quoted) out.emplace_back();
    else out.back() += c;
  }
  return out;
}

// The cells of one column of a CSV file, by header name.
inline std::vector<std::string> column(const fs::path& file, const std::string& name) {
  auto rows = lines(slurp(file));
  const std::vector<std::string> header = cells(rows.at(0));
  const size_t k = static_cast<size_t>(std::find(header.begin(), header.end(), name) - header.begin());
  REQUIRE_MESSAGE(k < header.size(), name);
  std::vector<std::string> out;
  for (size_t r = 1; r < rows.size(); ++r) {
    const std::vector<std::string> row = cells(rows[r]);
    out.push_back(k < row.size() ? row[k] : "");
  }
  return out;
}

// Each period's length in months of 365.2425 / 12 days, by its date, from a run's summary.csv:
// what H100e-months weigh a firm's H100e by.
inline std::map<std::string, double> months_by_date(const fs::path& run) {
  const auto dates = column(run / "summary.csv", "date"), days = column(run / "summary.csv", "period_days");
  std::map<std::string, double> months;
  for (size_t t = 0; t < dates.size(); ++t) months[dates[t]] = std::stod(days[t]) / (365.2425 / 12);
  return months;
}

}  // namespace gpumm::testing
