// End-to-end tests of `gpumm diff` and `gpumm study`: waterfalls, the metrics of a run,
// every method, threads, MPI, kills and resumption, bad study files, and the scenario paths
// that study parameters and `--set` name.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <set>
#include <sstream>
#include <string>
#include <string_view>

#include "cli_support.hpp"
#include "cli.hpp"
#include "gpumm/compare.hpp"
#include "gpumm/study.hpp"

using namespace gpumm::testing;

TEST_CASE("cli: diff shows the default a scenario runs with where its document says nothing") {
  const fs::path out = scratch("diff-defaults");
  Result d = run_gpumm("diff inputs/base.yaml inputs/cases/grid-delay.yaml --metric periods_in_structural_shortage -o '" +
                       out.string() + "'");
  REQUIRE(d.code == 0);
  // the base leaves the firms' build lead time to its default; the case writes 48mo
  CHECK(d.out.find("  firms.microsoft.build_lead_time: 24mo (default) -> 48mo\n") != std::string::npos);
  CHECK(d.out.find("added: 48mo") == std::string::npos);
  // the case's slow grids leave sellers short of their contracts; the base's run warns of nothing
  CHECK(d.out.find("  warnings: none in base, contract_shortfall in grid-delay (each run's\n"
                   "    warnings.csv says what and when)\n") != std::string::npos);
  for (const std::string& line : lines(d.out)) CHECK_MESSAGE(line.size() <= 80, line);  // an 80-column terminal
  const auto paths = column(out / "diff.csv", "path"), value_a = column(out / "diff.csv", "value_a");
  bool seen = false;
  for (size_t i = 0; i < paths.size(); ++i)
    if (paths[i] == "firms.microsoft.build_lead_time") {
      seen = true;
      CHECK(value_a[i] == "24mo (default)");
    }
  CHECK(seen);
}

TEST_CASE("cli: diff explains a case by its changes to the base, step by step, and the steps add up") {
  const fs::path out = scratch("diff-meta");
  Result d = run_gpumm("diff inputs/base.yaml inputs/cases/meta-sells-compute.yaml -o '" + out.string() + "'");
  REQUIRE(d.code == 0);
  // the case's two overrides of Meta's program, each a step, in the case's document order
  CHECK(d.out.find("gpumm diff: base -> meta-sells-compute, 2 changes (5 runs)") != std::string::npos);
  CHECK(d.out.find("warnings") == std::string::npos);  // neither run warns
  // (the case writes size, then delay; each takes the place of the value it replaces, and the
  // base writes them in that order too)
  CHECK(d.out.find("   1  programs.meta_frontier.size: 4e25 FLOP -> 1.3e26 FLOP\n") != std::string::npos);
  // the second change's summary, too long for its line, wraps under its path within 80 columns
  CHECK(d.out.find("   2  programs.meta_frontier.delay\n          probability: 0.35 -> 1; ") != std::string::npos);
  for (const std::string& line : lines(d.out)) CHECK_MESSAGE(line.size() <= 80, line);
  // the README's example is what it prints (its block is indented two spaces in a list item)
  const std::string readme = slurp(kSource / "README.md");
  const size_t a = readme.find("  $ gpumm diff inputs/base.yaml inputs/cases/meta-sells-compute.yaml\n");
  REQUIRE(a != std::string::npos);
  const size_t from = readme.find('\n', a) + 1;
  const auto printed = lines(d.out);
  size_t next = 0;
  for (const std::string& l : lines(readme.substr(from, readme.find("  ```", from) - from))) {
    INFO("README line: " << l);
    const auto at = std::find(printed.begin() + static_cast<long>(next), printed.end(), l.size() > 2 ? l.substr(2) : "");
    CHECK(at != printed.end());
    if (at != printed.end()) next = static_cast<size_t>(at - printed.begin()) + 1;
  }
  // its ends are the two scenarios' own runs: the periods of structural shortage each reports
  const auto shortage = [](const std::string& scenario) {
    const Result r = run_gpumm("run " + scenario + " -o '" + scratch("diff-run").string() + "'");
    const size_t at = r.out.find("Structural shortage in ");
    return std::stoi(r.out.substr(at + 23));
  };
  const int base = shortage("inputs/base.yaml"), meta = shortage("inputs/cases/meta-sells-compute.yaml");
  CHECK(d.out.find("periods_in_structural_shortage: " + std::to_string(base) + " in base, " + std::to_string(meta) +
                   " in meta-sells-compute") != std::string::npos);
  // diff.csv: a row per step and metric; each step starts where the one before ended, and the
  // effects add up to the difference
  CHECK(lines(slurp(out / "diff.csv")).at(0) == join(gpumm::waterfall_columns()));
  const auto metric = column(out / "diff.csv", "metric");
  const auto before = column(out / "diff.csv", "metric_before"), after = column(out / "diff.csv", "metric_after");
  const auto effect = column(out / "diff.csv", "step_effect"), alone = column(out / "diff.csv", "alone_effect");
  REQUIRE(metric.size() == 4);  // 2 steps x the 2 default metrics
  double sum = 0, first = 0, last = 0;
  for (size_t i = 0; i < metric.size(); ++i) {
    if (metric[i] != "periods_in_structural_shortage") continue;
    if (sum == 0 && first == 0) first = std::stod(before[i]);
    else CHECK(std::stod(before[i]) == last);
    CHECK(std::stod(after[i]) - std::stod(before[i]) == std::stod(effect[i]));
    CHECK_FALSE(alone[i].empty());
    sum += std::stod(effect[i]);
    last = std::stod(after[i]);
  }
  CHECK(first == base);
  CHECK(last == meta);
  CHECK(sum == meta - base);
}

TEST_CASE("cli: diff cuts a change too long for a waterfall row to fit 80 columns, and diff.csv keeps it whole") {
  const fs::path dir = scratch("diff-long"), yaml = dir / "long.yaml", out = dir / "out";
  fs::create_directories(dir);
  const std::string id = "sovereign_recommendation_and_ranking_workloads";  // other_demand.<id>: 59 characters
  std::ofstream(yaml) << "extends: '" << (kSource / "inputs/base.yaml").string() << "'\n"
                      << "inference:\n  chatgpt:\n    throughput: {tokens_per_h100e_second: 1200}\n"
                      << "other_demand:\n  " << id << ": {firm: oracle, h100e: {2027: 3000000}}\n";
  const Result d = run_gpumm("diff inputs/base.yaml '" + yaml.string() + "' -o '" + out.string() + "'");
  REQUIRE(d.code == 0);
  for (const std::string& line : lines(d.out)) CHECK_MESSAGE(line.size() <= 80, line);
  // the whole path in the list of changes; in the rows, cut to the change column's 47 characters
  CHECK(d.out.find("\n     2  other_demand." + id + "\n") != std::string::npos);
  const std::string cut = "other_demand." + id.substr(0, 31) + "...";
  REQUIRE(cut.size() == 47);
  int rows = 0;
  std::string header;
  for (const std::string& line : lines(d.out)) {
    if (line.rfind("    step   change", 0) == 0) header = line;
    if (line.rfind("    2      " + cut + " ", 0) != 0) continue;
    ++rows;
    // the effects right-aligned under their headings: the row ends where its header does
    CHECK_MESSAGE(line.size() == header.size(), line);
    CHECK(line.size() == 80);
  }
  CHECK(rows == 2);  // one per default metric
  const auto path = column(out / "diff.csv", "path");
  CHECK(std::count(path.begin(), path.end(), "other_demand." + id) == 2);
  // a value the case replaces keeps its place among its map's keys: both sides list them alike
  const auto value_a = column(out / "diff.csv", "value_a"), value_b = column(out / "diff.csv", "value_b");
  REQUIRE(path.at(0) == "inference.chatgpt.throughput");
  CHECK(value_a.at(0) == "{tokens_per_h100e_second: 1500, at: 2025-01-01, gain_per_year: 0.5}");
  CHECK(value_b.at(0) == "{tokens_per_h100e_second: 1200, at: 2025-01-01, gain_per_year: 0.5}");
}

TEST_CASE("cli: diff gives the same waterfall on one thread as on all cores, and refuses a bad --threads") {
  const fs::path one = scratch("diff-threads-1"), two = scratch("diff-threads-2");
  const std::string cases = "inputs/base.yaml inputs/cases/grid-delay.yaml --metric peak_unserved_h100e";
  Result a = run_gpumm("diff " + cases + " --threads 1 -o '" + one.string() + "'");
  Result b = run_gpumm("diff " + cases + " --threads 2 -o '" + two.string() + "'");
  REQUIRE(a.code == 0);
  REQUIRE(b.code == 0);
  CHECK(slurp(one / "diff.csv") == slurp(two / "diff.csv"));
  CHECK(a.out.substr(0, a.out.find("  output")) == b.out.substr(0, b.out.find("  output")));
  Result zero = run_gpumm("diff " + cases + " --threads 0");
  CHECK(zero.code == 2);
  CHECK(zero.err.starts_with("gpumm: --threads `0`: expected a whole number from 1 to 1024\n"));
  Result typo = run_gpumm("diff " + cases + " --thread 2");
  CHECK(typo.err.starts_with("gpumm: unknown option `--thread` for diff; did you mean `--threads`?\n"));
}

TEST_CASE("cli: diff takes the metrics of studies, refuses unknown ones and broken scenarios, and says when nothing differs") {
  const auto first_line = [](const Result& r) { return r.err.substr(0, r.err.find('\n')); };
  const fs::path out = scratch("diff-bad");
  CHECK(first_line(run_gpumm("diff inputs/base.yaml")) ==
        "gpumm: diff takes two scenarios, e.g. `gpumm diff inputs/base.yaml inputs/cases/glut.yaml`");
  Result typo = run_gpumm("diff inputs/base.yaml inputs/cases/glut.yaml --metric peak_unservd_h100e");
  CHECK(typo.code == 2);
  CHECK(first_line(typo) == "gpumm: --metric: unknown metric `peak_unservd_h100e`; did you mean `peak_unserved_h100e`?");
  // a name with words left out: the one metric that holds all its words
  CHECK(first_line(run_gpumm("diff inputs/base.yaml inputs/cases/glut.yaml --metric periods_in_shortage")) ==
        "gpumm: --metric: unknown metric `periods_in_shortage`; did you mean `periods_in_structural_shortage`?");
  CHECK(first_line(run_gpumm("diff inputs/base.yaml inputs/cases/glut.yaml --metric mismatch_index")) ==
        "gpumm: --metric: unknown metric `mismatch_index`; did you mean `mean_mismatch_index_frac`?");
  // a ratio's name before it took `_frac`: told what it is now
  CHECK(first_line(run_gpumm("diff inputs/base.yaml inputs/cases/glut.yaml --metric mean_relative_balance")) ==
        "gpumm: --metric: `mean_relative_balance` is now `mean_relative_balance_frac` (a ratio's name ends in `_frac`: a "
        "fraction of 1, not percent)");
  // several hold them (`final_...`), or none: the list
  CHECK(first_line(run_gpumm("diff inputs/base.yaml inputs/cases/glut.yaml --metric final_h100e")).find(
            "(the metrics: ") != std::string::npos);
  CHECK(first_line(run_gpumm("diff inputs/base.yaml inputs/cases/glut.yaml --metric glut")) ==
        "gpumm: --metric: unknown metric `glut` (the metrics: peak_unserved_h100e, "
        "periods_in_structural_shortage, periods_in_oversupply, periods_misread_in_real_time, "
        "periods_shortage_missed_in_real_time, periods_before_shortage_seen_in_real_time, mean_mismatch_index_frac, "
        "mean_relative_balance_frac, "
        "final_relative_balance_frac, final_spot_usd_per_h100e_hour, final_installed_h100e, peak_stranded_gpus, "
        "contract_shortfall_h100e_months, surplus_h100e_months:FIRM, spare_share:CAUSE)");
  // a metric given twice would be measured and written twice
  Result twice = run_gpumm("diff inputs/base.yaml inputs/cases/glut.yaml --metric mean_mismatch_index_frac --metric "
                           "mean_mismatch_index_frac -o '" + out.string() + "'");
  CHECK(twice.code == 2);
  CHECK(first_line(twice) == "gpumm: --metric mean_mismatch_index_frac is given twice");
  CHECK_FALSE(fs::exists(out));
  Result firm = run_gpumm("diff inputs/base.yaml inputs/cases/glut.yaml --metric surplus_h100e_months:mta");
  CHECK(firm.code == 2);
  CHECK(firm.err.find("no such firm") != std::string::npos);
  CHECK(firm.err.find("did you mean `surplus_h100e_months:meta`?") != std::string::npos);
  CHECK(first_line(run_gpumm("diff inputs/base.yaml inputs/cases/glut.yaml --metric spare_share:sold_to_shortfirms")) ==
        "gpumm: --metric: unknown cause `sold_to_shortfirms`; did you mean `spare_share:sold_to_short_firms`?");
  CHECK(first_line(run_gpumm("diff inputs/base.yaml inputs/cases/glut.yaml --metric spare_share:glut")) ==
        "gpumm: --metric: unknown cause `glut` (the causes: slipped_training_project, take_or_pay_excess, "
        "generation_transition, stranded, sold_to_short_firms, custom_accelerator, region_mismatch, weak_demand)");
  CHECK(first_line(run_gpumm("diff inputs/base.yaml inputs/studies/tornado.yaml")) ==
        "gpumm: `inputs/studies/tornado.yaml` is a study file; diff compares two scenarios");
  CHECK(first_line(run_gpumm("diff inputs/base.yaml inputs/cases/glut.yaml --metrc x")) ==
        "gpumm: unknown option `--metrc` for diff; did you mean `--metric`?");
  // a broken scenario: its problems located, and no output folder
  Result broken = run_gpumm("diff inputs/base.yaml tests/testdata/bad/duplicate_key.yaml -o '" + out.string() + "'");
  CHECK(broken.code == 2);
  CHECK(broken.err.find("duplicate_key.yaml:21:5: firms.meta.power_at_start: duplicate key") != std::string::npos);
  CHECK_FALSE(fs::exists(out));
  // the same scenario twice: no changes, one metric chosen
  Result same = run_gpumm("diff inputs/base.yaml inputs/base.yaml --metric final_installed_h100e -o '" + out.string() + "'");
  CHECK(same.code == 0);
  CHECK(same.out.find("base -> base, 0 changes (2 runs)\n  no changes: both describe the same scenario") !=
        std::string::npos);
  CHECK(lines(slurp(out / "diff.csv")).size() == 1);  // the header only
  // several metrics, a firm's among them, every run with the seed given
  Result two = run_gpumm("diff inputs/base.yaml inputs/cases/meta-sells-compute.yaml -q --seed 3 --metric "
                         "surplus_h100e_months:meta --metric mean_relative_balance_frac -o '" + out.string() + "'");
  CHECK(two.code == 0);
  CHECK(two.out.empty());
  const auto metrics = column(out / "diff.csv", "metric");
  CHECK(std::set<std::string>(metrics.begin(), metrics.end()) ==
        std::set<std::string>{"surplus_h100e_months:meta", "mean_relative_balance_frac"});
  // the first step starts from the base's mean relative balance with seed 3, not its own seed 42
  const auto mean_balance = [](const std::string& seed) {
    const fs::path run = scratch("diff-seed");
    REQUIRE(run_gpumm("run inputs/base.yaml -q --seed " + seed + " -o '" + run.string() + "'").code == 0);
    double sum = 0;
    const auto rel = column(run / "summary.csv", "relative_balance_frac");
    for (const std::string& x : rel) sum += std::stod(x);
    return sum / static_cast<double>(rel.size());
  };
  const double start = std::stod(column(out / "diff.csv", "metric_before").at(1));
  CHECK(metrics.at(1) == "mean_relative_balance_frac");
  CHECK(start == doctest::Approx(mean_balance("3")).epsilon(1e-12));
  CHECK(start != doctest::Approx(mean_balance("42")).epsilon(1e-12));
}


TEST_CASE("cli: the scalar metrics of a run are what its summary.csv gives") {
  // the waterfall's first step starts from A's value of each metric
  const fs::path out = scratch("diff-metrics"), run = scratch("diff-metrics-run");
  const std::vector<std::string> names = {"peak_stranded_gpus",          "peak_unserved_h100e",
                                          "final_installed_h100e",       "final_relative_balance_frac",
                                          "final_spot_usd_per_h100e_hour", "mean_mismatch_index_frac",
                                          "mean_relative_balance_frac"};
  std::string cmd = "diff inputs/cases/grid-delay.yaml inputs/base.yaml -q -o '" + out.string() + "'";
  for (const std::string& m : names) cmd += " --metric " + m;
  REQUIRE(run_gpumm(cmd).code == 0);
  REQUIRE(run_gpumm("run inputs/cases/grid-delay.yaml -q -o '" + run.string() + "'").code == 0);
  const auto numbers = [&](const std::string& col) {
    std::vector<double> v;
    for (const std::string& x : column(run / "summary.csv", col)) v.push_back(std::stod(x));
    return v;
  };
  const auto mean = [](const std::vector<double>& v) {
    double sum = 0;
    for (double x : v) sum += x;
    return sum / static_cast<double>(v.size());
  };
  const std::map<std::string, double> expected = {
      {"peak_stranded_gpus", std::ranges::max(numbers("stranded_gpus"))},
      {"peak_unserved_h100e", std::ranges::max(numbers("unserved_h100e"))},
      {"final_installed_h100e", numbers("installed_h100e").back()},
      {"final_relative_balance_frac", numbers("relative_balance_frac").back()},
      {"final_spot_usd_per_h100e_hour", numbers("spot_usd_per_h100e_hour").back()},
      {"mean_mismatch_index_frac", mean(numbers("mismatch_index_frac"))},
      {"mean_relative_balance_frac", mean(numbers("relative_balance_frac"))}};
  const auto metric = column(out / "diff.csv", "metric"), before = column(out / "diff.csv", "metric_before");
  for (const std::string& m : names) {
    CAPTURE(m);
    const size_t row = static_cast<size_t>(std::find(metric.begin(), metric.end(), m) - metric.begin());
    REQUIRE(row < metric.size());
    CHECK(std::stod(before[row]) == doctest::Approx(expected.at(m)).epsilon(1e-12));
  }
  // grid-delay strands GPUs for want of power: the peak is no zero that any code would give
  CHECK(expected.at("peak_stranded_gpus") > 1e6);
}

