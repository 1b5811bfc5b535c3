// The gpumm program's front door: its help, and the dispatch to the commands (one file each).
#include "cli.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ostream>

#include "command.hpp"

namespace gpumm::cli {

using detail::cmd_diff;
using detail::cmd_explain;
using detail::cmd_run;
using detail::cmd_study;
using detail::cmd_validate;
using detail::usage;

namespace {

const char* kHelp = R"(gpumm - a simulator of the AI compute market

gpumm steps the multi-year buildout of GPUs (by generation), power, data
centers and networks, firm by firm and region by region, and writes
spreadsheet-ready CSV.

Usage:
  gpumm run SCENARIO.yaml [-o DIR] [--seed N] [--set PATH=VALUE]... [--quiet]
      Simulate a scenario and write its output folder (default:
      out/<scenario name>/). On a terminal, a run that takes a while shows the
      period it has reached.
      -o, --output DIR   where to write; an existing folder is only reused if
                         an earlier gpumm run wrote it
      --seed N           override the scenario's seed (random slips and build
                         draws)
      --set PATH=VALUE   set a number of the scenario for this run, in the
                         units the scenario writes there, as a study parameter
                         is named: --set firms.microsoft.capex.2027=200 ($B;
                         or =$200B), --set 'contracts[openai_oracle].ramp=36'
                         (months); repeatable; the default folder is then
                         out/<scenario name>-set-<mark of the values>/; for a
                         word, a date (--set step=week) or a number the
                         scenario does not write, it prints the lines of a
                         scenario that extends it
      -q, --quiet        print nothing but errors
  gpumm explain SCENARIO.yaml --firm FIRM --date DATE [--seed N] [--seeds N]
        [--threads N] [--set PATH=VALUE]...
      Answer "does FIRM's surplus at DATE indicate market oversupply?" with the
      evidence: the market's regime and structural balance (read after the
      fact, and in real time from the months up to DATE only, with the answer
      an analyst would have given then where the two differ), its mismatch,
      the firm's balance, and the surplus episode with its causes, for the
      period that holds DATE (2026-07-15, 2026-07 or 2026-Q3: a month or a
      quarter is read as its first day). Writes no files.
      --seeds N          ask again of N runs with the seeds from the scenario's
                         (or --seed) on, whose slips and draws differ: how
                         often each answer and regime comes, and the spread
                         of the firm's balance (on all cores unless --threads
                         says otherwise; the counts do not depend on it)
  gpumm diff A.yaml B.yaml [--metric M]... [-o DIR] [--seed N] [--threads N]
        [--quiet]
      Explain why two scenarios' outcomes differ: a waterfall from A to B that
      makes the changes between them (after `extends`: a case is its overrides
      of the base) one at a time, in the order of B's document (an override
      where the value it replaces stood), and shows what each adds to a
      metric; the effects add up to B minus A. Each change is also run alone
      on A: the rest of the total is what the changes do only together.
      Metrics are those of studies (default:
      periods_in_structural_shortage and mean_relative_balance_frac; --metric
      again for more). Writes diff.csv (default folder:
      out/<A name>-vs-<B name>/). Runs on all cores unless --threads says
      otherwise (the numbers do not depend on it), with progress on a
      terminal.
  gpumm study STUDY.yaml [-o DIR] [--threads N] [--resume | --restart] [--quiet]
      Run a sensitivity or uncertainty study: the study file names the
      scenario, the parameters (paths such as firms.meta.capex.2026 with low
      and high values in the units written in the scenario, and optionally a
      distribution within them: triangular, normal, lognormal), the method
      (sweep, grid, tornado, morris, sobol, monte_carlo), the outputs and, for
      Monte Carlo bands and Sobol indices per period, the series (summary.csv's
      columns). A Monte Carlo run draws its slips from a seed of its own, the
      other methods' runs from the scenario's (scenario_seed: per_run or
      fixed). Writes samples.csv, the method's tables and manifest.yaml
      (default folder: out/<study name>/) and prints the headline: per output,
      the parameters that matter most, the spread, the output at each point of
      a sweep, or a two-parameter grid as a table. Uses all cores (no more
      threads than runs) unless --threads says otherwise; results do not
      depend on the number of threads. Shows progress with an ETA on a
      terminal. Every run is checkpointed: Ctrl-C (or SIGTERM) stops a study
      once the runs in flight are saved, and after any interruption the same
      command with --resume finishes it with exactly the results of an
      uninterrupted one (without --resume it refuses to throw the saved runs
      away; --restart discards them and starts over). Built with MPI
      (GPUMM_WITH_MPI), `mpirun -np N gpumm study ...` shares the runs among N
      processes, with the same results. docs/study.md lists every key of a
      study file and every metric (such as spare_share:sold_to_short_firms).
  gpumm validate FILE.yaml...
      Check scenarios, or study files with their scenario, without running
      them; every problem is listed as file:line:column: key.path: message
  gpumm --help | --version
  gpumm COMMAND --help (or gpumm help COMMAND): that command's part of this help

