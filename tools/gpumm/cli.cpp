#include "cli.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <ostream>
#include <string_view>
#include <tuple>

#include "gpumm/compare.hpp"
#include "gpumm/episodes.hpp"
#include "gpumm/io.hpp"
#include "gpumm/market.hpp"
#include "gpumm/scenario.hpp"
#include "gpumm/simulate.hpp"
#include "gpumm/study.hpp"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <thread>

namespace gpumm::cli {

namespace {

const char* kHelp = R"(gpumm - a simulator of the AI compute market

gpumm steps the multi-year buildout of GPUs (by generation), power, data centers and
networks, firm by firm and region by region, and writes spreadsheet-ready CSV.

Usage:
  gpumm run SCENARIO.yaml [-o DIR] [--seed N] [--set PATH=VALUE]... [--quiet]
      Simulate a scenario and write its output folder (default: out/<scenario name>/).
      On a terminal, a run that takes a while shows the period it has reached.
      -o, --output DIR   where to write; an existing folder is only reused if an earlier
                         gpumm run wrote it
      --seed N           override the scenario's seed (random slips and build draws)
      --set PATH=VALUE   set a number of the scenario for this run, in the units the
                         scenario writes there, as a study parameter is named:
                         --set firms.microsoft.capex.2027=200 ($B; or =$200B),
                         --set 'contracts[openai_oracle].ramp=36' (months); repeatable;
                         the default folder is then out/<scenario name>-set-<mark of the values>/;
                         for a word, a date (--set step=week) or a number the scenario does
                         not write, it prints the lines of a scenario that extends it
      -q, --quiet        print nothing but errors
  gpumm explain SCENARIO.yaml --firm FIRM --date DATE [--seed N] [--set PATH=VALUE]...
      Answer "does FIRM's surplus at DATE indicate market oversupply?" with the evidence:
      the market's regime, structural balance and mismatch, the firm's balance, and the
      surplus episode with its causes. Writes no files.
  gpumm diff A.yaml B.yaml [--metric M]... [-o DIR] [--seed N] [--quiet]
      Explain why two scenarios' outcomes differ: a waterfall from A to B that makes the
      changes between them (after `extends`: a case is its overrides of the base) one at a
      time, in the order B writes them, and shows what each adds to a metric; the effects
      add up to B minus A. Each change is also run alone on A: the rest of the total is what
      the changes do only together. Metrics are those of studies (default:
      periods_in_structural_shortage and mean_relative_balance; --metric again for more).
      Writes diff.csv (default folder: out/<A name>-vs-<B name>/).
  gpumm study STUDY.yaml [-o DIR] [--threads N] [--resume | --restart] [--quiet]
      Run a sensitivity or uncertainty study: the study file names the scenario, the
      parameters (paths such as firms.meta.capex.2026 with low and high values in the units
      written in the scenario, and optionally a distribution within them: triangular,
      normal, lognormal), the method (sweep, grid, tornado, morris, sobol, monte_carlo),
      the outputs and, for Monte Carlo bands and Sobol indices per period, the series
      (summary.csv's columns). Writes samples.csv, the method's tables and
      manifest.yaml (default folder: out/<study name>/) and prints the headline: per
      output, the parameters that matter most or the spread. Uses all cores unless --threads
      says otherwise; results do not depend on the number of threads. Shows progress with
      an ETA on a terminal. Every run is checkpointed: Ctrl-C (or SIGTERM) stops a study
      once the runs in flight are saved, and after any interruption the same command with
      --resume finishes it with exactly the results of an uninterrupted one (without
      --resume it refuses to throw the saved runs away; --restart discards them and starts
      over). Built with MPI (GPUMM_WITH_MPI), `mpirun -np N gpumm study ...` shares the
      runs among N processes, with the same results. docs/study.md lists every
      key of a study file and every metric (such as spare_share:sold_to_short_firms).
  gpumm validate FILE.yaml...
      Check scenarios, or study files with their scenario, without running them; every
      problem is listed as file:line:column: key.path: message
  gpumm --help | --version

Examples:
  gpumm run inputs/base.yaml -o out/base
  then open out/base/summary.csv in a spreadsheet: one row per period with installed,
  deployed and stranded GPUs, power, backlog, demand (training, inference, other), what
  was served, unserved and idle, the balance, its structural trend and the regime
  (structural_shortage, balanced, oversupply), spot prices; verdict.txt says it in words.
  gpumm diff inputs/base.yaml inputs/cases/grid-delay.yaml
  shows which of the grid-delay case's slower interconnects and build lead times move the
  periods of structural shortage and the mean relative balance, and by how much.

Output files:
  summary.csv             one row per period: supply, demand, balance, trend, regime, prices
  firms.csv, regions.csv  one row per period and firm / region
  timeseries.csv          long format (date, firm, region, generation, metric, value, unit)
  episodes.csv            every firm surplus episode with its causes
  contracts.csv           per period and contract: delivered, used, unused share, payment
  market.csv              per period, region and generation: offers, bids, matched, unmet, idle
                          and why, spot price
  verdict.txt             regime timeline, prices by regime, main episodes, the answer in words
  projects.csv            every training project: planned and actual start and end, slip, wait
  warnings.csv            what the run warned of (date, code, message), e.g. a contract's seller
                          without the capacity it sold
  scenario.resolved.yaml  the scenario after defaults, to reproduce the run exactly

Exit codes: 0 success, 1 runtime failure, 2 bad input or usage, 130 or 143 a study stopped
by Ctrl-C or SIGTERM (its runs saved for --resume).
The scenario format is documented in docs/scenario.md.
)";

int usage(std::ostream& err, const std::string& message) {
  err << "gpumm: " << message << "\n" << "Try `gpumm --help`.\n";
  return kBadInput;
}

// The usage error for an option `command` does not know, with the closest of its long options
// (`--sed`: did you mean `--seed`?); a short one such as `-x` gets no guess.
int unknown_option(std::ostream& err, const std::string& option, const std::string& command,
                   const std::vector<std::string>& long_options) {
  const std::string guess = option.size() > 2 ? closest_name(option, long_options) : "";
  return usage(err, "unknown option `" + option + "` for " + command +
                        (guess.empty() ? "" : "; did you mean `" + guess + "`?"));
}

// The value of the option at args[i], moving i onto it; null when there is none: the arguments
// end, or another option follows (`--threads -q`). A negative number is a value (refused later
// with the option's range).
const std::string* option_value(const std::vector<std::string>& args, size_t& i) {
  if (i + 1 >= args.size()) return nullptr;
  const std::string& v = args[i + 1];
  if (v.size() > 1 && v[0] == '-' && !(std::isdigit(static_cast<unsigned char>(v[1])) || v[1] == '.')) return nullptr;
  return &args[++i];
}

int report(std::ostream& err, const ScenarioError& e) {
  for (const Diagnostic& d : e.diagnostics()) err << d.to_string() << "\n";
  const size_t n = e.diagnostics().size();
  err << n << (n == 1 ? " problem" : " problems") << " found\n";
  return kBadInput;
}

// The value of the --seed option at args[i] (moving i onto it) into `seed`: a whole number a
// scenario can hold (0 to kMaxSeed, so that scenario.resolved.yaml reproduces the run).
// Returns the usage problem, "" when there is none.
std::string seed_option(const std::vector<std::string>& args, size_t& i, std::uint64_t& seed) {
  const std::string* v = option_value(args, i);
  if (!v) return "--seed needs a whole number";
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), seed);
  if (ec != std::errc() || p != v->data() + v->size() || seed > kMaxSeed)
    return "--seed `" + *v + "`: expected a whole number from 0 to " + std::to_string(kMaxSeed);
  return "";
}

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
      const std::string* v = option_value(args, i);
      if (v) out_dir = *v;
      else problem = a + " needs a folder";
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
  std::string take(const std::vector<std::string>& args, size_t& i) {
    const std::string* v = option_value(args, i);
    const std::string example = "e.g. `--set firms.microsoft.capex.2027=200` (in the units the scenario writes there)";
    if (!v) return "--set needs PATH=NUMBER, " + example;
    const size_t eq = v->rfind('=');
    double x = 0;
    const char* end = v->data() + v->size();
    if (eq == std::string::npos || eq == 0) return "--set `" + *v + "`: expected PATH=NUMBER, " + example;
    auto [p, ec] = std::from_chars(v->data() + eq + 1, end, x);
    const bool plain = ec == std::errc() && p == end && std::isfinite(x);
    if (eq + 1 == v->size()) return "--set `" + *v + "`: the value is missing; " + example;
    const std::string path = v->substr(0, eq);
    for (const auto& [q, _] : values)
      if (q == path) return "--set `" + path + "` is given twice";
    values.emplace_back(path, plain ? x : std::nan(""));
    given.push_back(plain ? "" : v->substr(eq + 1));
    return "";
  }

  // The default output folder of a run with these values: the scenario's own name and a short
  // mark of the values (the same values in any order, the same folder), so that a variant never
  // replaces the scenario's own output in out/<name>/.
  std::string folder(const std::string& name) const {
    std::vector<std::string> pairs;
    for (const auto& [p, x] : values) pairs.push_back(p + "=" + format_number(x));
    std::sort(pairs.begin(), pairs.end());
    std::uint64_t h = 1469598103934665603ull;  // FNV-1a
    for (const std::string& q : pairs)
      for (unsigned char c : q + "\n") h = (h ^ c) * 1099511628211ull;
    char mark[16];
    std::snprintf(mark, sizeof mark, "%08llx", static_cast<unsigned long long>(h >> 32));
    return name + "-set-" + mark;
  }

  // A value that is no number with units (`week`, `false`, `announced`) or a date (`2024-01`,
  // `2025-06-30`): what --set does not change, a scenario that extends the other does.
  static bool is_word(const std::string& v) {
    const bool date = (v.size() == 7 || v.size() == 10) && v[4] == '-' &&
                      std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c) || c == '-'; });
    return date || (!v.empty() && std::none_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); }));
  }
  // What to do instead of `--set key=value` for a `word` or date, or a number the scenario does
  // not write: the lines of a scenario that extends `scenario` and sets it, when they load
  // (checked by loading them); for a word that does not, why not (a misspelt key or word, with
  // the scenario's did-you-mean); for a field of a list's entry by its index, the rule for lists.
  static std::string extends_hint(const std::string& scenario, const ScenarioTemplate& t, const std::string& key,
                                  const std::string& value, bool word) {
    const std::string head = "  --set changes the numbers a scenario writes; ";
    if (yaml_setting(key, value, false).empty()) {
      if (!t.writes(key)) return "";
      return head + "to set `" + key + "`, write a scenario that extends this one (docs/scenario.md: lists of "
                    "named entries change entry by entry, others are replaced whole)\n";
    }
    if (const std::vector<Diagnostic> problems = t.problems_setting(key, value); !problems.empty()) {
      // a number at a path that names nothing: its problem is said already (a misspelt key)
      if (!word) return "";
      const Diagnostic& d = problems.front();
      return head + "in a scenario that extends this one, `" + key + ": " + value + "` would not load either: " +
             d.path + ": " + d.message + "\n";
    }
    const std::string lines = "extends: " + scenario + "\n" + yaml_setting(key, value, false);
    std::string out = head + "to set `" + key + "`, write a scenario that extends this one, e.g. in a file in "
                             "this folder:\n";
    for (size_t a = 0; a < lines.size();) {
      const size_t nl = lines.find('\n', a);
      out += "    " + lines.substr(a, nl + 1 - a);
      a = nl + 1;
    }
    return out;
  }

  // The scenario at `path` with the values set, keeping the scenario's own in `was`; nothing,
  // with the reason on `err`, when a path names no number or a value makes the scenario
  // invalid. Throws the scenario's own problems (ScenarioError), as loading it would.
  std::optional<Scenario> apply(const std::string& path, std::ostream& err) {
    const ScenarioTemplate t = ScenarioTemplate::from_file(path);
    texts.clear();
    was.clear();
    for (size_t k = 0; k < values.size(); ++k) {
      auto& [p, x] = values[k];
      try {
        was.push_back(t.text_for(p, t.value_at(p)));
        // a value with units counts when they are the units written at the path
        if (!given[k].empty()) {
          const std::optional<double> read = t.read_as_at(p, given[k]);
          if (!read) {
            // `1,000` or `1,5`: a number written with its separators, said as the scenario says it
            if (const std::string why = parse_number(given[k]).error;
                why.starts_with("thousands separators") || why.starts_with("decimals are written")) {
              err << "gpumm: --set " << p << "=" << given[k] << ": " << why << "\n";
              return std::nullopt;
            }
            err << "gpumm: --set " << p << "=" << given[k] << ": not a number in the units the scenario writes at "
                << p << " (" << was.back() << "); e.g. `--set " << p << "=" << format_number(t.value_at(p))
                << "` is " << was.back() << "\n";
            return std::nullopt;
          }
          x = *read;
        }
        texts.push_back(t.text_for(p, x));
      } catch (const ScenarioError& e) {
        err << "gpumm: --set " << p << ": " << e.diagnostics().front().message << "\n";
        // a word or a date, or a number where the scenario writes none (its default applies);
        // the seed, where the scenario writes none, has its option
        const bool word = is_word(given[k]);
        if (p == "seed")
          err << "  the seed is an option of its own: `--seed " << (given[k].empty() ? format_number(x) : given[k])
              << "`\n";
        else if (word || !t.writes(p))
          err << extends_hint(path, t, p, given[k].empty() ? format_number(x) : given[k], word);
        return std::nullopt;
      }
      // a duration counts whole units: 36.4 would run as 36 months
      if (std::round(x) != x && texts.back() == t.text_for(p, std::round(x))) {
        err << "gpumm: --set " << p << "=" << format_number(x) << ": " << p << " is a duration, in whole units ("
            << was.back() << "); give a whole number\n";
        return std::nullopt;
      }
    }
    try {
      return t.instantiate(values);
    } catch (const ScenarioError& e) {
      // the values' lines are gone from the changed document: name the keys instead
      err << "gpumm: " << path << " does not load with the values set:\n";
      for (const Diagnostic& d : e.diagnostics()) err << "  " << d.path << ": " << d.message << "\n";
      return std::nullopt;
    }
  }
};