TEST_CASE("cli: spare_share metrics give the share of the firms' spare capacity a cause explains") {
  // the base and the glut case: the share of all firms' spare H100e-months sold to firms short
  // of capacity, and weak demand, as firms.csv has them
  const auto shares = [](const fs::path& dir) {
    auto months = months_by_date(dir);
    const auto at = column(dir / "firms.csv", "date"), spare = column(dir / "firms.csv", "spare_h100e"),
               sold = column(dir / "firms.csv", "spare_sold_to_short_firms_h100e"),
               weak = column(dir / "firms.csv", "spare_weak_demand_h100e");
    double total = 0, s = 0, w = 0;
    for (size_t i = 0; i < at.size(); ++i) {
      total += std::stod(spare[i]) * months[at[i]];
      s += std::stod(sold[i]) * months[at[i]];
      w += std::stod(weak[i]) * months[at[i]];
    }
    return std::pair<double, double>{s / total, w / total};
  };
  const fs::path base = scratch("share-base"), glut = scratch("share-glut"), diff = scratch("share-diff");
  REQUIRE(run_gpumm("run inputs/base.yaml -q -o '" + base.string() + "'").code == 0);
  REQUIRE(run_gpumm("run inputs/cases/glut.yaml -q -o '" + glut.string() + "'").code == 0);
  REQUIRE(run_gpumm("diff inputs/base.yaml inputs/cases/glut.yaml -q --metric spare_share:sold_to_short_firms "
                    "--metric spare_share:weak_demand -o '" + diff.string() + "'").code == 0);
  const auto metric = column(diff / "diff.csv", "metric"), before = column(diff / "diff.csv", "metric_before"),
             after = column(diff / "diff.csv", "metric_after");
  REQUIRE(metric.size() >= 4);
  const auto [base_sold, base_weak] = shares(base);
  const auto [glut_sold, glut_weak] = shares(glut);
  CHECK(base_sold > 0.6);  // the base's surplus is mostly sold
  CHECK(glut_weak > 0.9);  // the glut's is unwanted
  for (size_t i = 0; i < metric.size(); ++i) {
    const bool sold = metric[i] == "spare_share:sold_to_short_firms";
    if (i < 2) CHECK(std::stod(before[i]) == doctest::Approx(sold ? base_sold : base_weak).epsilon(1e-9));
    if (i + 2 >= metric.size()) CHECK(std::stod(after[i]) == doctest::Approx(sold ? glut_sold : glut_weak).epsilon(1e-9));
  }
}
TEST_CASE("cli: the real-time metrics count the months in which summary.csv's regime_realtime differs from regime") {
  // misread: the two regimes differ; missed: a structural shortage after the fact that the
  // reading in real time did not call one; lag: the longest a shortage went before it did
  const auto counts = [](const fs::path& dir) {
    const auto after = column(dir / "summary.csv", "regime"), then = column(dir / "summary.csv", "regime_realtime");
    REQUIRE(after.size() == then.size());
    std::map<std::string, int> n;
    for (size_t t = 0; t < after.size(); ++t) {
      n["periods_misread_in_real_time"] += after[t] != then[t];
      n["periods_shortage_missed_in_real_time"] += after[t] == "structural_shortage" && then[t] != "structural_shortage";
    }
    for (size_t t = 0; t < after.size(); ++t) {
      if (after[t] != "structural_shortage" || (t > 0 && after[t - 1] == "structural_shortage")) continue;
      size_t seen = t;
      while (seen < after.size() && after[seen] == "structural_shortage" && then[seen] != "structural_shortage") ++seen;
      n["periods_before_shortage_seen_in_real_time"] =
          std::max(n["periods_before_shortage_seen_in_real_time"], static_cast<int>(seen - t));
    }
    return n;
  };
  const fs::path base = scratch("realtime-base"), delay = scratch("realtime-delay"), diff = scratch("realtime-diff"),
                 study = scratch("realtime-study");
  REQUIRE(run_gpumm("run inputs/base.yaml -q -o '" + base.string() + "'").code == 0);
  REQUIRE(run_gpumm("run inputs/cases/grid-delay.yaml -q -o '" + delay.string() + "'").code == 0);
  auto at_base = counts(base), at_delay = counts(delay);
  // the base: 42 months of shortage read as balanced then, 17 false alarms; the shortage of
  // 2029-2032 first called 24 months in
  CHECK(at_base["periods_misread_in_real_time"] == 59);
  CHECK(at_base["periods_shortage_missed_in_real_time"] == 42);
  CHECK(at_base["periods_before_shortage_seen_in_real_time"] == 24);
  // the grid-delay case's shortage is deep enough to be seen
  CHECK(at_delay["periods_shortage_missed_in_real_time"] < at_base["periods_shortage_missed_in_real_time"]);
  REQUIRE(run_gpumm("diff inputs/base.yaml inputs/cases/grid-delay.yaml -q --metric periods_misread_in_real_time "
                    "--metric periods_shortage_missed_in_real_time --metric periods_before_shortage_seen_in_real_time -o '" +
                    diff.string() + "'").code == 0);
  const auto metric = column(diff / "diff.csv", "metric"), before = column(diff / "diff.csv", "metric_before"),
             after = column(diff / "diff.csv", "metric_after");
  REQUIRE(metric.size() >= 6);
  for (size_t i = 0; i < metric.size(); ++i) {
    CAPTURE(metric[i]);
    if (i < 3) CHECK(std::stoi(before[i]) == at_base.at(metric[i]));  // the first step starts at the base
    if (i + 3 >= metric.size()) CHECK(std::stoi(after[i]) == at_delay.at(metric[i]));  // the last ends at the case
  }
  // a study measures them too: the tornado's base run is the base
  fs::create_directories(study);
  std::ofstream(study / "study.yaml") << "scenario: '" << (kSource / "inputs/base.yaml").string()
                                      << "'\nmethod: tornado\nparameters:\n"
                                         "  - {path: regions.us_central.interconnect_cap, low: 6, high: 18}\n"
                                         "outputs: [periods_shortage_missed_in_real_time, periods_misread_in_real_time, "
                                         "periods_before_shortage_seen_in_real_time]\n";
  REQUIRE(run_gpumm("study '" + (study / "study.yaml").string() + "' -q -o '" + (study / "out").string() + "'").code == 0);
  const auto output = column(study / "out" / "tornado.csv", "output"), base_value = column(study / "out" / "tornado.csv", "at_base");
  REQUIRE(output.size() == 3);
  for (size_t i = 0; i < output.size(); ++i) CHECK(std::stoi(base_value[i]) == at_base.at(output[i]));
}

TEST_CASE("cli: study tornado writes its table sorted by swing, samples and a manifest") {
  const fs::path out = scratch("study-tornado");
  Result r = run_gpumm("study tests/testdata/studies/tornado_small.yaml -o '" + out.string() + "'");
  REQUIRE(r.code == 0);
  CHECK(r.out.find("tornado, 7 runs") != std::string::npos);
  auto rows = lines(slurp(out / "tornado.csv"));
  REQUIRE(rows.size() == 1 + 3 * 3);
  CHECK(rows[0] == "output,parameter,parameter_units,low,high,at_low,at_base,at_high,swing");
  // within one output, swings come largest first
  auto swings = column(out / "tornado.csv", "swing");
  CHECK(std::stod(swings[0]) >= std::stod(swings[1]));
  CHECK(std::stod(swings[1]) >= std::stod(swings[2]));
  CHECK(lines(slurp(out / "samples.csv")).size() == 1 + 7);
  // a parameter's units, as the scenario writes them there: in samples.csv's column name, and
  // in tornado.csv beside its low and high
  CHECK(lines(slurp(out / "samples.csv"))[0] ==
        "run,firms.google.capex.2026 ($B),regions.us_east.interconnect_cap (GW/y),firms.meta.orders[0].units,"
        "peak_unserved_h100e,final_installed_h100e,surplus_h100e_months:google,warnings");
  const auto params = column(out / "tornado.csv", "parameter"), units = column(out / "tornado.csv", "parameter_units");
  REQUIRE(params.size() == 9);
  for (size_t k = 0; k < params.size(); ++k)
    CHECK(units[k] == (params[k] == "firms.google.capex.2026"            ? "$B"
                       : params[k] == "regions.us_east.interconnect_cap" ? "GW/y"
                                                                         : ""));
  const std::string manifest = slurp(out / "manifest.yaml");
  CHECK(manifest.find("scenario_hash: ") != std::string::npos);
  CHECK(manifest.find("method: tornado") != std::string::npos);
}

TEST_CASE("cli: a tornado ranks an effect that is not monotone by how far the output moves, base included") {
  // the base's spot index starts at $8; started at $1 or at $3, the market is short in every
  // month (120) against 90: the same at both ends, yet no small effect. Ranges written as
  // money, as the scenario writes these values
  const fs::path dir = scratch("tornado-not-monotone");
  fs::create_directories(dir);
  std::ofstream(dir / "study.yaml") << "scenario: '" << (kSource / "inputs/base.yaml").string()
                                    << "'\nmethod: tornado\nparameters:\n"
                                       "  - {path: firms.microsoft.capex.2027, low: $120B, high: $230B}\n"
                                       "  - {path: market.spot.initial, low: $1, high: $3}\n"
                                       "outputs: [periods_in_structural_shortage]\n";
  Result r = run_gpumm("study '" + (dir / "study.yaml").string() + "' -o '" + (dir / "out").string() + "'");
  REQUIRE(r.code == 0);
  const auto rows = lines(slurp(dir / "out/tornado.csv"));
  REQUIRE(rows.size() == 3);
  CHECK(rows[1] == "periods_in_structural_shortage,market.spot.initial,$,1,3,120,93,120,27");
  CHECK(rows[2] == "periods_in_structural_shortage,firms.microsoft.capex.2027,$B,120,230,95,93,93,2");
  // a row too long for the terminal: each path on its line, its numbers under it
  CHECK(r.out.find("\n    market.spot.initial\n        swing 27 (120 at low, 120 at high; not monotone: the base lies "
                   "outside)\n    firms.microsoft.capex.2027\n        swing 2 (95 at low, 93 at high)\n") !=
        std::string::npos);
  for (const std::string& line : lines(r.out))
    if (line.starts_with("    ")) CHECK_MESSAGE(line.size() <= 80, line);
  fs::remove_all(dir);
}

TEST_CASE("cli: a tornado may run each parameter at two quantiles of its distribution, such as P10 and P90") {
  const fs::path out = scratch("tornado-p10-p90");
  REQUIRE(run_gpumm("study tests/testdata/studies/tornado_quantiles.yaml -q -o '" + out.string() + "'").code == 0);
  const auto params = column(out / "tornado.csv", "parameter"), lows = column(out / "tornado.csv", "low"),
             highs = column(out / "tornado.csv", "high"), at_low = column(out / "tornado.csv", "at_low"),
             outputs = column(out / "tornado.csv", "output");
  REQUIRE(params.size() == 9);
  for (size_t k = 0; k < params.size(); ++k) {
    CAPTURE(params[k]);
    if (params[k] == "firms.google.capex.2026") {
      // the normal (35, 10) cut to [10, 60], +-2.5 sd: P10 = 35 + 10 z with Phi(z) = Phi(-2.5) +
      // 0.1 (Phi(2.5) - Phi(-2.5)), z = -1.2537
      CHECK(std::stod(lows[k]) == doctest::Approx(22.462570863298193));
      CHECK(std::stod(highs[k]) == doctest::Approx(47.5374291367018));
    } else if (params[k] == "regions.us_east.interconnect_cap") {
      // uniform on [0.5, 4]: 0.5 + 0.1 x 3.5 and 0.5 + 0.9 x 3.5
      CHECK(std::stod(lows[k]) == doctest::Approx(0.85));
      CHECK(std::stod(highs[k]) == doctest::Approx(3.65));
      // the run at the low value is the scenario run with that value set
      if (outputs[k] == "peak_unserved_h100e") {
        const fs::path one = scratch("tornado-p10-run");
        REQUIRE(run_gpumm("run tests/testdata/good_demand.yaml -q --set regions.us_east.interconnect_cap=0.85 -o '" +
                          one.string() + "'").code == 0);
        double peak = 0;
        for (const auto& x : column(one / "summary.csv", "unserved_h100e")) peak = std::max(peak, std::stod(x));
        CHECK(std::stod(at_low[k]) == doctest::Approx(peak));
      }
    }
  }
  CHECK(slurp(out / "manifest.yaml").find("tornado_quantiles: {low: 0.1, high: 0.9}") != std::string::npos);
  // what does not fit is said, all at once
  std::string y = slurp(kSource / "tests/testdata/studies/tornado_quantiles.yaml");
  replace_once(y, "../good_demand.yaml", (kSource / "tests/testdata/good_demand.yaml").string());
  std::string bad = y;
  replace_once(bad, "{low: 0.1, high: 0.9}", "{low: 10%, hihg: 0.9}");
  const fs::path bad_file = scratch("tornado-bad-quantiles.yaml");
  std::ofstream(bad_file) << bad;
  Result r = run_gpumm("validate '" + bad_file.string() + "'");
  CHECK(r.code == 2);
  CHECK(r.err.find("tornado_quantiles.low: `10%`: a share is a number from 0 to 1 (`0.1` for 10%)") != std::string::npos);
  CHECK(r.err.find("tornado_quantiles: missing required key `high`") != std::string::npos);
  CHECK(r.err.find("tornado_quantiles.hihg: unknown key `hihg`; did you mean `high`?") != std::string::npos);
  std::string reversed = y;
  replace_once(reversed, "{low: 0.1, high: 0.9}", "{low: 0.9, high: 0.1}");
  std::ofstream(bad_file) << reversed;
  CHECK(run_gpumm("validate '" + bad_file.string() + "'").err.find(
            "tornado_quantiles: low must be below high, e.g. `{low: 0.1, high: 0.9}` for the P10 and P90") !=
        std::string::npos);
  std::string other = y;
  replace_once(other, "method: tornado", "method: morris");
  std::ofstream(bad_file) << other;
  CHECK(run_gpumm("validate '" + bad_file.string() + "'").err.find(
            "tornado_quantiles: only a tornado study runs each parameter at two of its quantiles") != std::string::npos);
}

// The parameter named on the line after "  OUTPUT: HEADING" in a study's printed headline.
std::string first_listed(const std::string& printed, const std::string& output, const std::string& heading) {
  const auto ls = lines(printed);
  for (size_t k = 0; k + 1 < ls.size(); ++k)
    if (ls[k].starts_with("  " + output + ": " + heading)) {
      std::istringstream in(ls[k + 1]);
      std::string name;
      in >> name;
      return name;
    }
  return "";
}

TEST_CASE("cli: study morris writes elementary effects that samples.csv's trajectories give again") {
  const fs::path out = scratch("morris-small");
  Result r = run_gpumm("study tests/testdata/studies/morris_small.yaml -o '" + out.string() + "'");
  REQUIRE(r.code == 0);
  CHECK(slurp(out / "manifest.yaml").find("method: morris") != std::string::npos);
  const std::vector<std::pair<std::string, std::pair<double, double>>> params = {
      {"firms.google.capex.2026 ($B)", {10, 60}},
      {"regions.us_east.interconnect_cap (GW/y)", {0.5, 4}},
      {"firms.meta.orders[0].units", {10000, 90000}}};
  const std::vector<std::string> outputs = {"final_installed_h100e", "peak_unserved_h100e"};
  const int d = 3, trajectories = 4;
  std::vector<std::vector<double>> x(params.size()), y(outputs.size());
  for (size_t i = 0; i < params.size(); ++i)
    for (const std::string& v : column(out / "samples.csv", params[i].first)) x[i].push_back(std::stod(v));
  for (size_t o = 0; o < outputs.size(); ++o)
    for (const std::string& v : column(out / "samples.csv", outputs[o])) y[o].push_back(std::stod(v));
  REQUIRE(x[0].size() == static_cast<size_t>(trajectories * (d + 1)));
  // each trajectory moves every parameter once, one at a time, by 2/3 of its range (p = 4
  // levels: a step of p / (2 (p - 1)) of the unit interval); the effect of a step is the change
  // of the output over the step in units of the range
  std::vector<std::vector<std::vector<double>>> effects(outputs.size(), std::vector<std::vector<double>>(params.size()));
  for (int t = 0; t < trajectories; ++t) {
    std::set<size_t> moved;
    for (int k = 0; k < d; ++k) {
      const size_t a = static_cast<size_t>(t * (d + 1) + k), b = a + 1;
      std::vector<size_t> changed;
      for (size_t i = 0; i < params.size(); ++i)
        if (x[i][b] != x[i][a]) changed.push_back(i);
      REQUIRE(changed.size() == 1);
      const size_t i = changed[0];
      moved.insert(i);
      const double range = params[i].second.second - params[i].second.first;
      const double step = (x[i][b] - x[i][a]) / range;
      CHECK(std::abs(step) == doctest::Approx(2.0 / 3.0));
      for (size_t o = 0; o < outputs.size(); ++o) effects[o][i].push_back((y[o][b] - y[o][a]) / step);
    }
    CHECK(moved.size() == params.size());
  }
  // morris.csv: mu, mu* and sigma (sample standard deviation) of those effects
  const auto m_output = column(out / "morris.csv", "output"), m_param = column(out / "morris.csv", "parameter");
  const auto m_mu = column(out / "morris.csv", "mu"), m_star = column(out / "morris.csv", "mu_star"),
             m_sigma = column(out / "morris.csv", "sigma");
  REQUIRE(m_output.size() == outputs.size() * params.size());
  for (size_t row = 0; row < m_output.size(); ++row) {
    const size_t o = static_cast<size_t>(std::find(outputs.begin(), outputs.end(), m_output[row]) - outputs.begin());
    size_t i = params.size();
    for (size_t k = 0; k < params.size(); ++k)
      if (params[k].first.rfind(m_param[row], 0) == 0) i = k;
    REQUIRE(o < outputs.size());
    REQUIRE(i < params.size());
    CAPTURE(m_output[row]);
    CAPTURE(m_param[row]);
    const std::vector<double>& e = effects[o][i];
    double mu = 0, star = 0, var = 0;
    for (double v : e) mu += v / static_cast<double>(e.size()), star += std::abs(v) / static_cast<double>(e.size());
    for (double v : e) var += (v - mu) * (v - mu) / static_cast<double>(e.size() - 1);
    CHECK(std::stod(m_mu[row]) == doctest::Approx(mu).epsilon(1e-9));
    CHECK(std::stod(m_star[row]) == doctest::Approx(star).epsilon(1e-9));
    CHECK(std::stod(m_sigma[row]) == doctest::Approx(std::sqrt(var)).epsilon(1e-9).scale(1.0));
    // by hand: Meta's order of H100s (one H100e each), delivered in 2024 and not retired by
    // the end of 2026, adds its units to the installed fleet: over the range, 80,000 H100e
    if (m_output[row] == "final_installed_h100e" && m_param[row] == "firms.meta.orders[0].units") {
      CHECK(std::stod(m_mu[row]) == doctest::Approx(80000).epsilon(1e-9));
      CHECK(std::abs(std::stod(m_sigma[row])) < 1e-6);
    }
  }
  // the headline: per output, the parameters by mu*; an output no parameter moves says so
  CHECK(first_listed(r.out, "final_installed_h100e", "largest elementary effects") == "firms.google.capex.2026");
  CHECK(r.out.find("  peak_unserved_h100e: ") != std::string::npos);
  CHECK(r.out.find("in every run (no parameter moves it)") != std::string::npos);
}

