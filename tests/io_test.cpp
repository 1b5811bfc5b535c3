#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "gpumm/episodes.hpp"
#include "gpumm/io.hpp"
#include "gpumm/scenario.hpp"
#include "gpumm/simulate.hpp"
#include "slurp.hpp"

using namespace gpumm;
namespace fs = std::filesystem;

namespace {
fs::path fresh_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("gpumm-io-test-" + std::to_string(::getpid()) + "-" + name);
  fs::remove_all(p);
  return p;
}
using gpumm::testing::slurp;
using gpumm::testing::unwrapped;
}  // namespace

TEST_CASE("io: text cells are quoted per RFC 4180 and formulas are defused") {
  CHECK(csv_text("meta") == "meta");
  CHECK(csv_text("a,b") == "\"a,b\"");
  CHECK(csv_text("say \"hi\"") == "\"say \"\"hi\"\"\"");
  CHECK(csv_text("two\nlines") == "\"two\nlines\"");
  CHECK(csv_text("=SUM(A1)") == "'=SUM(A1)");
  CHECK(csv_text("+1") == "'+1");
  CHECK(csv_text("-x") == "'-x");
  CHECK(csv_text("@cmd") == "'@cmd");
  CHECK(csv_text("=a,b") == "\"'=a,b\"");
}

TEST_CASE("io: short numbers for the terminal keep three figures or so") {
  CHECK(short_number(0) == "0");
  CHECK(short_number(951.4) == "951");
  CHECK(short_number(9999) == "9999");
  CHECK(short_number(12345) == "12.3k");
  CHECK(short_number(-20000) == "-20.0k");
  CHECK(short_number(4.5e6) == "4.5M");
  CHECK(short_number(1.26e9) == "1.3B");
  CHECK(short_number(999949) == "999.9k");
  CHECK(short_number(999960) == "1.0M");  // not 1000.0k
  CHECK(short_number(999.96e6) == "1.0B");
  CHECK(short_number(999.9e9) == "999.9B");
  CHECK(short_number(999.96e9) == "1.0T");  // not 1000.0B
  CHECK(short_number(2.5e13) == "25.0T");
  CHECK(short_number(1.01e21) == "1.0e+21");  // not 1010000000.0T
}

TEST_CASE("io: significant numbers keep three figures, with k, M, B or T from a thousand on") {
  CHECK(significant_number(0) == "0");
  CHECK(significant_number(0.29631) == "0.296");
  CHECK(significant_number(90) == "90");
  CHECK(significant_number(-0.0237) == "-0.0237");
  CHECK(significant_number(999.4) == "999");
  CHECK(significant_number(999.6) == "1k");  // not 1e+03
  CHECK(significant_number(1234) == "1.23k");
  CHECK(significant_number(3.71e8) == "371M");
  CHECK(significant_number(-2.59e7) == "-25.9M");
  CHECK(significant_number(999.7e6) == "1B");  // not 1e+03M
  CHECK(significant_number(4.68e9) == "4.68B");
  CHECK(significant_number(2.5e13) == "25T");
  CHECK(significant_number(999.4e12) == "999T");
  CHECK(significant_number(1.01e21) == "1.01e+21");  // not 1.01e+09T
  CHECK(significant_number(-3e15) == "-3e+15");
}

TEST_CASE("io: a share reads as a percentage, and a share short of all of it never as 100%") {
  CHECK(share_text(1.0 / 3) == "33.3%");
  CHECK(share_text(0.986) == "98.6%");
  CHECK(share_text(0.0) == "0%");
  CHECK(share_text(1.0) == "100%");
  CHECK(share_text(0.9994) == "99.9%");
  CHECK(share_text(0.9996) == "over 99.9%");  // %.3g would print 100%
}

TEST_CASE("io: numbers are the shortest text that reads back exactly") {
  CHECK(csv_number(0.0) == "0");
  CHECK(csv_number(-0.0) == "0");
  CHECK(csv_number(1.5) == "1.5");
  CHECK(csv_number(-2.25) == "-2.25");
  CHECK(std::stod(csv_number(1.0 / 3.0)) == 1.0 / 3.0);
}

TEST_CASE("io: files appear only on commit, with the marker") {
  fs::path dir = fresh_dir("commit");
  {
    OutputDir out(dir);
    CsvWriter w(out.staged("a.csv"), {"date", "value_mw"});
    w.text("2024-01-01").number(1.5);
    w.end_row();
    w.close();
    CHECK_FALSE(fs::exists(dir / "a.csv"));
    out.commit();
  }
  CHECK(slurp(dir / "a.csv") == "date,value_mw\r\n2024-01-01,1.5\r\n");
  CHECK(fs::exists(dir / OutputDir::kMarker));
  // no staging folder is left behind
  int entries = 0;
  for (auto& e : fs::directory_iterator(dir)) entries += e.path().filename().string().rfind(".staging", 0) == 0;
  CHECK(entries == 0);
  fs::remove_all(dir);
}

