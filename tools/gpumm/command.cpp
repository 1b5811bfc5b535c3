#include "command.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <thread>
#include <tuple>

namespace gpumm::cli::detail {

int usage(std::ostream& err, const std::string& message, const std::string& command) {
  err << "gpumm: " << message << lookalike_note(message) << "\n"
      << "Try `gpumm " << (command.empty() ? "" : command + " ") << "--help`.\n";
  return kBadInput;
}

int unknown_option(std::ostream& err, const std::string& option, const std::string& command,
                   const std::vector<std::string>& long_options) {
  const std::string guess = option.size() > 2 ? closest_name(option, long_options) : "";
  return usage(err, "unknown option `" + option + "` for " + command + (guess.empty() ? "" : "; did you mean `" + guess + "`?"),
               command);
}

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

std::string seed_option(const std::vector<std::string>& args, size_t& i, std::uint64_t& seed) {
  const std::string* v = option_value(args, i);
  if (!v) return "--seed needs a whole number";
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), seed);
  if (ec != std::errc() || p != v->data() + v->size() || seed > kMaxSeed)
    return "--seed `" + *v + "`: expected a whole number from 0 to " + std::to_string(kMaxSeed);
  return "";
}

std::string output_option(const std::vector<std::string>& args, size_t& i, std::string& dir) {
  const std::string& option = args[i];
  const std::string* v = option_value(args, i);
  if (!v) return option + " needs a folder";
  if (v->empty()) return option + " needs a folder, and got an empty value (an unset variable?)";
  dir = *v;
  return "";
}

int all_cores() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

std::string count_option(const std::vector<std::string>& args, size_t& i, int low, int high, int& count) {
  const std::string option = args[i];
  const std::string* v = option_value(args, i);
  if (!v) return option + " needs a number";
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), count);
  if (ec != std::errc() || p != v->data() + v->size() || count < low || count > high)
    return option + " `" + *v + "`: expected a whole number from " + std::to_string(low) + " to " +
           std::to_string(high);
  return "";
}

std::string threads_option(const std::vector<std::string>& args, size_t& i, int& threads) {
  return count_option(args, i, 1, 1024, threads);
}

namespace {

// A value that is no number with units (`week`, `false`, `announced`) or a date (`2024-01`,
// `2025-06-30`): what --set does not change, a scenario that extends the other does.
bool is_word(const std::string& v) {
  const bool date = (v.size() == 7 || v.size() == 10) && v[4] == '-' &&
                    std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c) || c == '-'; });
  return date || (!v.empty() && std::none_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); }));
}

// What to do instead of `--set key=value` for a `word` or date, or a number the scenario does
// not write: the lines of a scenario that extends `scenario` and sets it, when they load
// (checked by loading them); for a word that does not, why not (a misspelt key or word, with
// the scenario's did-you-mean); for a field of a list's entry by its index, the rule for lists.
std::string extends_hint(const std::string& scenario, const ScenarioTemplate& t, const std::string& key,
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

}  // namespace

std::string SetValues::take(const std::vector<std::string>& args, size_t& i) {
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

std::string SetValues::folder(const std::string& name) const {
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

std::optional<Scenario> SetValues::apply(const std::string& path, std::ostream& err) {
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
              << "` is " << was.back() << lookalike_note(given[k]) << "\n";
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

bool load_for(const std::string& path, bool have_seed, std::uint64_t seed, SetValues& sets, Scenario& s,
              std::ostream& err) {
  if (is_study_file(path)) {
    usage(err, "`" + path + "` is a study file, not a scenario: run it with `gpumm study " + path + "`", "study");
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

void print_sets(std::ostream& out, const SetValues& sets) {
  for (size_t k = 0; k < sets.values.size(); ++k)
    out << "  set               " << sets.values[k].first << " = " << sets.texts[k] << " (the scenario's "
        << sets.was[k] << ")\n";
}

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

}  // namespace gpumm::cli::detail
