// gpumm diff A B: why two scenarios' outcomes differ, as a waterfall of their changes.
#include "command.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "gpumm/compare.hpp"
#include "gpumm/io.hpp"

namespace gpumm::cli::detail {

namespace {

// A metric value for the terminal: whole numbers as such, large ones short (12.3M), others
// to three significant digits; `sign` puts + before a positive effect.
std::string metric_text(double x, bool sign = false) {
  if (std::isnan(x)) return "n/a";
  char buf[64];
  if (std::abs(x) >= 1e4) return std::string(sign && x > 0 ? "+" : "").append(short_number(x));
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
  // sentences wrap to the terminal; a change or a row of the waterfall is one line, cut to fit
  out << wrap_text("gpumm diff: " + w.from + " -> " + w.to + ", " + std::to_string(w.changes.size()) +
                       (w.changes.size() == 1 ? " change" : " changes") + " (" + std::to_string(w.runs) + " runs)\n",
                   kTerminalWidth, 2);
  if (w.changes.empty()) out << "  no changes: both describe the same scenario\n";
  if (!w.warnings_from.empty() || !w.warnings_to.empty())
    out << wrap_text("  warnings: " + (w.warnings_from.empty() ? "none" : w.warnings_from) + " in " + w.from + ", " +
                         (w.warnings_to.empty() ? "none" : w.warnings_to) + " in " + w.to +
                         " (each run's warnings.csv says what and when)\n",
                     kTerminalWidth, 4);
  if (!w.changes.empty()) out << wrap_text("  changes, in the order of " + w.to + "'s document:\n", kTerminalWidth, 4);
  // a change on one line when it fits, else what differs under its path, cut to about two lines
  // (two lines' room less a few columns that breaking between words may leave empty; diff.csv
  // has it whole)
  constexpr size_t kUnder = 10;
  for (size_t k = 0; k < w.changes.size(); ++k) {
    const auto& c = w.changes[k];
    char num[24];
    std::snprintf(num, sizeof num, "%4zu  ", k + 1);
    const std::string one = std::string("  ") + num + c.path + ": " + c.summary;
    if (one.size() <= kTerminalWidth) out << one << "\n";
    else
      out << "  " << num << c.path << "\n"
          << wrap_text(std::string(kUnder, ' ') + cut(c.summary, 2 * (kTerminalWidth - kUnder) - 8) + "\n",
                       kTerminalWidth, kUnder);
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
    // a row fits the terminal: 4 + 6 + 1 + the change + 1 + 10 + 1 + 10 columns (its step
    // number leads to the change's whole path above)
    changes.push_back(s.changes.empty() ? "(order of entries)" : cut(what, kTerminalWidth - 33));
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
    out << "\n"
        << wrap_text("  " + w.metrics[m] + ": " + metric_text(w.start[m]) + " in " + w.from + ", " +
                         metric_text(w.end[m]) + " in " + w.to + " (" + metric_text(w.end[m] - w.start[m], true) + ")\n",
                     kTerminalWidth, 4);
    if (w.steps.empty()) continue;
    row("step", "change", "effect", "alone");
    for (size_t k = 0; k < w.steps.size(); ++k)
      row(labels[k], changes[k], metric_text(w.effect(k, m), true),
          w.steps[k].changes.empty() ? "" : metric_text(w.alone_effect(k, m), true));
    row("", together, metric_text(w.interactions(m), true), "");
  }
}

}  // namespace

int cmd_diff(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  const auto bad = [&err](const std::string& problem) { return usage(err, problem, "diff"); };
  std::vector<std::string> paths, metrics;
  SharedOptions opt;
  int threads = all_cores();
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--metric") {
      const std::string* v = option_value(args, i);
      if (!v) return bad("--metric needs a metric, e.g. `--metric peak_unserved_h100e`");
      if (std::find(metrics.begin(), metrics.end(), *v) != metrics.end())
        return bad("--metric " + *v + " is given twice");
      metrics.push_back(*v);
    } else if (a == "--threads") {
      if (std::string problem = threads_option(args, i, threads); !problem.empty()) return bad(problem);
    } else if (std::string problem; opt.take(args, i, problem)) {
      if (!problem.empty()) return bad(problem);
    } else if (!a.empty() && a[0] == '-') {
      return unknown_option(err, a, "diff", {"--metric", "--output", "--seed", "--threads", "--quiet"});
    } else {
      paths.push_back(a);
    }
  }
  if (paths.size() != 2)
    return bad("diff takes two scenarios, e.g. `gpumm diff inputs/base.yaml inputs/cases/glut.yaml`");
  for (const std::string& p : paths)
    if (is_study_file(p)) return bad("`" + p + "` is a study file; diff compares two scenarios");
  if (metrics.empty()) metrics = {"periods_in_structural_shortage", "mean_relative_balance_frac"};
  for (const std::string& m : metrics)
    if (const std::string problem = metric_problem(m); !problem.empty())
      return bad("--metric: " + problem);

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
      return bad("--metric: " + metric_problem(m, &sb));
  if (opt.out_dir.empty()) opt.out_dir = (std::filesystem::path("out") / (sa.name + "-vs-" + sb.name)).string();

  try {
    OutputDir dir(opt.out_dir);
    std::optional<Waterfall> made;
    {
      RunsProgress progress(err, !opt.quiet && ::isatty(2), false);
      made.emplace(waterfall(a, b, metrics, opt.have_seed ? std::optional<std::uint64_t>(opt.seed) : std::nullopt,
                             threads, [&](int done, int total) { progress(done, total); }));
    }
    const Waterfall& w = *made;
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

}  // namespace gpumm::cli::detail