TEST_CASE("io: an output into an earlier one's folder removes the earlier files it does not write again") {
  fs::path dir = fresh_dir("replace");
  const auto commit = [&](std::vector<std::string> names) {
    OutputDir out(dir);
    for (const std::string& name : names) std::ofstream(out.staged(name)) << name;
    out.commit();
  };
  commit({"samples.csv", "sobol.csv", "manifest.yaml"});
  CHECK(slurp(dir / OutputDir::kMarker) ==
        "this folder holds gpumm output; gpumm may overwrite it\nsamples.csv\nsobol.csv\nmanifest.yaml\n");
  std::ofstream(dir / "my-notes.txt") << "mine";  // the analyst's own file, not in the list
  commit({"samples.csv", "tornado.csv", "manifest.yaml"});
  CHECK(fs::exists(dir / "tornado.csv"));
  CHECK_FALSE(fs::exists(dir / "sobol.csv"));
  CHECK(slurp(dir / "my-notes.txt") == "mine");
  // a marker that lists nothing (an earlier gpumm's), or names outside the folder, removes nothing
  std::ofstream(dir / OutputDir::kMarker) << "this folder holds gpumm output; gpumm may overwrite it\n"
                                          << "../outside.txt\n.\n\n";
  std::ofstream(dir.parent_path() / "outside.txt") << "keep";
  commit({"a.csv"});
  CHECK(fs::exists(dir / "tornado.csv"));
  CHECK(slurp(dir.parent_path() / "outside.txt") == "keep");
  fs::remove(dir.parent_path() / "outside.txt");
  fs::remove_all(dir);
}

TEST_CASE("io: a run that fails before commit leaves the folder as it was") {
  fs::path dir = fresh_dir("fail");
  {
    OutputDir out(dir);
    CsvWriter w(out.staged("a.csv"), {"x"});
    w.number(1);
    w.end_row();
    w.close();
    out.commit();
  }
  const std::string before = slurp(dir / "a.csv");
  {
    OutputDir out(dir);  // an earlier gpumm output may be reused
    CsvWriter w(out.staged("a.csv"), {"x"});
    w.number(2);
    w.end_row();
    // no commit: the writer dies here
  }
  CHECK(slurp(dir / "a.csv") == before);
  fs::remove_all(dir);
}

TEST_CASE("io: a folder that is not an earlier gpumm output is refused") {
  fs::path dir = fresh_dir("foreign");
  fs::create_directories(dir);
  std::ofstream(dir / "thesis.docx") << "important";
  CHECK_THROWS_WITH_AS(OutputDir{dir}, doctest::Contains("is not an earlier gpumm output"), OutputError);
  CHECK(slurp(dir / "thesis.docx") == "important");
  fs::remove_all(dir);
}

TEST_CASE("io: a CSV writer counts its lines, the header's included") {
  const fs::path dir = fresh_dir("lines");
  fs::create_directories(dir);
  CsvWriter w(dir / "x.csv", {"a", "b"});
  CHECK(w.lines() == 1);
  for (int k = 0; k < 3; ++k) {
    w.number(k).text("x");
    w.end_row();
  }
  CHECK(w.lines() == 4);
  w.close();
  CHECK(slurp(dir / "x.csv") == "a,b\r\n0,x\r\n1,x\r\n2,x\r\n");
  fs::remove_all(dir);
  CHECK(kSpreadsheetLines == 1 << 20);
}

TEST_CASE("io: the verdict names every code the run warned of, a code it does not know too") {
  const Scenario s = load_scenario_file(GPUMM_SOURCE_DIR "/tests/testdata/good_small.yaml");
  RunResult r = simulate(s);
  r.warnings = {{0, "spreadsheet_rows", "timeseries.csv has 2,000,000 rows"},
                {0, "something_new", "first"},
                {1, "something_new", "second"},
                {0, "invariant", "a stock left its bounds"}};
  const SeriesDiagnosis d = diagnose_run(s, r);
  const std::string v = verdict_text(s, r, d, find_episodes(s, r, d));
  CHECK(unwrapped(v).find(" The run warned of: invariant (1), spreadsheet_rows (1), something_new (2); warnings.csv says "
                          "what and when. ") != std::string::npos);
}

