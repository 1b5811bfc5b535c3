#pragma once
// What the commands of the gpumm program share (internal to tools/gpumm): reading options,
// numbers set with --set, loading a scenario or a study for a command, reporting problems, and
// the progress line on a terminal. One file per command: run.cpp, explain.cpp, diff.cpp,
// study.cpp, validate.cpp; cli.cpp dispatches to them.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "cli.hpp"
#include "gpumm/scenario.hpp"
#include "gpumm/study.hpp"

namespace gpumm::cli::detail {

/// The column where the values of a summary's labelled lines start (`  final installed   316.8M
/// H100e`); a value that wraps goes on in the same column.
inline constexpr size_t kValueColumn = 20;

/// A usage problem on `err`, with where to read more: the help of `command` (`gpumm run
/// --help`) when one is named, else the whole help; returns the exit code for bad usage.
int usage(std::ostream& err, const std::string& message, const std::string& command = "");

/// The usage error for an option `command` does not know, with the closest of its long options
/// (`--sed`: did you mean `--seed`?); a short one such as `-x` gets no guess.
int unknown_option(std::ostream& err, const std::string& option, const std::string& command,
                   const std::vector<std::string>& long_options);

/// The value of the option at args[i], moving i onto it; null when there is none: the arguments
/// end, or another option follows (`--threads -q`). A negative number is a value (refused later
/// with the option's range).
const std::string* option_value(const std::vector<std::string>& args, size_t& i);

/// Every problem of `e`, one line each, and how many; returns the exit code for bad input.
int report(std::ostream& err, const ScenarioError& e);

/// The value of the --seed option at args[i] (moving i onto it) into `seed`: a whole number a
/// scenario can hold (0 to kMaxSeed, so that scenario.resolved.yaml reproduces the run).
/// Returns the usage problem, "" when there is none.
std::string seed_option(const std::vector<std::string>& args, size_t& i, std::uint64_t& seed);

/// The value of the -o / --output option at args[i] (moving i onto it) into `dir`: a folder,
/// not "" (as an unset variable in `-o "$OUT"` gives, which would otherwise mean the default).
/// Returns the usage problem, "" when there is none.
std::string output_option(const std::vector<std::string>& args, size_t& i, std::string& dir);

/// The threads to use by default: one per core.
int all_cores();

/// The value of the option at args[i] (moving i onto it) into `count`: a whole number from
/// `low` to `high`. Returns the usage problem, "" when there is none.
std::string count_option(const std::vector<std::string>& args, size_t& i, int low, int high, int& count);

/// The value of the --threads option at args[i] (moving i onto it) into `threads`: 1 to 1024.
/// Returns the usage problem, "" when there is none.
std::string threads_option(const std::vector<std::string>& args, size_t& i, int& threads);

// The options `run` and `diff` share: -o/--output DIR, --seed N, -q/--quiet.
struct SharedOptions {
  std::string out_dir;
  bool quiet = false, have_seed = false;
  std::uint64_t seed = 0;

  // Whether args[i] is one of them (moving i onto its value); a value that is missing or
  // wrong leaves the usage problem in `problem`.
  bool take(const std::vector<std::string>& args, size_t& i, std::string& problem) {
    const std::string& a = args[i];
    if (a == "-o" || a == "--output") {
      problem = output_option(args, i, out_dir);
    } else if (a == "--seed") {
      problem = seed_option(args, i, seed);
      have_seed = true;
    } else if (a == "-q" || a == "--quiet") {
      quiet = true;
    } else {
      return false;
    }
    return true;
  }
};

// Numbers of the scenario set on the command line (`--set PATH=VALUE`, repeatable), as study
// parameters are: the value in the units the scenario writes at PATH.
struct SetValues {
  std::vector<std::pair<std::string, double>> values;
  std::vector<std::string> texts, was;  ///< each value as written there, and the scenario's own
  /// each value as given when it is not a plain number (`$200B`, `36mo`): read in `apply` with
  /// the units the scenario writes at its path; "" for a plain number
  std::vector<std::string> given;

  // Reads the value of --set at args[i] (moving i onto it); returns the usage problem, "" if none.
  std::string take(const std::vector<std::string>& args, size_t& i);