// Load a scenario for a command, with the --seed override and the --set values; reports
// problems and returns false.
bool load_for(const std::string& path, bool have_seed, std::uint64_t seed, SetValues& sets, Scenario& s,
              std::ostream& err) {
  if (is_study_file(path)) {
    usage(err, "`" + path + "` is a study file (it names a scenario and a method): run it with `gpumm study " + path + "`");
    return false;
  }
  try {
    if (sets.values.empty()) {
      s = load_scenario_file(path);
    } else if (std::optional<Scenario> set = sets.apply(path, err)) {
      s = std::move(*set);
    } else {
      return false;
    }
  } catch (const ScenarioError& e) {
    report(err, e);
    return false;
  }
  if (have_seed) s.seed = seed;
  return true;
}

// The --set values against the scenario's own, one line each, for a run's summary.
void print_sets(std::ostream& out, const SetValues& sets) {
  for (size_t k = 0; k < sets.values.size(); ++k)
    out << "  set               " << sets.values[k].first << " = " << sets.texts[k] << " (the scenario's "
        << sets.was[k] << ")\n";
}

// A study file and its scenario, with every problem of both at once (a ScenarioError listing
// them in the order of the study file, then the scenario's own).
void load_study(const std::string& path, Study& study, std::optional<ScenarioTemplate>& tmpl) {
  if (!is_study_file(path) && is_scenario_file(path))
    throw ScenarioError({{path, 0, 0, "", "a scenario, not a study file: run it with `gpumm run " + path +
                                               "`; a study names its scenario in `scenario:` (see inputs/studies/)"}});
  std::vector<Diagnostic> problems;
  study = read_study_file(path, problems);
  if (!study.scenario.empty()) {
    try {
      tmpl = ScenarioTemplate::from_file(study.scenario);
      const std::vector<Diagnostic> more = study_problems(study, *tmpl);
      problems.insert(problems.end(), more.begin(), more.end());
    } catch (const ScenarioError& e) {
      problems.insert(problems.end(), e.diagnostics().begin(), e.diagnostics().end());
    }
  }
  std::stable_sort(problems.begin(), problems.end(), [&](const Diagnostic& a, const Diagnostic& b) {
    return std::tuple(a.file != study.file, a.file, a.line, a.column) <
           std::tuple(b.file != study.file, b.file, b.line, b.column);
  });
  if (!problems.empty()) throw ScenarioError(problems);
}