TEST_CASE("io: a balanced run of the timeline says why its trend beyond theta is no regime") {
  const Scenario s = load_scenario_file(GPUMM_SOURCE_DIR "/tests/testdata/good_small.yaml");
  RunResult r = simulate(s);  // no demand: every deployed GPU idle, utilization 0
  REQUIRE(r.periods.size() == 36);
  for (int t = 20; t < 24; ++t) r.periods[static_cast<size_t>(t)].idle_h100e *= 0.05;  // utilization 95%
  SeriesDiagnosis d;
  d.settings = resolve_defaults(s.diagnosis, s.step);  // theta 5%, 6 periods, u* 85%
  d.trend.assign(36, 0.0);
  for (int t = 0; t < 3; ++t) d.trend[static_cast<size_t>(t)] = -0.1;    // short 3 periods: too few
  for (int t = 10; t < 14; ++t) d.trend[static_cast<size_t>(t)] = 0.1;   // in surplus, idle, 4: too few
  for (int t = 20; t < 24; ++t) d.trend[static_cast<size_t>(t)] = 0.2;   // in surplus but busy
  d.temporary.assign(36, 0.0);
  std::vector<double> util;
  for (const PeriodSummary& p : r.periods) util.push_back(p.utilization());
  d.regimes = classify_regimes(d.trend, util, d.settings);
  REQUIRE(regime_runs(d.regimes).size() == 1);
  const std::string v = verdict_text(s, r, d, find_episodes(s, r, d));
  CHECK(unwrapped(v).find(" 2024-01 to 2026-12  balanced             trend from -10.0% to +0.0%, highest +20.0%"
                " (above +5.0% with utilization 95-95%: oversupply needs it below 85%)"
                " (below -5.0% for at most 3 periods in a row: a structural shortage needs 6)"
                " (above +5.0% with utilization below 85% for at most 4 periods in a row: oversupply needs 6) ") !=
        std::string::npos);
  // six periods in a row are a regime, and their run says nothing of the kind
  for (int t = 0; t < 6; ++t) d.trend[static_cast<size_t>(t)] = -0.1;
  d.regimes = classify_regimes(d.trend, util, d.settings);
  const std::string w = verdict_text(s, r, d, find_episodes(s, r, d));
  CHECK(w.find("\n  2024-01 to 2024-06  structural_shortage  trend from -10.0% to -10.0%\n") != std::string::npos);
  CHECK(w.find("a structural shortage needs") == std::string::npos);
}

TEST_CASE("io: text wraps at spaces to the width with its continuation lines indented and keeps short lines as written") {
  // a short line (with the columns its spaces make) and the line breaks stay as they are
  CHECK(wrap_text("  a   b\n\nc\n", 10) == "  a   b\n\nc\n");
  CHECK(wrap_text("no newline", 10) == "no newline");
  // exactly the width fits; one more character breaks before the word that overflows
  CHECK(wrap_text("aaaa bbbb c", 11) == "aaaa bbbb c");
  CHECK(wrap_text("aaaa bbbb cc", 11) == "aaaa bbbb\ncc");
  // continuation lines start at the indent, whatever the first line's
  CHECK(wrap_text("  one two three four", 12, 4) == "  one two\n    three\n    four");
  CHECK(wrap_text("one two three four five\nsix", 9) == "one two\nthree\nfour five\nsix");
  // a label's gap is kept, the spaces where the line breaks are not
  CHECK(wrap_text("  label   value and more", 18, 10) == "  label   value\n          and more");
  CHECK(wrap_text("a    b c d e f", 6) == "a    b\nc d e\nf");
  // a word too long for any line stays whole, on the next line where that starts it further
  // left, else beside the label before it
  CHECK(wrap_text("at /a/very/long/path/name now", 10) == "at\n/a/very/long/path/name\nnow");
  CHECK(wrap_text("  output  /a/very/long/path/name now", 20, 10) == "  output  /a/very/long/path/name\n          now");
  // trailing spaces of a long line go
  CHECK(wrap_text("aaa bbb ccc   ", 7) == "aaa bbb\nccc");
  // every line of a long text fits, and its words are the text's words in order
  const std::string words = "Causes of this month's idle and sold capacity: slipped training project 0%, "
                            "take-or-pay excess 0%, generation transition 0%, sold to firms short of capacity 100%.";
  const std::string wrapped = wrap_text(words, 40, 2);  // continuation lines start at column 2
  std::string joined;
  std::istringstream in(wrapped);
  for (std::string line; std::getline(in, line);) {
    CHECK(line.size() <= 40);
    if (!joined.empty()) joined += ' ';
    joined.append(line, line.find_first_not_of(' '));
  }
  CHECK(joined == words);
}

