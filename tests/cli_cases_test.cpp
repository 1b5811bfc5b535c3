// End-to-end tests of the five case studies (inputs/cases/): each tells the story its file
// says, through the files a run of it leaves.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "cli_support.hpp"

using namespace gpumm::testing;

namespace {
// The largest of a column's numbers.
double max_of(const std::vector<std::string>& v) {
  double m = 0;
  for (const auto& x : v) m = std::max(m, std::stod(x));
  return m;
}
}  // namespace

TEST_CASE("cli: case study glut: inference stalls from 2027 while capex goes on -> oversupply") {
  const fs::path out = scratch("case-glut");
  REQUIRE(run_gpumm("run inputs/cases/glut.yaml -q -o '" + out.string() + "'").code == 0);
  auto dates = column(out / "summary.csv", "date");
  auto regimes = column(out / "summary.csv", "regime");
  int after = 0, oversupply = 0, shortage = 0;
  for (size_t t = 0; t < dates.size(); ++t) {
    if (dates[t] < "2027-01-01") continue;
    ++after;
    oversupply += regimes[t] == "oversupply";
    shortage += regimes[t] == "structural_shortage";
  }
  CHECK(after == 72);
  CHECK(shortage == 0);
  CHECK(oversupply >= 0.9 * after);
  const std::string verdict = slurp(out / "verdict.txt");
  CHECK(verdict.find("oversupply") != std::string::npos);
  // the timeline says why a surplus trend before the glut is not yet oversupply
  CHECK(verdict.find("oversupply also needs utilization below 85%") != std::string::npos);
  CHECK(unwrapped(verdict).find("balanced             trend from -2.7% to +73.1% (above +5.0% with utilization 89-98%: oversupply "
                     "needs it below 85%)") != std::string::npos);
  // firm by firm: Microsoft's surplus comes only in the glut, Google's mostly, and it is unwanted
  CHECK(verdict.find("\n  microsoft        72         0         0          72  in every one         weak_demand\n") !=
        std::string::npos);
  CHECK(verdict.find("\n  google           79         2         5          72  in 72 of 79          weak_demand\n") !=
        std::string::npos);
  // served never exceeds demand, even by rounding: no negative unserved compute anywhere
  for (const char* f : {"summary.csv", "firms.csv", "regions.csv"})
    for (const auto& v : column(out / f, "unserved_h100e")) CHECK_MESSAGE(std::stod(v) >= 0, f);
  // a spot at its floor in a glut is what it seems: the run's summary adds no word on it (the
  // base's says how long it sat there while the market was short)
  Result shown = run_gpumm("run inputs/cases/glut.yaml -o '" + scratch("case-glut-shown").string() + "'");
  CHECK(shown.out.find("\n  spot index        $8.00 per H100e-hour at the start, $0.50 at the end") != std::string::npos);
  CHECK(shown.out.find("at its floor") == std::string::npos);
}

TEST_CASE("cli: case study generation-switch: older generations idle while Rubin-only training waits") {
  const fs::path out = scratch("case-switch"), glut = scratch("case-switch-glut");
  REQUIRE(run_gpumm("run inputs/cases/generation-switch.yaml -q -o '" + out.string() + "'").code == 0);
  REQUIRE(run_gpumm("run inputs/cases/glut.yaml -q -o '" + glut.string() + "'").code == 0);
  auto dates = column(out / "summary.csv", "date");
  auto idle = column(out / "summary.csv", "idle_h100e");
  auto unserved = column(out / "summary.csv", "unserved_h100e");
  auto by_generation = column(out / "summary.csv", "mismatch_generations_frac");
  auto glut_unserved = column(glut / "summary.csv", "unserved_h100e");
  int periods = 0;
  for (size_t t = 0; t < dates.size(); ++t) {
    if (dates[t] < "2027-01-01" || dates[t] >= "2027-06-01") continue;
    CAPTURE(dates[t]);
    ++periods;
    CHECK(std::stod(unserved[t]) > 1e6);                       // Rubin-only runs wait ...
    CHECK(std::stod(idle[t]) > 4 * std::stod(unserved[t]));    // ... beside a much larger idle fleet
    CHECK(std::stod(by_generation[t]) > 0.15);                 // surplus and shortage split by generation
    CHECK(std::stod(glut_unserved[t]) < 1);                    // the same market without the switch: none waits
  }
  CHECK(periods == 5);
  // and firms.csv attributes that much of their spare capacity to the generation transition
  auto fdates = column(out / "firms.csv", "date");
  auto transition = column(out / "firms.csv", "spare_generation_transition_h100e");
  std::map<std::string, double> by_date;
  for (size_t i = 0; i < fdates.size(); ++i)
    if (fdates[i] >= "2027-01-01" && fdates[i] < "2027-06-01") by_date[fdates[i]] += std::stod(transition[i]);
  REQUIRE(by_date.size() == 5);
  for (const auto& [date, h100e] : by_date) {
    CAPTURE(date);
    CHECK(h100e > 1e6);
  }
  // the first Rubin runs start months late (or never: a later run supersedes one)
  auto programs = column(out / "projects.csv", "program");
  auto planned = column(out / "projects.csv", "planned_start");
  auto waits = column(out / "projects.csv", "wait_days");
  auto status = column(out / "projects.csv", "status");
  int late = 0;
  for (size_t i = 0; i < programs.size(); ++i)
    if (programs[i].find("_rubin") != std::string::npos && planned[i] < "2027-04-01")
      late += status[i] == "superseded" || (!waits[i].empty() && std::stod(waits[i]) >= 90);
  CHECK(late >= 2);
}

