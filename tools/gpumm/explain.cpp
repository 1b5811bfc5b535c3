// gpumm explain SCENARIO --firm F --date D: does the firm's surplus indicate oversupply?
#include "command.hpp"

#include <unistd.h>

#include <sstream>

#include "gpumm/episodes.hpp"
#include "gpumm/io.hpp"
#include "gpumm/simulate.hpp"

namespace gpumm::cli::detail {

namespace {
// The most runs `--seeds` asks for: a study's budget, some minutes on two cores.
constexpr int kMaxSeedsAsked = 100000;
}  // namespace

int cmd_explain(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  const auto bad = [&err](const std::string& problem) { return usage(err, problem, "explain"); };
  std::string scenario_path, firm_id, date_text;
  bool have_seed = false;
  std::uint64_t seed = 0;
  int seeds = 0;  // 0: the one run's answer alone
  int threads = all_cores();
  SetValues sets;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--set") {
      if (std::string problem = sets.take(args, i); !problem.empty()) return bad(problem);
    } else if (a == "--firm") {
      const std::string* v = option_value(args, i);
      if (!v) return bad("--firm needs a firm id");
      firm_id = *v;
    } else if (a == "--date") {
      const std::string* v = option_value(args, i);
      if (!v) return bad("--date needs a date (YYYY-MM-DD or YYYY-MM)");
      date_text = *v;
    } else if (a == "--seed") {
      if (std::string problem = seed_option(args, i, seed); !problem.empty()) return bad(problem);
      have_seed = true;
    } else if (a == "--seeds") {
      if (std::string problem = count_option(args, i, 2, kMaxSeedsAsked, seeds); !problem.empty()) return bad(problem);
    } else if (a == "--threads") {
      if (std::string problem = threads_option(args, i, threads); !problem.empty()) return bad(problem);
    } else if (!a.empty() && a[0] == '-') {
      return unknown_option(err, a, "explain", {"--firm", "--date", "--seed", "--seeds", "--threads", "--set"});
    } else if (scenario_path.empty()) {
      scenario_path = a;
    } else {
      return bad("explain takes one scenario");
    }
  }
  if (scenario_path.empty() || firm_id.empty() || date_text.empty())
    return bad("explain needs a scenario, --firm and --date, e.g. `gpumm explain inputs/base.yaml --firm meta --date 2026-07`");
  Scenario s;
  if (!load_for(scenario_path, false, 0, sets, s, err)) return kBadInput;
  const std::uint64_t scenario_seed = s.seed;
  if (have_seed) s.seed = seed;
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
  if (seeds > 0 && s.seed > kMaxSeed - static_cast<std::uint64_t>(seeds - 1))
    problems.push_back("--seeds " + std::to_string(seeds) + " from seed " + std::to_string(s.seed) +
                       " would pass the largest seed, " + std::to_string(kMaxSeed) + ": give a smaller --seed");
  if (!problems.empty()) {
    for (size_t k = 0; k + 1 < problems.size(); ++k) err << "gpumm: " << problems[k] << "\n";
    return bad(problems.back());
  }
  try {
    RunResult r = simulate(s);
    const SeriesDiagnosis d = diagnose_run_revised(s, r);
    std::string text = explain_surplus(s, r, d, find_episodes(s, r, d), firm, t);
    // a date written as a quarter or a month, longer than the scenario's step, is read as its
    // first day: say which period that is, and that the others of the span are not in the answer
    const bool quarter = date_text.size() == 7 && (date_text[5] == 'Q' || date_text[5] == 'q');
    const bool month = date_text.size() == 7 && !quarter;
    if ((quarter && s.step != Step::quarter) || (month && s.step == Step::week))
      text += "\nNote: --date " + date_text + " names a " + (quarter ? "quarter" : "month") + " and the scenario steps by " +
              to_string(s.step) + "s: this answers for the " + to_string(s.step) + " that holds its first day, " +
              to_iso(date.value) + "; ask for a date later in the " + (quarter ? "quarter" : "month") +
              " for another.\n";
    // a run outside the step the scenario was calibrated at answers with uncalibrated evidence
    std::vector<Warning> others;
    for (const Warning& w : r.warnings)
      if (w.code == "uncalibrated_step") text += "\nNote: " + w.message + ".\n";
      else others.push_back(w);
    // the rest (orders due before the start, a seller short of what it sold...): the answer
    // stands on this run, so say what it warned of
    if (!others.empty())
      text += "\nThe run warned of: " + warning_counts(others) + "; `gpumm run` writes each to warnings.csv.\n";
    // each paragraph's continuation lines indented, so that one paragraph reads apart from the next
    out << wrap_text(text, kTerminalWidth, 2);
    // the same question asked of runs with the next seeds: how far the answer rests on one draw
    if (seeds > 0) {
      RunsProgress progress(err, ::isatty(2), false);
      const SeedSpread spread =
          across_seeds(s, firm, t, seeds, threads, [&](int done, int total) { progress(done, total); });
      progress.end();
      out << "\n" << wrap_text(explain_across_seeds(s, calendar, spread, firm, t), kTerminalWidth, 2);
    }
    // the answer stands on this seed's slips and draws: another seed can answer otherwise
    if (have_seed)
      out << "\nWith --seed " << seed << " (the scenario's seed is " << scenario_seed
          << "): its slips and draws, not the scenario's.\n";
    if (!sets.values.empty()) {
      std::ostringstream set_lines;
      print_sets(set_lines, sets);
      out << "\nWith values set on the command line:\n" << wrap_text(set_lines.str(), kTerminalWidth, kValueColumn);
    }
    return kOk;
  } catch (const std::exception& e) {
    err << "gpumm: explain failed: " << e.what() << "\n";
    return kRuntimeFailure;
  }
}

}  // namespace gpumm::cli::detail