TEST_CASE("cli: a study ends with its headline: what matters most, or how far the outputs spread") {
  // tornado: per output, the parameters by swing, as in tornado.csv
  const fs::path tornado = scratch("headline-tornado");
  Result r = run_gpumm("study tests/testdata/studies/tornado_small.yaml -o '" + tornado.string() + "'");
  REQUIRE(r.code == 0);
  const auto outputs = column(tornado / "tornado.csv", "output");
  const auto params = column(tornado / "tornado.csv", "parameter");
  for (const std::string output : {"peak_unserved_h100e", "final_installed_h100e", "surplus_h100e_months:google"}) {
    CAPTURE(output);
    const size_t row = static_cast<size_t>(std::find(outputs.begin(), outputs.end(), output) - outputs.begin());
    REQUIRE(row < params.size());
    const auto values = column(tornado / "samples.csv", output);
    if (std::all_of(values.begin(), values.end(), [&](const std::string& v) { return v == values[0]; }))
      CHECK(r.out.find("  " + output + ": ") != std::string::npos);  // the same in every run
    else
      CHECK(first_listed(r.out, output, "largest swings") == params[row]);
  }
  // Sobol: the largest total index first, with its interval
  const fs::path sobol = scratch("headline-sobol");
  r = run_gpumm("study tests/testdata/studies/sobol_small.yaml -o '" + sobol.string() + "'");
  REQUIRE(r.code == 0);
  {
    const auto out = column(sobol / "sobol.csv", "output");
    const auto par = column(sobol / "sobol.csv", "parameter");
    const auto total = column(sobol / "sobol.csv", "total");
    std::string best;
    double most = -1e300;
    for (size_t k = 0; k < out.size(); ++k)
      if (out[k] == "final_installed_h100e" && std::stod(total[k]) > most) {
        most = std::stod(total[k]);
        best = par[k];
      }
    CHECK(first_listed(r.out, "final_installed_h100e", "largest total Sobol' indices") == best);
    CHECK(r.out.find("], first order ") != std::string::npos);
  }
  // Monte Carlo: the spread of each scalar output
  const fs::path mc = scratch("headline-mc");
  r = run_gpumm("study tests/testdata/studies/monte_carlo_small.yaml -o '" + mc.string() + "'");
  REQUIRE(r.code == 0);
  CHECK(r.out.find("  final_installed_h100e: ") != std::string::npos);
  CHECK(r.out.find(" over 12 runs (P5 ") != std::string::npos);
  // a sweep: each parameter's points, low to high, with the output at each, as samples.csv has
  // them (runs 0-2 move capex, 3-5 the interconnect cap)
  const fs::path sweep = scratch("headline-sweep");
  r = run_gpumm("study tests/testdata/studies/sweep_small.yaml -o '" + sweep.string() + "'");
  REQUIRE(r.code == 0);
  {
    const auto installed = column(sweep / "samples.csv", "final_installed_h100e");
    REQUIRE(installed.size() == 6);
    const auto at = [&](size_t k) { return gpumm::significant_number(std::stod(installed[k])); };
    CHECK(r.out.find("  final_installed_h100e as each parameter goes from low to high:\n"
                     "    firms.google.capex.2026: 10 -> " + at(0) + ", 30 -> " + at(1) + ", 50 -> " + at(2) + "\n"
                     "    regions.us_east.interconnect_cap: 1 -> " + at(3) + ", 2 -> " + at(4) + ", 3 -> " + at(5) + "\n") !=
          std::string::npos);
    CHECK(std::stod(installed[0]) < std::stod(installed[2]));  // more capex, more compute
  }
  // the example's points, too many for a line, wrap under their parameter within 80 columns
  r = run_gpumm("study inputs/studies/sweep.yaml -o '" + scratch("headline-sweep-example").string() + "'");
  REQUIRE(r.code == 0);
  for (const std::string& line : lines(r.out)) CHECK_MESSAGE(line.size() <= 80, line);
  CHECK(r.out.find("\n    regions.us_central.interconnect_cap: 6 -> ") != std::string::npos);
  {
    // the README quotes the example's first points
    const std::string readme = slurp(kSource / "README.md");
    const size_t at = readme.find("(`regions.us_central.interconnect_cap: 6 -> ");
    REQUIRE(at != std::string::npos);
    const std::string quoted = readme.substr(at + 2, readme.find(", ...`", at) - at - 2);
    CHECK_MESSAGE(r.out.find("\n    " + quoted + ", ") != std::string::npos, quoted);
  }
  CHECK(r.out.find("\n        18 -> ") != std::string::npos);
  // a grid of two parameters: each output as a table, the first parameter's points down and the
  // second's across, each cell the run of samples.csv at those two values
  const fs::path grid = scratch("headline-grid");
  r = run_gpumm("study inputs/studies/grid.yaml -o '" + grid.string() + "'");
  REQUIRE(r.code == 0);
  for (const std::string& line : lines(r.out)) CHECK_MESSAGE(line.size() <= 80, line);
  {
    const size_t at = r.out.find("  periods_in_structural_shortage by regions.us_central.interconnect_cap (down)\n"
                                 "    and programs.openai_frontier.growth_per_year (across):\n");
    REQUIRE(at != std::string::npos);
    const auto table = lines(r.out.substr(at));
    const auto cap = column(grid / "samples.csv", "regions.us_central.interconnect_cap (GW/y)");
    const auto growth = column(grid / "samples.csv", "programs.openai_frontier.growth_per_year");
    const auto periods = column(grid / "samples.csv", "periods_in_structural_shortage");
    REQUIRE(periods.size() == 25);
    const auto words = [](const std::string& line) {
      std::istringstream in(line);
      std::vector<std::string> w;
      for (std::string x; in >> x;) w.push_back(x);
      return w;
    };
    const auto across = words(table.at(2));
    REQUIRE(across.size() == 5);
    for (size_t a = 0; a < 5; ++a) {
      const auto row = words(table.at(3 + a));
      REQUIRE(row.size() == 6);
      for (size_t b = 0; b < 5; ++b) {
        // the run with the row's cap and the column's growth
        size_t k = 0;
        const auto shown = [](const std::string& x) { return gpumm::significant_number(std::stod(x)); };
        while (k < 25 && !(shown(cap[k]) == row[0] && shown(growth[k]) == across[b])) ++k;
        REQUIRE_MESSAGE(k < 25, row[0] << " x " << across[b]);
        CHECK_MESSAGE(row[1 + b] == periods[k], row[0] << " x " << across[b]);
      }
    }
    CHECK(words(table.at(3)) == std::vector<std::string>{"6", "120", "120", "120", "120", "120"});  // a tight grid: short throughout
  }
  // a grid of more parameters tells each output's lowest and highest run; their settings, too
  // many for one line, wrap one `path = value` at a time, and where one is too long to stand
  // under the output's name, all start further left (one ran to column 81)
  {
    const fs::path dir = scratch("headline-grid3"), file = dir / "grid3.yaml";
    fs::create_directories(dir);
    std::ofstream(file) << "scenario: '" << (kSource / "inputs/base.yaml").string() << "'\nmethod: grid\npoints: 2\n"
                        << "parameters:\n"
                        << "  - {path: regions.us_central.interconnect_cap, low: 6, high: 18}\n"
                        << "  - {path: programs.openai_frontier.growth_per_year, low: 2.0, high: 4.6}\n"
                        << "  - {path: inference.chatgpt.tokens_per_user.growth_per_year, low: 0.5, high: 2.5}\n"
                        << "outputs: [periods_in_structural_shortage, mean_mismatch_index_frac]\n";
    r = run_gpumm("study '" + file.string() + "' -o '" + (dir / "out").string() + "'");
    REQUIRE(r.code == 0);
    CHECK(r.out.find("  periods_in_structural_shortage: lowest ") != std::string::npos);
    CHECK(r.out.find("  mean_mismatch_index_frac: lowest ") != std::string::npos);
    // the longest setting does not fit beside the output's name: "highest" goes under the name's
    // start and the settings six columns in
    CHECK(r.out.find("\n      inference.chatgpt.tokens_per_user.growth_per_year = ") != std::string::npos);
    CHECK(r.out.find("\n    highest 120 (run ") != std::string::npos);
    for (const std::string& line : lines(r.out)) {
      CHECK_MESSAGE(line.size() <= 80, line);
      CHECK_MESSAGE(!line.ends_with(" ="), line);
    }
  }
  // an output that no parameter moves is said to be so, not ranked
  {
    std::string y = slurp(kSource / "tests/testdata/studies/sobol_small.yaml");
    replace_once(y, "../good_demand.yaml", (kSource / "tests/testdata/good_demand.yaml").string());
    replace_once(y, "outputs: [", "outputs: [periods_in_oversupply, ");
    const fs::path dir = scratch("headline-constant"), file = dir / "constant.yaml";
    fs::create_directories(dir);
    std::ofstream(file) << y;
    r = run_gpumm("study '" + file.string() + "' -o '" + (dir / "out").string() + "'");
    REQUIRE(r.code == 0);
    for (const auto& v : column(dir / "out" / "samples.csv", "periods_in_oversupply")) CHECK(v == "30");
    CHECK(r.out.find("  periods_in_oversupply: 30 in every run (no parameter moves it)\n") != std::string::npos);
    CHECK(r.out.find("  final_installed_h100e: largest total Sobol' indices") != std::string::npos);
    // nor listed point by point in a sweep, nor tabulated in a grid
    for (const char* method : {"sweep", "grid"}) {
      CAPTURE(method);
      std::string sw = slurp(kSource / "tests/testdata/studies/sweep_small.yaml");
      replace_once(sw, "../good_demand.yaml", (kSource / "tests/testdata/good_demand.yaml").string());
      replace_once(sw, "method: sweep", std::string("method: ") + method);
      replace_once(sw, "outputs: [", "outputs: [periods_in_oversupply, ");
      const fs::path f = dir / (std::string(method) + ".yaml");
      std::ofstream(f) << sw;
      r = run_gpumm("study '" + f.string() + "' -o '" + (dir / method).string() + "'");
      REQUIRE(r.code == 0);
      CHECK(r.out.find("  periods_in_oversupply: 30 in every run (no parameter moves it)\n") != std::string::npos);
      CHECK(r.out.find("periods_in_oversupply as each") == std::string::npos);
      CHECK(r.out.find("periods_in_oversupply by") == std::string::npos);
      CHECK(r.out.find(std::string("  final_installed_h100e ") + (method == std::string("sweep") ? "as each" : "by")) !=
            std::string::npos);
    }
  }
  // -q prints nothing
  const fs::path quiet = scratch("headline-quiet");
  r = run_gpumm("study tests/testdata/studies/sweep_small.yaml -q -o '" + quiet.string() + "'");
  REQUIRE(r.code == 0);
  CHECK(r.out.empty());
}

TEST_CASE("cli: Monte Carlo bands of each series are the percentiles of the runs' summary.csv columns") {
  const fs::path out = scratch("bands-series");
  const Result study = run_gpumm("study tests/testdata/studies/monte_carlo_small.yaml -o '" + out.string() + "'");
  REQUIRE(study.code == 0);
  // the headline gives each series' band in the last month, as bands.csv has it
  for (const char* series : {"relative_balance_frac", "installed_h100e", "unserved_h100e"}) {
    const auto at = [&](const char* p) {
      return gpumm::significant_number(std::stod(column(out / "bands.csv", series + std::string(p)).back()));
    };
    CHECK_MESSAGE(unwrapped(study.out).find(" " + std::string(series) + " in 2026-12: P5 " + at("_p5") + ", P50 " +
                                            at("_p50") + ", P95 " + at("_p95") + " (bands.csv has every period) ") !=
                      std::string::npos,
                  series);
  }
  const auto capex = column(out / "samples.csv", "firms.google.capex.2026 ($B)");
  const auto seeds = column(out / "samples.csv", "scenario_seed");  // a Monte Carlo run's own seed
  REQUIRE(capex.size() == 12);
  REQUIRE(seeds.size() == 12);
  // each run again, alone, with its sampled value and its seed
  std::map<std::string, std::vector<std::vector<double>>> runs;  // series -> run -> period
  for (size_t k = 0; k < capex.size(); ++k) {
    const fs::path one = scratch("bands-run-" + std::to_string(k));
    REQUIRE(run_gpumm("run tests/testdata/good_demand.yaml -q --set firms.google.capex.2026=" + capex[k] + " --seed " +
                      seeds[k] + " -o '" + one.string() + "'").code == 0);
    for (const char* series : {"relative_balance_frac", "installed_h100e", "unserved_h100e"}) {
      std::vector<double> v;
      for (const auto& x : column(one / "summary.csv", series)) v.push_back(std::stod(x));
      runs[series].push_back(v);
    }
  }
  // linear interpolation between the sorted runs: 12 runs, so P5 = x[0] + 0.55 (x[1] - x[0]), ...
  const auto quantile = [](std::vector<double> x, double p) {
    std::sort(x.begin(), x.end());
    const double pos = p * static_cast<double>(x.size() - 1);
    const size_t k = static_cast<size_t>(pos);
    return k + 1 < x.size() ? x[k] + (x[k + 1] - x[k]) * (pos - static_cast<double>(k)) : x.back();
  };
  int checked = 0, spread = 0;
  for (const char* series : {"relative_balance_frac", "installed_h100e", "unserved_h100e"}) {
    CAPTURE(series);
    const std::vector<std::pair<const char*, double>> bands = {{"_p5", 0.05}, {"_p10", 0.10}, {"_p50", 0.50}, {"_p90", 0.90}, {"_p95", 0.95}};
    for (const auto& [suffix, p] : bands) {
      const auto col = column(out / "bands.csv", series + std::string(suffix));
      REQUIRE(col.size() == 36);
      for (size_t t = 0; t < col.size(); ++t) {
        std::vector<double> at;
        for (const auto& run : runs[series]) at.push_back(run[t]);
        CHECK(std::stod(col[t]) == doctest::Approx(quantile(at, p)).epsilon(1e-12));
        spread += p == 0.95 && quantile(at, 0.95) > quantile(at, 0.05);
        ++checked;
      }
    }
  }
  CHECK(checked == 3 * 5 * 36);
  CHECK(spread >= 12);  // the 2026 capex moves the later months
}