TEST_CASE("cli: case study grid-delay: interconnects slip -> GPUs stranded for want of power") {
  const fs::path base = scratch("case-grid-base"), out = scratch("case-grid");
  REQUIRE(run_gpumm("run inputs/base.yaml -q -o '" + base.string() + "'").code == 0);
  REQUIRE(run_gpumm("run inputs/cases/grid-delay.yaml -q -o '" + out.string() + "'").code == 0);
  // many more GPUs wait for power than in the base case
  const double stranded = max_of(column(out / "summary.csv", "stranded_power_gpus"));
  CHECK(stranded > 2 * max_of(column(base / "summary.csv", "stranded_power_gpus")));
  // a firm has chips but no deployable compute: less than half its GPUs can run
  auto installed = column(out / "firms.csv", "installed_gpus");
  auto deployed = column(out / "firms.csv", "deployed_gpus");
  double worst = 1;
  for (size_t i = 0; i < installed.size(); ++i)
    if (std::stod(installed[i]) > 1e5) worst = std::min(worst, std::stod(deployed[i]) / std::stod(installed[i]));
  CHECK(worst < 0.5);
  // and the market is short of compute for longer than in the base case
  auto count = [](const std::vector<std::string>& v) { return std::count(v.begin(), v.end(), "structural_shortage"); };
  CHECK(count(column(out / "summary.csv", "regime")) > count(column(base / "summary.csv", "regime")));
  // the verdict names what the run warned of (sellers short of their contracts), the base's nothing
  const auto codes = column(out / "warnings.csv", "code");
  const auto shortfalls = std::count(codes.begin(), codes.end(), std::string("contract_shortfall"));
  REQUIRE(shortfalls > 0);
  CHECK(slurp(out / "verdict.txt").find("\nThe run warned of: contract_shortfall (" + std::to_string(shortfalls) +
                                        "); warnings.csv says what and when.\n") != std::string::npos);
  CHECK(slurp(base / "verdict.txt").find("warned") == std::string::npos);
}

