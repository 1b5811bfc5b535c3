#pragma once
// Writing results (DESIGN §7): RFC 4180 CSV with units in column names, formula-like text
// escaped, and files that appear only when complete (written under a staging folder, then
// renamed into place).
#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "gpumm/diagnosis.hpp"
#include "gpumm/scenario.hpp"
#include "gpumm/simulate.hpp"

namespace gpumm {

/// The output folder cannot be used (not an earlier gpumm output, not writable...): the folder
/// asked for is at fault (the CLI exits 2).
class OutputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Writing an output file failed on the way (a full disk, an I/O error, a file-size limit): a
/// runtime failure (the CLI exits 1). The message names the file and the system's reason.
class WriteError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A text cell as RFC 4180 wants it: quoted when it holds a comma, quote or line break, and
/// prefixed with `'` when a spreadsheet would run it as a formula (`=`, `+`, `-`, `@`, tab, CR).
std::string csv_text(std::string_view text);
/// A number as the shortest text that reads back to the same double ("0" for -0).
std::string csv_number(double x);
/// A number for people to read at a glance: 951, 12.3k (from 10,000), 4.5M, 1.2B.
std::string short_number(double x);
/// A number to three significant figures, with k, M, B or T from a thousand on: 0.296, 90,
/// 1.23k, 371M, 4.68B (a study's headline, where values run from shares to H100e-months).
std::string significant_number(double x);
/// A count with its noun, singular for one: `1 quarter`, `3 quarters`, `0 periods` (for the
/// nouns gpumm counts, whose plural adds an s).
std::string count_text(long long n, std::string_view noun);
/// The width of what gpumm prints for people to read on a terminal (80 columns): the commands'
/// summaries, `gpumm explain` and a study's headline wrap to it.
inline constexpr size_t kTerminalWidth = 80;
/// `text` wrapped for a reader: a line longer than `width` characters breaks at spaces, its
/// continuation lines indented by `indent` spaces; the spaces between its words stay as written
/// (a label's column gap) except where it breaks, and a word too long for any line (a path)
/// stays whole, breaking to the next line only where that starts it further left (so it stays
/// beside a label of the indent's width). Shorter lines, and the line breaks already in the
/// text, are left as they are.
std::string wrap_text(std::string_view text, size_t width, size_t indent = 0);
/// `text` with its spaces made ones wrap_text does not break at (and writes as spaces): a path
/// with spaces in it stays whole on one line.
std::string no_break(std::string_view text);
/// The codes of `warnings` with how many of each, `contract_shortfall (2), invariant (1)`: the
/// known codes in their fixed order (kWarningCodes), then any other in the order it came.
std::string warning_counts(const std::vector<Warning>& warnings);
/// A share as a percentage to three significant figures (`33.3%`, `0%`, `98.6%`); a share short
/// of 1 that would round to 100% is `over 99.9%`.
std::string share_text(double share);

/// Write `text` to `path` (replacing it) and close it, or throw WriteError with the file and
/// the system's reason: a short text fails on a full disk only when it is flushed at the close.
void write_text_file(const std::filesystem::path& path, std::string_view text);

/// A CSV file written row by row.
class CsvWriter {
 public:
  CsvWriter(const std::filesystem::path& path, const std::vector<std::string>& header);
  ~CsvWriter();
  CsvWriter(const CsvWriter&) = delete;
  CsvWriter& operator=(const CsvWriter&) = delete;

  CsvWriter& text(std::string_view s);
  CsvWriter& number(double x);
  void end_row();
  void close();  ///< flush and close; throws WriteError on a write error
  /// Lines written so far, the header's included.
  long lines() const { return lines_; }

 private:
  void sep();
  std::FILE* file_ = nullptr;
  std::filesystem::path path_;
  std::string line_;
  bool first_ = true;
  long lines_ = 0;
  int error_ = 0;  ///< errno of the first failed write
};

/// The most lines (the header's included) a spreadsheet opens: 2^20 in Excel and LibreOffice
/// Calc, which drop the rest of a longer CSV file.
inline constexpr long kSpreadsheetLines = 1048576;

/// An output folder that receives complete files only. Files are written in a staging folder
/// inside it and renamed into place by `commit()`; if the run fails before that, the staging
/// folder is removed and the folder is left as it was (a folder it created is removed).
class OutputDir {
 public:
  /// Refuses a folder that exists, is not empty and is not an earlier gpumm output, and one
  /// that another gpumm is writing into now (it holds the folder's lock until it is done).
  explicit OutputDir(std::filesystem::path dir);
  ~OutputDir();
  OutputDir(const OutputDir&) = delete;
  OutputDir& operator=(const OutputDir&) = delete;

  /// Where to write `name` before commit.
  std::filesystem::path staged(const std::string& name);
  void commit();
  const std::filesystem::path& dir() const { return dir_; }

  static constexpr const char* kMarker = ".gpumm-output";

 private:
  std::filesystem::path dir_, staging_;
  std::vector<std::string> names_;
  bool committed_ = false;
  bool created_ = false;  ///< the folder did not exist before
  int lock_fd_ = -1;      ///< the folder, locked while this output is written
};

/// Streams a run's per-period files (timeseries, firms, regions, contracts, market) while it
/// runs, then writes the files that need the whole run at the end: summary, projects,
/// warnings, episodes, the verdict and scenario.resolved.yaml.
class RunWriter {
 public:
  RunWriter(const Scenario& s, OutputDir& out);
  ~RunWriter();
  /// Observer to pass to `simulate`.
  PeriodObserver observer();
  /// Write the files that need the whole run and close everything. A CSV file longer than a
  /// spreadsheet opens (kSpreadsheetLines) adds a `spreadsheet_rows` warning to the run's
  /// warnings, before warnings.csv and the verdict are written. Returns the run's diagnosis
  /// (trend, regimes), which summary.csv and the verdict were written from.
  SeriesDiagnosis finish(RunResult& r, const std::string& tool_version);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct Episode;
/// The width verdict.txt's prose is wrapped to (its tables' rows may run longer).
inline constexpr size_t kVerdictWidth = 100;
/// The answer in two lines, unwrapped: the periods in each regime, and the mean mismatch index
/// with what it means (verdict.txt's first lines, and the close of `gpumm run`).
std::string verdict_headline(const RunResult& r, const SeriesDiagnosis& d);
/// The human-readable verdict of a run (verdict.txt).
std::string verdict_text(const Scenario& s, const RunResult& r, const SeriesDiagnosis& d,
                         const std::vector<Episode>& episodes);

/// The numbers summary.csv has for each period, in its order (after `date`, `period_end` and
/// `period_days`, before `regime` and `binding_upstream_node`), each with how it is read from a
/// run and its diagnosis. Studies analyse these as per-period series by the same names.
struct SummaryNumber {
  const char* name;
  double (*value)(const PeriodSummary& p, const SeriesDiagnosis& d, std::size_t t);
};
const std::vector<SummaryNumber>& summary_numbers();

/// Column names of each CSV file, as documented in the README.
const std::vector<std::string>& summary_columns();
const std::vector<std::string>& firms_columns();
const std::vector<std::string>& regions_columns();
const std::vector<std::string>& timeseries_columns();
const std::vector<std::string>& projects_columns();
const std::vector<std::string>& episodes_columns();
const std::vector<std::string>& contracts_columns();
const std::vector<std::string>& market_columns();
const std::vector<std::string>& warnings_columns();

}  // namespace gpumm