int cmd_validate(const std::vector<std::string>& files, std::ostream& out, std::ostream& err) {
  if (files.empty()) return usage(err, "validate needs at least one scenario or study file");
  int code = kOk;
  for (const std::string& f : files) {
    try {
      if (is_study_file(f)) {
        Study study;
        std::optional<ScenarioTemplate> tmpl;
        load_study(f, study, tmpl);
        // a Sobol sample that grows to a target width runs at most so many
        out << f << ": ok (a study of " << study.scenario << ": " << study.parameters.size()
            << (study.parameters.size() == 1 ? " parameter, " : " parameters, ")
            << (study.target_width > 0 ? "up to " : "") << study_runs(study) << " runs)\n";
        continue;
      }
      Scenario s = load_scenario_file(f);
      out << f << ": ok (" << s.nfirm() << " firms, " << s.nregion() << " regions, "
          << s.ngeneration() << " generations)\n";
    } catch (const ScenarioError& e) {
      report(err, e);
      code = kBadInput;
    }
  }
  return code;
}

}  // namespace

std::string duration_text(double seconds) {
  char buf[48];
  if (!(seconds >= 0)) seconds = 0;  // NaN or negative: nothing measured yet
  if (seconds < 9.95) {
    std::snprintf(buf, sizeof buf, "%.2g s", seconds);
    return buf;
  }
  const long long s = std::llround(seconds);
  if (s < 90)
    std::snprintf(buf, sizeof buf, "%lld s", s);
  else if (s < 3600)
    std::snprintf(buf, sizeof buf, "%lld min %lld s", s / 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%lld h %lld min", s / 3600, s % 3600 / 60);
  return buf;
}

namespace {

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

// A run's progress: the period reached and the time to go, from a fifth of a second on (a
// shorter run shows nothing); wiped when the run is written, so that its summary starts on a
// clean line.
class RunProgress {
 public:
  RunProgress(std::ostream& err, bool tty, const Scenario& s) : line_(err, tty), cal_(s.start, s.end, s.step) {}
  RunProgress(const RunProgress&) = delete;
  RunProgress& operator=(const RunProgress&) = delete;
  ~RunProgress() { line_.wipe(); }
  void operator()(int t) {
    if (!line_.due()) return;
    const double secs = line_.seconds();
    const int done = t + 1, total = cal_.size();
    char text[200];
    std::snprintf(text, sizeof text, "  period %d of %d (%s), %s, about %s to go   ", done, total,
                  to_iso(cal_[t].start).c_str(), duration_text(secs).c_str(),
                  duration_text(secs / done * (total - done)).c_str());
    line_.draw(text);
  }

 private:
  ProgressLine line_;
  Calendar cal_;
};

int cmd_run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::string scenario_path;
  SharedOptions opt;
  SetValues sets;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (std::string problem; opt.take(args, i, problem)) {
      if (!problem.empty()) return usage(err, problem);
    } else if (a == "--set") {
      if (std::string problem = sets.take(args, i); !problem.empty()) return usage(err, problem);
    } else if (!a.empty() && a[0] == '-') {
      return unknown_option(err, a, "run", {"--output", "--seed", "--quiet", "--set"});
    } else if (scenario_path.empty()) {
      scenario_path = a;
    } else {
      return usage(err, "run takes one scenario (got `" + scenario_path + "` and `" + a + "`)");
    }
  }
  if (scenario_path.empty()) return usage(err, "run needs a scenario file, e.g. `gpumm run inputs/base.yaml`");

  Scenario s;
  if (!load_for(scenario_path, opt.have_seed, opt.seed, sets, s, err)) return kBadInput;
  if (opt.out_dir.empty())
    opt.out_dir = (std::filesystem::path("out") / (sets.values.empty() ? s.name : sets.folder(s.name))).string();

  try {
    OutputDir dir(opt.out_dir);
    std::optional<RunResult> result;
    std::optional<SeriesDiagnosis> diagnosis;
    {
      RunProgress progress(err, !opt.quiet && ::isatty(2), s);
      RunWriter writer(s, dir);
      const PeriodObserver write = writer.observer();
      result = simulate(s, [&](int t, const State& st, const PeriodSummary& sum) {
        write(t, st, sum);
        progress(t);
      });
      diagnosis = writer.finish(*result, GPUMM_VERSION);
    }
    dir.commit();
    const RunResult& r = *result;
    if (opt.quiet) return kOk;

    const PeriodSummary& last = r.periods.back();
    out << "gpumm " << GPUMM_VERSION << ": " << s.name << ", " << to_iso(r.calendar.start())
        << " to " << to_iso(r.calendar[r.calendar.size() - 1].last) << ", " << r.calendar.size()
        << " " << to_string(r.calendar.step()) << "s, seed " << s.seed << "\n";
    print_sets(out, sets);
    out << "  final installed   " << short_number(last.installed_h100e) << " H100e ("
        << short_number(last.installed_gpus) << " GPUs)\n";
    out << "  final deployed    " << short_number(last.deployed_h100e) << " H100e\n";
    const int peak = r.peak_stranded_period();
    if (peak < 0) {
      out << "  stranded GPUs     none in any period\n";
    } else {
      const PeriodSummary& p = r.periods[static_cast<size_t>(peak)];
      std::string by = "power";
      double most = p.stranded_power_gpus;
      if (p.stranded_building_gpus > most) { by = "building"; most = p.stranded_building_gpus; }
      if (p.stranded_network_gpus > most) { by = "network"; }
      out << "  peak stranded     " << short_number(p.stranded_gpus) << " GPUs on "
          << to_iso(r.calendar[peak].start) << ", mostly for want of " << by << "\n";
    }
    int node = 0, ramp = 0;
    for (const PeriodSummary& p : r.periods) {
      node += p.binding_upstream >= 0 ? 1 : 0;
      ramp += p.binding_upstream == -2 ? 1 : 0;
    }
    out << "  deliveries short  " << node << " periods for an upstream node, " << ramp
        << " for a production ramp (of " << r.periods.size() << ")\n";
    // the first warnings; all of them are in warnings.csv
    constexpr size_t kShown = 3;
    for (size_t k = 0; k < std::min(kShown, r.warnings.size()); ++k) {
      const Warning& w = r.warnings[k];
      out << "  warning: " << to_iso(r.calendar[w.period].start) << ": " << w.code << ": " << w.message << "\n";
    }
    if (r.warnings.size() > kShown) {
      // the codes of those not shown, so that none goes unseen
      std::vector<std::string> codes;
      for (size_t k = kShown; k < r.warnings.size(); ++k)
        if (std::find(codes.begin(), codes.end(), r.warnings[k].code) == codes.end()) codes.push_back(r.warnings[k].code);
      std::string list;
      for (const std::string& c : codes) list += (list.empty() ? "" : ", ") + c;
      out << "  ... and " << r.warnings.size() - kShown << " more warnings: " << list << " (all "
          << r.warnings.size() << " in warnings.csv)\n";
    }
    out << "  demand            " << short_number(last.demand_h100e()) << " H100e at the end, "
        << short_number(last.unserved_h100e) << " unserved, " << short_number(last.idle_h100e) << " idle\n";
    // what the firms' capacity beyond their own needs was (episodes.csv and verdict.txt say more)
    if (const SpareTotals spare = spare_totals(r); spare.h100e_months > 0)
      out << "  firms' spare      " << short_number(spare.h100e_months) << " H100e-months over the run: "
          << spare.largest(3) << "\n";
    if (s.market.enabled) {
      // the spot index from start to end, with its extremes (verdict.txt says how to read it)
      size_t lo = 0, hi = 0;
      for (size_t t = 0; t < r.periods.size(); ++t) {
        if (r.periods[t].spot_usd_per_h100e_hour < r.periods[lo].spot_usd_per_h100e_hour) lo = t;
        if (r.periods[t].spot_usd_per_h100e_hour > r.periods[hi].spot_usd_per_h100e_hour) hi = t;
      }
      char line[200];
      const auto month = [&](size_t t) { return to_iso(r.calendar[static_cast<int>(t)].start).substr(0, 7); };
      std::snprintf(line, sizeof line, "  spot index        $%.2f per H100e-hour at the start, $%.2f at the end (highest $%.2f in %s, lowest $%.2f in %s)\n",
                    r.periods.front().spot_usd_per_h100e_hour, last.spot_usd_per_h100e_hour,
                    r.periods[hi].spot_usd_per_h100e_hour, month(hi).c_str(), r.periods[lo].spot_usd_per_h100e_hour,
                    month(lo).c_str());
      out << line;
      // a spot at its floor while the market is short reads as a glut at a glance: say what it is
      int short_periods = 0, at_floor = 0;
      for (size_t t = 0; t < r.periods.size(); ++t) {
        if (diagnosis->regimes[t] != Regime::structural_shortage) continue;
        ++short_periods;
        at_floor += spot_at_floor(r.periods[t].spot_usd_per_h100e_hour, s.market) ? 1 : 0;
      }
      if (at_floor > 0)
        out << "                    at its floor in " << at_floor << " of the " << short_periods << " "
            << to_string(r.calendar.step()) << "s of structural shortage: no sign of oversupply (verdict.txt says why)\n";
    }
    out << "  output            " << dir.dir().string() << "/ (summary.csv, firms.csv, regions.csv, "
        << "timeseries.csv, projects.csv, episodes.csv, contracts.csv, market.csv, warnings.csv, verdict.txt, "
        << "scenario.resolved.yaml)\n";
    // the verdict's first lines: the regimes and the mismatch
    std::ifstream verdict(dir.dir() / "verdict.txt");
    std::string line;
    for (int k = 0; k < 4 && std::getline(verdict, line); ++k)
      if (k >= 2) out << "  " << line << "\n";
    return kOk;
  } catch (const OutputError& e) {
    err << "gpumm: " << e.what() << "\n";
    return kBadInput;
  } catch (const std::exception& e) {
    err << "gpumm: run failed: " << e.what() << "\n";
    return kRuntimeFailure;
  }
}