  // The default output folder of a run with these values: the scenario's own name and a short
  // mark of the values (the same values in any order, the same folder), so that a variant never
  // replaces the scenario's own output in out/<name>/.
  std::string folder(const std::string& name) const;

  // The scenario at `path` with the values set, keeping the scenario's own in `was`; nothing,
  // with the reason on `err`, when a path names no number or a value makes the scenario
  // invalid. Throws the scenario's own problems (ScenarioError), as loading it would.
  std::optional<Scenario> apply(const std::string& path, std::ostream& err);
};

/// Load a scenario for a command, with the --seed override and the --set values; reports
/// problems and returns false.
bool load_for(const std::string& path, bool have_seed, std::uint64_t seed, SetValues& sets, Scenario& s,
              std::ostream& err);

/// The --set values against the scenario's own, one line each, for a summary.
void print_sets(std::ostream& out, const SetValues& sets);

/// A study file and its scenario, with every problem of both at once (a ScenarioError listing
/// them in the order of the study file, then the scenario's own).
void load_study(const std::string& path, Study& study, std::optional<ScenarioTemplate>& tmpl);

// A line of progress on a terminal (nothing elsewhere), drawn again at most five times a
// second: `due` says whether to draw it now, `draw` draws it over the last one.
class ProgressLine {
 public:
  ProgressLine(std::ostream& err, bool tty) : err_(err), tty_(tty) {}
  bool due(bool last = false) {
    if (!tty_) return false;
    const auto now = std::chrono::steady_clock::now();
    if (!last && now - last_ < std::chrono::milliseconds(200)) return false;
    last_ = now;
    return true;
  }
  double seconds() const { return std::chrono::duration<double>(last_ - start_).count(); }
  void draw(const char* text) {
    const int n = static_cast<int>(std::strlen(text));
    err_ << '\r' << text << std::string(static_cast<size_t>(std::max(0, width_ - n)), ' ') << std::flush;
    width_ = std::max(width_, n);
  }
  void end_line() {
    if (width_ > 0) err_ << "\n";
    width_ = 0;
  }
  void wipe() {
    if (width_ == 0) return;
    err_ << '\r' << std::string(static_cast<size_t>(width_), ' ') << '\r' << std::flush;
    width_ = 0;
  }

 private:
  std::ostream& err_;
  bool tty_;
  int width_ = 0;  // of the widest line drawn: a shorter one is padded over it
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now(), last_ = start_;
};

// The progress of many runs (a study's, a diff's): runs done, rate and time to go; the line is
// ended when the last run is.
class RunsProgress {
 public:
  RunsProgress(std::ostream& err, bool tty, bool growing) : line_(err, tty), growing_(growing) {}
  RunsProgress(const RunsProgress&) = delete;
  RunsProgress& operator=(const RunsProgress&) = delete;
  ~RunsProgress() { end(); }
  /// Close the line (runs that stop early: what follows starts on a line of its own).
  void end() { line_.end_line(); }
  void operator()(int done, int total) {
    if (!line_.due(done == total)) return;
    const double secs = line_.seconds();
    const double rate = secs > 0 ? done / secs : 0;
    char text[200];
    const std::string to_go = duration_text(rate > 0 ? (total - done) / rate : 0.0);
    if (growing_)  // the sample grows until its intervals are narrow enough
      std::snprintf(text, sizeof text, "  runs %d of at most %d, %.0f runs/s, at most %s to go   ", done, total, rate,
                    to_go.c_str());
    else
      std::snprintf(text, sizeof text, "  runs %d/%d (%.0f%%), %.0f runs/s, ETA %s   ", done, total,
                    100.0 * done / total, rate, to_go.c_str());
    line_.draw(text);
    if (done == total) line_.end_line();
  }

 private:
  ProgressLine line_;
  bool growing_;
};

// The commands; `args` are those after the command's name.
int cmd_run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int cmd_validate(const std::vector<std::string>& files, std::ostream& out, std::ostream& err);
int cmd_explain(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int cmd_diff(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int cmd_study(const std::vector<std::string>& args, std::ostream& out, std::ostream& err, const StudyShare* share);

}  // namespace gpumm::cli::detail