TEST_CASE("cli: case study meta-sells-compute: a slipped program leaves Meta a temporary surplus, not market oversupply") {
  const fs::path out = scratch("case-meta");
  REQUIRE(run_gpumm("run inputs/cases/meta-sells-compute.yaml -q -o '" + out.string() + "'").code == 0);
  // a short Meta episode in late 2026 whose main cause is the slipped training program
  auto firms = column(out / "episodes.csv", "firm");
  auto starts = column(out / "episodes.csv", "start");
  auto ends = column(out / "episodes.csv", "end");
  auto causes = column(out / "episodes.csv", "main_cause");
  bool found = false;
  for (size_t i = 0; i < firms.size(); ++i)
    found = found || (firms[i] == "meta" && starts[i] >= "2026-07-01" && ends[i] <= "2027-01-31" &&
                      causes[i] == "slipped_training_project");
  CHECK(found);
  // the market is in structural shortage all through it, never oversupplied around it, and
  // explain says so
  auto dates = column(out / "summary.csv", "date");
  auto regimes = column(out / "summary.csv", "regime");
  int short_months = 0;
  for (size_t t = 0; t < dates.size(); ++t) {
    if (dates[t] >= "2026-01-01" && dates[t] < "2028-01-01") CHECK(regimes[t] != "oversupply");
    if (dates[t] >= "2026-07-01" && dates[t] < "2027-01-01") {
      CHECK(regimes[t] == "structural_shortage");
      ++short_months;
    }
  }
  CHECK(short_months == 6);
  Result r = run_gpumm("explain inputs/cases/meta-sells-compute.yaml --firm meta --date 2026-10");
  CHECK(r.code == 0);
  r.out = unwrapped(r.out);  // its paragraphs as written, not as wrapped for the terminal
  CHECK(r.out.rfind("No: meta's surplus in 2026-10 is a local, temporary mismatch; the market is in structural "
                    "shortage.", 0) == 0);
  CHECK(r.out.find("slipped training project") != std::string::npos);
  // with what its take-or-pay contracts bring in (Meta-CoreWeave is in force)
  const size_t in_at = r.out.find("; under contracts ");
  REQUIRE(in_at != std::string::npos);
  const std::string brought = r.out.substr(in_at + 18, r.out.find(" in from sellers", in_at) - in_at - 18);
  CHECK(brought != "0");
  CHECK(brought.back() == 'k');
  // the same case without the slip: no Meta surplus episode touches 2026's second half
  std::string y = slurp(kSource / "inputs/cases/meta-sells-compute.yaml");
  const std::string slip = "delay: {probability: 1, distribution: fixed, mean: 6mo}";
  replace_once(y, slip, "delay: {probability: 0}");
  replace_once(y, "extends: ../base.yaml", "extends: " + (kSource / "inputs/base.yaml").string());
  const fs::path dir = scratch("case-meta-on-time"), yaml = dir / "on-time.yaml", out2 = dir / "out";
  fs::create_directories(dir);
  std::ofstream(yaml) << y;
  REQUIRE(run_gpumm("run '" + yaml.string() + "' -q -o '" + out2.string() + "'").code == 0);
  firms = column(out2 / "episodes.csv", "firm");
  starts = column(out2 / "episodes.csv", "start");
  ends = column(out2 / "episodes.csv", "end");
  for (size_t i = 0; i < firms.size(); ++i)
    if (firms[i] == "meta") CHECK((ends[i] < "2026-07-01" || starts[i] > "2026-12-31"));
}

TEST_CASE("cli: case study growth-halves: demand growth halves from 2028 -> the base's shortage turns into oversupply") {
  const fs::path out = scratch("case-growth-halves");
  REQUIRE(run_gpumm("run inputs/cases/growth-halves.yaml -q -o '" + out.string() + "'").code == 0);
  // shortage only before the halving; oversupply from late 2029 to the end, without a break
  auto dates = column(out / "summary.csv", "date");
  auto regimes = column(out / "summary.csv", "regime");
  int shortage = 0, oversupply = 0;
  std::string first_oversupply;
  for (size_t t = 0; t < dates.size(); ++t) {
    if (regimes[t] == "structural_shortage") {
      ++shortage;
      CHECK(dates[t] < "2027-03-01");  // the base's shortage of its first years only
    }
    if (regimes[t] == "oversupply") {
      ++oversupply;
      if (first_oversupply.empty()) first_oversupply = dates[t];
    }
    if (!first_oversupply.empty()) CHECK(regimes[t] == "oversupply");
  }
  CHECK(shortage == 50);
  CHECK(oversupply == 38);
  CHECK(first_oversupply == "2029-11-01");
  const std::string verdict = slurp(out / "verdict.txt");
  CHECK(verdict.find("\n  2029-11 to 2032-12  oversupply           trend from +11.1% to +23.2%\n") != std::string::npos);
  // the turn is read late in real time: oversupply from 2030-04, five months in
  CHECK(verdict.find("\n  2029-11 to 2030-03  balanced            in real time") != std::string::npos);
  // and reads 2027-03 to 2028-08, balanced after the fact, as a shortage then
  CHECK(verdict.find("\n  2027-03 to 2028-08  structural_shortage in real time") != std::string::npos);
  // Meta's surplus in mid-2030 indicates oversupply here, in the base it does not
  Result r = run_gpumm("explain inputs/cases/growth-halves.yaml --firm meta --date 2030-06");
  CHECK(r.code == 0);
  CHECK(unwrapped(r.out).rfind("Yes: meta's surplus in 2030-06 comes during market oversupply", 0) == 0);
  Result b = run_gpumm("explain inputs/base.yaml --firm meta --date 2030-06");
  CHECK(unwrapped(b.out).rfind("No: ", 0) == 0);
  // the growths written by year come back by year in the resolved scenario, which reruns the case
  const std::string resolved = slurp(out / "scenario.resolved.yaml");
  CHECK(resolved.find("growth_per_year: {2024: 3, 2028: 1.5}") != std::string::npos);
  CHECK(resolved.find("growth_per_year: {2023: 2, 2028: 1}") != std::string::npos);
  const fs::path again = scratch("case-growth-halves-again");
  REQUIRE(run_gpumm("run '" + (out / "scenario.resolved.yaml").string() + "' -q -o '" + again.string() + "'").code == 0);
  CHECK(slurp(again / "summary.csv") == slurp(out / "summary.csv"));
  // which halving does it: the frontier programs' more than the tokens', taken one at a time
  const fs::path diff = scratch("case-growth-halves-diff");
  Result d = run_gpumm("diff inputs/base.yaml inputs/cases/growth-halves.yaml -q -o '" + diff.string() + "'");
  REQUIRE(d.code == 0);
  const std::string table = slurp(diff / "diff.csv");
  CHECK(table.find("\r\n3,programs.gdm_frontier.growth_per_year,3.0,\"{2024: 3.0, 2028: 1.5}\","
                   "periods_in_structural_shortage,81,67,-14,-6\r\n") != std::string::npos);
  CHECK(table.find("\r\n6,inference.gemini.tokens_per_user,") != std::string::npos);
}