TEST_CASE("cli: a study's parameters may have distributions within their ranges") {
  const fs::path out = scratch("study-distributions");
  Result r = run_gpumm("study tests/testdata/studies/distributions.yaml -q -o '" + out.string() + "'");
  REQUIRE(r.code == 0);
  const auto values = [&](const char* path) {
    std::vector<double> v;
    for (const auto& x : column(out / "samples.csv", path)) v.push_back(std::stod(x));
    std::sort(v.begin(), v.end());
    return v;
  };
  const auto mean = [](const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size()); };
  // triangular on [10, 60] peaking at 20: mean (10 + 20 + 60) / 3 = 30, a fifth of it below the mode
  const auto tri = values("firms.google.capex.2026 ($B)");
  REQUIRE(tri.size() == 400);
  CHECK(tri.front() >= 10);
  CHECK(tri.back() <= 60);
  CHECK(mean(tri) == doctest::Approx(30).epsilon(0.005));
  CHECK(std::count_if(tri.begin(), tri.end(), [](double x) { return x < 20; }) == 80);  // Latin hypercube strata
  // normal (mean $20B, sd $5B, written with units) cut to [$5B, $35B] = +-3 sd: mean 20, sd
  // 5 sqrt(1 - 6 phi(3) / (2 Phi(3) - 1)) = 4.933
  const auto nor = values("firms.google.capex.2025 ($B)");
  const double m = mean(nor);
  double var = 0;
  for (double x : nor) var += (x - m) * (x - m);
  CHECK(m == doctest::Approx(20).epsilon(0.002));
  CHECK(std::sqrt(var / 400) == doctest::Approx(4.933).epsilon(0.01));
  CHECK(std::count_if(nor.begin(), nor.end(), [](double x) { return x < 20; }) == 200);
  // lognormal with median 2 (GW/y) and sigma 0.5, cut to [0.5, 8]: half of it below 2
  const auto logn = values("regions.us_east.interconnect_cap (GW/y)");
  CHECK(std::count_if(logn.begin(), logn.end(), [](double x) { return x < 2; }) == 200);
  CHECK(logn.front() >= 0.5);
  CHECK(logn.back() <= 8);
  // ... and a plain range is uniform
  const auto pue = values("regions.us_east.pue");
  CHECK(mean(pue) == doctest::Approx(1.3).epsilon(0.001));
  const std::string manifest = slurp(out / "manifest.yaml");
  CHECK(manifest.find("distribution: triangular, mode: 20}") != std::string::npos);
  CHECK(manifest.find("distribution: normal, mean: 20, sd: 5}") != std::string::npos);
  CHECK(manifest.find("distribution: lognormal, median: 2, sigma: 0.5}") != std::string::npos);
  // what does not fit is said, all at once
  Result bad = run_gpumm("validate tests/testdata/studies/bad_distribution.yaml");
  CHECK(bad.code == 2);
  CHECK(bad.err == "tests/testdata/studies/bad_distribution.yaml:5:70: parameters[0].distribution: `normall`: expected "
                   "`uniform`, `log_uniform`, `triangular`, `normal` or `lognormal`; did you mean `normal`?\n"
                   "tests/testdata/studies/bad_distribution.yaml:6:5: parameters[1]: missing required key `sd` (a normal "
                   "distribution needs its sd)\n"
                   "tests/testdata/studies/bad_distribution.yaml:7:5: parameters[2]: the mode of a triangular distribution "
                   "must lie between low and high\n"
                   "tests/testdata/studies/bad_distribution.yaml:8:60: parameters[3].mode: `mode` belongs to a triangular "
                   "distribution (add `distribution: triangular`)\n"
                   "4 problems found\n");
  // a number of a distribution in units the scenario does not write at the path
  std::string y = slurp(kSource / "tests/testdata/studies/distributions.yaml");
  replace_once(y, "../good_demand.yaml", (kSource / "tests/testdata/good_demand.yaml").string());
  replace_once(y, "mean: $20B", "mean: 20 GW");
  replace_once(y, "low: 1.1, high: 1.5}", "low: 1.1, high: 1.5, log_scale: true, distribution: normal, mean: 1.3, sd: 0.1}");
  const fs::path file = scratch("bad-units-distribution.yaml");
  std::ofstream(file) << y;
  Result units = run_gpumm("validate '" + file.string() + "'");
  CHECK(units.code == 2);
  CHECK(units.err.find(":9:87: parameters[1].mean: `20 GW`: not in the units the scenario writes at "
                       "firms.google.capex.2025 (`$20B` there): write e.g. `20` or `$20B`") != std::string::npos);
  CHECK(units.err.find("parameters[3].log_scale: log_scale is the log_uniform distribution; a normal one cannot have it") !=
        std::string::npos);
}

TEST_CASE("cli: a Monte Carlo study may draw shifted Sobol' points instead of a Latin hypercube") {
  std::string y = slurp(kSource / "tests/testdata/studies/monte_carlo_small.yaml");
  replace_once(y, "../good_demand.yaml", (kSource / "tests/testdata/good_demand.yaml").string());
  replace_once(y, "samples: 12", "samples: 64\nsampler: sobol");
  replace_once(y, "parameters:\n", "parameters:\n  - {path: regions.us_east.pue, low: 1.1, high: 1.5}\n");
  const fs::path file = scratch("mc-sobol.yaml"), out = scratch("mc-sobol"), again = scratch("mc-sobol-again");
  std::ofstream(file) << y;
  REQUIRE(run_gpumm("study '" + file.string() + "' -q -o '" + out.string() + "'").code == 0);
  // 64 points: each eighth of each range holds 8 of them, as the sequence's blocks are balanced
  for (const auto& [path, low, high] : {std::tuple{"regions.us_east.pue", 1.1, 1.5}, std::tuple{"firms.google.capex.2026 ($B)", 10.0, 60.0}}) {
    CAPTURE(path);
    std::map<int, int> eighths;
    for (const auto& v : column(out / "samples.csv", path)) ++eighths[static_cast<int>((std::stod(v) - low) / (high - low) * 8)];
    CHECK(eighths == std::map<int, int>{{0, 8}, {1, 8}, {2, 8}, {3, 8}, {4, 8}, {5, 8}, {6, 8}, {7, 8}});
  }
  CHECK(slurp(out / "manifest.yaml").find("sampler: shifted_sobol_sequence") != std::string::npos);
  // another seed, another shift
  replace_once(y, "samples: 64", "samples: 64\nseed: 77");
  std::ofstream(file) << y;
  REQUIRE(run_gpumm("study '" + file.string() + "' -q -o '" + again.string() + "'").code == 0);
  CHECK(column(again / "samples.csv", "regions.us_east.pue") != column(out / "samples.csv", "regions.us_east.pue"));
  // the other methods have their designs; a number varies in one entry; an output is listed once;
  // a Sobol study's design takes two of the sequence's 40 dimensions per parameter
  std::string bad = slurp(kSource / "tests/testdata/studies/sobol_small.yaml");
  replace_once(bad, "../good_demand.yaml", (kSource / "tests/testdata/good_demand.yaml").string());
  replace_once(bad, "samples: 16", "samples: 16\nsampler: latin_hypercube");
  replace_once(bad, "regions.us_east.interconnect_cap", "firms.google.capex.2026");
  replace_once(bad, "outputs: [final_installed_h100e", "outputs: [final_installed_h100e, final_installed_h100e");
  for (int i = 0; i < 20; ++i) bad.replace(bad.find("outputs:"), 0, "  - {path: regions.us_east.pue, low: 1.1, high: 1.5}\n");
  const fs::path bad_file = scratch("bad-sampler.yaml");
  std::ofstream(bad_file) << bad;
  Result r = run_gpumm("validate '" + bad_file.string() + "'");
  CHECK(r.code == 2);
  CHECK(r.err.find(":4:10: sampler: only a Monte Carlo study chooses its sampler (the other methods have their own designs)") !=
        std::string::npos);
  CHECK(r.err.find(":9:12: parameters[1].path: `firms.google.capex.2026` is already parameters[0]: a number varies in one "
                   "entry only") != std::string::npos);
  CHECK(r.err.find(":10:12: parameters[2].path: `regions.us_east.pue` is already parameters[2]") == std::string::npos);
  CHECK(r.err.find(":11:12: parameters[3].path: `regions.us_east.pue` is already parameters[2]") != std::string::npos);
  CHECK(r.err.find("parameters: 22 parameters: a Sobol study takes at most 20 (the Sobol' sequence's direction numbers "
                   "cover 40 dimensions)") != std::string::npos);
  CHECK(r.err.find("outputs[1]: `final_installed_h100e` is listed twice") != std::string::npos);
}

TEST_CASE("cli: a Sobol study's indices per period of one series do not depend on the other series") {
  const std::string text = slurp(kSource / "tests/testdata/studies/sobol_small.yaml");
  const fs::path both = scratch("sobol-series-both");
  const Result study = run_gpumm("study tests/testdata/studies/sobol_small.yaml -o '" + both.string() + "'");
  REQUIRE(study.code == 0);
  // the headline names, per series, the parameter with the largest total index in the last month
  {
    const auto series = column(both / "sobol_periods.csv", "series"), dates = column(both / "sobol_periods.csv", "date"),
               params = column(both / "sobol_periods.csv", "parameter"), total = column(both / "sobol_periods.csv", "total");
    for (const std::string name : {"relative_balance_frac", "installed_h100e"}) {
      std::string best;
      double most = -1;
      for (size_t k = 0; k < series.size(); ++k)
        if (series[k] == name && dates[k] == "2026-12-01" && std::stod(total[k]) > most) {
          most = std::stod(total[k]);
          best = params[k];
        }
      char expected[200];
      std::snprintf(expected, sizeof expected, " %s in 2026-12: largest total Sobol' index %s %.3g [", name.c_str(),
                    best.c_str(), most);
      CHECK_MESSAGE(unwrapped(study.out).find(expected) != std::string::npos, expected);
    }
  }
  const auto rows_of = [](const fs::path& file, const std::string& series) {
    std::vector<std::string> out;
    for (const std::string& line : lines(slurp(file)))
      if (line.find("," + series + ",") != std::string::npos) out.push_back(line);
    return out;
  };
  for (const std::string series : {"relative_balance_frac", "installed_h100e"}) {
    CAPTURE(series);
    std::string t = text;
    t.replace(t.find("series: ["), std::string::npos, "series: [" + series + "]\n");
    replace_once(t, "../good_demand.yaml", (kSource / "tests/testdata/good_demand.yaml").string());
    const fs::path file = scratch("sobol-series-" + series + ".yaml"), alone = scratch("sobol-series-" + series);
    std::ofstream(file) << t;
    REQUIRE(run_gpumm("study '" + file.string() + "' -q -o '" + alone.string() + "'").code == 0);
    const auto rows = rows_of(alone / "sobol_periods.csv", series);
    CHECK(rows.size() == 36 * 2);
    CHECK(rows == rows_of(both / "sobol_periods.csv", series));
  }
}

TEST_CASE("cli: a study asked for more threads than runs uses one per run, with the same results") {
  // each thread holds its own copy of the scenario's document: 1000 of them for 15 runs took
  // 10 s and 1.3 GB instead of a fifth of a second
  const fs::path many = scratch("study-threads-many"), one = scratch("study-threads-one");
  Result r = run_gpumm("study inputs/studies/tornado.yaml --threads 1000 -o '" + many.string() + "'");
  REQUIRE(r.code == 0);
  CHECK(unwrapped(r.out).starts_with("gpumm 0.1.0: study inputs/studies/tornado.yaml, tornado, 15 runs of "
                                     "inputs/base.yaml on 15 threads in "));
  REQUIRE(run_gpumm("study inputs/studies/tornado.yaml -q --threads 1 -o '" + one.string() + "'").code == 0);
  CHECK(slurp(many / "samples.csv") == slurp(one / "samples.csv"));
  CHECK(slurp(many / "tornado.csv") == slurp(one / "tornado.csv"));
  // the README's figure: of the months of shortage the base's reading in real time misses (42),
  // us_central's grid moves the most, to 18 at 6 GW/y
  const auto output = column(one / "tornado.csv", "output"), parameter = column(one / "tornado.csv", "parameter"),
             at_low = column(one / "tornado.csv", "at_low"), at_base = column(one / "tornado.csv", "at_base");
  const auto missed = std::find(output.begin(), output.end(), "periods_shortage_missed_in_real_time");
  REQUIRE(missed != output.end());
  const size_t top = static_cast<size_t>(missed - output.begin());
  CHECK(parameter[top] == "regions.us_central.interconnect_cap");
  CHECK(at_low[top] == "18");
  CHECK(at_base[top] == "42");
  // and the longest a shortage went unseen: 24 months on the base, none at 6 GW/y in us_central
  // or with OpenAI's runs growing 4.6 times a year (the README's figures)
  const auto at_high = column(one / "tornado.csv", "at_high");
  bool grid = false, growth = false;
  for (size_t k = 0; k < output.size(); ++k) {
    if (output[k] != "periods_before_shortage_seen_in_real_time") continue;
    CHECK(at_base[k] == "24");
    if (parameter[k] == "regions.us_central.interconnect_cap") grid = at_low[k] == "0";
    if (parameter[k] == "programs.openai_frontier.growth_per_year") growth = at_high[k] == "0";
  }
  CHECK(grid);
  CHECK(growth);
  // stopped once every run is saved, then resumed: no run to make, no thread started for one
  const fs::path stopped = scratch("study-threads-stopped");
  Result all_saved = run_gpumm("study inputs/studies/tornado.yaml --threads 1000 -o '" + stopped.string() + "'", kSource,
                               "GPUMM_TEST_STOP_AFTER_RUNS=15");
  CHECK(all_saved.code == 130);
  Result resumed = run_gpumm("study inputs/studies/tornado.yaml --threads 1000 --resume -o '" + stopped.string() + "'");
  REQUIRE(resumed.code == 0);
  CHECK(resumed.out.find("\n  resumed           15 of 15 runs from the checkpoint, ran the other 0\n") != std::string::npos);
  CHECK(unwrapped(resumed.out).find(" 15 runs of inputs/base.yaml on 1 thread in ") != std::string::npos);
  CHECK(slurp(stopped / "samples.csv") == slurp(one / "samples.csv"));
}

TEST_CASE("cli: a study gives byte-identical results with 1 and 2 threads") {
  for (const std::string study : {"sobol_small", "monte_carlo_small"}) {
    CAPTURE(study);
    const fs::path one = scratch("study-1-" + study), two = scratch("study-2-" + study);
    const std::string file = "tests/testdata/studies/" + study + ".yaml";
    REQUIRE(run_gpumm("study " + file + " -q --threads 1 -o '" + one.string() + "'").code == 0);
    REQUIRE(run_gpumm("study " + file + " -q --threads 2 -o '" + two.string() + "'").code == 0);
    for (const char* f : {"samples.csv", "sobol.csv", "sobol_periods.csv", "bands.csv", "manifest.yaml"})
      if (fs::exists(one / f)) CHECK_MESSAGE(slurp(one / f) == slurp(two / f), std::string(f));
    if (study == "sobol_small") {
      CHECK(lines(slurp(one / "samples.csv")).size() == 1 + 16 * 4);  // N (d + 2) runs
      auto sobol = lines(slurp(one / "sobol.csv"));
      REQUIRE(sobol.size() == 1 + 2 * 2);
      CHECK(sobol[0] == "output,parameter,first_order,first_order_low,first_order_high,total,total_low,total_high");
      // indices of each series per period: one row per (series, month, parameter)
      auto periods = lines(slurp(one / "sobol_periods.csv"));
      REQUIRE(periods.size() == 1 + 2 * 36 * 2);
      CHECK(periods[0] == "date,series,parameter,variance,first_order,first_order_low,first_order_high,total,total_low,"
                          "total_high");
      // 2026's capex cannot move January 2024 (its orders arrive years later):
      // no variance, empty cells; by the end of 2026 both parameters share out a variance
      CHECK(periods[1].rfind("2024-01-01,relative_balance_frac,firms.google.capex.2026,0,,,,,,", 0) == 0);
      CHECK(periods[1 + 36 * 2].rfind("2024-01-01,installed_h100e,firms.google.capex.2026,0,,,,,,", 0) == 0);
      const auto var = column(one / "sobol_periods.csv", "variance");
      const auto total = column(one / "sobol_periods.csv", "total");
      const auto dates = column(one / "sobol_periods.csv", "date");
      const auto series = column(one / "sobol_periods.csv", "series");
      std::set<std::string> late_varies;
      for (size_t k = 0; k < dates.size(); ++k)
        if (dates[k] == "2026-12-01" && std::stod(var[k]) > 0) {
          late_varies.insert(series[k]);
          CHECK(std::stod(total[k]) >= 0);
        }
      CHECK(late_varies == std::set<std::string>{"relative_balance_frac", "installed_h100e"});
      CHECK(slurp(one / "manifest.yaml").find("series: [relative_balance_frac, installed_h100e]") != std::string::npos);
    } else {
      auto bands = lines(slurp(one / "bands.csv"));
      CHECK(bands.size() == 1 + 36);  // one row per month
      std::string header = "date";
      for (const char* series : {"relative_balance_frac", "installed_h100e", "unserved_h100e"})
        for (const char* p : {"_p5", "_p10", "_p50", "_p90", "_p95"}) header += std::string(",") + series + p;
      CHECK(bands[0] == header);
    }
  }
}

TEST_CASE("cli: an adaptive Sobol study doubles N until the intervals meet the target, or stops at its budget") {
  const std::string file = "tests/testdata/studies/sobol_adaptive.yaml";
  const fs::path out = scratch("study-adaptive");
  Result r = run_gpumm("study " + file + " --threads 2 -o '" + out.string() + "'");
  REQUIRE(r.code == 0);
  // 16 -> 32 -> 64 -> 128 -> 256 base points; at 256 every interval is at most 0.3 wide
  CHECK(r.out.find("N = 256 after 4 doublings; widest interval 0.279 <= target 0.3") != std::string::npos);
  CHECK(lines(slurp(out / "samples.csv")).size() == 1 + 256 * 4);
  CHECK(slurp(out / "manifest.yaml").find("runs: 1024") != std::string::npos);
  for (const char* c : {"first_order", "total"}) {
    const auto lo = column(out / "sobol.csv", std::string(c) + "_low"), hi = column(out / "sobol.csv", std::string(c) + "_high");
    for (size_t k = 0; k < lo.size(); ++k) CHECK(std::stod(hi[k]) - std::stod(lo[k]) <= 0.3);
  }
  // the rounds add up to the one design of 256 points: the same tables as a fixed N = 256
  // study, and at N = 128 some interval is still wider than 0.3 (so the search went on)
  std::string text = slurp(kSource / file);
  replace_once(text, "../good_demand.yaml", (kSource / "tests/testdata/good_demand.yaml").string());
  const std::string fixed = text.substr(0, text.find("target_width")) + text.substr(text.find("bootstrap"));
  for (int n : {256, 128}) {
    CAPTURE(n);
    const fs::path file_n = scratch("fixed-" + std::to_string(n) + ".yaml"), out_n = scratch("study-fixed-" + std::to_string(n));
    std::string t = fixed;
    replace_once(t, "samples: 16", "samples: " + std::to_string(n));
    std::ofstream(file_n) << t;
    REQUIRE(run_gpumm("study '" + file_n.string() + "' -q -o '" + out_n.string() + "'").code == 0);
    if (n == 256) {
      CHECK(slurp(out_n / "sobol.csv") == slurp(out / "sobol.csv"));
      CHECK(slurp(out_n / "sobol_periods.csv") == slurp(out / "sobol_periods.csv"));
    } else {
      double widest = 0;
      for (const char* c : {"first_order", "total"}) {
        const auto lo = column(out_n / "sobol.csv", std::string(c) + "_low"), hi = column(out_n / "sobol.csv", std::string(c) + "_high");
        for (size_t k = 0; k < lo.size(); ++k) widest = std::max(widest, std::stod(hi[k]) - std::stod(lo[k]));
      }
      CHECK(widest > 0.3);
    }
  }
  // a budget of 600 runs stops at N = 128 (512 runs): the next doubling would need 1,024
  const fs::path small = scratch("small-budget.yaml"), out_small = scratch("study-small-budget");
  std::string t = text;
  replace_once(t, "max_runs: 20000", "max_runs: 600");
  std::ofstream(small) << t;
  Result b = run_gpumm("study '" + small.string() + "' -o '" + out_small.string() + "'");
  REQUIRE(b.code == 0);
  CHECK(b.out.find("N = 128 after 3 doublings") != std::string::npos);
  CHECK(b.out.find("the run budget is spent") != std::string::npos);
  CHECK(lines(slurp(out_small / "samples.csv")).size() == 1 + 128 * 4);
}