TEST_CASE("io: a path marked no_break stays whole on its line and prints with its spaces") {
  const std::string path = "/home/an analyst/my runs/out/base/";
  CHECK(wrap_text("  output  " + no_break(path) + " (summary.csv, firms.csv)", 30, 10) ==
        "  output  /home/an analyst/my runs/out/base/\n          (summary.csv,\n          firms.csv)");
  CHECK(wrap_text("  output  " + no_break("/a b/") + " (summary.csv, firms.csv)", 30, 10) ==
        "  output  /a b/ (summary.csv,\n          firms.csv)");
  CHECK(wrap_text(no_break("a b"), 80) == "a b");
}

TEST_CASE("io: wrapped text keeps every word in order and no line passes the width but for a word too long for any") {
  // random lines of words (1 to 30 letters, runs of 1 to 3 spaces, some indented) at random
  // widths and indents: a fixed seed, so that a failure repeats
  std::mt19937 rng(20261202);
  const auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int trial = 0; trial < 500; ++trial) {
    std::string text;
    std::vector<std::vector<std::string>> words;  // per input line
    const int nlines = uniform(1, 4);
    for (int l = 0; l < nlines; ++l) {
      words.emplace_back();
      text.append(static_cast<size_t>(uniform(0, 1) * uniform(1, 6)), ' ');
      for (int k = uniform(0, 25); k > 0; --k) {
        words.back().push_back(std::string(static_cast<size_t>(uniform(1, 30)), static_cast<char>('a' + uniform(0, 25))));
        text += words.back().back();
        if (k > 1) text.append(static_cast<size_t>(uniform(1, 3)), ' ');
      }
      if (l + 1 < nlines) text += '\n';
    }
    const size_t width = static_cast<size_t>(uniform(10, 100)), indent = static_cast<size_t>(uniform(0, 8));
    const std::string wrapped = wrap_text(text, width, indent);
    CAPTURE(text);
    CAPTURE(width);
    CAPTURE(indent);
    // the words of the output in order, each line within the width unless it is one word
    std::vector<std::string> out;
    std::istringstream in(wrapped);
    for (std::string line; std::getline(in, line);) {
      std::istringstream ws(line);
      std::vector<std::string> on_line;
      for (std::string w; ws >> w;) on_line.push_back(w);
      // (or its last word is too long for any line and starts no further right than the indent)
      CHECK((line.size() <= width || on_line.size() <= 1 ||
             (indent + on_line.back().size() > width && line.size() - on_line.back().size() <= indent)));
      out.insert(out.end(), on_line.begin(), on_line.end());
    }
    std::vector<std::string> all;
    for (const auto& l : words) all.insert(all.end(), l.begin(), l.end());
    CHECK(out == all);
    // the text's own line breaks are all kept
    CHECK(std::count(wrapped.begin(), wrapped.end(), '\n') >= std::count(text.begin(), text.end(), '\n'));
  }
}

TEST_CASE("io: a count names its noun in the singular for one") {
  CHECK(count_text(1, "quarter") == "1 quarter");
  CHECK(count_text(0, "period") == "0 periods");
  CHECK(count_text(120, "month") == "120 months");
}

TEST_CASE("io: the verdict says when each structural shortage was first called in real time, or that it never was") {
  const Scenario s = load_scenario_file(GPUMM_SOURCE_DIR "/tests/testdata/good_small.yaml");
  const RunResult r = simulate(s);
  REQUIRE(r.periods.size() == 36);  // 2024-01 to 2026-12, monthly
  SeriesDiagnosis d;
  d.settings = resolve_defaults(s.diagnosis, s.step);
  d.trend.assign(36, -0.1);
  d.temporary.assign(36, 0.0);
  using R = Regime;
  // after the fact: short in 2024-03 to 2024-12 and 2025-07 to 2026-06; in real time the first
  // is called from 2024-08, the second never
  d.regimes.assign(36, R::balanced);
  for (int t = 2; t < 12; ++t) d.regimes[static_cast<size_t>(t)] = R::structural_shortage;
  for (int t = 18; t < 30; ++t) d.regimes[static_cast<size_t>(t)] = R::structural_shortage;
  d.revision.realtime.assign(36, 0.0);
  d.revision.realtime_regimes.assign(36, R::balanced);
  for (int t = 7; t < 12; ++t) d.revision.realtime_regimes[static_cast<size_t>(t)] = R::structural_shortage;
  CHECK(d.revision.shortage_missed(d.regimes) == 5 + 12);
  const std::string v = unwrapped(verdict_text(s, r, d, find_episodes(s, r, d)));
  CHECK(v.find("Of the 22 months of structural shortage, 17 were not called one in real time (a study's "
               "periods_shortage_missed_in_real_time). The structural shortage of 2024-03 to 2024-12 was first called "
               "one in real time in 2024-08, 5 months after it began. The structural shortage of 2025-07 to 2026-06 was "
               "never called one in real time while it lasted.") != std::string::npos);
}