int cmd_explain(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::string scenario_path, firm_id, date_text;
  bool have_seed = false;
  std::uint64_t seed = 0;
  SetValues sets;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--set") {
      if (std::string problem = sets.take(args, i); !problem.empty()) return usage(err, problem);
    } else if (a == "--firm") {
      const std::string* v = option_value(args, i);
      if (!v) return usage(err, "--firm needs a firm id");
      firm_id = *v;
    } else if (a == "--date") {
      const std::string* v = option_value(args, i);
      if (!v) return usage(err, "--date needs a date (YYYY-MM-DD or YYYY-MM)");
      date_text = *v;
    } else if (a == "--seed") {
      if (std::string problem = seed_option(args, i, seed); !problem.empty()) return usage(err, problem);
      have_seed = true;
    } else if (!a.empty() && a[0] == '-') {
      return unknown_option(err, a, "explain", {"--firm", "--date", "--seed", "--set"});
    } else if (scenario_path.empty()) {
      scenario_path = a;
    } else {
      return usage(err, "explain takes one scenario");
    }
  }
  if (scenario_path.empty() || firm_id.empty() || date_text.empty())
    return usage(err, "explain needs a scenario, --firm and --date, e.g. `gpumm explain inputs/base.yaml --firm meta --date 2026-07`");
  Scenario s;
  if (!load_for(scenario_path, have_seed, seed, sets, s, err)) return kBadInput;
  int firm = -1;
  std::vector<std::string> ids;
  for (int f = 0; f < s.nfirm(); ++f) {
    ids.push_back(s.firms[static_cast<size_t>(f)].id);
    if (ids.back() == firm_id) firm = f;
  }
  // the firm and the date, both checked before one is reported
  std::vector<std::string> problems;
  if (firm < 0) {
    std::string known;
    for (const auto& id : ids) known += (known.empty() ? "" : ", ") + id;
    const std::string guess = closest_name(firm_id, ids);
    problems.push_back("--firm `" + firm_id + "`: no such firm in " + scenario_path +
                       (guess.empty() ? "" : "; did you mean `" + guess + "`?") + " (firms: " + known + ")");
  }
  const Parsed<Date> date = parse_date(date_text);
  const Calendar calendar(s.start, s.end, s.step);
  const int t = date.ok() ? calendar.index_of(date.value) : -1;
  if (!date.ok())
    problems.push_back("--date `" + date_text + "`: " + date.error);
  else if (t < 0 || t >= calendar.size())
    problems.push_back("--date " + date_text + " is outside the scenario's horizon (" + to_iso(calendar.start()) +
                       " to " + to_iso(calendar[calendar.size() - 1].last) + ")");
  if (!problems.empty()) {
    for (size_t k = 0; k + 1 < problems.size(); ++k) err << "gpumm: " << problems[k] << "\n";
    return usage(err, problems.back());
  }
  try {
    RunResult r = simulate(s);
    const SeriesDiagnosis d = diagnose_run(s, r);
    out << explain_surplus(s, r, d, find_episodes(s, r, d), firm, t);
    // a run outside the step the scenario was calibrated at answers with uncalibrated evidence
    std::vector<Warning> others;
    for (const Warning& w : r.warnings)
      if (w.code == "uncalibrated_step") out << "\nNote: " << w.message << ".\n";
      else others.push_back(w);
    // the rest (orders due before the start, a seller short of what it sold...): the answer
    // stands on this run, so say what it warned of
    if (!others.empty())
      out << "\nThe run warned of: " << warning_counts(others) << "; `gpumm run` writes each to warnings.csv.\n";
    if (!sets.values.empty()) {
      out << "\nWith values set on the command line:\n";
      print_sets(out, sets);
    }
    return kOk;
  } catch (const std::exception& e) {
    err << "gpumm: explain failed: " << e.what() << "\n";
    return kRuntimeFailure;
  }
}

// A metric value for the terminal: whole numbers as such, large ones short (12.3M), others
// to three significant digits; `sign` puts + before a positive effect.
std::string metric_text(double x, bool sign = false) {
  if (std::isnan(x)) return "n/a";
  char buf[64];
  if (std::abs(x) >= 1e4) return (sign && x > 0 ? "+" : "") + short_number(x);
  if (x == std::round(x)) std::snprintf(buf, sizeof buf, sign ? "%+.0f" : "%.0f", x);
  else std::snprintf(buf, sizeof buf, sign ? "%+.3g" : "%.3g", x);
  return buf;
}

