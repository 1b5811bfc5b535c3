// gpumm run SCENARIO: one run, its output folder and a summary on the terminal.
#include "command.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "gpumm/episodes.hpp"
#include "gpumm/io.hpp"
#include "gpumm/market.hpp"
#include "gpumm/simulate.hpp"

namespace gpumm::cli::detail {

namespace {

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

}  // namespace

int cmd_run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  const auto bad = [&err](const std::string& problem) { return usage(err, problem, "run"); };
  std::string scenario_path;
  SharedOptions opt;
  SetValues sets;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (std::string problem; opt.take(args, i, problem)) {
      if (!problem.empty()) return bad(problem);
    } else if (a == "--set") {
      if (std::string problem = sets.take(args, i); !problem.empty()) return bad(problem);
    } else if (!a.empty() && a[0] == '-') {
      return unknown_option(err, a, "run", {"--output", "--seed", "--quiet", "--set"});
    } else if (scenario_path.empty()) {
      scenario_path = a;
    } else {
      return bad("run takes one scenario (got `" + scenario_path + "` and `" + a + "`)");
    }
  }
  if (scenario_path.empty()) return bad("run needs a scenario file, e.g. `gpumm run inputs/base.yaml`");

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
    std::ostringstream text;
    text << "gpumm " << GPUMM_VERSION << ": " << s.name << ", " << to_iso(r.calendar.start())
        << " to " << to_iso(r.calendar[r.calendar.size() - 1].last) << ", "
        << count_text(r.calendar.size(), to_string(r.calendar.step())) << ", seed " << s.seed << "\n";
    print_sets(text, sets);
    text << "  final installed   " << short_number(last.installed_h100e) << " H100e ("
        << short_number(last.installed_gpus) << " GPUs)\n";
    text << "  final deployed    " << short_number(last.deployed_h100e) << " H100e\n";
    const int peak = r.peak_stranded_period();
    if (peak < 0) {
      text << "  stranded GPUs     none in any period\n";
    } else {
      const PeriodSummary& p = r.periods[static_cast<size_t>(peak)];
      std::string by = "power";
      double most = p.stranded_power_gpus;
      if (p.stranded_building_gpus > most) { by = "building"; most = p.stranded_building_gpus; }
      if (p.stranded_network_gpus > most) { by = "network"; }
      text << "  peak stranded     " << short_number(p.stranded_gpus) << " GPUs on "
          << to_iso(r.calendar[peak].start) << ", mostly for want of " << by << "\n";
    }
    int node = 0, ramp = 0;
    for (const PeriodSummary& p : r.periods) {
      node += p.binding_upstream >= 0 ? 1 : 0;
      ramp += p.binding_upstream == -2 ? 1 : 0;
    }
    // (the count it is of kept with its words, not left alone on a line)
    text << "  deliveries short  " << count_text(node, "period") << " for an upstream node, " << ramp << " for a "
         << no_break("production ramp (of " + std::to_string(r.periods.size()) + ")") << "\n";
    // the first warnings; all of them are in warnings.csv
    constexpr size_t kShown = 3;
    for (size_t k = 0; k < std::min(kShown, r.warnings.size()); ++k) {
      const Warning& w = r.warnings[k];
      text << "  warning: " << to_iso(r.calendar[w.period].start) << ": " << w.code << ": " << w.message << "\n";
    }
    if (r.warnings.size() > kShown) {
      // the codes of those not shown, so that none goes unseen
      std::vector<std::string> codes;
      for (size_t k = kShown; k < r.warnings.size(); ++k)
        if (std::find(codes.begin(), codes.end(), r.warnings[k].code) == codes.end()) codes.push_back(r.warnings[k].code);
      std::string list;
      for (const std::string& c : codes) list += (list.empty() ? "" : ", ") + c;
      text << "  ... and " << r.warnings.size() - kShown << " more warnings: " << list << " (all "
          << r.warnings.size() << " in warnings.csv)\n";
    }
    text << "  demand            " << short_number(last.demand_h100e()) << " H100e at the end, "
        << short_number(last.unserved_h100e) << " unserved, " << short_number(last.idle_h100e) << " idle\n";
    // what the firms' capacity beyond their own needs was (episodes.csv and verdict.txt say more)
    if (const SpareTotals spare = spare_totals(r); spare.h100e_months > 0)
      text << "  firms' spare      " << short_number(spare.h100e_months) << " H100e-months over the run: "
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
      text << line;
      // a spot at its floor while the market is short reads as a glut at a glance: say what it is
      int short_periods = 0, at_floor = 0;
      for (size_t t = 0; t < r.periods.size(); ++t) {
        if (diagnosis->regimes[t] != Regime::structural_shortage) continue;
        ++short_periods;
        at_floor += spot_at_floor(r.periods[t].spot_usd_per_h100e_hour, s.market) ? 1 : 0;
      }
      if (at_floor > 0)
        text << "                    at its floor in " << at_floor << " of the "
            << count_text(short_periods, to_string(r.calendar.step()))
            << " of structural shortage: no sign of oversupply (verdict.txt says why)\n";
    }
    text << "  output            " << no_break(dir.dir().string() + "/") << " (summary.csv, firms.csv, regions.csv, "
        << "timeseries.csv, projects.csv, episodes.csv, contracts.csv, market.csv, warnings.csv, verdict.txt, "
        << "scenario.resolved.yaml)\n";
    // on an 80-column terminal: a line's continuation under its value
    out << wrap_text(text.str(), kTerminalWidth, kValueColumn);
    // the verdict's first lines: the regimes and the mismatch
    std::istringstream headline(verdict_headline(r, *diagnosis));
    for (std::string line; std::getline(headline, line);) out << wrap_text("  " + line + "\n", kTerminalWidth, 4);
    const TrendRevision& rev = diagnosis->revision;
    // the regimes an analyst would have read then, where they differ from those after the fact
    if (const int differ = rev.misread(diagnosis->regimes); differ > 0) {
      const int missed = rev.shortage_missed(diagnosis->regimes);
      out << wrap_text("  Read in real time, the regime differs in " + std::to_string(differ) + " of " +
                           count_text(static_cast<long long>(r.periods.size()), to_string(r.calendar.step())) +
                           (missed > 0 ? "; " + count_text(missed, to_string(r.calendar.step())) +
                                             " of structural shortage were not called one then"
                                       : std::string()) +
                           " (verdict.txt).\n",
                       kTerminalWidth, 4);
    }
    // regimes the last two years' trend may yet change, when the horizon is extended
    const size_t changing = rev.may_change(diagnosis->trend).size();
    const std::string step = to_string(r.calendar.step());
    const std::string zone = rev.zone_start() == 0 ? "this run"
                             : "the last " + count_text(static_cast<long long>(rev.bound.size()) - rev.zone_start(), step);
    if (!rev.measured())
      out << wrap_text("  The regimes of " + zone + " may change when the horizon is extended: a run shorter than " +
                           count_text(2 * rev.lookahead + 1, step) + " cannot measure how far their trend may move.\n",
                       kTerminalWidth, 4);
    else if (changing > 0)
      out << wrap_text("  The regime of " + std::to_string(changing) + " of " + zone +
                           " may change when the horizon is extended (verdict.txt says how far their trend moved).\n",
                       kTerminalWidth, 4);
    return kOk;
  } catch (const OutputError& e) {
    err << "gpumm: " << e.what() << "\n";
    return kBadInput;
  } catch (const std::exception& e) {
    err << "gpumm: run failed: " << e.what() << "\n";
    return kRuntimeFailure;
  }
}

}  // namespace gpumm::cli::detail