TEST_CASE("cli: a study and --set reach a growth's year, and a growth written as one number says how to write it by year") {
  const fs::path dir = scratch("study-growth-year");
  fs::create_directories(dir);
  std::ofstream(dir / "s.yaml") << "scenario: " << (kSource / "inputs/cases/growth-halves.yaml").string() << "\n"
                                << "method: sweep\npoints: 3\nparameters:\n"
                                << "  - {path: inference.chatgpt.tokens_per_user.growth_per_year.2028, low: 0.75, high: 1.5}\n"
                                << "outputs: [periods_in_oversupply]\n";
  Result r = run_gpumm("study '" + (dir / "s.yaml").string() + "' -q -o '" + (dir / "out").string() + "'");
  REQUIRE(r.code == 0);
  const auto growth = column(dir / "out" / "samples.csv", "inference.chatgpt.tokens_per_user.growth_per_year.2028");
  const auto months = column(dir / "out" / "samples.csv", "periods_in_oversupply");
  REQUIRE(months.size() == 3);
  CHECK(growth == std::vector<std::string>{"0.75", "1.125", "1.5"});
  CHECK(months[0] == "38");                              // the case as written
  CHECK(std::stoi(months[2]) < std::stoi(months[0]));    // tokens growing faster: less oversupply
  // --set the same year gives the sweep's run
  const fs::path set = scratch("set-growth-year");
  REQUIRE(run_gpumm("run inputs/cases/growth-halves.yaml --set inference.chatgpt.tokens_per_user.growth_per_year.2028=1.5 -q -o '" +
                    set.string() + "'").code == 0);
  const auto regimes = column(set / "summary.csv", "regime");
  CHECK(std::count(regimes.begin(), regimes.end(), "oversupply") == std::stoi(months[2]));
  // on the base, where it is one number
  Result one = run_gpumm("run inputs/base.yaml --set programs.openai_frontier.growth_per_year.2028=2 -q -o '" +
                         scratch("set-growth-one").string() + "'");
  CHECK(one.code == 2);
  CHECK(one.err.find("`programs.openai_frontier.growth_per_year` is one number for every year (3.0), not numbers by "
                     "year; to change it from 2028 on, write it by year in a scenario that extends this one, e.g. "
                     "`{<first year>: 3.0, 2028: ...}`") != std::string::npos);
  Result gain = run_gpumm("run inputs/base.yaml --set inference.chatgpt.throughput.gain_per_year.2028=0.3 -q -o '" +
                          scratch("set-gain-one").string() + "'");
  CHECK(gain.err.find("`inference.chatgpt.throughput.gain_per_year` is one number for every year (0.5)") != std::string::npos);
  // a number that is never written by year keeps the plain answer
  Result pue = run_gpumm("run inputs/base.yaml --set regions.us_east.pue.2028=1.2 -q -o '" + scratch("set-pue").string() + "'");
  CHECK(pue.err.find("`regions.us_east.pue` has no keys") != std::string::npos);
}