// `text` cut to `width` characters with "..." (the CSV keeps it whole).
std::string cut(const std::string& text, size_t width) {
  return text.size() <= width ? text : text.substr(0, width - 3) + "...";
}

// The waterfall for the terminal: the changes, then per metric a row per step with its effect
// and its changes' effect alone, and what the changes do only together.
void print_waterfall(std::ostream& out, const Waterfall& w) {
  out << "gpumm diff: " << w.from << " -> " << w.to << ", " << w.changes.size()
      << (w.changes.size() == 1 ? " change" : " changes") << " (" << w.runs << " runs)\n";
  if (w.changes.empty()) out << "  no changes: both describe the same scenario\n";
  if (!w.warnings_from.empty() || !w.warnings_to.empty())
    out << "  warnings: " << (w.warnings_from.empty() ? "none" : w.warnings_from) << " in " << w.from << ", "
        << (w.warnings_to.empty() ? "none" : w.warnings_to) << " in " << w.to
        << " (each run's warnings.csv says what and when)\n";
  if (!w.changes.empty()) out << "  changes, in the order of " << w.to << "'s document:\n";
  // a change on one line when it fits in 100 columns, else what differs on a line of its own
  for (size_t k = 0; k < w.changes.size(); ++k) {
    const auto& c = w.changes[k];
    char num[24];
    std::snprintf(num, sizeof num, "%4zu  ", k + 1);
    const std::string one = std::string("  ") + num + c.path + ": " + c.summary;
    if (one.size() <= 100) out << one << "\n";
    else out << "  " << num << c.path << "\n" << "          " << cut(c.summary, 90) << "\n";
  }
  const std::string together = "together (total - alone effects)";
  size_t width = together.size();
  std::vector<std::string> labels, changes;
  for (const WaterfallStep& s : w.steps) {
    std::string label, what;
    for (size_t c : s.changes) {
      if (!label.empty()) label += '+';
      label += std::to_string(c + 1);
      if (!what.empty()) what += " & ";
      what += w.changes[c].path;
    }
    labels.push_back(label);
    changes.push_back(s.changes.empty() ? "(order of entries)" : cut(what, 60));
    width = std::max(width, changes.back().size());
  }
  const auto row = [&](const std::string& step, const std::string& change, const std::string& effect,
                       const std::string& alone) {
    char line[512];
    std::snprintf(line, sizeof line, "    %-6s %-*s %10s %10s", step.c_str(), static_cast<int>(width),
                  change.c_str(), effect.c_str(), alone.c_str());
    std::string text = line;
    text.erase(text.find_last_not_of(' ') + 1);
    out << text << "\n";
  };
  for (size_t m = 0; m < w.metrics.size(); ++m) {
    out << "\n  " << w.metrics[m] << ": " << metric_text(w.start[m]) << " in " << w.from << ", "
        << metric_text(w.end[m]) << " in " << w.to << " (" << metric_text(w.end[m] - w.start[m], true) << ")\n";
    if (w.steps.empty()) continue;
    row("step", "change", "effect", "alone");
    for (size_t k = 0; k < w.steps.size(); ++k)
      row(labels[k], changes[k], metric_text(w.effect(k, m), true),
          w.steps[k].changes.empty() ? "" : metric_text(w.alone_effect(k, m), true));
    row("", together, metric_text(w.interactions(m), true), "");
  }
}

int cmd_diff(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::vector<std::string> paths, metrics;
  SharedOptions opt;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--metric") {
      const std::string* v = option_value(args, i);
      if (!v) return usage(err, "--metric needs a metric, e.g. `--metric peak_unserved_h100e`");
      if (std::find(metrics.begin(), metrics.end(), *v) != metrics.end())
        return usage(err, "--metric " + *v + " is given twice");
      metrics.push_back(*v);
    } else if (std::string problem; opt.take(args, i, problem)) {
      if (!problem.empty()) return usage(err, problem);
    } else if (!a.empty() && a[0] == '-') {
      return unknown_option(err, a, "diff", {"--metric", "--output", "--seed", "--quiet"});
    } else {
      paths.push_back(a);
    }
  }
  if (paths.size() != 2)
    return usage(err, "diff takes two scenarios, e.g. `gpumm diff inputs/base.yaml inputs/cases/glut.yaml`");
  for (const std::string& p : paths)
    if (is_study_file(p)) return usage(err, "`" + p + "` is a study file; diff compares two scenarios");
  if (metrics.empty()) metrics = {"periods_in_structural_shortage", "mean_relative_balance"};
  for (const std::string& m : metrics)
    if (const std::string problem = metric_problem(m); !problem.empty())
      return usage(err, "--metric: " + problem);

  // both scenarios' problems at once
  std::vector<std::optional<ScenarioTemplate>> tmpl(2);
  std::vector<Diagnostic> problems;
  for (size_t k = 0; k < 2; ++k) {
    try {
      tmpl[k] = ScenarioTemplate::from_file(paths[k]);
    } catch (const ScenarioError& e) {
      problems.insert(problems.end(), e.diagnostics().begin(), e.diagnostics().end());
    }
  }
  if (!problems.empty()) return report(err, ScenarioError(problems));
  const ScenarioTemplate &a = *tmpl[0], &b = *tmpl[1];
  // a firm metric names a firm of A or of B (a scenario without it has no surplus there)
  const Scenario sa = a.instantiate({}), sb = b.instantiate({});
  for (const std::string& m : metrics)
    if (!metric_problem(m, &sa).empty() && !metric_problem(m, &sb).empty())
      return usage(err, "--metric: " + metric_problem(m, &sb));
  if (opt.out_dir.empty()) opt.out_dir = (std::filesystem::path("out") / (sa.name + "-vs-" + sb.name)).string();

  try {
    OutputDir dir(opt.out_dir);
    const Waterfall w = waterfall(a, b, metrics, opt.have_seed ? std::optional<std::uint64_t>(opt.seed) : std::nullopt);
    write_waterfall(w, dir);
    dir.commit();
    if (opt.quiet) return kOk;
    print_waterfall(out, w);
    out << "\n  output  " << (dir.dir() / "diff.csv").string() << "\n";
    return kOk;
  } catch (const OutputError& e) {
    err << "gpumm: " << e.what() << "\n";
    return kBadInput;
  } catch (const ScenarioError& e) {
    err << "gpumm: diff failed: the changes from " << paths[0] << " to " << paths[1] << " do not load together:\n";
    report(err, e);
    return kRuntimeFailure;
  } catch (const std::exception& e) {
    err << "gpumm: diff failed: " << e.what() << "\n";
    return kRuntimeFailure;
  }
}