Examples:
  gpumm run inputs/base.yaml -o out/base
  then open out/base/summary.csv in a spreadsheet: one row per period with
  installed, deployed and stranded GPUs, power, backlog, demand (training,
  inference, other), what was served, unserved and idle, the balance, its
  structural trend and the regime (structural_shortage, balanced,
  oversupply), spot prices; verdict.txt says it in words.
  gpumm explain inputs/base.yaml --firm meta --date 2027-06
  answers whether Meta's spare capacity in June 2027 means a glut (no: a
  local, temporary mismatch in a balanced market; Meta sells what it has
  spare to firms short of capacity).
  gpumm diff inputs/base.yaml inputs/cases/grid-delay.yaml
  shows which of the grid-delay case's slower interconnects and build lead
  times move the periods of structural shortage and the mean relative
  balance, and by how much.
  gpumm study inputs/studies/tornado.yaml
  sets each of seven assumptions to its low and its high value and ranks
  them by how far they move each output (out/tornado/tornado.csv has the
  bars); inputs/studies/ holds an example of every method.
  gpumm validate inputs/base.yaml inputs/cases/*.yaml
  checks the base and its cases and lists every problem with its file, line
  and column.

Output files:
  summary.csv             one row per period: supply, demand, balance, trend,
                          regime, prices
  firms.csv, regions.csv  one row per period and firm / region
  timeseries.csv          long format (date, firm, region, generation, metric,
                          value, unit)
  episodes.csv            every firm surplus episode with its causes
  contracts.csv           per period and contract: delivered, used, unused
                          share, payment
  market.csv              per period, region and generation: offers, bids,
                          matched, unmet, idle and why, spot price
  verdict.txt             regime timeline, prices by regime, main episodes,
                          the answer in words
  projects.csv            every training project: planned and actual start
                          and end, slip, wait
  warnings.csv            what the run warned of (date, code, message), e.g.
                          a contract's seller without the capacity it sold
  scenario.resolved.yaml  the scenario after defaults, to reproduce the run
                          exactly

Exit codes: 0 success, 1 runtime failure, 2 bad input or usage, 130 or 143 a
study stopped by Ctrl-C or SIGTERM (its runs saved for --resume).
The scenario format is documented in docs/scenario.md.
)";

const char* const kCommands[] = {"run", "explain", "diff", "study", "validate"};

// After "unknown command `word`": the command meant, or the list of them.
std::string which_command(const std::string& word) {
  const std::string guess = closest_name(word, {std::begin(kCommands), std::end(kCommands)});
  return guess.empty() ? "; the commands are run, explain, diff, study and validate" : "; did you mean `" + guess + "`?";
}

// The lines of kHelp from the one that starts with `head` up to (not including) the next that
// starts a command (`  gpumm `) or the next blank line; "" when no line starts so.
std::string help_lines(const std::string& head, bool to_blank) {
  const std::string help = kHelp;
  const size_t begin = help.find("\n" + head);
  if (begin == std::string::npos) return "";
  size_t end = help.find("\n  gpumm ", begin + 1);
  if (to_blank) end = std::min(end, help.find("\n\n", begin + 1));
  return help.substr(begin + 1, end - begin);
}

// `gpumm CMD --help`: the command's part of the help (its usage and options, its example, and
// for run the files it writes), then where the rest is.
std::string command_help(const std::string& cmd) {
  std::string out = "Usage:\n" + help_lines("  gpumm " + cmd + " ", false);
  if (const std::string example = help_lines("  gpumm " + cmd + " inputs/", true); !example.empty())
    out += "\nExample:\n" + example;
  if (cmd == "run") out += "\n" + help_lines("Output files:", true);
  return out + "\n`gpumm --help` shows every command, the output files and the exit codes.\n";
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

int main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err, const StudyShare* share) {
  if (args.empty()) {
    err << kHelp;
    return kBadInput;
  }
  const std::string& cmd = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  const auto known = [](const std::string& c) { return std::ranges::find(kCommands, c) != std::end(kCommands); };
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    if (cmd == "help" && !rest.empty()) {
      if (!known(rest[0])) return usage(err, "no command `" + rest[0] + "`" + which_command(rest[0]));
      out << command_help(rest[0]);
      return kOk;
    }
    out << kHelp;
    return kOk;
  }
  if (cmd == "--version" || cmd == "version") {
    out << "gpumm " << GPUMM_VERSION << "\n";
    return kOk;
  }
  for (const std::string& a : rest)
    if (a == "--help" || a == "-h") {
      out << (known(cmd) ? command_help(cmd) : kHelp);
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
  return usage(err, "unknown command `" + cmd + "`" + (cmd.rfind("-", 0) != 0 ? which_command(cmd) : ""));
}

}  // namespace gpumm::cli
