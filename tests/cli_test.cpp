// End-to-end tests of the gpumm program: run it as a user would and read what it leaves.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <algorithm>
#include <array>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <string_view>

#include "cli.hpp"
#include "slurp.hpp"
#include "gpumm/compare.hpp"
#include "gpumm/episodes.hpp"
#include "gpumm/io.hpp"
#include "gpumm/market.hpp"
#include "gpumm/study.hpp"
#include "scratch_dir.hpp"

namespace fs = std::filesystem;

namespace {

const fs::path kSource = GPUMM_SOURCE_DIR;
const std::string kBin = GPUMM_BIN;

struct Result {
  int code = -1;
  std::string out, err;
};

using gpumm::testing::slurp;

// The note on a falling spot in a shortage, with the base's market settings (a climb of at most
// 42% a year, 5.1 years from its floor to its reference, as market_test works out by hand).
std::string spot_note() {
  return gpumm::spot_in_shortage_note(gpumm::load_scenario_file((kSource / "inputs/base.yaml").string()).market);
}

// This process's scratch folder, removed when the process ends.
const fs::path& scratch_root() {
  static const gpumm::testing::ScratchDir dir("gpumm-cli-test");
  return dir.path();
}

fs::path scratch(const std::string& name) {
  fs::path p = scratch_root() / name;
  fs::remove_all(p);
  fs::create_directories(p.parent_path());
  return p;
}

// Run `gpumm ARGS` in `cwd` with optional environment prefix; capture exit code and streams.
Result run_gpumm(const std::string& args, const fs::path& cwd = kSource, const std::string& env = "") {
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
Result run_on_terminal(const std::string& args) {
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
void replace_once(std::string& text, std::string_view from, std::string_view to) {
  const size_t at = text.find(from);
  REQUIRE_MESSAGE(at != std::string::npos, "not in the text: " << std::string(from));
  text.replace(at, from.size(), to);
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> v;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    if (!l.empty() && l.back() == '\r') l.pop_back();
    v.push_back(l);
  }
  return v;
}

std::string join(const std::vector<std::string>& cols) {
  std::string s;
  for (const auto& c : cols) s += (s.empty() ? "" : ",") + c;
  return s;
}

const char* kFiles[] = {"summary.csv",  "firms.csv",    "regions.csv",   "timeseries.csv",
                        "projects.csv", "episodes.csv", "contracts.csv", "market.csv",
                        "warnings.csv", "verdict.txt",  "scenario.resolved.yaml"};

// The cells of one CSV row (RFC 4180: quoted cells may hold commas and doubled quotes).
std::vector<std::string> cells(const std::string& row) {
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
std::vector<std::string> column(const fs::path& file, const std::string& name) {
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
std::map<std::string, double> months_by_date(const fs::path& run) {
  const auto dates = column(run / "summary.csv", "date"), days = column(run / "summary.csv", "period_days");
  std::map<std::string, double> months;
  for (size_t t = 0; t < dates.size(); ++t) months[dates[t]] = std::stod(days[t]) / (365.2425 / 12);
  return months;
}
}  // namespace

TEST_CASE("cli: --help teaches with an example, --version names the version") {
  Result h = run_gpumm("--help");
  CHECK(h.code == 0);
  CHECK(h.out.find("Usage:") != std::string::npos);
  CHECK(h.out.find("gpumm run inputs/base.yaml -o out/base") != std::string::npos);
  // it points to the pages that list what it cannot: every key and metric of a study
  CHECK(h.out.find("docs/study.md lists every\n      key of a study file and every metric") != std::string::npos);
  CHECK(fs::exists(kSource / "docs/study.md"));
  Result v = run_gpumm("--version");
  CHECK(v.code == 0);
  CHECK(v.out == std::string("gpumm ") + GPUMM_VERSION + "\n");
}

TEST_CASE("cli: each command's --help gives its part of the help and its example, and every example runs") {
  const std::string all = run_gpumm("--help").out;
  for (const std::string cmd : {"run", "explain", "diff", "study", "validate"}) {
    CAPTURE(cmd);
    Result h = run_gpumm(cmd + " --help");
    CHECK(h.code == 0);
    CHECK(h.out.rfind("Usage:\n  gpumm " + cmd + " ", 0) == 0);
    CHECK(h.out.find("\nExample:\n  gpumm " + cmd + " inputs/") != std::string::npos);
    CHECK(h.out.ends_with("\n`gpumm --help` shows every command, the output files and the exit codes.\n"));
    CHECK(h.out.size() < all.size() / 2);
    // its part, word for word: the usage up to the next command
    const size_t at = all.find("  gpumm " + cmd + " ");
    REQUIRE(at != std::string::npos);
    CHECK(h.out.find(all.substr(at, all.find("\n  gpumm ", at) + 1 - at)) == 7);  // after "Usage:\n"
    CHECK(run_gpumm("help " + cmd).out == h.out);
    CHECK(run_gpumm(cmd + " inputs/base.yaml -h").out == h.out);
  }
  CHECK(run_gpumm("run --help").out.find("\nOutput files:\n  summary.csv ") != std::string::npos);
  Result wrong = run_gpumm("help rnu");
  CHECK(wrong.code == 2);
  CHECK(wrong.err.substr(0, wrong.err.find('\n')) == "gpumm: no command `rnu`; did you mean `run`?");
  CHECK(run_gpumm("frobnicate --help").out == all);
  // a usage problem of a command points to that command's help; one of no command to the whole
  CHECK(run_gpumm("run").err == "gpumm: run needs a scenario file, e.g. `gpumm run inputs/base.yaml`\n"
                                "Try `gpumm run --help`.\n");
  CHECK(run_gpumm("study inputs/studies/tornado.yaml --thread 2").err.ends_with("\nTry `gpumm study --help`.\n"));
  CHECK(run_gpumm("diff inputs/base.yaml").err.ends_with("\nTry `gpumm diff --help`.\n"));
  CHECK(run_gpumm("validate").err.ends_with("\nTry `gpumm validate --help`.\n"));
  CHECK(run_gpumm("rn inputs/base.yaml").err.ends_with("\nTry `gpumm --help`.\n"));
  // the examples do what the help says they do (with their folders in scratch)
  const fs::path dir = scratch("help-examples");
  int ran = 0;
  for (const std::string& line : lines(all.substr(all.find("\nExamples:\n")))) {
    if (!line.starts_with("  gpumm ")) continue;
    std::string args = line.substr(8);
    if (const size_t o = args.find(" -o "); o != std::string::npos) args.erase(o);
    if (!args.starts_with("validate") && !args.starts_with("explain"))
      args += " -q -o '" + (dir / std::to_string(ran)).string() + "'";
    Result r = run_gpumm(args);
    CAPTURE(args);
    CHECK(r.code == 0);
    if (args.starts_with("explain")) CHECK(r.out.rfind("No: meta's surplus in 2027-06 is a local, temporary mismatch; "
                                                       "the market is balanced.", 0) == 0);
    if (args.starts_with("study")) CHECK(fs::exists(dir / std::to_string(ran) / "tornado.csv"));
    ++ran;
  }
  CHECK(ran == 5);
}

TEST_CASE("cli: usage errors exit 2 and say what to do") {
  Result none = run_gpumm("");
  CHECK(none.code == 2);
  Result unknown = run_gpumm("simulate inputs/base.yaml");
  CHECK(unknown.code == 2);
  CHECK(unknown.err.find("unknown command `simulate`") != std::string::npos);
  CHECK(run_gpumm("rn inputs/base.yaml").err.find("gpumm: unknown command `rn`; did you mean `run`?\n") == 0);
  CHECK(run_gpumm("valdate inputs/base.yaml").err.find("did you mean `validate`?") != std::string::npos);
  CHECK(run_gpumm("run").code == 2);
  CHECK(run_gpumm("run inputs/base.yaml --seed abc").code == 2);
  CHECK(run_gpumm("run inputs/base.yaml --frobnicate").code == 2);
  Result missing = run_gpumm("run no-such-file.yaml");
  CHECK(missing.code == 2);
  CHECK(missing.err.find("no-such-file.yaml: no such file") != std::string::npos);
}

TEST_CASE("cli: a misspelt option gets the closest one and an option without its value says so") {
  const auto first_line = [](const Result& r) { return r.err.substr(0, r.err.find('\n')); };
  Result seed = run_gpumm("run inputs/base.yaml --sed 3");
  CHECK(seed.code == 2);
  CHECK(first_line(seed) == "gpumm: unknown option `--sed` for run; did you mean `--seed`?");
  Result threads = run_gpumm("study inputs/studies/tornado.yaml --thread 2");
  CHECK(threads.code == 2);
  CHECK(first_line(threads) == "gpumm: unknown option `--thread` for study; did you mean `--threads`?");
  CHECK(first_line(run_gpumm("explain inputs/base.yaml --frim meta --date 2026-07")) ==
        "gpumm: unknown option `--frim` for explain; did you mean `--firm`?");
  CHECK(first_line(run_gpumm("run inputs/base.yaml -quiet")) ==
        "gpumm: unknown option `-quiet` for run; did you mean `--quiet`?");
  // a short option gets no far-fetched guess
  CHECK(first_line(run_gpumm("run inputs/base.yaml -x")) == "gpumm: unknown option `-x` for run");
  // the next option is not taken as the value; a negative number is, and is refused by its range
  Result no_value = run_gpumm("study inputs/studies/tornado.yaml --threads -q");
  CHECK(no_value.code == 2);
  CHECK(first_line(no_value) == "gpumm: --threads needs a number");
  CHECK(first_line(run_gpumm("run inputs/base.yaml -o --quiet")) == "gpumm: -o needs a folder");
  CHECK(first_line(run_gpumm("run inputs/base.yaml --seed -q")) == "gpumm: --seed needs a whole number");
  CHECK(first_line(run_gpumm("study inputs/studies/tornado.yaml --threads -1")) ==
        "gpumm: --threads `-1`: expected a whole number from 1 to 1024");
  // an empty folder (`-o "$OUT"` with OUT unset) is refused, not taken for the default folder
  for (const std::string cmd : {"run inputs/base.yaml -o ''", "study inputs/studies/tornado.yaml --output ''",
                                "diff inputs/base.yaml inputs/cases/glut.yaml -o ''"}) {
    Result r = run_gpumm(cmd);
    CHECK(r.code == 2);
    CHECK(first_line(r) == "gpumm: " + std::string(cmd.find("--output") != std::string::npos ? "--output" : "-o") +
                               " needs a folder, and got an empty value (an unset variable?)");
  }
}

TEST_CASE("cli: a run prints its first three warnings and names the codes of the rest, all in warnings.csv") {
  // a seller with 30,000 H100 that sold 90,000 five times over, a deal a month from March 2024:
  // the first deal takes all it has, the others find nothing left
  const fs::path out = scratch("oversold");
  Result r = run_gpumm("run tests/testdata/oversold.yaml -o '" + out.string() + "'");
  REQUIRE(r.code == 0);
  const std::string in_force = " H100e in force (0%; contracts.csv has the shortfall of every period)\n";
  CHECK(r.out.find("  warning: 2024-03-01: contract_shortfall: seller meta lacks the capacity of contract deal_1: "
                   "it delivers 30.0k of the 90.0k H100e in force (33.3%; contracts.csv has the shortfall of every "
                   "period)\n"
                   "  warning: 2024-04-01: contract_shortfall: seller meta lacks the capacity of contract deal_2: "
                   "it delivers 0 of the 90.0k" + in_force +
                   // deal_3 ramps over 6 months (184 days): May is 31 / (2 x 184) of it
                   "  warning: 2024-05-01: contract_shortfall: seller meta lacks the capacity of contract deal_3: "
                   "it delivers 0 of the 7582" + in_force +
                   "  ... and 2 more warnings: contract_shortfall (all 5 in warnings.csv)\n") != std::string::npos);
  const auto rows = lines(slurp(out / "warnings.csv"));
  REQUIRE(rows.size() == 6);
  CHECK(rows[0] == join(gpumm::warnings_columns()));
  CHECK(rows[5] == "2024-07-01,contract_shortfall,seller meta lacks the capacity of contract deal_5: it delivers 0 of "
                   "the 90.0k H100e in force (0%; contracts.csv has the shortfall of every period)");
}

TEST_CASE("cli: the base scenario runs and writes every file with the documented columns") {
  const fs::path out = scratch("base");
  Result r = run_gpumm("run inputs/base.yaml -o '" + out.string() + "'");
  REQUIRE(r.code == 0);
  CHECK(r.out.find("base, 2023-01-01 to 2032-12-31, 120 months") != std::string::npos);
  CHECK(r.out.find("final installed") != std::string::npos);
  CHECK(r.out.find("peak stranded") != std::string::npos);
  // the spot index from start to end with its extremes, as summary.csv has them
  CHECK(r.out.find("\n  spot index        $8.00 per H100e-hour at the start, $0.66 at the end (highest $11.35 in 2024-01, "
                   "lowest $0.50 in 2031-10)\n") != std::string::npos);
  {
    const auto spot = column(out / "summary.csv", "spot_usd_per_h100e_hour");
    const auto dates = column(out / "summary.csv", "date");
    const auto hi = std::max_element(spot.begin(), spot.end(), [](auto& a, auto& b) { return std::stod(a) < std::stod(b); });
    const auto lo = std::min_element(spot.begin(), spot.end(), [](auto& a, auto& b) { return std::stod(a) < std::stod(b); });
    CHECK(dates[static_cast<size_t>(hi - spot.begin())].substr(0, 7) == "2024-01");
    CHECK(dates[static_cast<size_t>(lo - spot.begin())].substr(0, 7) == "2031-10");
    CHECK(std::stod(*hi) == doctest::Approx(11.35).epsilon(0.0005));
    CHECK(std::stod(spot.back()) == doctest::Approx(0.66).epsilon(0.01));
  }
  // what the firms' spare capacity was over the run, its three largest causes, as firms.csv has it
  {
    auto months = months_by_date(out);
    const auto firm_dates = column(out / "firms.csv", "date"), spare = column(out / "firms.csv", "spare_h100e"),
               sold = column(out / "firms.csv", "spare_sold_to_short_firms_h100e");
    double total = 0, sold_total = 0;
    for (size_t i = 0; i < firm_dates.size(); ++i) {
      total += std::stod(spare[i]) * months[firm_dates[i]];
      sold_total += std::stod(sold[i]) * months[firm_dates[i]];
    }
    char line[160];
    std::snprintf(line, sizeof line, "\n  firms' spare      %.1fB H100e-months over the run: %.0f%% sold to firms short of capacity, ",
                  total / 1e9, 100 * sold_total / total);
    CHECK_MESSAGE(r.out.find(line) != std::string::npos, line);
    std::snprintf(line, sizeof line, "\nAll firms' spare capacity over the run, %.1fM H100e-months: %.0f%% sold to firms short of capacity, ",
                  total / 1e6, 100 * sold_total / total);
    CHECK_MESSAGE(slurp(out / "verdict.txt").find(line) != std::string::npos, line);
  }
  CHECK(r.out.find(out.string()) != std::string::npos);
  CHECK(std::count(r.out.begin(), r.out.end(), '\n') < 20);  // a short summary
  // the README shows this summary: each of its lines is printed (but where the output went, and
  // the part a "(...)" stands for)
  {
    const std::string readme = slurp(kSource / "README.md");
    const size_t from = readme.find("```\ngpumm " GPUMM_VERSION ": base, ");
    REQUIRE(from != std::string::npos);
    const std::string block = readme.substr(from + 4, readme.find("```", from + 4) - from - 4);
    int compared = 0;
    for (const std::string& line : lines(block)) {
      if (line.empty() || line.starts_with("  output ")) continue;
      const std::string shown = line.ends_with("(...)") ? line.substr(0, line.size() - 5) : line;
      CHECK_MESSAGE(r.out.find(shown) != std::string::npos, shown);
      ++compared;
    }
    CHECK(compared >= 9);
  }
  CHECK(r.out.find("warning:") == std::string::npos);
  for (const char* f : kFiles) CHECK_MESSAGE(fs::exists(out / f), std::string(f));

  auto summary = lines(slurp(out / "summary.csv"));
  REQUIRE(summary.size() == 121);
  CHECK(summary[0] == join(gpumm::summary_columns()));
  CHECK(summary[1].rfind("2023-01-01,2023-01-31,31,", 0) == 0);
  CHECK(summary[120].rfind("2032-12-01,2032-12-31,31,", 0) == 0);
  CHECK(lines(slurp(out / "firms.csv"))[0] == join(gpumm::firms_columns()));
  CHECK(lines(slurp(out / "firms.csv")).size() == 1 + 120 * 12);
  {
    // a firm's spare capacity (idle or sold) is split into its causes without remainder
    const auto spare = column(out / "firms.csv", "spare_h100e");
    std::vector<std::vector<std::string>> parts;
    for (const char* c : {"spare_slipped_project_h100e", "spare_take_or_pay_h100e", "spare_generation_transition_h100e",
                          "spare_stranded_h100e", "spare_sold_to_short_firms_h100e", "spare_custom_accelerator_h100e",
                          "spare_region_mismatch_h100e", "spare_weak_demand_h100e"})
      parts.push_back(column(out / "firms.csv", c));
    REQUIRE(spare.size() == 120 * 12);
    const auto main_cause = column(out / "firms.csv", "spare_main_cause");
    for (size_t i = 0; i < spare.size(); ++i) {
      double sum = 0;
      size_t most = 0;
      for (size_t k = 0; k < parts.size(); ++k) {
        CHECK(std::stod(parts[k][i]) >= 0);
        sum += std::stod(parts[k][i]);
        if (std::stod(parts[k][i]) > std::stod(parts[most][i])) most = k;
      }
      CHECK(sum == doctest::Approx(std::stod(spare[i])).epsilon(1e-9).scale(1));
      CHECK(std::stod(spare[i]) >= 0);
      // the largest cause, named (the columns above are in the order of the causes)
      CHECK(main_cause[i] == (std::stod(spare[i]) > 0 ? gpumm::kSpareCauses[most].id : ""));
    }
    // and so is each episode's, in shares; in the base, what sellers have beyond their own needs
    // is mostly bought by firms short of capacity, and Amazon's idle Trainium no one short may use
    std::vector<std::vector<std::string>> shares;
    for (const char* c : {"slipped_training_project_share", "take_or_pay_share", "generation_transition_share",
                          "stranded_share", "sold_to_short_firms_share", "custom_accelerator_share",
                          "region_mismatch_share", "weak_demand_share"})
      shares.push_back(column(out / "episodes.csv", c));
    const auto firm = column(out / "episodes.csv", "firm"), cause = column(out / "episodes.csv", "main_cause");
    REQUIRE(!firm.empty());
    int sold = 0;
    double amazon_custom = 0;
    for (size_t i = 0; i < firm.size(); ++i) {
      double sum = 0;
      for (const auto& p : shares) sum += std::stod(p[i]);
      CHECK(sum == doctest::Approx(1.0));
      sold += cause[i] == "sold_to_short_firms";
      if (firm[i] == "amazon") amazon_custom = std::max(amazon_custom, std::stod(shares[5][i]));
    }
    CHECK(sold >= 5);
    CHECK(amazon_custom > 0.02);
  }
  CHECK(lines(slurp(out / "regions.csv"))[0] == join(gpumm::regions_columns()));
  // the README names every column of these files
  const std::string readme = slurp(kSource / "README.md");
  for (const auto* cols : {&gpumm::summary_columns(), &gpumm::firms_columns(), &gpumm::regions_columns(),
                           &gpumm::contracts_columns(), &gpumm::market_columns(), &gpumm::warnings_columns()})
    for (const std::string& c : *cols) CHECK_MESSAGE(readme.find("`" + c + "`") != std::string::npos, c);
  // contracts and the market: every announced deal appears, the market has rows every period
  const std::string contracts = slurp(out / "contracts.csv");
  CHECK(lines(contracts)[0] == join(gpumm::contracts_columns()));
  for (const char* deal : {"meta_coreweave_2025", "meta_nebius_firm", "openai_oracle", "openai_coreweave",
                           "microsoft_nebius", "backstop:nvidia"})
    CHECK_MESSAGE(contracts.find(deal) != std::string::npos, std::string(deal));
  auto market = lines(slurp(out / "market.csv"));
  CHECK(market[0] == join(gpumm::market_columns()));
  // no warning: every seller has the capacity of its deals as their ramps put them in force
  CHECK(lines(slurp(out / "warnings.csv")) == std::vector<std::string>{join(gpumm::warnings_columns())});
  CHECK(market.size() > 120 * 7);
  CHECK(lines(slurp(out / "regions.csv")).size() == 1 + 120 * 7);
  auto ts = lines(slurp(out / "timeseries.csv"));
  CHECK(ts[0] == "date,firm,region,generation,metric,value,unit");
  CHECK(ts.size() > 10000);

  // demand: training, inference and other all appear; every frontier project is listed
  auto projects = lines(slurp(out / "projects.csv"));
  CHECK(projects[0] == join(gpumm::projects_columns()));
  CHECK(projects.size() > 50);
  int done = 0;
  for (const auto& l : projects) done += l.find(",done") != std::string::npos;
  CHECK(done > 10);
  CHECK(ts[0] == "date,firm,region,generation,metric,value,unit");
  const std::string all_ts = slurp(out / "timeseries.csv");
  for (const char* metric : {",demand_training,", ",demand_inference,", ",demand_other,", ",unserved,",
                             ",used_training,", ",used_inference,", ",used_other,", ",idle,"})
    CHECK_MESSAGE(all_ts.find(metric) != std::string::npos, std::string(metric));

  // every row of every CSV has as many fields as its header (no text holds a comma)
  for (const char* f : {"summary.csv", "firms.csv", "regions.csv", "timeseries.csv", "projects.csv",
                        "episodes.csv", "contracts.csv", "market.csv"}) {
    auto rows = lines(slurp(out / f));
    const auto fields = [](const std::string& l) { return std::count(l.begin(), l.end(), ',') + 1; };
    bool same = true;
    for (const auto& l : rows) same = same && fields(l) == fields(rows[0]);
    CHECK_MESSAGE(same, std::string(f));
  }
  // summary mentions the seed and version for reproduction
  const std::string resolved = slurp(out / "scenario.resolved.yaml");
  CHECK(resolved.find("seed: 42") != std::string::npos);
  CHECK(resolved.find(std::string("gpumm ") + GPUMM_VERSION) != std::string::npos);
}

TEST_CASE("cli: idle capacity adds up across the files, stocks follow their flows, no rounding dust") {
  const fs::path out = scratch("base-idle");
  REQUIRE(run_gpumm("run inputs/base.yaml -q -o '" + out.string() + "'").code == 0);
  // summary.csv's idle H100e per period = the sum over firms = over regions = over the
  // timeseries rows (contracts are in force from 2025: GPUs a seller delivers are idle only
  // where the buyer leaves them)
  const auto sum_by_date = [&](const char* file, const char* value) {
    std::map<std::string, double> by;
    const auto dates = column(out / file, "date"), v = column(out / file, value);
    for (size_t i = 0; i < dates.size(); ++i) by[dates[i]] += std::stod(v[i]);
    return by;
  };
  const auto summary = sum_by_date("summary.csv", "idle_h100e");
  const auto firms = sum_by_date("firms.csv", "idle_h100e"), regions = sum_by_date("regions.csv", "idle_h100e");
  std::map<std::string, double> series;
  {
    const auto dates = column(out / "timeseries.csv", "date"), metric = column(out / "timeseries.csv", "metric"),
               v = column(out / "timeseries.csv", "value");
    for (size_t i = 0; i < dates.size(); ++i)
      if (metric[i] == "idle") series[dates[i]] += std::stod(v[i]);
  }
  REQUIRE(summary.size() == 120);
  for (const auto& [date, idle] : summary) {
    CHECK_MESSAGE(firms.at(date) == doctest::Approx(idle).epsilon(1e-9).scale(1), date);
    CHECK_MESSAGE(regions.at(date) == doctest::Approx(idle).epsilon(1e-9).scale(1), date);
    CHECK_MESSAGE(series[date] == doctest::Approx(idle).epsilon(1e-9).scale(1), date);
  }
  // stocks and flows: installed grows by deliveries less retirements; what is on order or
  // backlogged grows by orders less deliveries and roll-overs (orders due after the horizon
  // stay on order)
  {
    const fs::path f = out / "summary.csv";
    const auto installed = column(f, "installed_gpus"), delivered = column(f, "delivered_gpus"),
               retired = column(f, "retired_gpus"), ordered = column(f, "ordered_gpus"),
               backlog = column(f, "backlog_gpus"), on_order = column(f, "on_order_gpus"),
               rolled = column(f, "rolled_over_gpus");
    for (size_t t = 1; t < installed.size(); ++t) {
      CAPTURE(t);
      CHECK(std::stod(installed[t]) ==
            doctest::Approx(std::stod(installed[t - 1]) + std::stod(delivered[t]) - std::stod(retired[t])).epsilon(1e-9));
      CHECK(std::stod(backlog[t]) + std::stod(on_order[t]) ==
            doctest::Approx(std::stod(backlog[t - 1]) + std::stod(on_order[t - 1]) + std::stod(ordered[t]) -
                            std::stod(delivered[t]) - std::stod(rolled[t])).epsilon(1e-9));
    }
  }
  // a firm's balance: idle + sold - unserved - bought
  {
    const fs::path f = out / "firms.csv";
    const auto bal = column(f, "balance_h100e"), idle = column(f, "idle_h100e"), sold = column(f, "market_sold_h100e"),
               unserved = column(f, "unserved_h100e"), bought = column(f, "market_bought_h100e");
    for (size_t i = 0; i < bal.size(); ++i)
      CHECK(std::stod(bal[i]) == doctest::Approx(std::stod(idle[i]) + std::stod(sold[i]) - std::stod(unserved[i]) -
                                                 std::stod(bought[i])).epsilon(1e-9).scale(1));
  }
  // no quantity is rounding dust: nothing between 0 and a millionth of a GPU, H100e, MW or $
  for (const char* file : {"timeseries.csv", "firms.csv", "regions.csv", "market.csv", "contracts.csv"}) {
    int dust = 0;
    std::string example;
    for (const auto& row : lines(slurp(out / file))) {
      std::istringstream in(row);
      for (std::string cell; std::getline(in, cell, ',');) {
        char* end = nullptr;
        const double x = std::strtod(cell.c_str(), &end);
        if (end != cell.c_str() && *end == '\0' && x != 0 && std::fabs(x) < 1e-6 && dust++ == 0) example = row;
      }
    }
    CHECK_MESSAGE(dust == 0, (std::string(file) + ": " + example));
  }
}

TEST_CASE("cli: the market's accounts close: bids met or unmet, offers matched or idle, matched = bought = sold") {
  // generation-switch rents clusters to training runs that wait for Rubin, month after month
  const fs::path out = scratch("market-accounts");
  REQUIRE(run_gpumm("run inputs/cases/generation-switch.yaml -q -o '" + out.string() + "'").code == 0);
  const fs::path m = out / "market.csv";
  const auto date = column(m, "date"), gen = column(m, "generation"), offers = column(m, "offers_h100e"),
             bids = column(m, "bids_h100e"), matched = column(m, "matched_h100e"), unmet = column(m, "unmet_h100e"),
             idle = column(m, "idle_h100e");
  std::map<std::string, double> matched_offers;
  for (size_t i = 0; i < date.size(); ++i) {
    const double b = std::stod(bids[i]), o = std::stod(offers[i]), x = std::stod(matched[i]);
    if (gen[i] == "all") {
      CHECK(b == doctest::Approx(x + std::stod(unmet[i])).epsilon(1e-9).scale(1));
    } else {
      CHECK(o == doctest::Approx(x + std::stod(idle[i])).epsilon(1e-9).scale(1));
      matched_offers[date[i]] += x;
    }
  }
  std::map<std::string, double> sold, bought;
  {
    const auto d = column(out / "firms.csv", "date"), s = column(out / "firms.csv", "market_sold_h100e"),
               b = column(out / "firms.csv", "market_bought_h100e");
    for (size_t i = 0; i < d.size(); ++i) {
      sold[d[i]] += std::stod(s[i]);
      bought[d[i]] += std::stod(b[i]);
    }
  }
  const auto sd = column(out / "summary.csv", "date"), sm = column(out / "summary.csv", "market_matched_h100e");
  for (size_t i = 0; i < sd.size(); ++i) {
    const double x = std::stod(sm[i]);
    CHECK_MESSAGE(matched_offers[sd[i]] == doctest::Approx(x).epsilon(1e-9).scale(1), sd[i]);
    CHECK_MESSAGE(sold[sd[i]] == doctest::Approx(x).epsilon(1e-9).scale(1), sd[i]);
    CHECK_MESSAGE(bought[sd[i]] == doctest::Approx(x).epsilon(1e-9).scale(1), sd[i]);
  }
}

TEST_CASE("cli: projects.csv counts a superseded run's wait until it was dropped, a waiting one's until the end") {
  const fs::path out = scratch("superseded");
  REQUIRE(run_gpumm("run tests/testdata/superseded.yaml -q -o '" + out.string() + "'").code == 0);
  const auto status = column(out / "projects.csv", "status"), wait = column(out / "projects.csv", "wait_days");
  REQUIRE(status.size() == 4);
  // January, April, July 2025, each to the next quarter's run; October to the end of December
  const char* expect_status[] = {"superseded", "superseded", "superseded", "waiting"};
  const double expect_wait[] = {90, 91, 92, 92};
  for (size_t i = 0; i < 4; ++i) {
    CHECK(status[i] == expect_status[i]);
    CHECK(std::stod(wait[i]) == expect_wait[i]);
  }
}

TEST_CASE("cli: a run at another step than the scenario was calibrated for is warned") {
  const fs::path dir = scratch("step-warning");
  fs::create_directories(dir);
  {
    std::ofstream f(dir / "quarterly.yaml");
    f << "extends: " << (kSource / "inputs/base.yaml").string() << "\nstep: quarter\n";
  }
  Result q = run_gpumm("run '" + (dir / "quarterly.yaml").string() + "' -o '" + (dir / "out").string() + "'");
  CHECK(q.code == 0);
  CHECK(q.out.find("uncalibrated_step: the scenario was calibrated at a monthly step and runs by quarters") !=
        std::string::npos);
  // explain, which prints no warnings otherwise, says so under its answer
  Result e = run_gpumm("explain '" + (dir / "quarterly.yaml").string() + "' --firm meta --date 2026-10");
  CHECK(e.code == 0);
  CHECK(e.out.find("\nNote: the scenario was calibrated at a monthly step and runs by quarters") != std::string::npos);
  CHECK(run_gpumm("explain inputs/base.yaml --firm meta --date 2026-10").out.find("Note:") == std::string::npos);
  // the base at its own step is not warned, and its resolved scenario keeps the key
  const fs::path base = scratch("step-base");
  Result m = run_gpumm("run inputs/base.yaml -o '" + base.string() + "'");
  CHECK(m.out.find("uncalibrated_step") == std::string::npos);
  CHECK(slurp(base / "scenario.resolved.yaml").find("calibrated_step: month") != std::string::npos);
}

TEST_CASE("cli: market.csv prices each generation, the base's H100 spot follows the rental history") {
  const fs::path out = scratch("prices");
  REQUIRE(run_gpumm("run inputs/base.yaml -q -o '" + out.string() + "'").code == 0);
  const auto dates = column(out / "market.csv", "date");
  const auto gens = column(out / "market.csv", "generation");
  const auto spot = column(out / "market.csv", "spot_usd_per_h100e_hour");
  std::map<std::string, double> h100;  // month -> H100 spot
  std::map<std::string, std::set<std::string>> prices;  // month -> distinct generation prices
  for (size_t i = 0; i < dates.size(); ++i) {
    if (gens[i] == "h100") h100[dates[i].substr(0, 7)] = std::stod(spot[i]);
    if (gens[i] != "all") prices[dates[i].substr(0, 7)].insert(spot[i]);
  }
  // calibration notes, "H100 rental price": above $8 in 2023, about $2.99 in Oct 2024, a
  // $1.70 trough in Oct 2025, $2.35-2.65 in 2026; the model within the bands below
  double peak_2023 = 0;
  for (const auto& [m, p] : h100)
    if (m < "2024") peak_2023 = std::max(peak_2023, p);
  CHECK(peak_2023 > 8.0);
  CHECK(h100.at("2024-10") > 2.2);
  CHECK(h100.at("2024-10") < 4.0);
  CHECK(h100.at("2025-10") > 1.2);
  CHECK(h100.at("2025-10") < 2.6);
  CHECK(h100.at("2026-06") > 2.0);
  CHECK(h100.at("2026-06") < 3.2);
  CHECK(h100.at("2026-06") > h100.at("2026-03"));  // the 2026 rebound
  // generations are priced apart once their markets differ
  CHECK(prices.at("2028-06").size() > 3);
}

TEST_CASE("cli: market.csv says when an export rule keeps offers idle, and when the region is just wrong") {
  const fs::path out = scratch("export-rule");
  REQUIRE(run_gpumm("run tests/testdata/export_rule.yaml -q -o '" + out.string() + "'").code == 0);
  const auto gens = column(out / "market.csv", "generation");
  const auto why = column(out / "market.csv", "idle_reason");
  int n = 0;
  for (size_t i = 0; i < gens.size(); ++i)
    if (gens[i] == "h100") {
      CHECK(why[i] == "export_rule");
      ++n;
    }
  CHECK(n == 3);
  // without the export control, the same idle offers are in the wrong region (latency group)
  std::string y = slurp(kSource / "tests/testdata/export_rule.yaml");
  replace_once(y, ", excludes: [h100]", "");
  const fs::path dir = scratch("export-rule-open"), yaml = dir / "open.yaml", out2 = dir / "out";
  fs::create_directories(dir);
  std::ofstream(yaml) << y;
  REQUIRE(run_gpumm("run '" + yaml.string() + "' -q -o '" + out2.string() + "'").code == 0);
  const auto gens2 = column(out2 / "market.csv", "generation");
  const auto why2 = column(out2 / "market.csv", "idle_reason");
  for (size_t i = 0; i < gens2.size(); ++i)
    if (gens2[i] == "h100") CHECK(why2[i] == "wrong_region");
}

TEST_CASE("cli: idle offers blamed on cluster size stand next to bids really left unmet in their region") {
  // a bid met up to rounding leaves no unmet residue (1e-26 once named the wrong reason)
  const fs::path out = scratch("idle-reasons");
  REQUIRE(run_gpumm("run inputs/base.yaml -q -o '" + out.string() + "'").code == 0);
  const auto date = column(out / "market.csv", "date"), region = column(out / "market.csv", "region");
  const auto gen = column(out / "market.csv", "generation"), why = column(out / "market.csv", "idle_reason");
  const auto bids = column(out / "market.csv", "bids_h100e"), unmet = column(out / "market.csv", "unmet_h100e");
  std::map<std::pair<std::string, std::string>, std::pair<double, double>> all;  // (date, region) -> bids, unmet
  for (size_t i = 0; i < gen.size(); ++i)
    if (gen[i] == "all") all[{date[i], region[i]}] = {std::stod(bids[i]), std::stod(unmet[i])};
  int blamed = 0;
  for (size_t i = 0; i < gen.size(); ++i) {
    if (why[i] != "cluster_size_or_generation") continue;
    ++blamed;
    const auto [b, u] = all.at({date[i], region[i]});
    INFO(date[i] << " " << region[i] << " " << gen[i]);
    CHECK(u > 1e-9 * b);
  }
  CHECK(blamed > 0);
  for (const auto& [key, bu] : all) CHECK((bu.second == 0 || bu.second > 1e-9 * bu.first));
}

namespace {
// The base scenario with the entries of its top-level map `section` (`firms:`, `regions:`) in
// reverse order, each entry's block of lines moved whole.
std::string base_with_reversed(const std::string& section, size_t entries) {
  const std::vector<std::string> base = lines(slurp(kSource / "inputs/base.yaml"));
  const size_t from = static_cast<size_t>(std::find(base.begin(), base.end(), section) - base.begin());
  REQUIRE(from < base.size());
  size_t to = from + 1;
  while (to < base.size() && (base[to].empty() || base[to][0] == ' ' || base[to][0] == '#')) ++to;
  std::vector<std::vector<std::string>> blocks(1);  // what comes before the first entry, then each entry
  for (size_t i = from + 1; i < to; ++i) {
    if (base[i].size() > 2 && base[i].compare(0, 2, "  ") == 0 && base[i][2] != ' ' && base[i][2] != '#')
      blocks.emplace_back();
    blocks.back().push_back(base[i]);
  }
  REQUIRE(blocks.size() == 1 + entries);
  std::string text;
  for (size_t i = 0; i <= from; ++i) text += base[i] + "\n";
  for (const std::string& l : blocks.front()) text += l + "\n";
  for (size_t b = blocks.size() - 1; b >= 1; --b)
    for (const std::string& l : blocks[b]) text += l + "\n";
  for (size_t i = to; i < base.size(); ++i) text += base[i] + "\n";
  return text;
}
}  // namespace

TEST_CASE("cli: the order in which the base writes its firms, regions, generations, programs, services, workloads or contracts changes no firm's outcome") {
  const fs::path dir = scratch("order");
  fs::create_directories(dir);
  REQUIRE(run_gpumm("run inputs/base.yaml -q -o '" + (dir / "as-written").string() + "'").code == 0);
  // firms.csv row by row, by date and firm: the same text, or numbers equal to rounding (sums
  // over firms or regions run in another order)
  const auto rows_of = [](const fs::path& file) {
    std::map<std::string, std::vector<std::string>> by_key;
    const auto rows = lines(slurp(file));
    for (size_t r = 1; r < rows.size(); ++r) {
      const auto c = cells(rows[r]);
      by_key[c.at(0) + " " + c.at(1)] = c;
    }
    return by_key;
  };
  const auto a = rows_of(dir / "as-written" / "firms.csv");
  REQUIRE(a.size() == 120 * 12);
  const std::vector<std::pair<std::string, size_t>> sections = {
      {"firms:", 12}, {"regions:", 7}, {"generations:", 18}, {"programs:", 5},
      {"inference:", 5}, {"other_demand:", 12}, {"contracts:", 16}};
  for (const auto& [section, entries] : sections) {
    CAPTURE(section);
    const fs::path reversed = dir / ("reversed-" + section.substr(0, section.size() - 1));
    std::ofstream(reversed.string() + ".yaml") << base_with_reversed(section, entries);
    REQUIRE(run_gpumm("run '" + reversed.string() + ".yaml' -q -o '" + reversed.string() + "'").code == 0);
    const auto b = rows_of(reversed / "firms.csv");
    REQUIRE(b.size() == a.size());
    int compared = 0;
    for (const auto& [key, row] : a) {
      const auto it = b.find(key);
      REQUIRE_MESSAGE(it != b.end(), key);
      for (size_t k = 2; k < row.size(); ++k) {
        char* end = nullptr;
        const double x = std::strtod(row[k].c_str(), &end);
        if (row[k].empty() || *end != '\0') {
          CHECK_MESSAGE(row[k] == it->second.at(k), key);
          continue;
        }
        const double y = std::stod(it->second.at(k));
        CHECK_MESSAGE(std::abs(x - y) <= 1e-9 * std::max({1.0, std::abs(x), std::abs(y)}), key << " column " << k);
        ++compared;
      }
    }
    CHECK(compared > 50000);
    // and the market's verdict
    CHECK(column(dir / "as-written" / "summary.csv", "regime") == column(reversed / "summary.csv", "regime"));
  }
}

// A scenario of `firms` firms in 20 regions with 8 generations over two years, monthly: with 70
// firms its timeseries.csv has about 1.1 million rows, and a run takes about half a second.
std::string many_firms_scenario(int firms) {
  std::string y = "name: many-rows\nstart: 2025-01\nend: 2026-12-31\nstep: month\nupstream:\n"
                  "  cowos: {capacity_per_year: 2000000, max_growth_per_year: 0.5}\ngenerations:\n";
  for (int g = 0; g < 8; ++g)
    y += "  g" + std::to_string(g) + ": {family: fam" + std::to_string(g % 2) + ", train_h100e: " + std::to_string(1 + g) +
         ", it_power: " + std::to_string(1 + 0.2 * g) + " kW, first_shipment: " + std::to_string(2021 + 2 * (g / 2)) +
         "-01-01, ramp: 12mo, peak_units_per_year: 3000000, price: $" + std::to_string(20000 + 5000 * g) +
         ", uses: {cowos: 0.05}}\n";
  y += "regions:\n";
  for (int r = 0; r < 20; ++r) y += "  r" + std::to_string(r) + ": {pue: 1.2, interconnect_cap: 3 GW/y}\n";
  y += "firms:\n";
  for (int f = 0; f < firms; ++f) {
    y += "  f" + std::to_string(f) + ":\n    regions: {";
    for (int r = 0; r < 20; ++r) y += (r ? ", r" : "r") + std::to_string(r) + ": 0.05";
    y += "}\n    power_at_start: {r0: 200 MW, r1: 100 MW}\n    fleet_at_start: {g0: 20000, g1: 10000}\n"
         "    family_mix: {fam0: 0.6, fam1: 0.4}\n    capex: {2025: $" + std::to_string(2 + f % 5) + "B, 2026: $" +
         std::to_string(2 + f % 5) + "B}\n"
         "    builds: [{power: 500 MW, commit: 2024-01-01, lead_time: 24mo, stage: permitted}]\n";
  }
  return y;
}

TEST_CASE("cli: durations on progress lines and in summaries read as a person would say them") {
  using gpumm::cli::duration_text;
  CHECK(duration_text(0) == "0 s");
  CHECK(duration_text(0.0432) == "0.043 s");  // a small study: not "0.0 s"
  CHECK(duration_text(3.456) == "3.5 s");
  CHECK(duration_text(9.96) == "10 s");
  CHECK(duration_text(45.4) == "45 s");
  CHECK(duration_text(89.4) == "89 s");
  CHECK(duration_text(182.3) == "3 min 2 s");  // the full-size Sobol study
  CHECK(duration_text(3599.6) == "1 h 0 min");
  CHECK(duration_text(3 * 3600 + 25 * 60 + 10) == "3 h 25 min");
  CHECK(duration_text(-1) == "0 s");
  CHECK(duration_text(std::nan("")) == "0 s");
}

TEST_CASE("cli: on a terminal a long run shows its progress and wipes it, a study its runs, elsewhere neither") {
  const fs::path dir = scratch("progress");
  fs::create_directories(dir);
  std::ofstream(dir / "many.yaml") << many_firms_scenario(100);
  // the run takes about three quarters of a second: more than the fifth before the first line
  Result run = run_on_terminal("run '" + (dir / "many.yaml").string() + "' -o '" + (dir / "out").string() + "'");
  REQUIRE(run.code == 0);
  const size_t shown = run.out.find("\r  period ");
  REQUIRE(shown != std::string::npos);
  CHECK(run.out.find(" of 24 (20", shown) != std::string::npos);
  CHECK(run.out.find(" s to go   ", shown) != std::string::npos);
  // wiped (blanks over it) before the summary starts at the beginning of the line
  const size_t summary = run.out.find("gpumm 0.1.0: many-rows");
  REQUIRE(summary != std::string::npos);
  CHECK(summary > shown);
  REQUIRE(run.out[summary - 1] == '\r');
  const size_t wipe = run.out.rfind('\r', summary - 2);
  REQUIRE(wipe != std::string::npos);
  CHECK(wipe > shown);
  CHECK(summary - 1 - (wipe + 1) >= 40);  // as wide as the line it covers
  CHECK(run.out.find_first_not_of(' ', wipe + 1) == summary - 1);
  // quiet: nothing at all
  Result quiet = run_on_terminal("run '" + (dir / "many.yaml").string() + "' -q -o '" + (dir / "out").string() + "'");
  CHECK(quiet.code == 0);
  CHECK(quiet.out.empty());
  // not a terminal: the summary only
  Result piped = run_gpumm("run '" + (dir / "many.yaml").string() + "' -o '" + (dir / "out").string() + "'");
  CHECK(piped.code == 0);
  CHECK(piped.err.empty());
  CHECK(piped.out.find("period ") == std::string::npos);
  // a study counts its runs, rate and time to go, and ends the line
  Result study = run_on_terminal("study inputs/studies/tornado.yaml -o '" + (dir / "study").string() + "'");
  CHECK(study.code == 0);
  CHECK(study.out.find("\r  runs 15/15 (100%), ") != std::string::npos);
  // the last line ends the line; blanks after it cover a longer line drawn before it (`ETA 0.031 s`
  // when the runs are slow, as under a sanitizer)
  const size_t eta = study.out.find(" runs/s, ETA 0 s   ");
  REQUIRE(eta != std::string::npos);
  const size_t after = study.out.find_first_not_of(' ', eta + std::string(" runs/s, ETA 0 s").size());
  CHECK(study.out.compare(after, 2, "\r\n") == 0);
  Result study_piped = run_gpumm("study inputs/studies/tornado.yaml -o '" + (dir / "study").string() + "'");
  CHECK(study_piped.code == 0);
  CHECK(study_piped.err.empty());
  // a diff counts its runs too (43 of the base and the glut case take more than a fifth of a
  // second), and ends the line before its waterfall
  Result diff = run_on_terminal("diff inputs/base.yaml inputs/cases/glut.yaml -o '" + (dir / "diff").string() + "'");
  CHECK(diff.code == 0);
  const size_t runs = diff.out.find("\r  runs 43/43 (100%), ");
  CHECK(runs != std::string::npos);
  CHECK(diff.out.find("gpumm diff: base -> glut") > runs);
  Result diff_piped = run_gpumm("diff inputs/base.yaml inputs/cases/glut.yaml -o '" + (dir / "diff").string() + "'");
  CHECK(diff_piped.code == 0);
  CHECK(diff_piped.err.empty());
  fs::remove_all(dir);
}

TEST_CASE("cli: a file longer than a spreadsheet opens is warned of, in the run, warnings.csv and the verdict") {
  const std::string y = many_firms_scenario(70);
  const fs::path dir = scratch("many-rows");
  fs::create_directories(dir);
  std::ofstream(dir / "many.yaml") << y;
  Result r = run_gpumm("run '" + (dir / "many.yaml").string() + "' -o '" + (dir / "out").string() + "'");
  REQUIRE(r.code == 0);
  const long rows = static_cast<long>(lines(slurp(dir / "out" / "timeseries.csv")).size()) - 1;
  REQUIRE(rows > 1048575);
  const std::string digits = std::to_string(rows);
  std::string grouped;  // 1,145,060
  for (size_t k = 0; k < digits.size(); ++k) {
    if (k > 0 && (digits.size() - k) % 3 == 0) grouped += ',';
    grouped += digits[k];
  }
  const std::string message = "timeseries.csv has " + grouped +
                              " rows, more than a spreadsheet opens (1,048,575 after the header in Excel and "
                              "LibreOffice Calc, which drop the rest): read it with a script or a database, or run at "
                              "a longer step";
  CHECK(r.out.find("  warning: 2025-01-01: spreadsheet_rows: " + message + "\n") != std::string::npos);
  CHECK(slurp(dir / "out" / "warnings.csv") ==
        "date,code,message\r\n2025-01-01,spreadsheet_rows,\"" + message + "\"\r\n");
  CHECK(slurp(dir / "out" / "verdict.txt").find("\nThe run warned of: spreadsheet_rows (1); warnings.csv says what and when.\n") !=
        std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("cli: the resolved scenario of a run with a project sized in GPUs and slipping launches reproduces it") {
  // what the base does not hold: a project sized as a GPU count, uniform and exponential slips,
  // a launch that may slip, a program with a delay; each must be written back as it was read
  std::string y = slurp(kSource / "tests/testdata/good_demand.yaml");
  const std::string run1 = "  - {name: run1, firm: meta, start: 2024-06-01, duration: 3mo, size: 1e25 FLOP}\n";
  replace_once(y, run1,
               run1 + "  - {name: sized, firm: meta, start: 2025-03-01, duration: 60d, gpus: {generation: h100, count: 2000},\n"
                      "     delay: {probability: 0.5, distribution: uniform, mean: 30d}}\n");
  const std::string throughput = "    throughput: {tokens_per_h100e_second: 1000, at: 2025-01-01}\n";
  replace_once(y, throughput,
               throughput + "    launches:\n      - {date: 2025-06-01, multiplier: 1.5, ramp: 3mo,\n"
                            "         delay: {probability: 0.3, distribution: exponential, mean: 60d}}\n");
  replace_once(y, "cadence: 6mo,", "cadence: 6mo, delay: {probability: 0.4, distribution: uniform, mean: 20d},");
  const fs::path dir = scratch("resolved-demand");
  fs::create_directories(dir);
  std::ofstream(dir / "demand.yaml") << y;
  const fs::path first = dir / "first", again = dir / "again";
  REQUIRE(run_gpumm("run '" + (dir / "demand.yaml").string() + "' -q --seed 5 -o '" + first.string() + "'").code == 0);
  const std::string resolved = slurp(first / "scenario.resolved.yaml");
  CHECK(resolved.find("gpus: {generation: h100, count: 2000}") != std::string::npos);
  CHECK(resolved.find("distribution: uniform") != std::string::npos);
  CHECK(resolved.find("distribution: exponential") != std::string::npos);
  CHECK(resolved.find("multiplier: 1.5") != std::string::npos);
  REQUIRE(run_gpumm("run '" + (first / "scenario.resolved.yaml").string() + "' -q -o '" + again.string() + "'").code == 0);
  for (const char* f : kFiles) CHECK_MESSAGE(slurp(first / f) == slurp(again / f), std::string(f));
  // the GPU-sized project needs its 2,000 H100 (one H100e each) while it runs
  CHECK(slurp(first / "projects.csv").find("\nsized,,meta,") != std::string::npos);
  const auto names = column(first / "projects.csv", "project"), h100e = column(first / "projects.csv", "h100e");
  const size_t k = static_cast<size_t>(std::find(names.begin(), names.end(), "sized") - names.begin());
  REQUIRE(k < names.size());
  CHECK(std::stod(h100e[k]) == doctest::Approx(2000));
}

TEST_CASE("cli: two runs of the same scenario give byte-identical files, the resolved scenario reproduces them") {
  const fs::path a = scratch("det-a"), b = scratch("det-b"), c = scratch("det-c");
  REQUIRE(run_gpumm("run inputs/base.yaml -q -o '" + a.string() + "'").code == 0);
  REQUIRE(run_gpumm("run inputs/base.yaml -q -o '" + b.string() + "'").code == 0);
  REQUIRE(run_gpumm("run '" + (a / "scenario.resolved.yaml").string() + "' -q -o '" + c.string() + "'").code == 0);
  for (const char* f : kFiles) {
    CAPTURE(f);
    CHECK(slurp(a / f) == slurp(b / f));
    CHECK(slurp(a / f) == slurp(c / f));
  }
}

TEST_CASE("cli: --seed overrides the scenario's seed and is recorded") {
  const fs::path out = scratch("seed");
  REQUIRE(run_gpumm("run tests/testdata/good_small.yaml -q --seed 7 -o '" + out.string() + "'").code == 0);
  CHECK(slurp(out / "scenario.resolved.yaml").find("seed: 7") != std::string::npos);
  // a scenario without a market has no prices to speak of
  CHECK(slurp(out / "verdict.txt").find("spot") == std::string::npos);
  // only seeds a scenario can hold, so that the resolved scenario loads and reproduces the run
  const fs::path big = scratch("seed-max");
  REQUIRE(run_gpumm("run tests/testdata/good_small.yaml -q --seed 9007199254740991 -o '" + big.string() + "'").code == 0);
  CHECK(run_gpumm("validate '" + (big / "scenario.resolved.yaml").string() + "'").code == 0);
  Result over = run_gpumm("run tests/testdata/good_small.yaml -q --seed 9007199254740992 -o '" + scratch("seed-over").string() + "'");
  CHECK(over.code == 2);
  CHECK(over.err.find("--seed `9007199254740992`: expected a whole number from 0 to 9007199254740991") != std::string::npos);
}

TEST_CASE("cli: the default output folder is out/<scenario name>") {
  const fs::path cwd = scratch("default-out");
  fs::create_directories(cwd);
  Result r = run_gpumm("run '" + (kSource / "tests/testdata/good_small.yaml").string() + "'", cwd);
  REQUIRE(r.code == 0);
  CHECK(fs::exists(cwd / "out" / "small" / "summary.csv"));
  CHECK(r.out.find("out/small/") != std::string::npos);
  // with values set, a folder of its own: the scenario's output stays, the same values in
  // another order reuse their folder, other values get another
  const std::string small = "run '" + (kSource / "tests/testdata/good_small.yaml").string() + "' -q ";
  const std::string plain = slurp(cwd / "out" / "small" / "summary.csv");
  REQUIRE(run_gpumm(small + "--set firms.google.capex.2026=45 --set firms.google.capex.2025=10", cwd).code == 0);
  REQUIRE(run_gpumm(small + "--set firms.google.capex.2025=10 --set firms.google.capex.2026=45", cwd).code == 0);
  REQUIRE(run_gpumm(small + "--set firms.google.capex.2026=46", cwd).code == 0);
  std::vector<std::string> folders;
  for (const auto& e : fs::directory_iterator(cwd / "out")) folders.push_back(e.path().filename().string());
  std::sort(folders.begin(), folders.end());
  REQUIRE(folders.size() == 3);
  CHECK(folders[0] == "small");
  CHECK(folders[1].rfind("small-set-", 0) == 0);
  CHECK(folders[1].size() == std::string("small-set-").size() + 8);
  CHECK(slurp(cwd / "out" / "small" / "summary.csv") == plain);
}

TEST_CASE("cli: the run summary shown in the README is what the base run prints") {
  // the README's example block, line by line: "  ..." stands for omitted lines, and a line
  // ending in "(...)" for a shortened one
  const std::string readme = slurp(kSource / "README.md");
  const size_t a = readme.find("```\ngpumm ");
  REQUIRE(a != std::string::npos);
  const size_t b = readme.find("```", a + 3);
  REQUIRE(b != std::string::npos);
  const auto shown = lines(readme.substr(a + 4, b - a - 4));
  REQUIRE(shown.size() > 5);
  const fs::path cwd = scratch("readme-example");
  fs::create_directories(cwd);
  Result r = run_gpumm("run '" + (kSource / "inputs/base.yaml").string() + "'", cwd);
  REQUIRE(r.code == 0);
  const auto printed = lines(r.out);
  size_t next = 0;  // shown lines appear in order
  for (const std::string& l : shown) {
    if (l == "  ...") continue;
    const bool shortened = l.size() > 5 && l.ends_with("(...)");
    const std::string want = shortened ? l.substr(0, l.size() - 5) : l;
    size_t k = next;
    while (k < printed.size() && !(shortened ? printed[k].starts_with(want) : printed[k] == want)) ++k;
    INFO("README line: " << l);
    CHECK(k < printed.size());
    if (k < printed.size()) next = k + 1;
  }
}

TEST_CASE("cli: every broken scenario exits 2 with its file, line and column") {
  const fs::path dir = kSource / "tests/testdata/bad";
  int cases = 0;
  for (const std::string& row : lines(slurp(dir / "EXPECTED.tsv"))) {
    if (row.empty()) continue;
    const auto tab = row.find('\t');
    const std::string file = row.substr(0, tab), expected = row.substr(tab + 1);
    CAPTURE(file);
    Result r = run_gpumm("validate " + file, dir);
    CHECK(r.code == 2);
    CHECK(lines(r.err).at(0) == expected);
    // one broken thing is one problem, not also a consequence of it
    if (file != "several_problems.yaml") CHECK(r.err.find("\n1 problem found") != std::string::npos);
    // `run` refuses the same file the same way and writes nothing
    const fs::path out = scratch("bad-" + file);
    Result run = run_gpumm("run " + file + " -o '" + out.string() + "'", dir);
    CHECK(run.code == 2);
    CHECK(lines(run.err).at(0) == expected);
    CHECK_FALSE(fs::exists(out));
    ++cases;
  }
  CHECK(cases >= 15);
  Result several = run_gpumm("validate several_problems.yaml", dir);
  CHECK(several.err.find("3 problems found") != std::string::npos);
}

TEST_CASE("cli: validate accepts good files and reports each bad one") {
  Result r = run_gpumm("validate inputs/base.yaml tests/testdata/good_small.yaml tests/testdata/bad/nan_value.yaml");
  CHECK(r.code == 2);
  CHECK(r.out.find("inputs/base.yaml: ok (12 firms, 7 regions, 18 generations)") != std::string::npos);
  CHECK(r.out.find("good_small.yaml: ok") != std::string::npos);
  CHECK(r.err.find("nan_value.yaml:10:17:") != std::string::npos);
  CHECK(run_gpumm("validate inputs/base.yaml").code == 0);
  // a case that breaks a map of its base as a whole is told where it changed the map
  Result child = run_gpumm("validate tests/testdata/extends/child_weights.yaml");
  CHECK(child.code == 2);
  CHECK(lines(child.err).at(0) ==
        "tests/testdata/extends/child_weights.yaml:5:14: firms.meta.regions: region weights sum to 1.5, with `us_east: "
        "1.0` kept from good_small.yaml (a key set to `null` drops it); they must sum to 1");
  // cases of the base, each checked by `gpumm validate`: `lines` after its `extends`
  const fs::path dir = scratch("validate-money");
  fs::create_directories(dir);
  const auto validate_case = [&](const std::string& name, const std::string& lines) {
    std::ofstream(dir / name) << "extends: '" << (kSource / "inputs/base.yaml").string() << "'\n" << lines;
    return run_gpumm("validate '" + (dir / name).string() + "'");
  };
  // a budget without `$` or scale: dollars or billions are both offered, not one guessed
  Result bare = validate_case("bare.yaml", "firms:\n  meta:\n    capex: {2027: 200}\n");
  CHECK(bare.code == 2);
  CHECK(bare.err == (dir / "bare.yaml").string() + ":4:19: firms.meta.capex.2027: `200`: missing `$`; write `$200` for "
                    "dollars, or with a scale: `$200k`, `$200M`, `$200B`\n1 problem found\n");
  // a price per hour without `$` is offered in dollars alone: nobody means $2.5B an hour
  Result rate = validate_case("rate.yaml", "market:\n  spot: {initial: 2.5}\n");
  CHECK(rate.code == 2);
  CHECK(rate.err == (dir / "rate.yaml").string() +
                        ":3:19: market.spot.initial: `2.5`: missing `$`; write `$2.5`\n1 problem found\n");
  // a case that gives a contract of its base a price beside the base's value is told where,
  // and how to replace the one with the other; so is a volume in MW beside the base's GPUs
  Result both = validate_case("both.yaml", "contracts:\n  - {name: openai_oracle, price: $3}\n"
                                           "  - name: openai_coreweave\n    volume: {it_power: 200 MW}\n");
  CHECK(both.code == 2);
  CHECK(both.err == (dir / "both.yaml").string() +
                        ":3:5: contracts[openai_oracle]: give either `price` ($ per H100e-hour) or `value` (total $); "
                        "to replace the base's `value` with `price`, write `value: null` beside it\n" +
                        (dir / "both.yaml").string() +
                        ":5:13: contracts[openai_coreweave].volume: give either `gpus` (with `generation`) or "
                        "`it_power`; to replace the base's `gpus` with `it_power`, write `gpus: null, generation: "
                        "null` beside it\n2 problems found\n");
  // and the lines it was told to write are enough
  CHECK(validate_case("both.yaml", "contracts:\n  - {name: openai_oracle, price: $3, value: null}\n"
                                   "  - name: openai_coreweave\n"
                                   "    volume: {it_power: 200 MW, gpus: null, generation: null}\n")
            .code == 0);
  // a misspelt entry to change is said once, with the entry it may mean, and the rest of the
  // file is checked as well
  Result typo = validate_case("typo.yaml", "contracts:\n  - {name: openai_orcle, ramp: 36mo}\n"
                                           "market:\n  spot: {floor: $3, cap: $2}\n");
  CHECK(typo.code == 2);
  CHECK(typo.err == (dir / "typo.yaml").string() +
                        ":3:5: contracts[openai_orcle]: no entry `openai_orcle` in the scenario it extends to change "
                        "(did you mean `openai_oracle`?); as a new entry, it lacks `seller`, `buyer`, `start`, "
                        "`end`, `volume`; give either `price` ($ per H100e-hour) or `value` (total $)\n" +
                        (dir / "typo.yaml").string() + ":5:9: market.spot: floor $3 is above cap $2\n2 problems found\n");
  fs::remove_all(dir);
}

TEST_CASE("cli: a run that starts after its scenario's history says its early orders arrive late") {
  const fs::path dir = scratch("late-start");
  fs::create_directories(dir);
  std::ofstream(dir / "late.yaml") << "extends: '" << (kSource / "inputs/base.yaml").string()
                                   << "'\nstart: 2030-01\nend: 2031-12\n";
  Result r = run_gpumm("run '" + (dir / "late.yaml").string() + "' -o '" + (dir / "out").string() + "'");
  CHECK(r.code == 0);
  CHECK(r.out.find("warning: 2030-01-01: orders_before_start: orders for ") != std::string::npos);
  CHECK(r.out.find("fall due before the start, 2030-01-01") != std::string::npos);
  CHECK(slurp(dir / "out/warnings.csv").find("2030-01-01,orders_before_start,") != std::string::npos);
  // explain answers from such a run, and says what it warned of
  Result e = run_gpumm("explain '" + (dir / "late.yaml").string() + "' --firm meta --date 2031-01");
  CHECK(e.code == 0);
  CHECK(e.out.find("\nThe run warned of: ") != std::string::npos);
  CHECK(e.out.find("orders_before_start (1)") != std::string::npos);
  CHECK(run_gpumm("explain inputs/base.yaml --firm meta --date 2031-01").out.find("The run warned of") ==
        std::string::npos);
  // the base itself starts with its history: no such warning
  CHECK(run_gpumm("run inputs/base.yaml -o '" + (dir / "base").string() + "'").out.find("orders_before_start") ==
        std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("cli: capex of years outside the run is warned of, and a study that varies it is refused") {
  // good_small runs 2024-2026; the case plans google's capex to 2028
  const fs::path dir = scratch("capex-outside");
  fs::create_directories(dir);
  std::ofstream(dir / "plan.yaml") << "extends: '" << (kSource / "tests/testdata/good_small.yaml").string()
                                   << "'\nfirms:\n  google:\n    capex: {2027: $40B, 2028: $50B}\n";
  Result r = run_gpumm("run '" + (dir / "plan.yaml").string() + "' -o '" + (dir / "out").string() + "'");
  CHECK(r.code == 0);
  const std::string message = "capex that no period spends: google 2027-2028 ($90B), outside 2024-2026 (a year's "
                              "capex is spent in the periods it overlaps, from the firm's capex_start, or the start, "
                              "to the end)";
  CHECK(r.out.find("warning: 2024-01-01: capex_outside_run: " + message + "\n") != std::string::npos);
  CHECK(slurp(dir / "out/warnings.csv").find("2024-01-01,capex_outside_run,\"" + message + "\"\r\n") != std::string::npos);
  // the same number set on the command line changes nothing, and the run says why
  Result set = run_gpumm("run '" + (dir / "plan.yaml").string() + "' --set firms.google.capex.2028=80 -o '" +
                         (dir / "set").string() + "'");
  CHECK(set.code == 0);
  CHECK(set.out.find("capex_outside_run: capex that no period spends: google 2027-2028 ($120B)") != std::string::npos);
  CHECK(slurp(dir / "set/summary.csv") == slurp(dir / "out/summary.csv"));
  // a study of it would run the same run over and over: refused, where the study names it
  std::ofstream(dir / "study.yaml") << "scenario: plan.yaml\nmethod: tornado\nparameters:\n"
                                       "  - {path: firms.google.capex.2026, low: 20, high: 40}\n"
                                       "  - {path: firms.google.capex.2028, low: 40, high: 60}\n"
                                       "outputs: [periods_in_structural_shortage]\n";
  Result study = run_gpumm("validate '" + (dir / "study.yaml").string() + "'");
  CHECK(study.code == 2);
  CHECK(study.err == (dir / "study.yaml").string() +
                         ":5:12: parameters[1].path: `firms.google.capex.2028`: no run spends google's capex of 2028, "
                         "which is spent in 2024-2026 (from the start, 2024-01-01, to the end, 2026-12-31): every run "
                         "would give the same outputs\n1 problem found\n");
  // a study of a year it spends runs, and marks each run with the warning
  std::ofstream(dir / "sweep.yaml") << "scenario: plan.yaml\nmethod: sweep\npoints: 2\nparameters:\n"
                                       "  - {path: firms.google.capex.2026, low: 20, high: 40}\n"
                                       "outputs: [final_installed_h100e]\n";
  Result sweep = run_gpumm("study '" + (dir / "sweep.yaml").string() + "' -o '" + (dir / "sweep").string() + "'");
  CHECK(sweep.code == 0);
  CHECK(sweep.out.find("warnings: capex_outside_run in 2 of 2 runs") != std::string::npos);
  CHECK(column(dir / "sweep/samples.csv", "warnings") ==
        std::vector<std::string>{"capex_outside_run", "capex_outside_run"});
  fs::remove_all(dir);
}

TEST_CASE("cli: an interrupted run leaves no complete-looking file, and the next run recovers") {
  const fs::path out = scratch("killed");
  Result killed = run_gpumm("run inputs/base.yaml -q -o '" + out.string() + "'", kSource,
                        "GPUMM_TEST_KILL_AFTER_ROWS=5000");
  CHECK(killed.code == 128 + 9);  // SIGKILL
  for (const char* f : kFiles) CHECK_FALSE_MESSAGE(fs::exists(out / f), std::string(f));
  Result again = run_gpumm("run inputs/base.yaml -q -o '" + out.string() + "'");
  CHECK(again.code == 0);
  for (const char* f : kFiles) CHECK_MESSAGE(fs::exists(out / f), std::string(f));
  int staging = 0;
  for (auto& e : fs::directory_iterator(out)) staging += e.path().filename().string().rfind(".staging", 0) == 0;
  CHECK(staging == 0);
}

TEST_CASE("cli: a run or study that cannot write its files fails with the reason, exit 1, and leaves the folder as it was") {
  // files may not grow past 100 blocks (the shell's `ulimit -f`; a write beyond fails with
  // EFBIG once SIGXFSZ is ignored): the way a full disk fails a write
  const std::string small_files = "trap '' XFSZ; ulimit -f 100;";
  const fs::path fresh = scratch("write-fails") / "new";
  Result failed = run_gpumm("run inputs/base.yaml -q -o '" + fresh.string() + "'", kSource, small_files);
  CHECK(failed.code == 1);
  CHECK(failed.err.starts_with("gpumm: run failed: error writing " + fresh.string() + "/.staging-"));
  CHECK(failed.err.find(".csv: File too large\n") != std::string::npos);
  CHECK_FALSE(fs::exists(fresh));  // the folder it made is gone again
  // an earlier output stays whole and as it was
  const fs::path earlier = scratch("write-fails") / "earlier";
  REQUIRE(run_gpumm("run inputs/base.yaml -q -o '" + earlier.string() + "'").code == 0);
  const std::string summary = slurp(earlier / "summary.csv");
  Result over = run_gpumm("run inputs/base.yaml -q --seed 7 -o '" + earlier.string() + "'", kSource, small_files);
  CHECK(over.code == 1);
  CHECK(slurp(earlier / "summary.csv") == summary);
  for (const char* f : kFiles) CHECK_MESSAGE(fs::exists(earlier / f), std::string(f));
  int staging = 0;
  for (auto& e : fs::directory_iterator(earlier)) staging += e.path().filename().string().rfind(".staging", 0) == 0;
  CHECK(staging == 0);
  // the text files too (verdict.txt, scenario.resolved.yaml): a one-month run whose largest
  // files they are, under limits of 3 and 4 blocks of 512 bytes (the verdict has about 1.6 kB,
  // the resolved scenario 2.1 kB, the CSV files less)
  const fs::path texts = scratch("write-fails-text"), month = texts / "month.yaml";
  fs::create_directories(texts);
  std::ofstream(month) << "extends: '" << (kSource / "tests/testdata/good_small.yaml").string()
                       << "'\nname: month\nend: 2024-01-31\n";
  for (const auto& [blocks, file] : {std::pair{3, "verdict.txt"}, std::pair{4, "scenario.resolved.yaml"}}) {
    const fs::path to = texts / ("out-" + std::to_string(blocks));
    Result text = run_gpumm("run '" + month.string() + "' -q -o '" + to.string() + "'", kSource,
                            "trap '' XFSZ; ulimit -f " + std::to_string(blocks) + ";");
    CHECK(text.code == 1);
    CHECK(text.err.starts_with("gpumm: run failed: cannot write " + to.string() + "/.staging-"));
    CHECK(text.err.ends_with(std::string("/") + file + ": File too large\n"));
    CHECK_FALSE(fs::exists(to));
  }
  // a study too: the temporary file of its runs' series cannot grow
  Result study = run_gpumm("study inputs/studies/monte_carlo.yaml -q -o '" + (scratch("write-fails") / "study").string() + "'",
                           kSource, "trap '' XFSZ; ulimit -f 4;");
  CHECK(study.code == 1);
  CHECK(study.err.starts_with("gpumm: study failed: cannot "));
  CHECK(study.err.find(": File too large\n") != std::string::npos);
  // a study whose checkpoint cannot grow stops at once with the reason (not at its end, when
  // its files cannot be written either), keeps the runs it saved, and finishes on --resume
  // with the results of an uninterrupted study; its record cut short by the limit is no run
  const fs::path grid = scratch("write-fails") / "checkpoint", whole = scratch("write-fails") / "uninterrupted";
  const std::string file = "tests/testdata/studies/grid_many.yaml";
  Result cut = run_gpumm("study " + file + " -q --threads 1 -o '" + grid.string() + "'", kSource,
                         "trap '' XFSZ; ulimit -f 4;");
  CHECK(cut.code == 1);
  CHECK(cut.err == "gpumm: study failed: cannot write the checkpoint " + grid.string() +
                       "/.checkpoint.bin: File too large (the runs saved so far are kept: free space, then run again "
                       "with --resume)\n");
  // sh's limit of 4 blocks of 512 bytes: 51 records of 40 bytes and part of one
  CHECK(fs::file_size(grid / ".checkpoint.bin") == 2048);
  CHECK_FALSE(fs::exists(grid / "samples.csv"));
  Result resumed = run_gpumm("study " + file + " --resume -o '" + grid.string() + "'");
  REQUIRE(resumed.code == 0);
  CHECK(resumed.out.find("\n  resumed           51 of 256 runs from the checkpoint, ran the other 205\n") !=
        std::string::npos);
  REQUIRE(run_gpumm("study " + file + " -q -o '" + whole.string() + "'").code == 0);
  CHECK(slurp(grid / "samples.csv") == slurp(whole / "samples.csv"));
  CHECK_FALSE(fs::exists(grid / ".checkpoint.bin"));
  // a study whose checkpoint holds every run but whose files cannot be written says so: --resume
  // then writes them without running anything again (30 blocks: the checkpoint's 10,240 bytes
  // fit, samples.csv's 17,729 do not)
  const fs::path unwritten = scratch("write-fails-results") / "study";
  Result full = run_gpumm("study " + file + " -q --threads 1 -o '" + unwritten.string() + "'", kSource,
                          "trap '' XFSZ; ulimit -f 30;");
  CHECK(full.code == 1);
  CHECK(full.err.starts_with("gpumm: study failed: error writing " + unwritten.string() + "/.staging-"));
  CHECK(full.err.ends_with("/samples.csv: File too large (all 256 runs are saved: free space, then the same command "
                           "with --resume writes the results without running them again)\n"));
  CHECK_FALSE(fs::exists(unwritten / "samples.csv"));
  Result written = run_gpumm("study " + file + " --resume -o '" + unwritten.string() + "'");
  REQUIRE(written.code == 0);
  CHECK(written.out.find("\n  resumed           256 of 256 runs from the checkpoint, ran the other 0\n") !=
        std::string::npos);
  CHECK(slurp(unwritten / "samples.csv") == slurp(whole / "samples.csv"));
  // --resume where no checkpoint is left (the study finished) runs it all, and says so
  Result again = run_gpumm("study " + file + " --resume -o '" + grid.string() + "'");
  REQUIRE(again.code == 0);
  CHECK(again.out.find("\n  resumed           nothing: no checkpoint in " + grid.string() +
                       " (its study had finished or not begun), so all 256 runs were run\n") != std::string::npos);
  CHECK(slurp(grid / "samples.csv") == slurp(whole / "samples.csv"));
}

TEST_CASE("cli: what cannot reach standard output (a full disk) fails the command, exit 1, with the reason") {
  const fs::path err = scratch("full-stdout");
  const std::string run = "run tests/testdata/good_small.yaml -o '" + scratch("full-stdout-run").string() + "'";
  for (const std::string& args : {std::string("--help"), std::string("validate inputs/base.yaml"), run}) {
    CAPTURE(args);
    const std::string cmd = "cd '" + kSource.string() + "' && '" + kBin + "' " + args + " >/dev/full 2>'" + err.string() + "'";
    const int status = std::system(cmd.c_str());
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 1);
    CHECK(slurp(err) == "gpumm: cannot write to standard output: No space left on device\n");
  }
  // bad input keeps its own exit code and message
  const std::string cmd = "cd '" + kSource.string() + "' && '" + kBin + "' validate nothing.yaml >/dev/full 2>'" + err.string() + "'";
  const int status = std::system(cmd.c_str());
  CHECK(WEXITSTATUS(status) == 2);
  CHECK(slurp(err).starts_with("nothing.yaml: no such file"));
}

TEST_CASE("cli: an output into a folder of an earlier one leaves none of the earlier files it did not write") {
  const fs::path out = scratch("replace");
  REQUIRE(run_gpumm("run tests/testdata/good_small.yaml -q -o '" + out.string() + "'").code == 0);
  REQUIRE(fs::exists(out / "summary.csv"));
  // a study after the run: its files, none of the run's
  REQUIRE(run_gpumm("study tests/testdata/studies/sobol_small.yaml -q -o '" + out.string() + "'").code == 0);
  CHECK(fs::exists(out / "sobol.csv"));
  for (const char* f : {"summary.csv", "timeseries.csv", "verdict.txt", "scenario.resolved.yaml"})
    CHECK_MESSAGE(!fs::exists(out / f), std::string(f));
  // a tornado after the Sobol study: no sobol.csv that the manifest does not speak for
  REQUIRE(run_gpumm("study tests/testdata/studies/tornado_small.yaml -q -o '" + out.string() + "'").code == 0);
  CHECK(fs::exists(out / "tornado.csv"));
  CHECK_FALSE(fs::exists(out / "sobol.csv"));
  CHECK_FALSE(fs::exists(out / "sobol_periods.csv"));
}

TEST_CASE("cli: a folder another gpumm is writing into is refused, and left alone, until that one is done") {
  const fs::path out = scratch("locked");
  REQUIRE(run_gpumm("run tests/testdata/good_small.yaml -q -o '" + out.string() + "'").code == 0);
  const std::string summary = slurp(out / "summary.csv");
  // hold the folder as a gpumm writing into it does, with its staging folder
  const int fd = ::open(out.c_str(), O_RDONLY | O_DIRECTORY);
  REQUIRE(fd >= 0);
  REQUIRE(::flock(fd, LOCK_EX) == 0);
  fs::create_directories(out / ".staging-999999");
  const std::string refusal =
      "gpumm: another gpumm is writing into " + out.string() + " now; wait for it to finish, or choose another folder with -o\n";
  Result run = run_gpumm("run tests/testdata/good_small.yaml -q --seed 7 -o '" + out.string() + "'");
  CHECK(run.code == 2);
  CHECK(run.err == refusal);
  Result study = run_gpumm("study tests/testdata/studies/grid_small.yaml -q -o '" + out.string() + "'");
  CHECK(study.code == 2);
  CHECK(study.err == refusal);
  CHECK(fs::exists(out / ".staging-999999"));  // the other's work in progress is not swept away
  CHECK(slurp(out / "summary.csv") == summary);
  // once it is done (or killed: the lock goes with the process), the folder is free again
  ::close(fd);
  REQUIRE(run_gpumm("run tests/testdata/good_small.yaml -q --seed 7 -o '" + out.string() + "'").code == 0);
  CHECK_FALSE(fs::exists(out / ".staging-999999"));  // a killed run's leftovers go
}

TEST_CASE("cli: a folder that gpumm did not write is never overwritten") {
  const fs::path out = scratch("foreign");
  fs::create_directories(out);
  std::ofstream(out / "summary.csv") << "my own numbers";
  Result r = run_gpumm("run tests/testdata/good_small.yaml -o '" + out.string() + "'");
  CHECK(r.code == 2);
  CHECK(r.err.find("not an earlier gpumm output") != std::string::npos);
  CHECK(slurp(out / "summary.csv") == "my own numbers");
  // nor is a file where the folder would go, by any command that writes one
  const fs::path file = scratch("a-file");
  std::ofstream(file) << "my notes";
  for (const std::string cmd : {"run tests/testdata/good_small.yaml", "study tests/testdata/studies/sweep_small.yaml",
                                "diff inputs/base.yaml inputs/cases/glut.yaml"}) {
    CAPTURE(cmd);
    Result f = run_gpumm(cmd + " -q -o '" + file.string() + "'");
    CHECK(f.code == 2);
    CHECK(f.err == "gpumm: " + file.string() + " exists and is not a folder; choose another with -o\n");
    CHECK(slurp(file) == "my notes");
  }
}

TEST_CASE("cli: a scenario with demand reports it and lists its projects") {
  const fs::path out = scratch("demand");
  Result r = run_gpumm("run tests/testdata/good_demand.yaml -o '" + out.string() + "'");
  REQUIRE(r.code == 0);
  CHECK(r.out.find("demand") != std::string::npos);
  auto projects = lines(slurp(out / "projects.csv"));
  REQUIRE(projects.size() >= 6);  // run1 and the frontier program's runs
  CHECK(projects[1].rfind("frontier-1,frontier,google,", 0) == 0);  // ready first
  CHECK(projects[2].rfind("run1,,meta,", 0) == 0);
  // run1: 1e25 FLOP over 92 days (June to August) at 40% MFU needs 3,180.9 H100e
  const std::string& run1 = projects[2];
  size_t field = 0, pos = 0;
  while (field < 5) pos = run1.find(',', pos) + 1, ++field;
  CHECK(std::stod(run1.substr(pos)) == doctest::Approx(1e25 / (989e12 * 0.4 * 92 * 86400)));
  auto summary = lines(slurp(out / "summary.csv"));
  const auto header = summary[0];
  CHECK(header.find("demand_training_h100e,demand_inference_h100e,demand_other_h100e,demand_h100e") != std::string::npos);
  // when a run ran: its dates, done when it ended by the horizon's end, running past it
  CHECK(run1.find(",2024-06-01,2024-09-01,0,done") != std::string::npos);
  std::string y = slurp(kSource / "tests/testdata/good_demand.yaml");
  const std::string run1_line = "  - {name: run1, firm: meta, start: 2024-06-01, duration: 3mo, size: 1e25 FLOP}\n";
  replace_once(y, run1_line,
               run1_line + "  - {name: short, firm: meta, start: 2026-12-10, duration: 10d, size: 1e22 FLOP}\n"
                           "  - {name: long, firm: meta, start: 2026-12-10, duration: 60d, size: 1e22 FLOP}\n");
  const fs::path late_dir = scratch("demand-late"), late_yaml = late_dir / "late.yaml", late_out = late_dir / "out";
  fs::create_directories(late_dir);
  std::ofstream(late_yaml) << y;
  REQUIRE(run_gpumm("run '" + late_yaml.string() + "' -q -o '" + late_out.string() + "'").code == 0);
  const std::string late = slurp(late_out / "projects.csv");
  CHECK(late.find("\nshort,,meta,us_east,1e+22,") != std::string::npos);
  CHECK(late.find(",2026-12-10,2026-12-10,2026-12-20,0,done\r\n") != std::string::npos);  // CSV rows end in CRLF
  CHECK(late.find(",2026-12-10,2026-12-10,,0,running\r\n") != std::string::npos);
  // the resolved scenario carries the demand and reproduces the run
  const fs::path again = scratch("demand-again");
  REQUIRE(run_gpumm("run '" + (out / "scenario.resolved.yaml").string() + "' -q -o '" + again.string() + "'").code == 0);
  for (const char* f : kFiles) CHECK_MESSAGE(slurp(out / f) == slurp(again / f), std::string(f));
}

TEST_CASE("cli: the run's diagnosis: regimes in summary.csv, episodes.csv and verdict.txt") {
  const fs::path out = scratch("diagnosis");
  REQUIRE(run_gpumm("run inputs/base.yaml -q -o '" + out.string() + "'").code == 0);
  auto summary = lines(slurp(out / "summary.csv"));
  for (const char* col : {"trend_relative_balance_frac", "temporary_relative_balance_frac", "utilization_frac",
                          "mismatch_index_frac", "mismatch_firms_frac", "mismatch_regions_frac", "mismatch_generations_frac", "regime"})
    CHECK_MESSAGE(summary[0].find(col) != std::string::npos, std::string(col));
  int regimes = 0;
  for (size_t t = 1; t < summary.size(); ++t)
    regimes += summary[t].find(",structural_shortage,") != std::string::npos ||
               summary[t].find(",oversupply,") != std::string::npos || summary[t].find(",balanced,") != std::string::npos;
  CHECK(regimes == 120);
  auto episodes = lines(slurp(out / "episodes.csv"));
  CHECK(episodes[0] == join(gpumm::episodes_columns()));
  CHECK(episodes.size() > 5);
  const std::string verdict = slurp(out / "verdict.txt");
  CHECK(verdict.find("Regime timeline") != std::string::npos);
  CHECK(verdict.find("Largest firm surplus episodes") != std::string::npos);
  // the causes it names are explained once, and those it does not name are not
  CHECK(verdict.find(", mostly sold_to_short_firms\n") != std::string::npos);
  CHECK(verdict.find("\nThe causes named above:\n") != std::string::npos);
  CHECK(verdict.find("\n  sold_to_short_firms: bought on the market by firms short of capacity (the market at work, not a "
                     "glut)\n") != std::string::npos);
  CHECK(verdict.find("\n  region_mismatch: idle where unserved demand could not reach it") != std::string::npos);  // xAI's
  CHECK(verdict.find("\n  stranded: ") == std::string::npos);
  // each line of the timeline reads in the order of its dates: the trend from the run's first
  // month to its last, as summary.csv has them (it once gave the lowest and highest instead,
  // so a deepening shortage read as one that eased)
  const auto dates = column(out / "summary.csv", "date");
  const auto trend = column(out / "summary.csv", "trend_relative_balance_frac");
  const auto trend_on = [&](const std::string& month) {
    for (size_t t = 0; t < dates.size(); ++t)
      if (dates[t].substr(0, 7) == month) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%+.1f%%", 100 * std::stod(trend[t]));
        return std::string(buf);
      }
    return std::string("(no such month)");
  };
  int runs = 0;
  for (const std::string& line : lines(verdict)) {
    const size_t at = line.find(" trend from ");
    if (line.rfind("  20", 0) != 0 || at == std::string::npos) continue;
    ++runs;
    const std::string first = line.substr(2, 7), last = line.substr(13, 7);
    const std::string expected = " trend from " + trend_on(first) + " to " + trend_on(last);
    CHECK_MESSAGE(line.compare(at, expected.size(), expected) == 0, line);
  }
  CHECK(runs == 3);
  // a trend whose extreme lies inside the run says so
  CHECK(verdict.find("2027-03 to 2029-08  balanced             trend from -5.0% to -4.8%, highest -2.9%") !=
        std::string::npos);
  // the spot index by regime, as summary.csv has it, and why its fall in a shortage is no glut
  const auto spot = column(out / "summary.csv", "spot_usd_per_h100e_hour");
  const auto unmet = column(out / "summary.csv", "market_unmet_h100e");
  const auto regime = column(out / "summary.csv", "regime");
  const auto row_of = [&](const std::string& month) {
    for (size_t t = 0; t < dates.size(); ++t)
      if (dates[t].substr(0, 7) == month) return t;
    return dates.size();
  };
  int price_runs = 0;
  for (const std::string& line : lines(verdict)) {
    const size_t at = line.find(" spot $");
    if (line.rfind("  20", 0) != 0 || at == std::string::npos) continue;
    ++price_runs;
    const size_t a = row_of(line.substr(2, 7)), b = row_of(line.substr(13, 7));
    REQUIRE(b < dates.size());
    char expected[160];
    std::snprintf(expected, sizeof expected, " spot $%.2f to $%.2f", std::stod(spot[a]), std::stod(spot[b]));
    CHECK_MESSAGE(line.compare(at, std::strlen(expected), expected) == 0, line);
    std::snprintf(expected, sizeof expected, "; unmet bids %.1fM to %.1fM H100e", std::stod(unmet[a]) / 1e6,
                  std::stod(unmet[b]) / 1e6);
    CHECK_MESSAGE(line.find(expected) != std::string::npos, line);
    // the periods near the floor, counted from summary.csv
    int floor = 0;
    for (size_t t = a; t <= b; ++t) floor += std::stod(spot[t]) <= 1.05 * 0.5;
    CHECK_MESSAGE((floor > 0) == (line.find(" floor in " + std::to_string(floor) + " periods") != std::string::npos), line);
  }
  CHECK(price_runs == 3);
  // the question firm by firm: each firm's episode periods (episodes.csv) by regime (summary.csv)
  std::map<std::string, std::array<int, 3>> by_regime;
  const auto ep_firm = column(out / "episodes.csv", "firm"), ep_start = column(out / "episodes.csv", "start"),
             ep_end = column(out / "episodes.csv", "end");
  for (size_t e = 0; e < ep_firm.size(); ++e)
    for (size_t t = 0; t < dates.size(); ++t)
      if (dates[t] >= ep_start[e] && dates[t] <= ep_end[e])
        ++by_regime[ep_firm[e]][regime[t] == "structural_shortage" ? 0 : regime[t] == "balanced" ? 1 : 2];
  CHECK(by_regime.size() >= 10);
  // ... and what each firm's spare capacity mostly was over them (firms.csv's causes, in H100e-months)
  std::map<std::string, std::vector<double>> by_cause;
  {
    auto months = months_by_date(out);
    const auto at = column(out / "firms.csv", "date"), firm = column(out / "firms.csv", "firm");
    std::vector<std::vector<std::string>> cause;
    for (const gpumm::SpareCause& c : gpumm::kSpareCauses) cause.push_back(column(out / "firms.csv", c.firms_column));
    for (size_t i = 0; i < at.size(); ++i) {
      bool in_episode = false;
      for (size_t e = 0; e < ep_firm.size(); ++e)
        in_episode = in_episode || (ep_firm[e] == firm[i] && at[i] >= ep_start[e] && at[i] <= ep_end[e]);
      if (!in_episode) continue;
      auto& sum = by_cause[firm[i]];
      sum.resize(cause.size());
      for (size_t k = 0; k < cause.size(); ++k) sum[k] += std::stod(cause[k][i]) * months[at[i]];
    }
  }
  for (const auto& [firm, n] : by_regime) {
    const auto& sum = by_cause[firm];
    REQUIRE(sum.size() == std::size(gpumm::kSpareCauses));
    const size_t most = static_cast<size_t>(std::max_element(sum.begin(), sum.end()) - sum.begin());
    char row[200];
    std::snprintf(row, sizeof row, "\n  %-12s %8d %10d %9d %11d  %-20s  %s\n", firm.c_str(), n[0] + n[1] + n[2], n[0], n[1],
                  n[2], "never", gpumm::kSpareCauses[most].id);
    CHECK_MESSAGE(verdict.find(row) != std::string::npos, row);
  }
  CHECK(verdict.find("2029-09 to 2032-12  structural_shortage  spot $0.55 to $0.66, lowest $0.50, within 5% of its "
                     "$0.50 floor in 28 periods") != std::string::npos);
  CHECK(verdict.find(spot_note()) != std::string::npos);
  // with the base's settings (sensitivity 7 a year, target 95%, floor $0.50, reference $3)
  CHECK(verdict.find("it rises at most 42% a year (sensitivity 7 a year x (1 - target utilization 0.95)), however "
                     "many bids go unmet, and takes 5.1 years from its $0.50 floor to its $3.00 reference.\n") !=
        std::string::npos);
}

TEST_CASE("docs: every warning code a run raises is one studies count and the README explains") {
  // the codes in the sources: warn_once(t, "code", ...) in the engine, {period, "code", ...} where
  // a run's files are written
  const std::regex raised(R"re((?:warn_once\(\s*[^,()]+,\s*|warnings\.push_back\(\{\s*[^,{}]+,\s*)"([a-z_]+)")re");
  std::set<std::string> codes;
  for (const auto& entry : fs::directory_iterator(kSource / "model/src")) {
    const std::string src = slurp(entry.path());
    for (auto it = std::sregex_iterator(src.begin(), src.end(), raised); it != std::sregex_iterator(); ++it)
      codes.insert((*it)[1].str());
  }
  CHECK(codes.size() >= 8);
  const std::string readme = slurp(kSource / "README.md");
  for (const std::string& code : codes) {
    CAPTURE(code);
    CHECK(std::find_if(std::begin(gpumm::kWarningCodes), std::end(gpumm::kWarningCodes),
                       [&](const char* known) { return code == known; }) != std::end(gpumm::kWarningCodes));
    CHECK(readme.find("`" + code + "` (") != std::string::npos);
  }
}

TEST_CASE("docs: scenario.md names every key the scenario loader reads by name") {
  // the keys the loader reads with a literal name (keys read through a variable are not seen)
  const std::string src = slurp(kSource / "model/src/scenario_loader.cpp");
  const std::regex read(R"re(\.(?:get|has|number|whole_number|share|boolean|text|choice|quantity|scalar_at|missing)\(\s*"([a-z_0-9]+)")re");
  std::set<std::string> keys;
  for (auto it = std::sregex_iterator(src.begin(), src.end(), read); it != std::sregex_iterator(); ++it)
    keys.insert((*it)[1].str());
  REQUIRE(keys.size() > 100);  // the pattern still finds the loader's reads
  const std::string doc = slurp(kSource / "docs/scenario.md");
  for (const std::string& key : keys)
    CHECK_MESSAGE(std::regex_search(doc, std::regex("(^|[^a-z_0-9])" + key + "($|[^a-z_0-9])")), key);
}

TEST_CASE("docs: study.md names every metric, method, distribution and sampler a study file takes") {
  const std::string doc = slurp(kSource / "docs/study.md");
  for (const auto& [metric, meaning] : gpumm::study_metrics()) {
    CHECK_MESSAGE(doc.find("| `" + metric + "` | " + meaning + " |") != std::string::npos, metric);
  }
  for (const char* word : {"`sweep`", "`grid`", "`tornado`", "`morris`", "`sobol`", "`monte_carlo`", "`uniform`",
                           "`log_uniform`", "`triangular`", "`normal`", "`lognormal`", "`latin_hypercube`"})
    CHECK_MESSAGE(doc.find(word) != std::string::npos, std::string(word));
  for (const char* key : {"scenario", "method", "parameters", "outputs", "seed", "samples", "points", "levels", "bootstrap",
                          "target_width", "max_runs", "sampler", "series", "path", "log_scale", "distribution", "mode",
                          "tornado_quantiles"})
    CHECK_MESSAGE(doc.find("| `" + std::string(key) + "`") != std::string::npos, std::string(key));
  for (const gpumm::SpareCause& c : gpumm::kSpareCauses) {
    std::string quoted = "`";
    quoted.append(c.id).append("`");
    CHECK_MESSAGE(doc.find(quoted) != std::string::npos, quoted);
  }
  CHECK(doc.find("| `low`, `high` |") != std::string::npos);
  CHECK(doc.find("| `mean`, `sd` |") != std::string::npos);
  CHECK(doc.find("| `median`, `sigma` |") != std::string::npos);
}

TEST_CASE("cli: a file that is not text (a program, a workbook) is named so by every command") {
  const fs::path dir = scratch("not-text");
  fs::create_directories(dir);
  {
    std::ofstream f(dir / "book.yaml", std::ios::binary);
    f << std::string("PK\x03\x04\x14\0\x06\0", 8) << "xl/workbook.xml";
  }
  const std::string file = (dir / "book.yaml").string();
  const std::string says = file + ":1:3: not a text file: control character 0x03, which YAML text cannot hold ";
  for (const std::string cmd : {"run", "validate", "explain"}) {
    Result r = run_gpumm(cmd + " '" + file + "'" + (cmd == "explain" ? " --firm meta --date 2026-07" : "") +
                         (cmd == "run" ? " -o '" + (dir / "out").string() + "'" : ""));
    CHECK(r.code == 2);
    CHECK(r.err == says + "(a scenario is a YAML text file: is this the file you meant?)\n1 problem found\n");
  }
  CHECK_FALSE(fs::exists(dir / "out"));
  Result s = run_gpumm("study '" + file + "' -o '" + (dir / "study").string() + "'");
  CHECK(s.code == 2);
  CHECK(s.err == says + "(a study is a YAML text file: is this the file you meant?)\n1 problem found\n");
  CHECK_FALSE(fs::exists(dir / "study"));
  // text saved as UTF-16 (Windows' "Unicode", zero bytes and all) is text: it runs as its UTF-8 twin
  {
    const std::string utf8 = slurp(kSource / "tests/testdata/good_small.yaml");
    std::ofstream f(dir / "small16.yaml", std::ios::binary);
    f << "\xff\xfe";
    for (char c : utf8) f << c << '\0';
  }
  REQUIRE(run_gpumm("run tests/testdata/good_small.yaml -q -o '" + (dir / "out8").string() + "'").code == 0);
  REQUIRE(run_gpumm("run '" + (dir / "small16.yaml").string() + "' -q -o '" + (dir / "out16").string() + "'").code == 0);
  CHECK(slurp(dir / "out16" / "summary.csv") == slurp(dir / "out8" / "summary.csv"));
}

TEST_CASE("cli: a quote left open in a case or a study is refused, not read to the end of the file") {
  // yaml-cpp alone reads the rest of the file into the value: the case would run as its base
  const std::string file = "tests/testdata/extends/child_unclosed_quote.yaml";
  const std::string says = file + ":4:14: description: invalid YAML: the `\"` here opens a value that is never closed, so "
                                  "the rest of the file was read into it: close it with `\"` where the value ends\n1 problem found\n";
  Result v = run_gpumm("validate " + file);
  CHECK(v.code == 2);
  CHECK(v.err == says);
  const fs::path dir = scratch("unclosed-quote");
  Result r = run_gpumm("run " + file + " -o '" + (dir / "case").string() + "'");
  CHECK(r.code == 2);
  CHECK(r.err == says);
  CHECK_FALSE(fs::exists(dir / "case"));
  fs::create_directories(dir);
  {
    std::ofstream f(dir / "study.yaml");
    f << "description: \"the base's sweep\n" << slurp(kSource / "tests/testdata/studies/sweep_small.yaml");
  }
  Result s = run_gpumm("study '" + (dir / "study.yaml").string() + "' -o '" + (dir / "out").string() + "'");
  CHECK(s.code == 2);
  CHECK(s.err == (dir / "study.yaml").string() + ":1:14: description: invalid YAML: the `\"` here opens a value that is "
                                                 "never closed, so the rest of the file was read into it: close it with "
                                                 "`\"` where the value ends\n1 problem found\n");
  CHECK_FALSE(fs::exists(dir / "out"));
  // in a list item: told with the item's path
  {
    std::ofstream f(dir / "item.yaml");
    f << "scenario: " << (kSource / "tests/testdata/good_demand.yaml").string() << "\nmethod: sweep\npoints: 3\n"
      << "parameters:\n  - {path: firms.google.capex.2026, low: 10, high: 60}\noutputs:\n  - \"final_installed_h100e\n"
      << "  - peak_unserved_h100e\nseed: 4\n";
  }
  CHECK(run_gpumm("validate '" + (dir / "item.yaml").string() + "'").err ==
        (dir / "item.yaml").string() + ":7:5: outputs[0]: invalid YAML: the `\"` here opens a value that is never "
                                       "closed, so the rest of the file was read into it: close it with `\"` where "
                                       "the value ends\n1 problem found\n");
}

TEST_CASE("cli: a study given to run, a scenario given to study and a misspelt file name say what to write") {
  Result r = run_gpumm("run inputs/studies/sobol.yaml");
  CHECK(r.code == 2);
  CHECK(r.err == "gpumm: `inputs/studies/sobol.yaml` is a study file (it names a scenario and a method): run it "
                 "with `gpumm study inputs/studies/sobol.yaml`\nTry `gpumm study --help`.\n");
  CHECK(run_gpumm("explain inputs/studies/sobol.yaml --firm meta --date 2026-07").err == r.err);
  Result s = run_gpumm("study inputs/cases/glut.yaml -o '" + scratch("study-of-scenario").string() + "'");
  CHECK(s.code == 2);
  CHECK(s.err == "inputs/cases/glut.yaml: a scenario, not a study file: run it with `gpumm run inputs/cases/glut.yaml`; "
                 "a study names its scenario in `scenario:` (see inputs/studies/)\n1 problem found\n");
  Result f = run_gpumm("run inputs/base.yml");
  CHECK(f.code == 2);
  CHECK(f.err.rfind("inputs/base.yml: no such file; did you mean `inputs/base.yaml`?\n", 0) == 0);
  CHECK(run_gpumm("validate inputs/studies/tornadoo.yaml").err.rfind(
            "inputs/studies/tornadoo.yaml: no such file; did you mean `inputs/studies/tornado.yaml`?", 0) == 0);
  CHECK(run_gpumm("run nowhere/base.yaml").err.rfind("nowhere/base.yaml: no such file\n", 0) == 0);
  // the name without its `.yaml`
  CHECK(run_gpumm("run inputs/base").err.rfind("inputs/base: no such file; did you mean `inputs/base.yaml`?\n", 0) == 0);
  CHECK(run_gpumm("study inputs/studies/tornado").err.rfind(
            "inputs/studies/tornado: no such file; did you mean `inputs/studies/tornado.yaml`?", 0) == 0);
  // a folder: an output's scenario, or the YAML files it holds
  const fs::path out = scratch("explain-an-output");
  REQUIRE(run_gpumm("run inputs/base.yaml -q -o '" + out.string() + "'").code == 0);
  Result o = run_gpumm("explain '" + out.string() + "' --firm meta --date 2026-07");
  CHECK(o.code == 2);
  CHECK(o.err == out.string() + ": a folder, not a YAML file; the scenario of this output is `" +
                     (out / "scenario.resolved.yaml").string() + "`\n1 problem found\n");
  CHECK(run_gpumm("explain '" + (out / "scenario.resolved.yaml").string() + "' --firm meta --date 2026-07").code == 0);
  CHECK(run_gpumm("run inputs/cases -o '" + (out / "x").string() + "'").err ==
        "inputs/cases: a folder, not a YAML file; it holds `inputs/cases/generation-switch.yaml`, "
        "`inputs/cases/glut.yaml`, `inputs/cases/grid-delay.yaml`, `inputs/cases/meta-sells-compute.yaml`\n"
        "1 problem found\n");
  // a table: one of an output's CSV files, or a spreadsheet
  Result t = run_gpumm("validate '" + (out / "summary.csv").string() + "'");
  CHECK(t.code == 2);
  CHECK(t.err == (out / "summary.csv").string() + ": a table (csv), not a YAML file; the scenario of this output is `" +
                     (out / "scenario.resolved.yaml").string() + "`\n1 problem found\n");
  const fs::path sheet = scratch("a-spreadsheet") / "deals.XLSX";
  fs::create_directories(sheet.parent_path());
  std::ofstream(sheet) << "PK";
  CHECK(run_gpumm("study '" + sheet.string() + "'").err ==
        sheet.string() + ": a table (xlsx), not a YAML file: gpumm reads scenarios and studies "
        "written in YAML\n1 problem found\n");
}

TEST_CASE("cli: explain answers for a firm and a date, and refuses what it cannot answer") {
  Result r = run_gpumm("explain inputs/base.yaml --firm meta --date 2026-07");
  CHECK(r.code == 0);
  // the README's example: the base answers the motivating question at the rumour's date
  CHECK(r.out.rfind("No: meta's surplus in 2026-07 is a local, temporary mismatch; the market is in structural "
                    "shortage.\n", 0) == 0);
  CHECK(slurp(kSource / "README.md").find("\n  " + r.out.substr(0, r.out.find('\n') + 1)) != std::string::npos);
  CHECK(r.out.find("Market in 2026-07: regime") != std::string::npos);
  CHECK(r.out.find("meta then: deployed") != std::string::npos);
  // the price next to it: it rose over the year to 2026-07, so no word on falling prices
  CHECK(r.out.find("Prices in 2026-07: spot index $2.88 per H100e-hour, $2.39 a year earlier; bids unmet on the "
                   "market 7.69M H100e.\n") != std::string::npos);
  CHECK(r.out.find(spot_note()) == std::string::npos);
  // what Meta sells that month is mostly what its slipped training run would have used, the rest
  // where its own unserved demand could not reach it (as the README says); too little for an
  // episode
  CHECK(r.out.find("sold on the market 94.8k, unserved demand 34.9k") != std::string::npos);
  CHECK(r.out.find("\nNo surplus episode: the balance is 1.82% of its deployed capacity, below the 2% an episode "
                   "needs.\n") != std::string::npos);
  CHECK(r.out.find("\nCauses of this month's idle and sold capacity (capacity sold counts under the cause that left "
                   "it spare, such as a slip or a contract; as sold to firms short of capacity only when no such "
                   "cause did): slipped training project 80%, ") != std::string::npos);
  CHECK(r.out.find(", region mismatch 20%, ") != std::string::npos);
  // in 2031 it sits at its floor while 78M H100e of bids go unmet: the answer says why that is no glut
  Result low = run_gpumm("explain inputs/base.yaml --firm amazon --date 2031-06");
  CHECK(low.code == 0);
  CHECK(low.out.rfind("No: amazon's surplus in 2031-06 is a local, temporary mismatch", 0) == 0);
  CHECK(low.out.find("Prices in 2031-06: spot index $0.50 per H100e-hour, $0.51 a year earlier; bids unmet on the "
                     "market 78.59M H100e. " + spot_note()) != std::string::npos);
  Result typo = run_gpumm("explain inputs/base.yaml --firm metta --date 2026-07");
  CHECK(typo.code == 2);
  CHECK(typo.err.find("no such firm") != std::string::npos);
  CHECK(typo.err.find("did you mean `meta`?") != std::string::npos);
  CHECK(run_gpumm("explain inputs/base.yaml --firm meta --date 2040-01").code == 2);
  CHECK(run_gpumm("explain inputs/base.yaml --firm meta --date 2026-13").code == 2);
  // a wrong firm and a wrong date are both told at once
  Result both = run_gpumm("explain inputs/base.yaml --firm metta --date 2040-01");
  CHECK(both.code == 2);
  const auto both_lines = lines(both.err);
  REQUIRE(both_lines.size() == 3);
  CHECK(both_lines[0].find("gpumm: --firm `metta`: no such firm") == 0);
  CHECK(both_lines[1] == "gpumm: --date 2040-01 is outside the scenario's horizon (2023-01-01 to 2032-12-31)");
  CHECK(both_lines[2] == "Try `gpumm explain --help`.");  // the command's own help
  CHECK(run_gpumm("explain inputs/base.yaml --firm meta").code == 2);
  CHECK(run_gpumm("explain tests/testdata/bad/nan_value.yaml --firm meta --date 2025-01").code == 2);
}

namespace {
// Column `name` of every data row of a CSV file.
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
  CHECK(verdict.find("balanced             trend from -4.4% to +73.2% (above +5.0% with utilization 89-98%: oversupply "
                     "needs it below 85%)") != std::string::npos);
  // firm by firm: Microsoft's surplus comes only in the glut, Google's mostly, and it is unwanted
  CHECK(verdict.find("\n  microsoft          72          0         0          72  in every one          weak_demand\n") !=
        std::string::npos);
  CHECK(verdict.find("\n  google             79          2         5          72  in 72 of 79           weak_demand\n") !=
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

TEST_CASE("cli: diff shows the default a scenario runs with where its document says nothing") {
  const fs::path out = scratch("diff-defaults");
  Result d = run_gpumm("diff inputs/base.yaml inputs/cases/grid-delay.yaml --metric periods_in_structural_shortage -o '" +
                       out.string() + "'");
  REQUIRE(d.code == 0);
  // the base leaves the firms' build lead time to its default; the case writes 48mo
  CHECK(d.out.find("  firms.microsoft.build_lead_time: 24mo (default) -> 48mo\n") != std::string::npos);
  CHECK(d.out.find("added: 48mo") == std::string::npos);
  // the case's slow grids leave sellers short of their contracts; the base's run warns of nothing
  CHECK(d.out.find("  warnings: none in base, contract_shortfall in grid-delay (each run's warnings.csv says what "
                   "and when)\n") != std::string::npos);
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
  CHECK(d.out.find("   1  programs.meta_frontier.delay\n") != std::string::npos);
  CHECK(d.out.find("   2  programs.meta_frontier.size: 4e25 FLOP -> 1.3e26 FLOP\n") != std::string::npos);
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
        "periods_in_structural_shortage, periods_in_oversupply, mean_mismatch_index_frac, mean_relative_balance_frac, "
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
  CHECK(rows[1] == "periods_in_structural_shortage,market.spot.initial,$,1,3,120,90,120,30");
  CHECK(rows[2] == "periods_in_structural_shortage,firms.microsoft.capex.2027,$B,120,230,92,90,89,3");
  CHECK(r.out.find("market.spot.initial         swing 30 (120 at low, 120 at high; not monotone: the base lies outside)\n"
                   "    firms.microsoft.capex.2027  swing 3 (92 at low, 89 at high)\n") != std::string::npos);
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
  // a sweep: the lowest and highest run, with the parameter set there (less capex, less compute)
  const fs::path sweep = scratch("headline-sweep");
  r = run_gpumm("study tests/testdata/studies/sweep_small.yaml -o '" + sweep.string() + "'");
  REQUIRE(r.code == 0);
  CHECK(r.out.find("  final_installed_h100e: lowest ") != std::string::npos);
  CHECK(r.out.find("(run 0: firms.google.capex.2026 = 10)") != std::string::npos);
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
    CHECK_MESSAGE(study.out.find("  " + std::string(series) + " in 2026-12: P5 " + at("_p5") + ", P50 " + at("_p50") +
                                 ", P95 " + at("_p95") + " (bands.csv has every period)\n") != std::string::npos,
                  series);
  }
  const auto capex = column(out / "samples.csv", "firms.google.capex.2026 ($B)");
  REQUIRE(capex.size() == 12);
  // each run again, alone, with its sampled value
  std::map<std::string, std::vector<std::vector<double>>> runs;  // series -> run -> period
  for (size_t k = 0; k < capex.size(); ++k) {
    const fs::path one = scratch("bands-run-" + std::to_string(k));
    REQUIRE(run_gpumm("run tests/testdata/good_demand.yaml -q --set firms.google.capex.2026=" + capex[k] + " -o '" +
                      one.string() + "'").code == 0);
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
      std::snprintf(expected, sizeof expected, "  %s in 2026-12: largest total Sobol' index %s %.3g [", name.c_str(),
                    best.c_str(), most);
      CHECK_MESSAGE(study.out.find(expected) != std::string::npos, expected);
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
  CHECK(r.out.starts_with("gpumm 0.1.0: study inputs/studies/tornado.yaml, tornado, 15 runs of inputs/base.yaml on 15 "
                          "threads in "));
  REQUIRE(run_gpumm("study inputs/studies/tornado.yaml -q --threads 1 -o '" + one.string() + "'").code == 0);
  CHECK(slurp(many / "samples.csv") == slurp(one / "samples.csv"));
  CHECK(slurp(many / "tornado.csv") == slurp(one / "tornado.csv"));
  // stopped once every run is saved, then resumed: no run to make, no thread started for one
  const fs::path stopped = scratch("study-threads-stopped");
  Result all_saved = run_gpumm("study inputs/studies/tornado.yaml --threads 1000 -o '" + stopped.string() + "'", kSource,
                               "GPUMM_TEST_STOP_AFTER_RUNS=15");
  CHECK(all_saved.code == 130);
  Result resumed = run_gpumm("study inputs/studies/tornado.yaml --threads 1000 --resume -o '" + stopped.string() + "'");
  REQUIRE(resumed.code == 0);
  CHECK(resumed.out.find("\n  resumed           15 of 15 runs from the checkpoint, ran the other 0\n") != std::string::npos);
  CHECK(resumed.out.find(" 15 runs of inputs/base.yaml on 1 thread in ") != std::string::npos);
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
      {"caret.yaml", "scenario: ../base.yaml\nmethod: sobol\nsamples: 2^13\n"}};
  const std::vector<std::string> odd_errors = {":3:1: invalid YAML", "lone_comma.yaml:1:1: invalid YAML: unexpected ','",
                                               "two.yaml:2:1: a study file holds one YAML document",
                                               "bomb.yaml:9:8: document too large",
                                               "fraction.yaml:3:10: samples: must be a whole number",
                                               "not_power.yaml:3:10: samples: `100`: Sobol needs a power of two: `128` or `64`",
                                               "not_power_low.yaml:3:10: samples: `5000`: Sobol needs a power of two: `4096` or `8192`",
                                               "caret.yaml:3:10: samples: `2^13`: write the number itself, `8192`"};
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
  CHECK(r.out.find("  warnings: contract_shortfall in 2 of 5 runs (first: run 0); samples.csv lists each run's in "
                   "`warnings`\n") != std::string::npos);
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
    CHECK(r.out.find("on 2 processes x 1 thread in") != std::string::npos);
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