// A study's progress: runs done, rate and time to go; the line is ended when the last run is.
class StudyProgress {
 public:
  StudyProgress(std::ostream& err, bool tty, bool growing) : line_(err, tty), growing_(growing) {}
  StudyProgress(const StudyProgress&) = delete;
  StudyProgress& operator=(const StudyProgress&) = delete;
  ~StudyProgress() { end(); }
  /// Close the line (a study that stops early: what follows starts on a line of its own).
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

// A study stopped by Ctrl-C (SIGINT) or a polite kill (SIGTERM, as a batch scheduler sends at
// the end of a job's time): the runs in flight finish and are saved, then the study stops and
// says how to finish it. A second signal ends the process at once.
// (a lock-free atomic: set in a signal handler on any thread, read by the study's threads)
std::atomic<int> g_stop_signal{0};
constexpr const char* kStoppedBySignal = "stopped by a signal";
static_assert(std::atomic<int>::is_always_lock_free);
extern "C" void on_stop_signal(int sig) {
  if (g_stop_signal.load() != 0) {
    std::signal(sig, SIG_DFL);
    std::raise(sig);
  }
  g_stop_signal.store(sig);
}
class StopSignals {
 public:
  StopSignals() {
    g_stop_signal.store(0);
    int_ = std::signal(SIGINT, on_stop_signal);
    term_ = std::signal(SIGTERM, on_stop_signal);
  }
  ~StopSignals() {
    std::signal(SIGINT, int_);
    std::signal(SIGTERM, term_);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  void (*int_)(int) = SIG_DFL;
  void (*term_)(int) = SIG_DFL;
};

// An adaptive Sobol study's sample: where it stopped and why.
std::string adaptive_sample_line(const Study& study, const StudyResult& result) {
  char line[200];
  std::snprintf(line, sizeof line, "  sample            N = %d after %d doubling%s; widest interval %.3g %s target %.3g%s\n",
                sobol_points_used(study, result), result.rounds - 1, result.rounds == 2 ? "" : "s", result.widest,
                result.widest <= study.target_width ? "<=" : ">", study.target_width,
                result.widest <= study.target_width ? "" : " (the run budget is spent: raise max_runs)");
  return line;
}

// The checkpoint of a study: one binary record per completed run, appended and flushed as the
// run ends: the run's index and its packed row (outputs, warnings, series), as doubles, then an
// FNV-1a hash of those bytes. A record cut short by a kill, or one whose hash does not match,
// is not a run. (A text line per run took 2.5 times the space: 250 MB per series for the
// 98,304-run Sobol study.)
std::uint64_t checkpoint_hash(const double* values, size_t count) {
  const auto* p = reinterpret_cast<const unsigned char*>(values);
  std::uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < count * sizeof(double); ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

// One run's record: `width` doubles (its index, then its packed row) and their hash.
std::vector<double> checkpoint_record(const StudyResult& r, int k, size_t width) {
  std::vector<double> rec(width + 1);
  rec[0] = k;
  pack_run(r, k, std::span<double>(rec.data() + 1, width - 1));
  const std::uint64_t h = checkpoint_hash(rec.data(), width);
  std::memcpy(&rec[width], &h, sizeof h);
  return rec;
}

// The size of a checkpoint's records (0 when there is no such file).
std::uintmax_t saved_bytes(const std::filesystem::path& file) {
  std::error_code ec;
  const std::uintmax_t n = std::filesystem::file_size(file, ec);
  return ec ? 0 : n;
}

// Visit each whole, undamaged record of a checkpoint of `n` runs whose records hold `width`
// numbers (the run's number first) and a hash: `visit(k, values)` with the run and the numbers
// after its number. Returns the bytes of whole records: what is left after the last one was
// cut short (a kill, a full disk) is not a run.
template <class Visit>
std::uintmax_t read_records(const std::filesystem::path& file, int n, size_t width, Visit&& visit) {
  std::ifstream in(file, std::ios::binary);
  std::vector<double> rec(width + 1);
  std::uintmax_t whole = 0;
  while (in.read(reinterpret_cast<char*>(rec.data()), static_cast<std::streamsize>(rec.size() * sizeof(double)))) {
    std::uint64_t h = 0;
    std::memcpy(&h, &rec[width], sizeof h);
    whole += static_cast<std::uintmax_t>(rec.size() * sizeof(double));
    if (h != checkpoint_hash(rec.data(), width)) continue;  // a damaged record
    const double k = rec[0];
    if (!(k >= 0 && k < n) || k != std::floor(k)) continue;
    visit(static_cast<int>(k), std::span<const double>(rec.data() + 1, width - 1));
  }
  return whole;
}

// The numbers in a checkpoint's record of one run: its number, its outputs, its warnings and
// its series.
size_t checkpoint_width(const Study& study, const std::vector<std::string>& dates) {
  return 1 + study.outputs.size() + 1 + study_series_width(study, dates.size());
}

std::uintmax_t read_checkpoint(const std::filesystem::path& file, const Study& study,
                               const std::vector<std::string>& dates, StudyCheckpoint& cp) {
  const int n = study_runs(study), outs = static_cast<int>(study.outputs.size());
  cp.previous.outputs = Eigen::MatrixXd::Zero(n, outs);
  cp.previous.warned.assign(static_cast<size_t>(n), 0.0);
  cp.previous.period_dates = dates;
  cp.previous.series = SeriesStore(n, static_cast<int>(study_series_width(study, dates.size())));
  return read_records(file, n, checkpoint_width(study, dates), [&](int k, std::span<const double> values) {
    unpack_run(cp.previous, k, values);
    cp.done[static_cast<size_t>(k)] = 1;
  });
}

// How many runs a checkpoint saved, read without keeping what they gave.
long saved_runs(const std::filesystem::path& file, const Study& study, const std::vector<std::string>& dates) {
  std::vector<char> done(static_cast<size_t>(study_runs(study)), 0);
  read_records(file, study_runs(study), checkpoint_width(study, dates),
               [&](int k, std::span<const double>) { done[static_cast<size_t>(k)] = 1; });
  return static_cast<long>(std::count(done.begin(), done.end(), 1));
}

enum class Resume { no, yes, restart };
// A study's checkpoint in its output folder: its manifest, and a record per run done.
constexpr const char* kCheckpointManifest = ".checkpoint-manifest.yaml";
constexpr const char* kCheckpointRows = ".checkpoint.bin";

// How a study starts from what its output folder holds: resuming (the runs its checkpoint
// saved read into `cp`, `whole_bytes` of whole records), afresh, or not at all (`refusal` says
// why): a checkpoint is never thrown away unasked, nor resumed by another study.
struct CheckpointStart {
  bool resuming = false;
  std::uintmax_t whole_bytes = 0;
  std::string refusal;
};
// What differs between two manifests, key by key, a few at most (`seed: 4 -> 5`); a key's
// indented lines (the parameters) count as part of its value, and the first of them that
// differs is shown.
std::string manifest_differences(const std::string& before, const std::string& after) {
  const auto trim = [](std::string t) {
    t.erase(0, t.find_first_not_of(' '));
    t.erase(t.find_last_not_of(' ') + 1);
    return t;
  };
  // (key, the lines of its value)
  const auto keyed = [&](const std::string& text) {
    std::vector<std::pair<std::string, std::vector<std::string>>> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      const size_t colon = line.find(':');
      if (!line.empty() && line[0] != ' ' && colon != std::string::npos)
        out.push_back({line.substr(0, colon), {trim(line.substr(colon + 1))}});
      else if (!out.empty())
        out.back().second.push_back(trim(line));
    }
    return out;
  };
  const auto a = keyed(before), b = keyed(after);
  std::vector<std::string> said;
  for (const auto& entry : b) {
    const std::string& key = entry.first;
    const std::vector<std::string>& value = entry.second;
    const auto was = std::find_if(a.begin(), a.end(), [&](const auto& kv) { return kv.first == key; });
    const std::vector<std::string> old = was == a.end() ? std::vector<std::string>{} : was->second;
    if (old == value) continue;
    size_t k = 0;
    while (k < old.size() && k < value.size() && old[k] == value[k]) ++k;
    const std::string change = (k < old.size() ? old[k] : "(none)") + " -> " + (k < value.size() ? value[k] : "(none)");
    said.push_back(key == "scenario_hash" ? "the scenario's contents changed (scenario_hash " + change + ")"
                                          : key + ": " + change);
  }
  std::string out;
  for (size_t k = 0; k < said.size() && k < 3; ++k) out += (k ? "; " : "") + said[k];
  if (said.size() > 3) out += "; ...";
  return out.empty() ? "its manifest differs" : out;
}

// A manifest without the paths it names the study file and the scenario by (`study:`,
// `scenario:`): the same study resumes from another folder or by another path to the same
// files; the scenario's contents are in its hash.
std::string without_paths(const std::string& manifest) {
  std::string out;
  std::istringstream in(manifest);
  for (std::string line; std::getline(in, line);)
    if (!line.starts_with("study: ") && !line.starts_with("scenario: ")) out += line + "\n";
  return out;
}

CheckpointStart start_checkpoint(const std::filesystem::path& dir, const std::string& manifest, const Study& study,
                                 const std::vector<std::string>& dates, Resume resume, StudyCheckpoint& cp) {
  const std::filesystem::path cp_manifest = dir / kCheckpointManifest, cp_rows = dir / kCheckpointRows;
  CheckpointStart start;
  if (resume == Resume::restart || !std::filesystem::exists(cp_manifest)) return start;
  std::ifstream in(cp_manifest, std::ios::binary);
  if (const std::string saved((std::istreambuf_iterator<char>(in)), {}); without_paths(saved) != without_paths(manifest)) {
    if (resume == Resume::yes || saved_bytes(cp_rows) > 0)
      start.refusal = "the checkpoint in " + dir.string() + " belongs to another study (" +
                      manifest_differences(without_paths(saved), without_paths(manifest)) + ")" +
                      (resume == Resume::yes ? "" : " whose interrupted runs it saved") +
                      "; run with --restart to discard it, or choose another folder with -o";
    return start;
  }
  if (resume == Resume::yes) {
    start.whole_bytes = read_checkpoint(cp_rows, study, dates, cp);
    start.resuming = true;
    return start;
  }
  // run again without --resume: only a checkpoint that saved no run may go
  if (const long runs = saved_runs(cp_rows, study, dates); runs > 0)
    start.refusal = dir.string() + " holds the checkpoint of this study, interrupted after " + std::to_string(runs) +
                    " of " + std::to_string(study_runs(study)) +
                    " runs: run again with --resume to finish it, or with --restart to discard them and start over";
  return start;
}

// Hand rank 0's checkpoint (per run: done, outputs, warnings, series) to every process through
// the share's sum, a block of runs at a time, so that no process holds it all in one buffer.
// Every process calls it with the same study; processes other than rank 0 pass an empty one.
void exchange_checkpoint(StudyCheckpoint& cp, const Study& study, const std::vector<std::string>& dates,
                         const StudyShare& share) {
  const long n = static_cast<long>(cp.done.size());
  const int outs = static_cast<int>(study.outputs.size());
  // a row as wide as a checkpoint's record, the run's number replaced by whether it was done
  const size_t series = study_series_width(study, dates.size()), width = checkpoint_width(study, dates);
  if (cp.previous.outputs.rows() != n) cp.previous.outputs = Eigen::MatrixXd::Zero(n, outs);
  if (cp.previous.warned.size() != static_cast<size_t>(n)) cp.previous.warned.assign(static_cast<size_t>(n), 0.0);
  if (cp.previous.series.runs() != n) cp.previous.series = SeriesStore(n, static_cast<int>(series));
  cp.previous.period_dates = dates;
  constexpr long kBlock = 4096;
  std::vector<double> buf;
  for (long from = 0; from < n; from += kBlock) {
    const long to = std::min(n, from + kBlock);
    buf.assign(static_cast<size_t>(to - from) * width, 0.0);
    for (long k = from; k < to; ++k) {
      if (!cp.done[static_cast<size_t>(k)]) continue;
      double* row = buf.data() + static_cast<size_t>(k - from) * width;
      row[0] = 1;  // done
      pack_run(cp.previous, k, std::span<double>(row + 1, width - 1));
    }
    share.sum(buf.data(), static_cast<long>(buf.size()));
    for (long k = from; k < to; ++k) {
      const double* row = buf.data() + static_cast<size_t>(k - from) * width;
      if (row[0] == 0) continue;
      cp.done[static_cast<size_t>(k)] = 1;
      unpack_run(cp.previous, k, std::span<const double>(row + 1, width - 1));
    }
  }
}

// A process other than rank 0 of a shared study: it learns from rank 0 whether the study goes
// ahead and what its checkpoint holds, runs its share, and writes nothing.
int follow_study(const Study& study, const ScenarioTemplate& tmpl, int threads, const StudyShare& share) {
  double status = 0;
  share.sum(&status, 1);
  if (status > 0) return kBadInput;  // rank 0 said why
  try {
    StudyCheckpoint cp;
    cp.done.assign(static_cast<size_t>(study_runs(study)), 0);
    exchange_checkpoint(cp, study, study_period_dates(study, tmpl), share);
    run_study(study, tmpl, threads, {}, &cp, &share);
    return kOk;
  } catch (const std::exception&) {
    return kRuntimeFailure;  // rank 0 reports
  }
}

int cmd_study(const std::vector<std::string>& args, std::ostream& out, std::ostream& err, const StudyShare* share) {
  std::string study_path, out_dir;
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  bool quiet = false, resume = false, restart = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-o" || a == "--output") {
      const std::string* v = option_value(args, i);
      if (!v) return usage(err, a + " needs a folder");
      out_dir = *v;
    } else if (a == "--restart") {
      restart = true;
    } else if (a == "--threads") {
      const std::string* v = option_value(args, i);
      if (!v) return usage(err, "--threads needs a number");
      auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), threads);
      if (ec != std::errc() || p != v->data() + v->size() || threads < 1 || threads > 1024)
        return usage(err, "--threads `" + *v + "`: expected a whole number from 1 to 1024");
    } else if (a == "-q" || a == "--quiet") {
      quiet = true;
    } else if (a == "--resume") {
      resume = true;
    } else if (!a.empty() && a[0] == '-') {
      return unknown_option(err, a, "study", {"--output", "--threads", "--quiet", "--resume", "--restart"});
    } else if (study_path.empty()) {
      study_path = a;
    } else {
      return usage(err, "study takes one study file");
    }
  }
  if (study_path.empty()) return usage(err, "study needs a study file, e.g. `gpumm study inputs/studies/tornado.yaml`");
  if (resume && restart) return usage(err, "--resume finishes an interrupted study and --restart starts it over: give one");
  // shared among MPI ranks: rank 0 speaks, writes and checkpoints; the others only run
  const bool shared = share && share->size > 1;
  std::ostream silent(nullptr);
  std::ostream& complain = shared && share->rank != 0 ? silent : err;
  Study study;
  std::optional<ScenarioTemplate> tmpl;
  try {
    load_study(study_path, study, tmpl);
  } catch (const ScenarioError& e) {
    return report(complain, e);
  }
  if (out_dir.empty()) out_dir = (std::filesystem::path("out") / std::filesystem::path(study_path).stem()).string();
  if (shared && share->rank != 0) return follow_study(study, *tmpl, threads, *share);
  // rank 0 tells the others whether the study goes ahead (0) or not (1)
  bool told = false;
  const auto tell = [&](double status) {
    if (!shared || told) return;
    told = true;
    share->sum(&status, 1);
  };
  try {
    std::optional<OutputDir> dir_holder;
    try {
      dir_holder.emplace(out_dir);
    } catch (...) {
      tell(1);
      throw;
    }
    OutputDir& dir = *dir_holder;
    const auto start = std::chrono::steady_clock::now();
    StudyProgress progress(err, !quiet && ::isatty(2), study.target_width > 0);
    // the checkpoint: the manifest of the study, then one record per completed run
    const std::filesystem::path cp_manifest = dir.dir() / kCheckpointManifest, cp_rows = dir.dir() / kCheckpointRows;
    const std::string manifest = study_manifest(study, *tmpl, study_runs(study), GPUMM_VERSION);
    StudyCheckpoint cp;
    cp.done.assign(static_cast<size_t>(study_runs(study)), 0);
    const std::vector<std::string> dates = study_period_dates(study, *tmpl);  // one base run: once
    cp.previous.period_dates = dates;
    const CheckpointStart start_from =
        start_checkpoint(dir.dir(), manifest, study, dates, resume ? Resume::yes : restart ? Resume::restart : Resume::no, cp);
    if (!start_from.refusal.empty()) {
      err << "gpumm: " << start_from.refusal << "\n";
      tell(1);
      return kBadInput;
    }
    const bool resuming = start_from.resuming;
    if (!resuming) {
      std::filesystem::remove(cp_rows);
      try {
        write_text_file(cp_manifest, manifest);
      } catch (...) {
        tell(1);
        throw;
      }
    }
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> rows(std::fopen(cp_rows.c_str(), "ab"), &std::fclose);
    // a study that could not save the run written last (a kill, a full disk) may have cut its
    // record short; new records go after the last whole one
    std::error_code cut;
    if (rows) std::filesystem::resize_file(cp_rows, start_from.whole_bytes, cut);
    if (!rows || cut) {
      tell(1);
      throw OutputError("cannot write " + cp_rows.string());
    }
    if (shared) {  // the study goes ahead; hand the checkpoint to the other processes
      tell(0);
      exchange_checkpoint(cp, study, dates, *share);
    }
    const long recovered = std::count(cp.done.begin(), cp.done.end(), 1);  // runs the checkpoint held
    long saved = recovered;  // runs in the checkpoint now
    const auto test_hook = [](const char* name) { return std::getenv(name) ? std::atol(std::getenv(name)) : -1L; };
    const long kill_after = test_hook("GPUMM_TEST_KILL_AFTER_RUNS"), stop_after = test_hook("GPUMM_TEST_STOP_AFTER_RUNS");
    long saved_now = 0;
    const size_t record_width = checkpoint_width(study, dates);
    cp.saved = [&](int k, const StudyResult& r) {
      const std::vector<double> rec = checkpoint_record(r, k, record_width);
      if (std::fwrite(rec.data(), sizeof(double), rec.size(), rows.get()) != rec.size() || std::fflush(rows.get()) != 0)
        throw WriteError("cannot write the checkpoint " + cp_rows.string() + ": " + std::strerror(errno) +
                         " (the runs saved so far are kept: free space, then run again with --resume)");
      ++saved;
      ++saved_now;
      // test hooks: die the way a killed study dies; be stopped the way Ctrl-C stops it
      if (kill_after >= 0 && saved_now >= kill_after) std::raise(SIGKILL);
      if (saved_now == stop_after) std::raise(SIGINT);
      if (g_stop_signal != 0) throw std::runtime_error(kStoppedBySignal);
    };
    std::optional<StudyResult> ran;
    try {
      const StopSignals stop_signals;
      ran.emplace(run_study(study, *tmpl, threads, [&](int done, int total) { progress(done, total); }, &cp, share));
    } catch (const std::exception& e) {
      if (e.what() != std::string_view(kStoppedBySignal)) throw;  // another failure: as it is
      progress.end();
      tell(1);
      err << "gpumm: study stopped (" << (g_stop_signal == SIGINT ? "Ctrl-C" : "SIGTERM") << "): " << saved << " of "
          << (study.method == StudyMethod::sobol && study.target_width > 0 ? "at most " : "") << study_runs(study)
          << " runs are saved in " << dir.dir().string() << "; the same command with --resume finishes the study\n";
      return 128 + g_stop_signal;
    }
    const StudyResult& result = *ran;
    if (std::fclose(rows.release()) != 0)
      throw WriteError("cannot write the checkpoint " + cp_rows.string() + ": " + std::strerror(errno));
    // stage the files, then move them into place
    std::string table = study.method == StudyMethod::tornado       ? "tornado.csv"
                        : study.method == StudyMethod::morris      ? "morris.csv"
                        : study.method == StudyMethod::sobol       ? "sobol.csv"
                        : study.method == StudyMethod::monte_carlo ? "bands.csv"
                                                                   : "";
    const std::filesystem::path staging = dir.staged("samples.csv").parent_path();
    if (!table.empty()) dir.staged(table);
    if (study.method == StudyMethod::sobol) dir.staged("sobol_periods.csv");
    dir.staged("manifest.yaml");
    std::string headline;
    try {
      headline = write_study(study, *tmpl, result, staging.string(), GPUMM_VERSION);
      dir.commit();
    } catch (const WriteError& e) {  // a full disk: every run is in the checkpoint, none need running again
      throw WriteError(std::string(e.what()) + " (all " + std::to_string(result.values.rows()) +
                       " runs are saved: free space, then the same command with --resume writes the results"
                       " without running them again)");
    }
    std::filesystem::remove(cp_rows);
    std::filesystem::remove(cp_manifest);
    if (quiet) return kOk;
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    out << "gpumm " << GPUMM_VERSION << ": study " << study_path << ", " << to_string(study.method) << ", "
        << result.values.rows() << " runs of " << study.scenario << " on "
        << (shared ? std::to_string(share->size) + " processes x " : "") << threads
        << (threads == 1 ? " thread in " : " threads in ")
        << duration_text(secs) << "\n  output            " << dir.dir().string() << "/ (samples.csv, "
        << (table.empty() ? "" : table + ", ")
        << (study.method == StudyMethod::sobol ? "sobol_periods.csv, " : "") << "manifest.yaml)\n";
    if (resume) {  // what the checkpoint spared
      const long runs = static_cast<long>(result.values.rows());
      if (resuming)
        out << "  resumed           " << recovered << " of " << runs << " runs from the checkpoint, ran the other "
            << runs - recovered << "\n";
      else
        out << "  resumed           nothing: no checkpoint in " << dir.dir().string()
            << " (its study had finished or not begun), so all " << runs << " runs were run\n";
    }
    if (study.method == StudyMethod::sobol && study.target_width > 0) out << adaptive_sample_line(study, result);
    out << headline;
    return kOk;
  } catch (const OutputError& e) {
    tell(1);
    err << "gpumm: " << e.what() << "\n";
    return kBadInput;
  } catch (const std::exception& e) {
    tell(1);
    err << "gpumm: study failed: " << e.what() << "\n";
    return kRuntimeFailure;
  }
}

}  // namespace