TEST_CASE("cli: --set changes numbers of the scenario for one run, as a case file would") {
  const fs::path dir = scratch("set"), with_set = dir / "with-set", with_case = dir / "with-case";
  fs::create_directories(dir);
  Result r = run_gpumm("run tests/testdata/good_small.yaml --set firms.google.capex.2026=45 "
                       "--set 'firms.meta.builds[0].lead_time=12' -o '" + with_set.string() + "'");
  REQUIRE(r.code == 0);
  CHECK(r.out.find("  set               firms.google.capex.2026 = $45B (the scenario's $30B)\n"
                   "  set               firms.meta.builds[0].lead_time = 12mo (the scenario's 18mo)\n") != std::string::npos);
  // the same two values written in a case that extends the scenario: the same run, byte for byte
  std::ofstream(dir / "case.yaml") << "extends: " << (kSource / "tests/testdata/good_small.yaml").string() << "\n"
                                   << "name: small\n"
                                   << "firms:\n  google: {capex: {2026: $45B}}\n"
                                   << "  meta: {builds: [{power: 300 MW, commit: 2023-06-01, lead_time: 12mo, "
                                      "build_time: 12mo, stage: under_construction}]}\n";
  REQUIRE(run_gpumm("run '" + (dir / "case.yaml").string() + "' -q -o '" + with_case.string() + "'").code == 0);
  for (const char* f : {"summary.csv", "firms.csv", "timeseries.csv", "scenario.resolved.yaml"})
    CHECK_MESSAGE(slurp(with_set / f) == slurp(with_case / f), f);
  const fs::path plain = dir / "plain";
  REQUIRE(run_gpumm("run tests/testdata/good_small.yaml -q -o '" + plain.string() + "'").code == 0);
  CHECK(slurp(with_set / "summary.csv") != slurp(plain / "summary.csv"));
  // the values may carry the units the scenario writes there: the same run
  const fs::path with_units = dir / "with-units";
  Result u = run_gpumm("run tests/testdata/good_small.yaml --set 'firms.google.capex.2026=$45B' "
                       "--set 'firms.meta.builds[0].lead_time=12 mo' -o '" + with_units.string() + "'");
  REQUIRE(u.code == 0);
  CHECK(u.out.find("  set               firms.google.capex.2026 = $45B (the scenario's $30B)\n") != std::string::npos);
  for (const char* f : {"summary.csv", "scenario.resolved.yaml"})
    CHECK_MESSAGE(slurp(with_units / f) == slurp(with_set / f), f);
  // other units are refused, with the units to write
  Result other = run_gpumm("run tests/testdata/good_small.yaml --set 'firms.google.capex.2026=$45000M' -o '" +
                           (dir / "other").string() + "'");
  CHECK(other.code == 2);
  CHECK(other.err == "gpumm: --set firms.google.capex.2026=$45000M: not a number in the units the scenario writes at "
                     "firms.google.capex.2026 ($30B); e.g. `--set firms.google.capex.2026=30` is $30B\n");
  CHECK_FALSE(fs::exists(dir / "other"));
  // a minus sign or a dash copied from a document, not `-`, is named (so is a date's en dash)
  Result dash = run_gpumm("run tests/testdata/good_small.yaml --set 'firms.google.capex.2026=\xE2\x88\x92""5' -o '" +
                          (dir / "dash").string() + "'");
  CHECK(dash.code == 2);
  CHECK(dash.err.find("is $30B (it holds U+2212, a minus sign, where `-` was meant?)\n") != std::string::npos);
  Result date = run_gpumm("explain tests/testdata/good_small.yaml --firm google --date '2025\xE2\x80\x93""06'");
  CHECK(date.code == 2);
  CHECK(date.err.find("(it holds U+2013, an en dash, where `-` was meant?)\nTry `gpumm explain --help`.") != std::string::npos);
  // a number written with separators is told how to write it
  Result comma = run_gpumm("run tests/testdata/good_small.yaml --set firms.google.capex.2026=1,000 -o '" +
                           (dir / "comma").string() + "'");
  CHECK(comma.code == 2);
  CHECK(comma.err == "gpumm: --set firms.google.capex.2026=1,000: thousands separators are not read; write the number "
                     "without them (`1000`)\n");
  Result decimal = run_gpumm("run tests/testdata/good_small.yaml --set firms.google.capex.2026=1,5 -o '" +
                             (dir / "comma").string() + "'");
  CHECK(decimal.err == "gpumm: --set firms.google.capex.2026=1,5: decimals are written with `.`, not `,` (`1.5`)\n");
  CHECK_FALSE(fs::exists(dir / "comma"));
  // explain takes them too, and says so
  Result e = run_gpumm("explain tests/testdata/good_small.yaml --firm google --date 2026-06 --set firms.google.capex.2026=45");
  CHECK(e.code == 0);
  CHECK(e.out.find("With values set on the command line:\n  set               firms.google.capex.2026 = $45B "
                   "(the scenario's $30B)\n") != std::string::npos);
}

TEST_CASE("cli: a word, a date or a number the scenario leaves to its default given to --set gets checked lines of a scenario that extends it") {
  const fs::path dir = scratch("set-word");
  fs::create_directories(dir);
  const std::string small = (kSource / "tests/testdata/good_small.yaml").string();
  Result date = run_gpumm("run '" + small + "' --set start=2025-01 -o '" + (dir / "out").string() + "'");
  CHECK(date.code == 2);
  const std::string lead = "gpumm: --set start: not a number (a study parameter or a value set names a number of the "
                           "scenario)\n  --set changes the numbers a scenario writes; to set `start`, write a scenario "
                           "that extends this one, e.g. in a file in this folder:\n";
  REQUIRE(date.err.substr(0, lead.size()) == lead);
  CHECK(date.err.substr(lead.size()) == "    extends: " + small + "\n    start: 2025-01\n");
  CHECK_FALSE(fs::exists(dir / "out"));
  // the lines, as a file, run
  std::string lines, line;
  std::istringstream rest(date.err.substr(lead.size()));
  while (std::getline(rest, line)) lines += line.substr(4) + "\n";
  std::ofstream(dir / "later.yaml") << lines;
  Result later = run_gpumm("run '" + (dir / "later.yaml").string() + "' -o '" + (dir / "later").string() + "'");
  CHECK(later.code == 0);
  CHECK(later.out.find(": later, 2025-01-01 to 2026-12-31, 24 months") != std::string::npos);
  // a key in a map is written in its map; a key the scenario leaves to its default counts too
  Result nested = run_gpumm("run '" + small + "' --set firms.google.capex_start=2025-06-01 -o '" + (dir / "out").string() + "'");
  CHECK(nested.code == 2);
  CHECK(nested.err.find("\n    extends: " + small + "\n    firms:\n      google:\n        capex_start: 2025-06-01\n") !=
        std::string::npos);
  Result unwritten = run_gpumm("run '" + small + "' --set step=quarter -o '" + (dir / "out").string() + "'");
  CHECK(unwritten.code == 2);
  CHECK(unwritten.err.find("\n    extends: " + small + "\n    step: quarter\n") != std::string::npos);
  // lines that would not load are not offered: the scenario's reason instead, with its guess
  Result weekk = run_gpumm("run '" + small + "' --set step=weekk -o '" + (dir / "out").string() + "'");
  CHECK(weekk.code == 2);
  CHECK(weekk.err.find("  --set changes the numbers a scenario writes; in a scenario that extends this one, "
                       "`step: weekk` would not load either: step: `weekk`: expected `week`, `month` or `quarter`; "
                       "did you mean `week`?\n") != std::string::npos);
  CHECK(weekk.err.find("extends: ") == std::string::npos);
  Result stpe = run_gpumm("run '" + small + "' --set stpe=week -o '" + (dir / "out").string() + "'");
  CHECK(stpe.err.find("would not load either: stpe: unknown key `stpe`; did you mean `step`?") != std::string::npos);
  // a field of a list's entry by its index: the rule for lists
  Result listed = run_gpumm("run '" + small + "' --set 'firms.meta.builds[0].stage=announced' -o '" + (dir / "out").string() + "'");
  CHECK(listed.code == 2);
  CHECK(listed.err.find("write a scenario that extends this one (docs/scenario.md: lists of named entries change "
                        "entry by entry, others are replaced whole)\n") != std::string::npos);
  CHECK(listed.err.find("extends: ") == std::string::npos);
  // a field of a named entry: the lines that change that entry by its name, and they run
  const std::string oversold = (kSource / "tests/testdata/oversold.yaml").string();
  for (const char* set : {"contracts[deal_2].start=2024-06-01", "contracts[deal_2].ramp=6mo"}) {
    Result named = run_gpumm("run '" + oversold + "' --set '" + set + "' -o '" + (dir / "out").string() + "'");
    CHECK(named.code == 2);
    const std::string text_set = set;
    const size_t dot = text_set.find('.') + 1, eq = text_set.find('=');
    const std::string field = text_set.substr(dot, eq - dot), value = text_set.substr(eq + 1);
    const std::string lines = "    extends: " + oversold + "\n    contracts:\n      - {name: deal_2, " + field + ": " + value + "}\n";
    REQUIRE(named.err.size() > lines.size());
    CHECK(named.err.substr(named.err.size() - lines.size()) == lines);
    std::string file_text, l;
    std::istringstream in(lines);
    while (std::getline(in, l)) file_text += l.substr(4) + "\n";
    std::ofstream(dir / "deal.yaml") << file_text;
    Result ran = run_gpumm("run '" + (dir / "deal.yaml").string() + "' -q -o '" + (dir / field).string() + "'");
    CHECK(ran.code == 0);
  }
  CHECK(slurp(dir / "start" / "scenario.resolved.yaml").find("{name: deal_2, seller: meta, buyer: google, start: 2024-06-01,") !=
        std::string::npos);
  CHECK(slurp(dir / "ramp" / "scenario.resolved.yaml").find("{name: deal_2, seller: meta, buyer: google, start: 2024-04-01, "
                                                            "end: 2026-12-31, volume: {gpus: 90000, generation: h100}, "
                                                            "price: $2, take_or_pay: 1, ramp: 6mo}") != std::string::npos);
  // a number the scenario leaves to its default: the lines too; at a misspelt path, the path's
  // problem alone
  Result unset = run_gpumm("run '" + small + "' --set diagnosis.threshold=0.1 -o '" + (dir / "out").string() + "'");
  CHECK(unset.code == 2);
  CHECK(unset.err.find("\n    extends: " + small + "\n    diagnosis:\n      threshold: 0.1\n") != std::string::npos);
  for (const char* v : {"'firms.meta.capx.2026=$5B'", "diagnosis.theta=0.1"}) {
    Result number = run_gpumm("run '" + small + "' --set " + v + " -o '" + (dir / "out").string() + "'");
    CHECK(number.code == 2);
    CHECK(number.err.find("extends") == std::string::npos);
  }
  fs::remove_all(dir);
}