int main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err, const StudyShare* share) {
  if (args.empty()) {
    err << kHelp;
    return kBadInput;
  }
  const std::string& cmd = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    out << kHelp;
    return kOk;
  }
  if (cmd == "--version" || cmd == "version") {
    out << "gpumm " << GPUMM_VERSION << "\n";
    return kOk;
  }
  for (const std::string& a : rest)
    if (a == "--help" || a == "-h") {
      out << kHelp;
      return kOk;
    }
  // several copies started by a launcher: without MPI they could not share the work and
  // would all write the same output folder
  if (!share) {
    const char* size = std::getenv("OMPI_COMM_WORLD_SIZE") ? std::getenv("OMPI_COMM_WORLD_SIZE") : std::getenv("PMI_SIZE");
    if (size && std::atoi(size) > 1) {
      err << "gpumm: started as " << size << " processes (mpirun), but this gpumm was built without MPI, so "
          << "each process would do the whole job into the same output folder.\n"
          << "Run it without mpirun, or build with MPI: cmake -DGPUMM_WITH_MPI=ON (tools/test.sh does).\n";
      return kBadInput;
    }
  }
  // under MPI only studies are shared; anything else is done once, by rank 0
  if (share && share->size > 1 && share->rank != 0 && cmd != "study") return kOk;
  if (cmd == "run") return cmd_run(rest, out, err);
  if (cmd == "validate") return cmd_validate(rest, out, err);
  if (cmd == "explain") return cmd_explain(rest, out, err);
  if (cmd == "diff") return cmd_diff(rest, out, err);
  if (cmd == "study") return cmd_study(rest, out, err, share);
  std::string msg = "unknown command `" + cmd + "`";
  if (cmd.rfind("-", 0) != 0) {
    const std::string guess = closest_name(cmd, {"run", "explain", "diff", "study", "validate"});
    msg += guess.empty() ? "; the commands are run, explain, diff, study and validate" : "; did you mean `" + guess + "`?";
  }
  return usage(err, msg);
}

}  // namespace gpumm::cli