TEST_CASE("cli: a study parameter at a number its scenario leaves to its default says how to write it") {
  const fs::path dir = scratch("study-default");
  fs::create_directories(dir);
  const std::string small = (kSource / "tests/testdata/good_small.yaml").string();
  const std::string oversold = (kSource / "tests/testdata/oversold.yaml").string();
  // a tornado study `name` of `scenario` over one `parameter` (a flow map), run into dir/out
  const auto study = [&](const std::string& name, const std::string& scenario, const std::string& parameter) {
    std::ofstream(dir / name) << "scenario: '" << scenario << "'\nmethod: tornado\nparameters:\n  - " << parameter
                              << "\noutputs: [periods_in_structural_shortage]\n";
    fs::remove_all(dir / "out");
    return run_gpumm("study '" + (dir / name).string() + "' -q -o '" + (dir / "out").string() + "'");
  };
  Result r = study("theta.yaml", small, "{path: diagnosis.threshold, low: 0.03, high: 0.08}");
  CHECK(r.code == 2);
  CHECK(r.err.find("theta.yaml:4:12: parameters[0].path: `diagnosis.threshold` in " + small +
                   ": no such value in the scenario: no key `diagnosis` in the scenario; a study varies the numbers "
                   "its scenario writes: write it there (its default applies now), e.g. `diagnosis: {threshold: "
                   "0.03}`, or in a scenario that extends it\n") != std::string::npos);
  // written so, in a scenario that extends it, the study runs
  std::ofstream(dir / "small-theta.yaml") << "extends: '" << small << "'\ndiagnosis: {threshold: 0.03}\n";
  Result ok = study("theta2.yaml", (dir / "small-theta.yaml").string(), "{path: diagnosis.threshold, low: 0.03, high: 0.08}");
  CHECK(ok.code == 0);
  CHECK(fs::exists(dir / "out" / "tornado.csv"));
  // a range written with units is offered with them
  Result capex = study("capex.yaml", small, "{path: firms.meta.capex.2026, low: $5B, high: $9B}");
  CHECK(capex.code == 2);
  CHECK(capex.err.find("e.g. `firms: {meta: {capex: {2026: $5B}}}`") != std::string::npos);
  // a field of a named entry: in the entry, or by its name in a scenario that extends it (which runs)
  Result ramp = study("ramp.yaml", oversold, "{path: 'contracts[deal_2].ramp', low: 3mo, high: 9mo}");
  CHECK(ramp.code == 2);
  CHECK(ramp.err.find("no key `ramp` in `contracts[deal_2]`; a study varies the numbers its scenario writes: write it "
                      "there (its default applies now), e.g. `ramp: 3mo` in its entry `contracts[deal_2]`, or in a "
                      "scenario that extends it: `contracts: [{name: deal_2, ramp: 3mo}]`\n") != std::string::npos);
  std::ofstream(dir / "oversold-ramp.yaml") << "extends: '" << oversold << "'\ncontracts: [{name: deal_2, ramp: 3mo}]\n";
  Result ramp2 = study("ramp2.yaml", (dir / "oversold-ramp.yaml").string(),
                       "{path: 'contracts[deal_2].ramp', low: 3mo, high: 9mo}");
  CHECK(ramp2.code == 0);
  CHECK(fs::exists(dir / "out" / "tornado.csv"));
  // a low end the scenario would refuse: the advice writes the high end
  Result negative = study("negative.yaml", small, "{path: diagnosis.threshold, low: -0.1, high: 0.08}");
  CHECK(negative.code == 2);
  CHECK(negative.err.find("e.g. `diagnosis: {threshold: 0.08}`, or in a scenario that extends it") != std::string::npos);
  // a misspelt key gets no such advice
  Result typo = study("typo.yaml", small, "{path: diagnosis.theta, low: 0.03, high: 0.08}");
  CHECK(typo.code == 2);
  CHECK(typo.err.find("a study varies") == std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("cli: a --set that names no number, or makes the scenario invalid, is refused with the reason") {
  const std::string out = " -o '" + scratch("set-bad").string() + "'";
  Result typo = run_gpumm("run tests/testdata/good_small.yaml --set firms.google.capx.2026=45" + out);
  CHECK(typo.code == 2);
  CHECK(typo.err == "gpumm: --set firms.google.capx.2026: no such value in the scenario: no key `capx` in "
                    "`firms.google`; did you mean `capex`?\n");
  // a year the scenario does not write: the years it does, not the nearest spelling
  Result year = run_gpumm("run tests/testdata/good_small.yaml --set firms.google.capex.2040=45" + out);
  CHECK(year.code == 2);
  CHECK(year.err == "gpumm: --set firms.google.capex.2040: no such value in the scenario: `firms.google.capex` has "
                    "no year 2040; it writes the years 2025 to 2026\n");
  // a duration counts whole units: 12.5 months would run as 13
  Result half = run_gpumm("run tests/testdata/good_small.yaml --set 'firms.meta.builds[0].lead_time=12.5'" + out);
  CHECK(half.code == 2);
  CHECK(half.err == "gpumm: --set firms.meta.builds[0].lead_time=12.5: firms.meta.builds[0].lead_time is a duration, "
                    "in whole units (18mo); give a whole number\n");
  // the seed, where the scenario writes none, has its option (the document's keys suggested `end`)
  Result seed = run_gpumm("run tests/testdata/good_small.yaml --set seed=5" + out);
  CHECK(seed.code == 2);
  CHECK(seed.err == "gpumm: --set seed: no such value in the scenario: no key `seed` in the scenario\n"
                    "  the seed is an option of its own: `--seed 5`\n");
  // where the scenario writes one, --set sets it like any number
  std::ofstream(scratch("set-seed").string() + ".yaml") << "extends: '" << (kSource / "tests/testdata/good_small.yaml").string()
                                                        << "'\nseed: 42\n";
  Result written = run_gpumm("run '" + scratch("set-seed").string() + ".yaml' --set seed=5" + out);
  CHECK(written.code == 0);
  CHECK(written.out.find("  set               seed = 5 (the scenario's 42)\n") != std::string::npos);
  Result text = run_gpumm("run tests/testdata/good_small.yaml --set name=3" + out);
  CHECK(text.code == 2);
  CHECK(text.err.find("gpumm: --set name: not a number") == 0);
  Result bad = run_gpumm("run tests/testdata/good_small.yaml --set firms.google.capex.2026=-5" + out);
  CHECK(bad.code == 2);
  CHECK(bad.err.find("does not load with the values set:\n  firms.google.capex.2026: ") != std::string::npos);
  for (const char* wrong : {"--set firms.google.capex.2026", "--set firms.google.capex.2026=lots", "--set",
                            "--set a=1 --set a=2"}) {
    Result u = run_gpumm(std::string("run tests/testdata/good_small.yaml ") + wrong + out);
    CHECK_MESSAGE(u.code == 2, wrong);
    CHECK_MESSAGE(u.err.find("gpumm: --set") == 0, wrong);
  }
  CHECK_FALSE(fs::exists(scratch("set-bad") / "summary.csv"));
}

TEST_CASE("cli: a study whose values make its scenario invalid says which run, with which values, and why") {
  const fs::path out = scratch("ramp-too-long");
  Result r = run_gpumm("study tests/testdata/studies/ramp_too_long.yaml -q -o '" + out.string() + "'");
  CHECK(r.code == 1);
  // the parameter names deal_3 (the third contract) by its name, not the first contract
  CHECK(r.err == "gpumm: study failed: run 2, with contracts[deal_3].ramp = 40: the scenario does not load with "
                 "these values: contracts[deal_3].ramp: a ramp of 40mo is longer than the contract's term (2024-05-01 to "
                 "2026-12-31): the volume would never be all in force. Give the parameters ranges that the "
                 "scenario accepts.\n");
  CHECK_FALSE(fs::exists(out / "samples.csv"));
}

TEST_CASE("cli: the study file shown in the README is valid against the base") {
  const std::string readme = slurp(kSource / "README.md");
  const size_t a = readme.find("```yaml\nscenario: ../base.yaml");
  REQUIRE(a != std::string::npos);
  std::string yaml = readme.substr(a + 8, readme.find("```", a + 8) - a - 8);
  replace_once(yaml, "../base.yaml", (kSource / "inputs/base.yaml").string());
  const fs::path dir = scratch("readme-study");
  fs::create_directories(dir);
  std::ofstream(dir / "study.yaml") << yaml;
  Result r = run_gpumm("validate '" + (dir / "study.yaml").string() + "'");
  CHECK(r.code == 0);
  CHECK(r.err == "");
  CHECK(r.out.find(": ok (a study of ") != std::string::npos);
}

TEST_CASE("cli: the speed target's full-size Sobol study is valid, 98,304 runs, its last five ranges the base +-25%") {
  Result r = run_gpumm("validate tools/bench/sobol_full.yaml");
  CHECK(r.code == 0);
  CHECK(r.out == "tools/bench/sobol_full.yaml: ok (a study of inputs/base.yaml: 10 parameters, 98304 runs)\n");
  // the same parameters as BM_SobolStudy, which sets the last five to the base's values +-25%
  std::vector<gpumm::Diagnostic> problems;
  const gpumm::Study study = gpumm::read_study_file((kSource / "tools/bench/sobol_full.yaml").string(), problems);
  REQUIRE(problems.empty());
  REQUIRE(study.parameters.size() == 10);
  const auto base = gpumm::ScenarioTemplate::from_file((kSource / "inputs/base.yaml").string());
  for (size_t i = 5; i < 10; ++i) {
    const gpumm::StudyParameter& p = study.parameters[i];
    CAPTURE(p.path);
    CHECK(p.low == doctest::Approx(0.75 * base.value_at(p.path)));
    CHECK(p.high == doctest::Approx(1.25 * base.value_at(p.path)));
  }
}

TEST_CASE("cli: the benchmark's reduced bases load and leave out what they say") {
  // the rows of the README's speed table without parts of the model (BM_BaseNoMarket,
  // BM_SupplyOnly, tools/bench/instructions.sh)
  Result valid = run_gpumm("validate tools/bench/base_no_market.yaml tools/bench/base_supply_only.yaml");
  CHECK(valid.code == 0);
  const fs::path no_market = scratch("bench-no-market"), supply = scratch("bench-supply-only");
  REQUIRE(run_gpumm("run tools/bench/base_no_market.yaml -q -o '" + no_market.string() + "'").code == 0);
  REQUIRE(run_gpumm("run tools/bench/base_supply_only.yaml -q -o '" + supply.string() + "'").code == 0);
  const auto sum = [](const std::vector<std::string>& cells) {
    double x = 0;
    for (const std::string& c : cells) x += std::stod(c);
    return x;
  };
  // without a market nothing is matched or priced, and no contract moves capacity
  CHECK(sum(column(no_market / "summary.csv", "market_matched_h100e")) == 0.0);
  CHECK(sum(column(no_market / "summary.csv", "spot_usd_per_h100e_hour")) == 0.0);
  CHECK(lines(slurp(no_market / "contracts.csv")).size() == 1);  // the header
  CHECK(sum(column(no_market / "summary.csv", "demand_h100e")) > 0.0);
  // supply alone: no demand at all, the same buildout as the base's
  CHECK(sum(column(supply / "summary.csv", "demand_h100e")) == 0.0);
  CHECK(sum(column(supply / "summary.csv", "installed_gpus")) > 0.0);
}

TEST_CASE("cli: bad study files get located errors, all at once") {
  Result bad = run_gpumm("study tests/testdata/studies/bad_study.yaml -o '" + scratch("bad-study").string() + "'");
  CHECK(bad.code == 2);
  CHECK(bad.err.find("bad_study.yaml:2:9: method: `sobel`: expected `monte_carlo`, `tornado`, `morris`, `sobol`, `sweep` or `grid`; did you mean `sobol`?") != std::string::npos);
  CHECK(bad.err.find("bad_study.yaml:5:5: parameters[0]: low must be below high") != std::string::npos);
  CHECK(bad.err.find("did you mean `final_installed_h100e`?") != std::string::npos);
  CHECK(bad.err.find("3 problems found") != std::string::npos);
  Result path = run_gpumm("study tests/testdata/studies/bad_path.yaml -o '" + scratch("bad-path").string() + "'");
  CHECK(path.code == 2);
  CHECK(path.err.find("bad_path.yaml:4:12: parameters[0].path: `firms.google.capex.2031` in "
                      "tests/testdata/good_demand.yaml: no such value in the scenario") != std::string::npos);
  CHECK(path.err.find("bad_path.yaml:5:12: parameters[1].path: `firms.google.regions` in") != std::string::npos);
  CHECK(path.err.find("not a number") != std::string::npos);
  CHECK(path.err.find("bad_path.yaml:6:34: outputs[1]: `surplus_h100e_months:gogle`: no such firm in "
                      "tests/testdata/good_demand.yaml; did you mean `surplus_h100e_months:google`?") != std::string::npos);
  CHECK(path.err.find("3 problems found") != std::string::npos);
  // the study file's own problems and those against its scenario come in one pass, in file order
  Result both = run_gpumm("study tests/testdata/studies/bad_both.yaml -o '" + scratch("bad-both").string() + "'");
  CHECK(both.code == 2);
  const auto both_lines = lines(both.err);
  REQUIRE(both_lines.size() >= 4);
  CHECK(both_lines[0].rfind("tests/testdata/studies/bad_both.yaml:5:12: parameters[0].path: `firms.google.capex.2031`", 0) == 0);
  CHECK(both_lines[1] == "tests/testdata/studies/bad_both.yaml:6:5: parameters[1]: low must be below high (60 > 10)");
  CHECK(both_lines[2].rfind("tests/testdata/studies/bad_both.yaml:7:34: outputs[1]: `surplus_h100e_months:gogle`", 0) == 0);
  CHECK(both_lines[3] == "3 problems found");
  // validate knows a study file from a scenario, and checks it with its scenario
  Result valid = run_gpumm("validate inputs/studies/tornado.yaml");
  CHECK(valid.code == 0);
  CHECK(valid.out == "inputs/studies/tornado.yaml: ok (a study of inputs/base.yaml: 7 parameters, 15 runs)\n");
  // a sample that grows to a target width runs up to its largest doubling within the budget:
  // 64 (5 + 2) doubled to 1024 (5 + 2) = 7,168 runs of 8,000
  CHECK(run_gpumm("validate inputs/studies/sobol_adaptive.yaml").out ==
        "inputs/studies/sobol_adaptive.yaml: ok (a study of inputs/base.yaml: 5 parameters, up to 7168 runs)\n");
  CHECK(run_gpumm("validate tests/testdata/studies/warn_sweep.yaml").out.find(": 1 parameter, 5 runs)") != std::string::npos);
  // a Monte Carlo study says its runs draw seeds of their own; with no parameters, that is all they vary
  CHECK(run_gpumm("validate inputs/studies/monte_carlo.yaml inputs/studies/slips.yaml").out ==
        "inputs/studies/monte_carlo.yaml: ok (a study of inputs/base.yaml: 5 parameters, 200 runs, each with a seed "
        "of its own)\n"
        "inputs/studies/slips.yaml: ok (a study of inputs/base.yaml: its random draws alone, 32 runs, each with a "
        "seed of its own)\n");
  Result invalid = run_gpumm("validate tests/testdata/studies/bad_both.yaml");
  CHECK(invalid.code == 2);
  CHECK(invalid.err == both.err);
  // per-period series: summary.csv's numbers, each once, for the methods that keep series
  Result series = run_gpumm("study tests/testdata/studies/bad_series.yaml -o '" + scratch("bad-series").string() + "'");
  CHECK(series.code == 2);
  CHECK(series.err.find("bad_series.yaml:7:33: series[1]: unknown series `unserved_h100`; did you mean `unserved_h100e`?") !=
        std::string::npos);
  CHECK(series.err.find("bad_series.yaml:7:48: series[2]: `relative_balance_frac` is listed twice") != std::string::npos);
  CHECK(series.err.find("bad_series.yaml:7:71: series[3]: unknown series `glut` (a series is one of summary.csv's "
                        "number columns, such as relative_balance_frac, unserved_h100e or spot_usd_per_h100e_hour)") !=
        std::string::npos);
  // a column's name before ratios took `_frac`
  CHECK(series.err.find("bad_series.yaml:7:77: series[4]: `utilization` is now `utilization_frac` (a ratio's name ends "
                        "in `_frac`: a fraction of 1, not percent)") != std::string::npos);
  CHECK(series.err.find("4 problems found") != std::string::npos);
  // a scenario that is not there is told at the study's `scenario:`, with where it was looked for
  {
    const fs::path dir = scratch("study-scenario-missing");
    fs::create_directories(dir / "studies");
    std::ofstream(dir / "studies" / "s.yaml") << "scenario: base.yaml\nmethod: sweep\nparameters:\n"
                                                 "  - {path: firms.meta.capex.2026, low: 10, high: 50}\n"
                                                 "outputs: [final_installed_h100e]\n";
    std::ofstream(dir / "base.yaml") << slurp(kSource / "tests/testdata/good_small.yaml");
    Result missing = run_gpumm("study studies/s.yaml -o out", dir);
    CHECK(missing.code == 2);
    CHECK(missing.err == "studies/s.yaml:1:11: scenario: `base.yaml`: no such file (looked for beside the study file: "
                         "studies/base.yaml)\n1 problem found\n");
    CHECK(run_gpumm("validate studies/s.yaml", dir).err == missing.err);
    CHECK_FALSE(fs::exists(dir / "out"));
  }
  // lists written as a map, as one value, or empty: said so, not "missing"
  Result lists = run_gpumm("study tests/testdata/studies/bad_lists.yaml -o '" + scratch("bad-lists").string() + "'");
  CHECK(lists.code == 2);
  CHECK(lines(lists.err) ==
        std::vector<std::string>{
            "tests/testdata/studies/bad_lists.yaml:7:3: parameters: expected a list of parameters, each `{path, low, high}`, "
            "found a map: each entry of a list starts with `- ` (or the list is `[...]`)",
            "tests/testdata/studies/bad_lists.yaml:8:10: outputs: expected a list of metrics, e.g. "
            "`[periods_in_structural_shortage]`, found a single value (a list is `[a, b]`, or entries on the lines below, "
            "each starting with `- `)",
            "tests/testdata/studies/bad_lists.yaml:9:9: series: expected a list of summary.csv's number columns, e.g. "
            "`[relative_balance_frac, spot_usd_per_h100e_hour]`, found an empty list",
            "3 problems found"});
  CHECK_FALSE(fs::exists(scratch("bad-lists")));
  // an entry's index in a path, unquoted inside `{...}`
  CHECK(run_gpumm("validate tests/testdata/studies/bad_bracket_path.yaml").err ==
        "tests/testdata/studies/bad_bracket_path.yaml:6:29: invalid YAML: end of map flow not found (inside `{...}` or "
        "`[...]`, the `[` of `firms.meta.orders[0].units` opens a list: put the value in quotes, "
        "`\"firms.meta.orders[0].units\"`)\n1 problem found\n");
  // list items with nothing after their dash, before a blank line and a comment: told at the
  // dash (yaml-cpp marks them at the next text), once each
  Result items = run_gpumm("study tests/testdata/studies/bad_items.yaml -o '" + scratch("bad-items").string() + "'");
  CHECK(items.code == 2);
  CHECK(lines(items.err) ==
        std::vector<std::string>{
            "tests/testdata/studies/bad_items.yaml:7:3: parameters[0]: expected a map of keys, found nothing: write its "
            "keys on the lines below it, indented under it (or `{...}` on its line)",
            "tests/testdata/studies/bad_items.yaml:13:3: outputs[1]: missing value", "2 problems found"});
  Result method = run_gpumm("validate tests/testdata/studies/bad_series_method.yaml");
  CHECK(method.code == 2);
  CHECK(method.err.find("bad_series_method.yaml:6:9: series: only monte_carlo and sobol studies analyse per-period "
                        "series (bands, indices per period)") != std::string::npos);
  Result width = run_gpumm("study tests/testdata/studies/bad_width.yaml -o '" + scratch("bad-width").string() + "'");
  CHECK(width.code == 2);
  CHECK(width.err.find("bad_width.yaml:3:15: target_width: only a Sobol study grows its sample to a target width") !=
        std::string::npos);
  CHECK(width.err.find("bad_width.yaml:4:11: max_runs: a run budget needs `target_width`") == std::string::npos);
  Result budget = run_gpumm("study tests/testdata/studies/bad_budget.yaml -o '" + scratch("bad-budget").string() + "'");
  CHECK(budget.code == 2);
  CHECK(budget.err.find("bad_budget.yaml:5:11: max_runs: the first round alone takes samples (d + 2) = 256 runs, more "
                        "than the budget of 100") != std::string::npos);
  CHECK(budget.err.find("bad_budget.yaml:10:1: bootstrp: unknown key `bootstrp`; did you mean `bootstrap`?") != std::string::npos);
  CHECK(budget.err.find("2 problems found") != std::string::npos);
  // study files are parsed with the scenario loader's guards: a stray `,` (which hangs
  // yaml-cpp's LoadAll), several documents, an alias bomb
  const fs::path odd = scratch("odd-studies");
  fs::create_directories(odd);
  std::string bomb = "scenario: ../base.yaml\nmethod: sobol\na: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b', prev = 'a'; c <= 'l'; ++c, ++prev) {
    bomb += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 10; ++i) bomb += std::string(i ? ", *" : "*") + prev;
    bomb += "]\n";
  }
  const std::vector<std::pair<std::string, std::string>> odd_files = {
      {"comma.yaml", "scenario: ../base.yaml\nmethod: sobol\n{a: 1},\n"},
      {"lone_comma.yaml", ","},
      {"two.yaml", "scenario: ../base.yaml\n---\nmethod: sobol\n"},
      {"bomb.yaml", bomb},
      {"fraction.yaml", "scenario: ../base.yaml\nmethod: sobol\nsamples: 64.5\nseed: 1.5\n"},
      {"not_power.yaml", "scenario: ../base.yaml\nmethod: sobol\nsamples: 100\n"},
      {"not_power_low.yaml", "scenario: ../base.yaml\nmethod: sobol\nsamples: 5000\n"},
      {"caret.yaml", "scenario: ../base.yaml\nmethod: sobol\nsamples: 2^13\n"},
      // a count the method does not read is refused, not ignored
      {"sweep_samples.yaml", "scenario: ../base.yaml\nmethod: sweep\nsamples: 3\n"},
      {"tornado_points.yaml", "scenario: ../base.yaml\nmethod: tornado\npoints: 3\n"},
      {"sobol_points.yaml", "scenario: ../base.yaml\nmethod: sobol\npoints: 3\n"},
      {"sobol_levels.yaml", "scenario: ../base.yaml\nmethod: sobol\nlevels: 6\n"},
      {"morris_bootstrap.yaml", "scenario: ../base.yaml\nmethod: morris\nbootstrap: 100\n"}};
  const std::vector<std::string> odd_errors = {":3:1: invalid YAML", "lone_comma.yaml:1:1: invalid YAML: unexpected ','",
                                               "two.yaml:2:1: a study file holds one YAML document",
                                               "bomb.yaml:9:8: document too large",
                                               "fraction.yaml:3:10: samples: must be a whole number",
                                               "not_power.yaml:3:10: samples: `100`: Sobol needs a power of two: `128` or `64`",
                                               "not_power_low.yaml:3:10: samples: `5000`: Sobol needs a power of two: `4096` or `8192`",
                                               "caret.yaml:3:10: samples: `2^13`: write the number itself, `8192`",
                                               "sweep_samples.yaml:3:10: samples: a sweep takes `points`, the values per "
                                               "parameter from low to high, not `samples`",
                                               "tornado_points.yaml:3:9: points: a tornado runs each parameter at its low "
                                               "and its high (or `tornado_quantiles`): it takes no `points`",
                                               "sobol_points.yaml:3:9: points: only a sweep or a grid takes `points`; a "
                                               "Sobol study takes its size from `samples`",
                                               "sobol_levels.yaml:3:9: levels: only a Morris study has `levels` (of its "
                                               "grid); a Sobol study takes none",
                                               "morris_bootstrap.yaml:3:12: bootstrap: only a Sobol study resamples for "
                                               "intervals (`bootstrap`); a Morris study takes none"};
  for (size_t k = 0; k < odd_files.size(); ++k) {
    CAPTURE(odd_files[k].first);
    std::ofstream(odd / odd_files[k].first) << odd_files[k].second;
    Result r = run_gpumm("study '" + (odd / odd_files[k].first).string() + "' -o '" + (odd / "out").string() + "'");
    CHECK(r.code == 2);
    CHECK(r.err.find(odd_errors[k]) != std::string::npos);
  }
  CHECK(run_gpumm("validate '" + (odd / "fraction.yaml").string() + "'").err.find("fraction.yaml:4:7: seed: must be a whole number") !=
        std::string::npos);
  CHECK_FALSE(fs::exists(odd / "out"));
  // only a regular file is read (a device would be read forever)
  Result device = run_gpumm("study /dev/zero -o '" + (odd / "out").string() + "'");
  CHECK(device.code == 2);
  CHECK(device.err.find("/dev/zero: not a regular file") != std::string::npos);
  Result folder = run_gpumm("study '" + odd.string() + "' -o '" + (odd / "out").string() + "'");
  CHECK(folder.code == 2);
  CHECK(folder.err.find("odd-studies: a folder, not a YAML file; it holds `") != std::string::npos);
  // and so is a scenario given to validate
  std::ofstream(odd / "comma_scenario.yaml") << ",";
  Result comma = run_gpumm("validate '" + (odd / "comma_scenario.yaml").string() + "'");
  CHECK(comma.code == 2);
  CHECK(comma.err.find("comma_scenario.yaml:1:1: invalid YAML: unexpected ','") != std::string::npos);
}

TEST_CASE("cli: a study written in another tool's words is told what gpumm calls each") {
  const std::string f = "tests/testdata/studies/bad_other_names.yaml";
  Result r = run_gpumm("validate " + f);
  CHECK(r.code == 2);
  // a study still, though it names neither `scenario` nor `method`; no required key written
  // under another name (`model`, `analysis`, `name`, `min`, `max`, `bounds`) is also told missing
  CHECK(r.err ==
        f + ":3:1: model: unknown key `model`; the scenario file is `scenario`\n" +
        f + ":4:1: analysis: unknown key `analysis`; the study's kind is `method` (sweep, grid, tornado, morris, sobol or "
            "monte_carlo)\n" +
        f + ":5:1: N: unknown key `N`; the number of samples is `samples` (Monte Carlo: points; Morris: trajectories; "
            "Sobol: N, the base sample, a power of two)\n" +
        f + ":6:1: num_levels: unknown key `num_levels`; Morris's grid levels are `levels`\n" +
        f + ":7:1: threads: unknown key `threads`; the number of threads is chosen when the study runs: `gpumm study FILE "
            "--threads N` (results do not depend on it)\n" +
        f + ":8:1: calc_second_order: unknown key `calc_second_order`; gpumm estimates first-order and total Sobol' "
            "indices, not second-order ones\n" +
        f + ":10:6: parameters[0].name: unknown key `name`; a parameter is named by its `path` in the scenario (e.g. "
            "`firms.meta.capex.2026`)\n" +
        f + ":10:37: parameters[0].min: unknown key `min`; a parameter's range is `low` and `high`, in the units the "
            "scenario writes at its path\n" +
        f + ":10:46: parameters[0].max: unknown key `max`; a parameter's range is `low` and `high`, in the units the "
            "scenario writes at its path\n" +
        f + ":11:46: parameters[1].bounds: unknown key `bounds`; a range is written `low: A, high: B`, not as a list\n" +
        f + ":12:76: parameters[2].mu: unknown key `mu`; a normal distribution's centre is `mean`, a lognormal's "
            "`median`, a triangular's peak `mode`\n" +
        f + ":12:85: parameters[2].std: unknown key `std`; a normal distribution's standard deviation is `sd`\n" +
        f + ":13:11: outputs[0]: unknown metric `peak_shortage`; did you mean `peak_unserved_h100e`?\n" +
        f + ":13:26: outputs[1]: unknown metric `final_spot_price`; did you mean `final_spot_usd_per_h100e_hour`?\n" +
        "14 problems found\n");
  // the same from `study`, which writes nothing; `run` knows it for a study
  const fs::path out = scratch("other-names");
  Result study = run_gpumm("study " + f + " -o '" + out.string() + "'");
  CHECK(study.code == 2);
  CHECK(study.err == r.err);
  CHECK(!fs::exists(out));
  CHECK(run_gpumm("run " + f).err.rfind("gpumm: `" + f + "` is a study file, not a scenario", 0) == 0);
  // a required key missing with no other name for it in the map is still told missing
  std::string y = slurp(kSource / f);
  replace_once(y, "{name: firms.google.capex.2026, min: 10, max: 60}", "{name: firms.google.capex.2026, min: 10, high: 60}");
  replace_once(y, "bounds: [0.5, 8]}", "low: 0.5}");
  const fs::path file = scratch("other-names-missing.yaml");
  std::ofstream(file) << y;
  Result missing = run_gpumm("validate '" + file.string() + "'");
  CHECK(missing.err.find(":10:5: parameters[0]: missing required key `low`") == std::string::npos);
  CHECK(missing.err.find(":11:5: parameters[1]: missing required key `high`") != std::string::npos);
}

TEST_CASE("cli: a study's ranges may carry the units the scenario writes at their paths, and no others") {
  // sweep_small.yaml with its ranges written in units: the same study
  const fs::path dir = scratch("units-ranges");
  fs::create_directories(dir);
  const std::string head = "scenario: " + (kSource / "tests/testdata/good_demand.yaml").string() + "\nmethod: sweep\npoints: 3\n";
  std::ofstream(dir / "units.yaml") << head << "parameters:\n"
                                    << "  - {path: firms.google.capex.2026, low: $10B, high: $50B}\n"
                                    << "  - {path: regions.us_east.interconnect_cap, low: 1 GW/y, high: 3GW/y}\n"
                                    << "outputs: [final_installed_h100e]\n";
  const fs::path plain = dir / "plain", units = dir / "with-units";
  REQUIRE(run_gpumm("study tests/testdata/studies/sweep_small.yaml -q -o '" + plain.string() + "'").code == 0);
  REQUIRE(run_gpumm("study '" + (dir / "units.yaml").string() + "' -q -o '" + units.string() + "'").code == 0);
  CHECK(slurp(units / "samples.csv") == slurp(plain / "samples.csv"));
  // other units, and a range whose ends read in units are the wrong way round
  std::ofstream(dir / "wrong.yaml") << head << "parameters:\n"
                                    << "  - {path: firms.google.capex.2026, low: $10B, high: $50000M}\n"
                                    << "  - {path: regions.us_east.interconnect_cap, low: 3 GW/y, high: 1}\n"
                                    << "outputs: [final_installed_h100e]\n";
  Result wrong = run_gpumm("validate '" + (dir / "wrong.yaml").string() + "'");
  CHECK(wrong.code == 2);
  const auto problems = lines(wrong.err);
  REQUIRE(problems.size() == 3);
  CHECK(problems[0] == (dir / "wrong.yaml").string() + ":5:54: parameters[0].high: `$50000M`: not in the units the "
                       "scenario writes at firms.google.capex.2026 (`$30B` there): write e.g. `30` or `$30B`");
  CHECK(problems[1] == (dir / "wrong.yaml").string() + ":6:5: parameters[1]: low must be below high (3 > 1)");
}

TEST_CASE("cli: a study marks the runs that warned, in samples.csv and its headline, through a kill and a resume") {
  // the seller's fleet swept over 200, 650, 1100, 1550 and 2000 H100 against a contract of 1000
  const std::string file = "tests/testdata/studies/warn_sweep.yaml";
  const fs::path one = scratch("warn-1"), two = scratch("warn-2"), part = scratch("warn-part");
  Result r = run_gpumm("study " + file + " --threads 1 -o '" + one.string() + "'");
  REQUIRE(r.code == 0);
  CHECK(r.out.find("  warnings: contract_shortfall in 2 of 5 runs (first: run 0); samples.csv lists\n"
                   "    each run's in `warnings`\n") != std::string::npos);
  const auto rows = lines(slurp(one / "samples.csv"));
  REQUIRE(rows.size() == 6);
  CHECK(rows[0] == "run,firms.seller.fleet_at_start.h100,final_installed_h100e,contract_shortfall_h100e_months,warnings");
  // 200 H100 against 1000 sold: 800 H100e short from March to December (306 days of 30.44)
  CHECK(std::stod(cells(rows[1])[3]) == doctest::Approx(800 * 306 / (365.2425 / 12)));
  CHECK(std::stod(cells(rows[2])[3]) == doctest::Approx(350 * 306 / (365.2425 / 12)));
  CHECK(cells(rows[1])[4] == "contract_shortfall");
  CHECK(cells(rows[2])[4] == "contract_shortfall");
  CHECK(rows[3] == "2,1100,1100,0,");
  CHECK(rows[5] == "4,2000,2000,0,");
  // the same with two threads, and killed after two runs then resumed
  REQUIRE(run_gpumm("study " + file + " -q --threads 2 -o '" + two.string() + "'").code == 0);
  CHECK(slurp(two / "samples.csv") == slurp(one / "samples.csv"));
  Result killed = run_gpumm("study " + file + " -q --threads 1 -o '" + part.string() + "'", kSource,
                            "GPUMM_TEST_KILL_AFTER_RUNS=2");
  CHECK(killed.code == 128 + 9);
  Result resumed = run_gpumm("study " + file + " --resume -o '" + part.string() + "'");
  REQUIRE(resumed.code == 0);
  CHECK(resumed.out.find("  warnings: contract_shortfall in 2 of 5 runs") != std::string::npos);
  CHECK(slurp(part / "samples.csv") == slurp(one / "samples.csv"));
  // a study none of whose runs warned says nothing of warnings
  Result quiet = run_gpumm("study tests/testdata/studies/sweep_small.yaml -o '" + scratch("warn-none").string() + "'");
  REQUIRE(quiet.code == 0);
  CHECK(quiet.out.find("warnings") == std::string::npos);
}

TEST_CASE("cli: a study killed at any moment and resumed gives exactly the uninterrupted results") {
  for (const std::string study : {"sobol_small", "monte_carlo_small", "sobol_adaptive"}) {
    CAPTURE(study);
    const std::string file = "tests/testdata/studies/" + study + ".yaml";
    const fs::path full = scratch("resume-full-" + study), part = scratch("resume-part-" + study);
    REQUIRE(run_gpumm("study " + file + " -q -o '" + full.string() + "'").code == 0);
    // 300: in the fourth round of the adaptive study (rounds of 64, 64, 128, 256 runs)
    for (int kill_after : {1, 7, 300}) {
      if (kill_after == 300 && study != "sobol_adaptive") continue;
      CAPTURE(kill_after);
      fs::remove_all(part);
      Result killed = run_gpumm("study " + file + " -q -o '" + part.string() + "'", kSource,
                                "GPUMM_TEST_KILL_AFTER_RUNS=" + std::to_string(kill_after));
      CHECK(killed.code == 128 + 9);
      CHECK_FALSE(fs::exists(part / "samples.csv"));
      REQUIRE(run_gpumm("study " + file + " -q --resume -o '" + part.string() + "'").code == 0);
      for (const char* f : {"samples.csv", "sobol.csv", "sobol_periods.csv", "bands.csv", "manifest.yaml"})
        if (fs::exists(full / f)) CHECK_MESSAGE(slurp(full / f) == slurp(part / f), std::string(f));
      CHECK_FALSE(fs::exists(part / ".checkpoint.bin"));
    }
  }
  // a record torn by the kill, and a damaged one, are runs to do again, not wrong results
  const std::string file = "tests/testdata/studies/monte_carlo_small.yaml";
  const fs::path full = scratch("resume-torn-full"), part = scratch("resume-torn");
  REQUIRE(run_gpumm("study " + file + " -q -o '" + full.string() + "'").code == 0);
  CHECK(run_gpumm("study " + file + " -q -o '" + part.string() + "'", kSource, "GPUMM_TEST_KILL_AFTER_RUNS=7").code == 128 + 9);
  const fs::path cp = part / ".checkpoint.bin";
  const auto size = fs::file_size(cp);
  // 7 records of 1 output, the warnings, 3 series x 36 months, the index and the hash
  CHECK(size == 7 * (1 + 1 + 1 + 3 * 36 + 1) * sizeof(double));
  fs::resize_file(cp, size - 5);
  {
    std::fstream f(cp, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size / 7 + 40));  // a value of the second record
    f.put('\x7f');
  }
  // resumed and killed again: the new records follow the last whole one, not the torn end, so
  // the next resume reads them
  const auto record = size / 7;
  CHECK(run_gpumm("study " + file + " -q --resume -o '" + part.string() + "'", kSource, "GPUMM_TEST_KILL_AFTER_RUNS=3")
            .code == 128 + 9);
  CHECK(fs::file_size(cp) == (6 + 3) * record);
  REQUIRE(run_gpumm("study " + file + " -q --resume -o '" + part.string() + "'").code == 0);
  for (const char* f : {"samples.csv", "bands.csv", "manifest.yaml"})
    CHECK_MESSAGE(slurp(full / f) == slurp(part / f), std::string(f));
}

TEST_CASE("cli: copies started by mpirun without MPI built in are refused before they write anything") {
  const fs::path out = scratch("no-mpi");
  ::setenv("OMPI_COMM_WORLD_SIZE", "4", 1);
  std::ostringstream o, e;
  const int code = gpumm::cli::main({"run", kSource.string() + "/inputs/base.yaml", "-q", "-o", out.string()}, o, e);
  ::unsetenv("OMPI_COMM_WORLD_SIZE");
  CHECK(code == 2);
  CHECK(e.str().find("started as 4 processes (mpirun), but this gpumm was built without MPI") != std::string::npos);
  CHECK(e.str().find("-DGPUMM_WITH_MPI=ON") != std::string::npos);
  CHECK_FALSE(fs::exists(out));
  // one process, or a launcher's single copy, is fine
  ::setenv("OMPI_COMM_WORLD_SIZE", "1", 1);
  std::ostringstream o1, e1;
  CHECK(gpumm::cli::main({"validate", kSource.string() + "/inputs/base.yaml"}, o1, e1) == 0);
  ::unsetenv("OMPI_COMM_WORLD_SIZE");
}

#ifdef GPUMM_MPIEXEC
// Two MPI processes on one machine (as root, Open MPI needs to be told that this is wanted).
const std::string kMpi2 = std::string("OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 '") + GPUMM_MPIEXEC +
                          "' -np 2 --oversubscribe";

TEST_CASE("cli: a study under mpirun -np 2 gives byte for byte the single-process results") {
  fs::path full;  // the single-process sobol_small study
  for (const std::string study : {"sobol_small", "monte_carlo_small", "sobol_adaptive", "warn_sweep"}) {
    CAPTURE(study);
    const std::string file = "tests/testdata/studies/" + study + ".yaml";
    const fs::path one = scratch("mpi-1-" + study), two = scratch("mpi-2-" + study);
    if (study == "sobol_small") full = one;
    REQUIRE(run_gpumm("study " + file + " -q --threads 1 -o '" + one.string() + "'").code == 0);
    Result r = run_gpumm("study " + file + " --threads 1 -o '" + two.string() + "'", kSource, kMpi2);
    REQUIRE(r.code == 0);
    CHECK(unwrapped(r.out).find("on 2 processes x 1 thread in") != std::string::npos);
    for (const char* f : {"samples.csv", "sobol.csv", "sobol_periods.csv", "bands.csv", "manifest.yaml"})
      if (fs::exists(one / f)) CHECK_MESSAGE(slurp(one / f) == slurp(two / f), std::string(f));
  }
  // killed in the middle and resumed, still under MPI: the same results
  const fs::path part = scratch("mpi-part");
  Result killed = run_gpumm("study tests/testdata/studies/sobol_small.yaml -q -o '" + part.string() + "'", kSource,
                            "GPUMM_TEST_KILL_AFTER_RUNS=20 " + kMpi2);
  CHECK(killed.code != 0);
  CHECK_FALSE(fs::exists(part / "samples.csv"));
  REQUIRE(run_gpumm("study tests/testdata/studies/sobol_small.yaml -q --resume -o '" + part.string() + "'", kSource,
                    kMpi2).code == 0);
  CHECK(slurp(part / "sobol.csv") == slurp(full / "sobol.csv"));
  CHECK(slurp(part / "samples.csv") == slurp(full / "samples.csv"));
  // a checkpoint that rank 0 cannot write stops both processes (none waits for the other),
  // exit 1 with the reason; resumed, the study gives the single-process results. The file-size
  // limit is set in each process, under mpirun (mpirun's own shared memory needs more).
  const fs::path limited = scratch("mpi-checkpoint"), grid = scratch("mpi-checkpoint-1");
  const std::string file = "tests/testdata/studies/grid_many.yaml";
  Result cut = run_gpumm("study " + file + " -q -o '" + limited.string() + "'\"", kSource,
                         kMpi2 + " sh -c \"trap '' XFSZ; ulimit -f 4; exec");
  CHECK(cut.code == 1);
  CHECK(cut.err.find("gpumm: study failed: cannot write the checkpoint " + limited.string() +
                     "/.checkpoint.bin: File too large") != std::string::npos);
  REQUIRE(run_gpumm("study " + file + " -q --resume -o '" + limited.string() + "'", kSource, kMpi2).code == 0);
  REQUIRE(run_gpumm("study " + file + " -q -o '" + grid.string() + "'").code == 0);
  CHECK(slurp(limited / "samples.csv") == slurp(grid / "samples.csv"));
  // a run is not shared: rank 0 does it once, the other process nothing
  const fs::path once = scratch("mpi-run"), alone = scratch("mpi-run-alone");
  Result run2 = run_gpumm("run inputs/base.yaml -o '" + once.string() + "'", kSource, kMpi2);
  CHECK(run2.code == 0);
  size_t reports = 0;
  for (size_t at = run2.out.find("output  "); at != std::string::npos; at = run2.out.find("output  ", at + 1)) ++reports;
  CHECK(reports == 1);
  REQUIRE(run_gpumm("run inputs/base.yaml -q -o '" + alone.string() + "'").code == 0);
  CHECK(slurp(once / "summary.csv") == slurp(alone / "summary.csv"));
  // a refusal on rank 0 (a folder gpumm did not write) ends every process
  const fs::path foreign = scratch("mpi-foreign");
  fs::create_directories(foreign);
  std::ofstream(foreign / "notes.txt") << "mine";
  Result refused = run_gpumm("study tests/testdata/studies/sobol_small.yaml -o '" + foreign.string() + "'", kSource, kMpi2);
  CHECK(refused.code != 0);
  CHECK(refused.err.find("gpumm:") != std::string::npos);
  CHECK(slurp(foreign / "notes.txt") == "mine");
}
#endif

TEST_CASE("cli: a study stopped by Ctrl-C or SIGTERM saves the runs in flight, says how to finish, and resumes exactly") {
  const std::string file = "tests/testdata/studies/sobol_small.yaml";
  const fs::path part = scratch("stopped"), full = scratch("stopped-full");
  REQUIRE(run_gpumm("study " + file + " -q -o '" + full.string() + "'").code == 0);
  // Ctrl-C after the 5th run (the test hook raises SIGINT there, as the terminal would)
  Result stopped = run_gpumm("study " + file + " --threads 1 -o '" + part.string() + "'", kSource,
                             "GPUMM_TEST_STOP_AFTER_RUNS=5");
  CHECK(stopped.code == 128 + 2);
  CHECK(stopped.err == "gpumm: study stopped (Ctrl-C): 5 of 64 runs are saved in " + part.string() +
                           "; the same command with --resume finishes the study\n");
  CHECK_FALSE(fs::exists(part / "samples.csv"));
  Result resumed = run_gpumm("study " + file + " --resume -o '" + part.string() + "'");
  REQUIRE(resumed.code == 0);
  CHECK(resumed.out.find("resumed           5 of 64 runs from the checkpoint") != std::string::npos);
  for (const char* f : {"samples.csv", "sobol.csv", "sobol_periods.csv", "manifest.yaml"})
    CHECK_MESSAGE(slurp(full / f) == slurp(part / f), std::string(f));
  // SIGTERM from outside (a batch scheduler at the end of a job's time), once runs are saved
  const fs::path big = scratch("stopped-term"), err = scratch("stopped-term.err");
  const std::string cmd = "cd '" + kSource.string() + "' && { '" + kBin + "' study inputs/studies/sobol.yaml -q -o '" +
                          big.string() + "' 2>'" + err.string() + "' & pid=$!; for i in $(seq 1000); do [ -s '" + big.string() +
                          "/.checkpoint.bin' ] && break; sleep 0.02; done; kill -TERM $pid; wait $pid; }";
  const int status = std::system(cmd.c_str());
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 128 + 15);
  CHECK(slurp(err).starts_with("gpumm: study stopped (SIGTERM): "));
  CHECK(slurp(err).ends_with(" of 1792 runs are saved in " + big.string() +
                             "; the same command with --resume finishes the study\n"));
  CHECK(fs::file_size(big / ".checkpoint.bin") > 0);
}

TEST_CASE("cli: the Sobol headline shown in the README is what the example study prints") {
  const std::string readme = slurp(kSource / "README.md");
  const size_t a = readme.find("```\n  periods_in_structural_shortage: largest total Sobol' indices");
  REQUIRE(a != std::string::npos);
  const std::string block = readme.substr(a + 4, readme.find("```", a + 4) - a - 4);
  const fs::path out = scratch("readme-sobol");
  Result r = run_gpumm("study inputs/studies/sobol.yaml -o '" + out.string() + "'");
  REQUIRE(r.code == 0);
  CHECK(r.out.find(block) != std::string::npos);
  for (const std::string& line : lines(r.out))
    if (line.starts_with("    ")) CHECK_MESSAGE(line.size() <= 80, line);
  // the README's figures for the third output: interactions decide how long a shortage goes unseen
  const fs::path csv = out / "sobol.csv";
  const auto output = column(csv, "output"), parameter = column(csv, "parameter"), first = column(csv, "first_order"),
             total = column(csv, "total");
  std::map<std::string, std::pair<double, double>> lag;  // parameter: first order, total
  double first_sum = 0;
  for (size_t i = 0; i < output.size(); ++i)
    if (output[i] == "periods_before_shortage_seen_in_real_time") {
      lag[parameter[i]] = {std::stod(first[i]), std::stod(total[i])};
      first_sum += std::stod(first[i]);
    }
  REQUIRE(lag.size() == 5);
  CHECK(lag.at("programs.openai_frontier.growth_per_year").second == doctest::Approx(0.69).epsilon(0.01));
  CHECK(lag.at("programs.openai_frontier.growth_per_year").first == doctest::Approx(0.32).epsilon(0.02));
  CHECK(lag.at("inference.chatgpt.tokens_per_user.growth_per_year").second == doctest::Approx(0.57).epsilon(0.01));
  CHECK(lag.at("inference.chatgpt.tokens_per_user.growth_per_year").first == doctest::Approx(0.14).epsilon(0.03));
  CHECK(first_sum == doctest::Approx(0.71).epsilon(0.01));
}

TEST_CASE("cli: resuming with a different study is refused") {
  const fs::path part = scratch("resume-other");
  Result killed = run_gpumm("study tests/testdata/studies/sobol_small.yaml -q -o '" + part.string() + "'", kSource,
                            "GPUMM_TEST_KILL_AFTER_RUNS=3");
  CHECK(killed.code == 128 + 9);
  // the same parameters with another seed make another manifest
  const fs::path other = scratch("other-study.yaml");
  std::string text = slurp(kSource / "tests/testdata/studies/sobol_small.yaml");
  replace_once(text, "seed: 5", "seed: 6");
  replace_once(text, "../good_demand.yaml", (kSource / "tests/testdata/good_demand.yaml").string());
  std::ofstream(other) << text;
  Result r = run_gpumm("study '" + other.string() + "' -q --resume -o '" + part.string() + "'");
  CHECK(r.code == 2);
  CHECK(r.err == "gpumm: the checkpoint in " + part.string() + " belongs to another study (seed: 5 -> 6); run "
                 "with --restart to discard it, or choose another folder with -o\n");
  // nor one that draws a seed per run where the first kept the scenario's
  const fs::path seeded = scratch("seeded-study.yaml");
  std::string seeded_text = slurp(kSource / "tests/testdata/studies/sobol_small.yaml");
  replace_once(seeded_text, "../good_demand.yaml", (kSource / "tests/testdata/good_demand.yaml").string());
  std::ofstream(seeded) << seeded_text << "scenario_seed: per_run\n";
  Result per_run = run_gpumm("study '" + seeded.string() + "' -q --resume -o '" + part.string() + "'");
  CHECK(per_run.code == 2);
  CHECK(per_run.err.find("belongs to another study (scenario_seed: fixed -> per_run)") != std::string::npos);
  // nor does the other study, run without --resume, throw the saved runs away unasked
  Result fresh = run_gpumm("study '" + other.string() + "' -q -o '" + part.string() + "'");
  CHECK(fresh.code == 2);
  CHECK(fresh.err == "gpumm: the checkpoint in " + part.string() + " belongs to another study (seed: 5 -> 6) "
                     "whose interrupted runs it saved; run with --restart to discard it, or choose another folder with -o\n");
  CHECK(fs::file_size(part / ".checkpoint.bin") > 0);
  // the study that made it resumes it by another path, from another folder: the paths by which
  // the study and its scenario are named are not the study
  const fs::path copy = scratch("resume-copy");
  fs::copy(part, copy);
  Result elsewhere = run_gpumm("study '" + (kSource / "tests/testdata/studies/sobol_small.yaml").string() +
                                   "' --resume -o '" + copy.string() + "'",
                               kSource / "tests");
  CHECK(elsewhere.code == 0);
  CHECK(elsewhere.out.find("resumed           3 of ") != std::string::npos);
  CHECK(run_gpumm("study '" + other.string() + "' -q --restart -o '" + part.string() + "'").code == 0);
  CHECK(fs::exists(part / "sobol.csv"));
}

TEST_CASE("cli: a study run again without --resume keeps what its checkpoint saved, and says how to go on") {
  const std::string file = "tests/testdata/studies/sobol_small.yaml";
  const fs::path part = scratch("again"), full = scratch("again-full");
  REQUIRE(run_gpumm("study " + file + " -q -o '" + full.string() + "'").code == 0);
  CHECK(run_gpumm("study " + file + " -q --threads 1 -o '" + part.string() + "'", kSource, "GPUMM_TEST_KILL_AFTER_RUNS=5")
            .code == 128 + 9);
  const auto saved = fs::file_size(part / ".checkpoint.bin");
  // the same command again (the usual slip at night): refused, the checkpoint kept
  Result again = run_gpumm("study " + file + " -o '" + part.string() + "'");
  CHECK(again.code == 2);
  CHECK(again.err == "gpumm: " + part.string() + " holds the checkpoint of this study, interrupted after 5 of 64 "
                     "runs: run again with --resume to finish it, or with --restart to discard them and start over\n");
  CHECK(fs::file_size(part / ".checkpoint.bin") == saved);
  CHECK(run_gpumm("study " + file + " -q --resume --restart -o '" + part.string() + "'").code == 2);
  // --restart starts over (and gets the same results)
  Result restarted = run_gpumm("study " + file + " --restart -o '" + part.string() + "'");
  REQUIRE(restarted.code == 0);
  CHECK(restarted.out.find("resumed") == std::string::npos);
  CHECK(slurp(part / "samples.csv") == slurp(full / "samples.csv"));
  // killed before it saved a whole run (its checkpoint empty), the study simply starts again
  fs::remove_all(part);
  CHECK(run_gpumm("study " + file + " -q -o '" + part.string() + "'", kSource, "GPUMM_TEST_KILL_AFTER_RUNS=1").code ==
        128 + 9);
  fs::resize_file(part / ".checkpoint.bin", 8);
  CHECK(run_gpumm("study " + file + " -q -o '" + part.string() + "'").code == 0);
  CHECK(slurp(part / "samples.csv") == slurp(full / "samples.csv"));
}

TEST_CASE("cli: sweeps move one parameter at a time over its points, grids cover every combination") {
  const fs::path sweep = scratch("study-sweep"), grid = scratch("study-grid");
  REQUIRE(run_gpumm("study tests/testdata/studies/sweep_small.yaml -q -o '" + sweep.string() + "'").code == 0);
  REQUIRE(run_gpumm("study tests/testdata/studies/grid_small.yaml -q -o '" + grid.string() + "'").code == 0);
  // capex 10, 30, 50 with the cap at its base (2), then the cap 1, 2, 3 with capex at its base (30)
  CHECK(column(sweep / "samples.csv", "firms.google.capex.2026 ($B)") == std::vector<std::string>{"10", "30", "50", "30", "30", "30"});
  CHECK(column(sweep / "samples.csv", "regions.us_east.interconnect_cap (GW/y)") == std::vector<std::string>{"2", "2", "2", "1", "2", "3"});
  auto capex = column(grid / "samples.csv", "firms.google.capex.2026 ($B)");
  auto cap = column(grid / "samples.csv", "regions.us_east.interconnect_cap (GW/y)");
  REQUIRE(capex.size() == 9);
  std::set<std::pair<std::string, std::string>> combos;
  for (size_t i = 0; i < capex.size(); ++i) combos.emplace(capex[i], cap[i]);
  CHECK(combos.size() == 9);
  // more capex installs more compute
  auto installed = column(sweep / "samples.csv", "final_installed_h100e");
  CHECK(std::stod(installed[2]) > std::stod(installed[0]));
}

TEST_CASE("cli: a Monte Carlo study draws a seed per run, so the scenario's slips vary, and says so") {
  // the base's random draws alone: no parameters, 8 runs, each with its own seed
  const fs::path dir = scratch("slips-only");
  fs::create_directories(dir);
  const std::string head = "scenario: " + (kSource / "inputs/base.yaml").string() + "\nmethod: monte_carlo\n";
  std::ofstream(dir / "slips.yaml") << head << "parameters: []\noutputs: [periods_in_structural_shortage]\nsamples: 8\n";
  Result r = run_gpumm("study '" + (dir / "slips.yaml").string() + "' --threads 2 -o '" + (dir / "out").string() + "'");
  REQUIRE(r.code == 0);
  CHECK(slurp(dir / "out/manifest.yaml").find("\nscenario_seed: per_run\n") != std::string::npos);
  CHECK(unwrapped(r.out).find(", monte_carlo, 8 runs of " + (kSource / "inputs/base.yaml").string() +
                              ", each with a seed of its own, on 2 threads in ") != std::string::npos);
  const auto seeds = column(dir / "out/samples.csv", "scenario_seed");
  const auto months = column(dir / "out/samples.csv", "periods_in_structural_shortage");
  REQUIRE(seeds.size() == 8);
  CHECK(std::set<std::string>(seeds.begin(), seeds.end()).size() == 8);
  std::set<std::string> outcomes(months.begin(), months.end());
  CHECK(outcomes.size() > 1);  // the slips alone move the months of shortage (92 to 98 over 32 seeds)
  // each run is `gpumm run` with its seed; a seed has at most 15 digits, which a spreadsheet keeps
  for (size_t k = 0; k < seeds.size(); ++k) {
    CAPTURE(k);
    CHECK(seeds[k].size() <= 15);
    Result one = run_gpumm("run inputs/base.yaml --seed " + seeds[k] + " -o '" + (dir / "one").string() + "'");
    REQUIRE(one.code == 0);
    CHECK(one.out.find("\n  Structural shortage in " + months[k] + " of 120 periods") != std::string::npos);
  }
  // the same on one thread, and with Sobol' points (of no dimension: the sampler has nothing to do)
  REQUIRE(run_gpumm("study '" + (dir / "slips.yaml").string() + "' -q --threads 1 -o '" + (dir / "one-thread").string() +
                    "'").code == 0);
  CHECK(slurp(dir / "one-thread/samples.csv") == slurp(dir / "out/samples.csv"));
  std::ofstream(dir / "sobol.yaml") << head << "sampler: sobol\nparameters: []\n"
                                    << "outputs: [periods_in_structural_shortage]\nsamples: 8\n";
  REQUIRE(run_gpumm("study '" + (dir / "sobol.yaml").string() + "' -q -o '" + (dir / "sobol").string() + "'").code == 0);
  CHECK(slurp(dir / "sobol/samples.csv") == slurp(dir / "out/samples.csv"));
  // fixed: every run the scenario's seed; without parameters every run would be the same
  std::ofstream(dir / "fixed.yaml") << head << "scenario_seed: fixed\nparameters: []\n"
                                    << "outputs: [periods_in_structural_shortage]\n";
  Result fixed = run_gpumm("study '" + (dir / "fixed.yaml").string() + "' -o '" + (dir / "fixed").string() + "'");
  CHECK(fixed.code == 2);
  CHECK(fixed.err.find("fixed.yaml:4:13: parameters: no parameters and `scenario_seed: fixed`: every run would be the "
                       "same;") != std::string::npos);
  std::ofstream(dir / "typo.yaml") << head << "scenario_seed: per_rn\nparameters: []\n"
                                   << "outputs: [periods_in_structural_shortage]\n";
  Result typo = run_gpumm("validate '" + (dir / "typo.yaml").string() + "'");
  CHECK(typo.code == 2);
  CHECK(typo.err.find("typo.yaml:3:16: scenario_seed: `per_rn`: expected `fixed` or `per_run`; did you mean `per_run`?") !=
        std::string::npos);
  // the example of the draws alone gives what the README shows
  Result example = run_gpumm("study inputs/studies/slips.yaml -o '" + (dir / "example").string() + "'");
  REQUIRE(example.code == 0);
  const std::string readme = slurp(kSource / "README.md");
  const std::string shown = "  periods_in_structural_shortage: 92 to 98 over 32 runs (P5 93, P50 96, P95 97)\n"
                            "  mean_mismatch_index_frac: 0.305 to 0.341 over 32 runs (P5 0.309, P50 0.322,\n"
                            "    P95 0.338)\n";
  CHECK(example.out.find(shown) != std::string::npos);
  CHECK(readme.find("runs of the base):\n\n```\n" + shown + "```\n") != std::string::npos);
  // and of the misreading: the shortage goes 24 to 27 months unseen in real time in every draw
  CHECK(unwrapped(example.out).find("periods_before_shortage_seen_in_real_time: 24 to 27 over 32 runs") != std::string::npos);
  // the other methods keep the scenario's seed: no seed column
  Result tornado = run_gpumm("study tests/testdata/studies/tornado_small.yaml -q -o '" + (dir / "tornado").string() + "'");
  REQUIRE(tornado.code == 0);
  CHECK(lines(slurp(dir / "tornado/samples.csv")).at(0).find("scenario_seed") == std::string::npos);
  CHECK(slurp(dir / "tornado/manifest.yaml").find("\nscenario_seed: fixed\n") != std::string::npos);
}
