#include "gpumm/io.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <csignal>
#include <cstdlib>
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "gpumm/diagnosis.hpp"
#include "gpumm/episodes.hpp"
#include "gpumm/market.hpp"
#include "rounding.hpp"

namespace gpumm {

namespace fs = std::filesystem;

// ---- cells ----------------------------------------------------------------------------------

std::string csv_text(std::string_view text) {
  std::string s(text);
  if (!s.empty() && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' ||
                     s[0] == '\r'))
    s.insert(s.begin(), '\'');
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) {
    if (c == '"') q += '"';
    q += c;
  }
  q += '"';
  return q;
}

std::string short_number(double x) {
  char buf[64];
  const double a = std::abs(x);
  // beyond a thousand trillion (a study's extreme corner), powers of ten say it shortest
  if (a >= 999.95e12) std::snprintf(buf, sizeof buf, "%.1e", x);
  else if (a >= 999.95e9) std::snprintf(buf, sizeof buf, "%.1fT", x / 1e12);
  else if (a >= 999.95e6) std::snprintf(buf, sizeof buf, "%.1fB", x / 1e9);  // (999.96M is 1.0B, not 1000.0M)
  else if (a >= 999.95e3) std::snprintf(buf, sizeof buf, "%.1fM", x / 1e6);
  else if (a >= 1e4) std::snprintf(buf, sizeof buf, "%.1fk", x / 1e3);
  else std::snprintf(buf, sizeof buf, "%.0f", x);
  return buf;
}

std::string share_text(double share) {
  // a share short of all of it never reads as 100%
  if (share < 1.0 && share >= 0.9995) return "over 99.9%";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g%%", 100 * share);
  return buf;
}

std::string count_text(long long n, std::string_view noun) {
  return std::to_string(n) + " " + std::string(noun) + (n == 1 ? "" : "s");
}

namespace {
// A space inside a word (no_break): ASCII's unit separator, which no text gpumm prints holds.
constexpr char kNoBreakSpace = '\x1f';
}  // namespace

std::string no_break(std::string_view text) {
  std::string v(text);
  std::replace(v.begin(), v.end(), ' ', kNoBreakSpace);
  return v;
}

std::string wrap_text(std::string_view text, size_t width, size_t indent) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  const std::string lead(indent, ' ');
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (line.size() <= width) {
      out.append(line);
    } else {
      // word by word, each after the spaces written before it (a label's column gap stays),
      // except where the line breaks
      size_t used = 0, at = 0;
      bool fresh = true;  // no word on the output line yet
      while (at < line.size()) {
        const size_t start = line.find_first_not_of(' ', at);
        if (start == std::string_view::npos) break;
        const size_t end = std::min(line.find(' ', start), line.size());
        const size_t gap = start - at, n = end - start;
        // a word too long for any line breaks only to start further left (a path after its
        // label stays beside it)
        if (!fresh && used + gap + n > width && (lead.size() + n <= width || used + gap > lead.size())) {
          out.append(1, '\n').append(lead);
          used = lead.size();
        } else {
          out.append(gap, ' ');
          used += gap;
        }
        out.append(line.substr(start, n));
        used += n;
        fresh = false;
        at = end;
      }
    }
    if (nl != std::string_view::npos) out += '\n';
  }
  std::replace(out.begin(), out.end(), kNoBreakSpace, ' ');
  return out;
}

std::string significant_number(double x) {
  const double a = std::abs(x);
  // the scale that leaves at most three digits before the point once rounded (999.7M is 1B,
  // not 1e+03M)
  if (a >= 999.5e12) {  // beyond a thousand trillion: powers of ten (1.01e+21), not 1.01e+09T
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.3g", x);
    return buf;
  }
  const auto [scale, suffix] = a >= 999.5e9   ? std::pair{1e12, "T"}
                               : a >= 999.5e6 ? std::pair{1e9, "B"}
                               : a >= 999.5e3 ? std::pair{1e6, "M"}
                               : a >= 999.5   ? std::pair{1e3, "k"}
                                              : std::pair{1.0, ""};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3g%s", x / scale, suffix);
  return buf;
}

std::string csv_number(double x) {
  if (x == 0.0) return "0";
  char buf[32];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, x);
  (void)ec;
  return std::string(buf, p);
}

// ---- CsvWriter ------------------------------------------------------------------------------

namespace {
// Test hook: GPUMM_TEST_KILL_AFTER_ROWS=N kills the process (SIGKILL) after N rows have been
// written, the way an interrupted run dies, so tests can check what such a run leaves behind.
long kill_after_rows() {
  static const long n = [] {
    const char* v = std::getenv("GPUMM_TEST_KILL_AFTER_ROWS");
    return v ? std::atol(v) : -1L;
  }();
  return n;
}
long rows_written = 0;
}  // namespace

void write_text_file(const fs::path& path, std::string_view text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  f.close();
  if (!f) throw WriteError("cannot write " + path.string() + ": " + std::strerror(errno));
}

CsvWriter::CsvWriter(const fs::path& path, const std::vector<std::string>& header) : path_(path) {
  file_ = std::fopen(path.c_str(), "wb");
  if (!file_) throw WriteError("cannot create " + path.string() + ": " + std::strerror(errno));
  std::setvbuf(file_, nullptr, _IOFBF, 1 << 16);
  for (const std::string& h : header) text(h);
  end_row();
}

CsvWriter::~CsvWriter() {
  if (file_) std::fclose(file_);
}

void CsvWriter::sep() {
  if (!first_) line_ += ',';
  first_ = false;
}

CsvWriter& CsvWriter::text(std::string_view s) {
  sep();
  line_ += csv_text(s);
  return *this;
}

CsvWriter& CsvWriter::number(double x) {
  sep();
  if (x == 0.0) {
    line_ += '0';
    return *this;
  }
  char buf[32];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, x);
  (void)ec;
  line_.append(buf, p);
  return *this;
}

void CsvWriter::end_row() {
  line_ += "\r\n";  // RFC 4180 line ending
  if (std::fwrite(line_.data(), 1, line_.size(), file_) != line_.size() && error_ == 0) error_ = errno;
  line_.clear();
  first_ = true;
  ++lines_;
  if (kill_after_rows() >= 0 && ++rows_written > kill_after_rows()) {
    std::fflush(file_);
    std::raise(SIGKILL);
  }
}

void CsvWriter::close() {
  if (!file_) return;
  const bool bad = std::ferror(file_) != 0;
  const bool closed = std::fclose(file_) == 0;
  if (!closed && error_ == 0) error_ = errno;
  file_ = nullptr;
  if (bad || !closed)
    throw WriteError("error writing " + path_.string() + (error_ ? std::string(": ") + std::strerror(error_) : ""));
}

// ---- OutputDir ------------------------------------------------------------------------------

OutputDir::OutputDir(fs::path dir) : dir_(std::move(dir)) {
  std::error_code ec;
  if (fs::exists(dir_, ec)) {
    if (!fs::is_directory(dir_, ec))
      throw OutputError(dir_.string() + " exists and is not a folder; choose another with -o");
    // staging folders and study checkpoints left by killed runs are ours; anything else needs
    // the marker
    bool foreign = false;
    for (const auto& entry : fs::directory_iterator(dir_, ec)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind(".staging-", 0) != 0 && name.rfind(".checkpoint", 0) != 0) foreign = true;
    }
    if (foreign && !fs::exists(dir_ / kMarker, ec))
      throw OutputError("refusing to write into " + dir_.string() +
                        ": it is not empty and is not an earlier gpumm output (no " + kMarker +
                        "); choose another folder with -o");
  } else {
    fs::create_directories(dir_, ec);
    if (ec) throw OutputError("cannot create " + dir_.string() + ": " + ec.message());
    created_ = true;
  }
  // one gpumm at a time in a folder: two committing at once would leave a mix of both outputs,
  // and the staging folder of one is left over for the other. The lock is the folder's own
  // (flock, released when the process ends however it ends); a file system without locks goes
  // without.
  lock_fd_ = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (lock_fd_ >= 0 && ::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
    ::close(lock_fd_);
    lock_fd_ = -1;
    throw OutputError("another gpumm is writing into " + dir_.string() +
                      " now; wait for it to finish, or choose another folder with -o");
  }
  // staging folders of runs that were killed (no gpumm holds the folder now)
  for (const auto& entry : fs::directory_iterator(dir_, ec))
    if (entry.path().filename().string().rfind(".staging-", 0) == 0) fs::remove_all(entry.path(), ec);
  staging_ = dir_ / (".staging-" + std::to_string(::getpid()));
  fs::remove_all(staging_, ec);
  fs::create_directories(staging_, ec);
  if (ec) {
    if (created_) fs::remove(dir_, ec);
    throw OutputError("cannot create " + staging_.string() + ": " + ec.message());
  }
}

OutputDir::~OutputDir() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
  if (committed_) return;
  std::error_code ec;
  fs::remove_all(staging_, ec);
  if (created_) fs::remove(dir_, ec);  // only if empty: nothing of gpumm's is left in it
}

fs::path OutputDir::staged(const std::string& name) {
  names_.push_back(name);
  return staging_ / name;
}

namespace {
constexpr const char* kMarkerLine = "this folder holds gpumm output; gpumm may overwrite it";

// The files an earlier output's marker lists (its lines after the first; none in the marker of
// a gpumm that did not list them): plain names in the folder only.
std::vector<std::string> marked_files(const fs::path& marker) {
  std::vector<std::string> names;
  std::ifstream in(marker, std::ios::binary);
  std::string line;
  if (!std::getline(in, line)) return names;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty() && line != "." && line != ".." && line.find('/') == std::string::npos) names.push_back(line);
  }
  return names;
}
}  // namespace

void OutputDir::commit() {
  // the marker lists the files of this output, so that the next one into the folder removes
  // those it does not write again: a tornado study after a Sobol study leaves no sobol.csv
  const std::vector<std::string> earlier = marked_files(dir_ / kMarker);
  std::string marker = std::string(kMarkerLine) + "\n";
  for (const std::string& name : names_) marker += name + "\n";
  write_text_file(staging_ / kMarker, marker);
  names_.push_back(kMarker);
  for (const std::string& name : names_) {
    std::error_code ec;
    fs::rename(staging_ / name, dir_ / name, ec);
    if (ec) throw WriteError("cannot move " + name + " into " + dir_.string() + ": " + ec.message());
  }
  std::error_code ec;
  for (const std::string& name : earlier)
    if (std::find(names_.begin(), names_.end(), name) == names_.end()) fs::remove(dir_ / name, ec);
  fs::remove_all(staging_, ec);
  committed_ = true;
}

// ---- columns --------------------------------------------------------------------------------

const std::vector<SummaryNumber>& summary_numbers() {
  using P = const PeriodSummary&;
  using D = const SeriesDiagnosis&;
  static const std::vector<SummaryNumber> n = {
      {"installed_gpus", [](P p, D, size_t) { return p.installed_gpus; }},
      {"installed_h100e", [](P p, D, size_t) { return p.installed_h100e; }},
      {"deployed_gpus", [](P p, D, size_t) { return p.deployed_gpus; }},
      {"deployed_h100e", [](P p, D, size_t) { return p.deployed_h100e; }},
      {"stranded_gpus", [](P p, D, size_t) { return p.stranded_gpus; }},
      {"stranded_h100e", [](P p, D, size_t) { return p.stranded_h100e; }},
      {"stranded_power_gpus", [](P p, D, size_t) { return p.stranded_power_gpus; }},
      {"stranded_building_gpus", [](P p, D, size_t) { return p.stranded_building_gpus; }},
      {"stranded_network_gpus", [](P p, D, size_t) { return p.stranded_network_gpus; }},
      {"energized_mw", [](P p, D, size_t) { return p.energized_mw; }},
      {"grid_queue_mw", [](P p, D, size_t) { return p.grid_queue_mw; }},
      {"it_built_mw", [](P p, D, size_t) { return p.it_built_mw; }},
      {"usable_it_mw", [](P p, D, size_t) { return p.usable_it_mw; }},
      {"ordered_gpus", [](P p, D, size_t) { return p.ordered_gpus; }},
      {"delivered_gpus", [](P p, D, size_t) { return p.delivered_gpus; }},
      {"retired_gpus", [](P p, D, size_t) { return p.retired_gpus; }},
      {"rolled_over_gpus", [](P p, D, size_t) { return p.rolled_over_gpus; }},
      {"backlog_gpus", [](P p, D, size_t) { return p.backlog_gpus; }},
      {"on_order_gpus", [](P p, D, size_t) { return p.on_order_gpus; }},
      {"capex_spent_usd", [](P p, D, size_t) { return p.capex_spent_usd; }},
      {"demand_training_h100e", [](P p, D, size_t) { return p.demand_training_h100e; }},
      {"demand_inference_h100e", [](P p, D, size_t) { return p.demand_inference_h100e; }},
      {"demand_other_h100e", [](P p, D, size_t) { return p.demand_other_h100e; }},
      {"demand_h100e", [](P p, D, size_t) { return p.demand_h100e(); }},
      {"served_h100e", [](P p, D, size_t) { return p.served_h100e; }},
      {"unserved_h100e", [](P p, D, size_t) { return p.unserved_h100e; }},
      {"idle_h100e", [](P p, D, size_t) { return p.idle_h100e; }},
      {"balance_h100e", [](P p, D, size_t) { return p.balance_h100e(); }},
      {"relative_balance_frac", [](P p, D, size_t) { return p.relative_balance(); }},
      {"trend_relative_balance_frac", [](P, D d, size_t t) { return d.trend[t]; }},
      {"temporary_relative_balance_frac", [](P, D d, size_t t) { return d.temporary[t]; }},
      {"utilization_frac", [](P p, D, size_t) { return p.utilization(); }},
      {"mismatch_index_frac", [](P p, D, size_t) { return p.mismatch_index; }},
      {"mismatch_firms_frac", [](P p, D, size_t) { return p.mismatch_firms; }},
      {"mismatch_regions_frac", [](P p, D, size_t) { return p.mismatch_regions; }},
      {"mismatch_generations_frac", [](P p, D, size_t) { return p.mismatch_generations; }},
      {"market_matched_h100e", [](P p, D, size_t) { return p.market_matched_h100e; }},
      {"market_unmet_h100e", [](P p, D, size_t) { return p.market_unmet_h100e; }},
      {"contract_shortfall_h100e", [](P p, D, size_t) { return p.contract_shortfall_h100e; }},
      {"spot_usd_per_h100e_hour", [](P p, D, size_t) { return p.spot_usd_per_h100e_hour; }},
      {"term_usd_per_h100e_hour", [](P p, D, size_t) { return p.term_usd_per_h100e_hour; }}};
  return n;
}

const std::vector<std::string>& summary_columns() {
  static const std::vector<std::string> c = [] {
    std::vector<std::string> names = {"date", "period_end", "period_days"};
    for (const SummaryNumber& n : summary_numbers()) names.emplace_back(n.name);
    names.insert(names.end(), {"regime", "trend_revision_frac", "trend_realtime_frac", "regime_realtime",
                               "binding_upstream_node"});
    return names;
  }();
  return c;
}

namespace {
// `head`, then the column of each cause of spare capacity (`column` of SpareCause), then `tail`.
std::vector<std::string> with_cause_columns(std::vector<std::string> head, const char* SpareCause::*column,
                                            const char* tail) {
  for (const SpareCause& cause : kSpareCauses) head.emplace_back(cause.*column);
  head.emplace_back(tail);
  return head;
}
}  // namespace

const std::vector<std::string>& firms_columns() {
  static const std::vector<std::string> c = {
      "date", "firm", "energized_mw", "grid_queue_mw", "it_built_mw", "usable_it_mw",
      "installed_gpus", "installed_h100e", "deployed_gpus", "deployed_h100e", "stranded_gpus",
      "stranded_power_gpus", "stranded_building_gpus", "stranded_network_gpus", "ports",
      "ordered_gpus", "delivered_gpus", "backlog_gpus", "on_order_gpus", "demand_training_h100e",
      "demand_inference_h100e", "demand_other_h100e", "unserved_h100e", "idle_h100e",
      "balance_h100e", "contracted_in_h100e", "contracted_out_h100e", "market_bought_h100e",
      "market_sold_h100e", "resale_revenue_usd", "market_spend_usd", "contract_paid_usd",
      "contract_received_usd", "backstop_received_usd", "binding_input", "binding_upstream_node",
      "spare_h100e"};
  static const std::vector<std::string> all = with_cause_columns(c, &SpareCause::firms_column, "spare_main_cause");
  return all;
}

const std::vector<std::string>& regions_columns() {
  static const std::vector<std::string> c = {
      "date", "region", "latency_group", "energized_mw", "grid_queue_mw", "it_built_mw",
      "usable_it_mw", "installed_gpus", "installed_h100e", "deployed_gpus", "deployed_h100e",
      "stranded_gpus", "stranded_power_gpus", "stranded_building_gpus", "stranded_network_gpus",
      "backlog_gpus", "demand_training_h100e", "demand_inference_h100e", "demand_other_h100e",
      "unserved_h100e", "idle_h100e", "balance_h100e", "binding_input"};
  return c;
}

const std::vector<std::string>& projects_columns() {
  static const std::vector<std::string> c = {
      "project", "program", "firm", "region", "size_flop", "h100e", "planned_start",
      "planned_end", "slip_days", "slipped_start", "actual_start", "actual_end", "wait_days",
      "status"};
  return c;
}

const std::vector<std::string>& contracts_columns() {
  static const std::vector<std::string> c = {
      "date", "contract", "seller", "buyer", "region", "delivered_h100e", "used_h100e",
      "unused_share", "shortfall_h100e", "price_usd_per_h100e_hour", "payment_usd"};
  return c;
}

const std::vector<std::string>& market_columns() {
  static const std::vector<std::string> c = {
      "date", "region", "generation", "offers_h100e", "bids_h100e", "matched_h100e", "unmet_h100e",
      "idle_h100e", "idle_reason", "spot_usd_per_h100e_hour", "term_usd_per_h100e_hour"};
  return c;
}

const std::vector<std::string>& episodes_columns() {
  static const std::vector<std::string> c = {
      "firm", "start", "end", "periods", "peak_surplus_h100e", "surplus_h100e_months",
      "during_structural_shortage", "structural_shortage_share"};
  static const std::vector<std::string> all = with_cause_columns(c, &SpareCause::episodes_column, "main_cause");
  return all;
}

const std::vector<std::string>& warnings_columns() {
  static const std::vector<std::string> c = {"date", "code", "message"};
  return c;
}

const std::vector<std::string>& timeseries_columns() {
  static const std::vector<std::string> c = {"date", "firm", "region", "generation", "metric",
                                             "value", "unit"};
  return c;
}

// ---- verdict --------------------------------------------------------------------------------

namespace {
std::string pct(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%+.1f%%", 100 * x);
  return buf;
}
// The month a period starts in, and the month it ends in: a run of periods reads from the first
// one's to the last one's (`2024-01 to 2024-03` for one quarter, not `2024-01 to 2024-01`).
std::string month_of(const Calendar& cal, int t) { return to_iso(cal[t].start).substr(0, 7); }
std::string end_month_of(const Calendar& cal, int t) { return to_iso(cal[t].last).substr(0, 7); }
std::string fixed2(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", x);
  return buf;
}
// A series over periods [first, last] in words: "A to B" from its first value to its last, in
// the order of the dates, and its lowest and highest when they lie beyond those two as written.
template <class Value, class Format>
std::string first_to_last(int first, int last, Value value, Format format) {
  const double from = value(first), to = value(last);
  double lo = from, hi = from;
  for (int t = first; t <= last; ++t) {
    lo = std::min(lo, value(t));
    hi = std::max(hi, value(t));
  }
  std::string v = format(from) + " to " + format(to);
  // beyond them as written, not by a difference the format rounds away (a flat trend's noise)
  if (lo < std::min(from, to) && format(lo) != format(std::min(from, to))) v += ", lowest " + format(lo);
  if (hi > std::max(from, to) && format(hi) != format(std::max(from, to))) v += ", highest " + format(hi);
  return v;
}
}  // namespace

std::string verdict_headline(const RunResult& r, const SeriesDiagnosis& d) {
  const int T = r.calendar.size();
  int shortage = 0, glut = 0;
  for (Regime g : d.regimes) {
    shortage += g == Regime::structural_shortage;
    glut += g == Regime::oversupply;
  }
  double mismatch = 0;
  for (const PeriodSummary& p : r.periods) mismatch += p.mismatch_index;
  mismatch /= std::max(1, T);
  return "Structural shortage in " + std::to_string(shortage) + " of " + count_text(T, "period") +
         ", oversupply in " + std::to_string(glut) + ", balanced in " + std::to_string(T - shortage - glut) +
         ".\nMean mismatch index " + std::to_string(mismatch).substr(0, 4) +
         " (1: surpluses and shortages coexist across firms, regions and generations; 0: everyone on the "
         "same side).\n";
}

namespace {
// A verdict table's first column holds firm ids: as wide as the longest id it shows when every
// row then still fits the file's width (`rest`: the longest row's length past that column), else
// `least` wide, and an id longer than that goes on a line of its own above its row's numbers.
size_t id_column(const std::vector<std::string_view>& ids, size_t least, size_t rest) {
  size_t longest = least;
  for (std::string_view id : ids) longest = std::max(longest, id.size());
  return 2 + longest + rest <= kVerdictWidth ? longest : least;
}

// The start of a row in such a table: the id padded to the column, or the id on its own line
// and the column left blank under it.
std::string id_cell(std::string_view id, size_t width) {
  if (id.size() > width) return "  " + std::string(id) + "\n" + std::string(2 + width, ' ');
  return "  " + std::string(id) + std::string(width - id.size(), ' ');
}

// verdict.txt's parts, each appended to `v`. Prose is wrapped to the file's width; a table's
// row too long for it goes on under its text, past the dates and the regime (kRowText).
constexpr size_t kRowText = 43;

void prose(std::string& v, const std::string& text) { v += wrap_text(text, kVerdictWidth); }

// The regime timeline: each run of one regime with its trend from first to last period, and
// why a balanced run whose trend goes beyond the threshold is no regime.
void verdict_timeline(std::string& v, const RunResult& r, const SeriesDiagnosis& d) {
  const Calendar& cal = r.calendar;
  prose(v, "Regime timeline (trend of the relative balance, " +
       std::string(d.settings.method == DiagnosisSettings::Method::hp ? "Hodrick-Prescott" : "centred moving average") +
       "; structural beyond " + pct(d.settings.threshold).substr(1) + " for at least " +
       count_text(d.settings.persistence, "period") + "; oversupply also needs utilization below " +
       std::to_string(static_cast<int>(std::lround(100 * d.settings.utilization))) + "%):\n");
  const auto trend = [&](int t) { return d.trend[static_cast<size_t>(t)]; };
  for (const RegimeRun& run : regime_runs(d.regimes)) {
    char line[200];
    std::snprintf(line, sizeof line, "  %s to %s  %-20s trend from ", month_of(cal, run.first).c_str(),
                  end_month_of(cal, run.last).c_str(), to_string(run.regime).c_str());
    std::string row = line + first_to_last(run.first, run.last, trend, pct);
    // a balanced run whose trend goes beyond theta says why that is no regime: utilization at or
    // above u* (above +theta), or too few periods in a row (a horizon shorter than the
    // persistence can never be structural)
    if (run.regime == Regime::balanced) {
      const DiagnosisSettings& ds = d.settings;
      const auto busy = [&](int t) { return r.periods[static_cast<size_t>(t)].utilization() >= ds.utilization; };
      double u_lo = 1e300, u_hi = -1e300;
      for (int t = run.first; t <= run.last; ++t)
        if (trend(t) > ds.threshold && busy(t)) {
          u_lo = std::min(u_lo, r.periods[static_cast<size_t>(t)].utilization());
          u_hi = std::max(u_hi, r.periods[static_cast<size_t>(t)].utilization());
        }
      if (u_lo <= u_hi) {
        std::snprintf(line, sizeof line, " (above +%s with utilization %.0f-%.0f%%: oversupply needs it below %.0f%%)",
                      pct(ds.threshold).substr(1).c_str(), 100 * u_lo, 100 * u_hi, 100 * ds.utilization);
        row += line;
      }
      const auto longest = [&](auto condition) {
        int streak = 0, most = 0;
        for (int t = run.first; t <= run.last; ++t) most = std::max(most, streak = condition(t) ? streak + 1 : 0);
        return most;
      };
      const int below = longest([&](int t) { return trend(t) < -ds.threshold; });
      const int above = longest([&](int t) { return trend(t) > ds.threshold && !busy(t); });
      const std::string theta = pct(ds.threshold).substr(1), needs = std::to_string(ds.persistence) + ")";
      if (below > 0)
        row += " (below -" + theta + " for at most " + count_text(below, "period") +
             " in a row: a structural shortage needs " + needs;
      if (above > 0)
        row += " (above +" + theta + " with utilization below " +
             std::to_string(static_cast<int>(std::lround(100 * ds.utilization))) + "% for at most " +
             count_text(above, "period") + " in a row: oversupply needs " + needs;
    }
    v += wrap_text(row + "\n", kVerdictWidth, kRowText);
  }
}

// The last two years' trend moves when the horizon is extended: how far it moved in this run at
// each distance from a cut-off end, and whether the trend there is further than that from the
// threshold it would have to cross.
void verdict_revision(std::string& v, const RunResult& r, const SeriesDiagnosis& d) {
  const TrendRevision& rev = d.revision;
  if (rev.bound.empty()) return;
  const Calendar& cal = r.calendar;
  const int T = cal.size(), first = rev.zone_start();
  const std::string step = to_string(cal.step()), steps = step + "s";
  std::string text = (first == 0 ? "\nThe trend of the whole run"
                                  : "\nThe trend of the last two years (" + month_of(cal, first) + " to " +
                                        end_month_of(cal, T - 1) + ")") +
                     " is provisional: it rests on fewer later " + steps + " and moves when the horizon is extended";
  if (!rev.measured()) {
    prose(v, text + ", by how much a run shorter than " + count_text(2 * rev.lookahead + 1, step) + " cannot measure.\n");
    return;
  }
  text += ".";
  const std::vector<int> changing = rev.may_change(d.trend);
  const int far = T - 1 - first;
  text += " In this run, the trend " + count_text(far, step) + " before a cut-off end moved by up to " +
          pct(rev.bound[static_cast<size_t>(first)]).substr(1) + " of demand when two more years came after it, and the trend at that end by up to " +
          pct(rev.bound[static_cast<size_t>(T - 1)]).substr(1) + " (summary.csv's trend_revision_frac gives it " + step + " by " + step +
          ").";
  const std::string crossing = "the threshold it would have to cross to change the regime (-" + pct(d.settings.threshold).substr(1) +
                               ", or +" + pct(d.settings.threshold).substr(1) + " with utilization below " +
                               std::to_string(static_cast<int>(std::lround(100 * d.settings.utilization))) + "%)";
  if (changing.empty())
    text += " In each of those " + steps + " the trend is further than that from " + crossing +
            ": a move as large as this run's past ones would not change their regimes, but a turn after the horizon could.";
  else
    text += " In " + std::to_string(changing.size()) + " of those " + steps + " (from " + month_of(cal, changing.front()) +
            ") it is within that of " + crossing + ": their regime may change; extending `end`, with the inputs of the added years, confirms it.";
  prose(v, text + "\n");
}

// The regime read in real time (each period's trend from the periods up to it only) where it
// differs from the regime after the fact: what the market would have seen then, and was not.
void verdict_realtime(std::string& v, const RunResult& r, const SeriesDiagnosis& d) {
  const TrendRevision& rev = d.revision;
  if (rev.realtime_regimes.empty()) return;
  const Calendar& cal = r.calendar;
  const int T = cal.size();
  const std::string steps = to_string(cal.step()) + "s";
  const int differ = rev.misread(d.regimes);
  if (differ == 0) return;  // nothing to tell apart
  std::string head = "\nRead in real time (each " + to_string(cal.step()) + "'s trend from the " + steps +
                     " up to it only, as an analyst would have measured it then";
  if (d.settings.method == DiagnosisSettings::Method::moving_average)
    head += "; a centred moving average has only the " + to_string(cal.step()) + " itself at a cut's end";
  head += "), the regime differs from the one after the fact in " + std::to_string(differ) + " of " + count_text(T, to_string(cal.step()));
  prose(v, head + ":\n");
  const auto realtime = [&](int t) { return rev.realtime[static_cast<size_t>(t)]; };
  const auto after = [&](int t) { return d.trend[static_cast<size_t>(t)]; };
  for (int t = 0; t < T;) {
    const Regime now = rev.realtime_regimes[static_cast<size_t>(t)], later = d.regimes[static_cast<size_t>(t)];
    int last = t;
    while (last + 1 < T && rev.realtime_regimes[static_cast<size_t>(last + 1)] == now &&
           d.regimes[static_cast<size_t>(last + 1)] == later)
      ++last;
    if (now != later) {
      char line[200];
      std::snprintf(line, sizeof line, "  %s to %s  %-20s", month_of(cal, t).c_str(), end_month_of(cal, last).c_str(),
                    to_string(now).c_str());
      v += wrap_text(std::string(line) + "in real time (trend " + first_to_last(t, last, realtime, pct) + "), " +
                         to_string(later) + " after the fact (" + first_to_last(t, last, after, pct) + ")\n",
                     kVerdictWidth, kRowText);
    }
    t = last + 1;
  }
  int above = 0;
  for (int t = 0; t < T; ++t)
    above += rev.realtime_regimes[static_cast<size_t>(t)] != d.regimes[static_cast<size_t>(t)] && realtime(t) > after(t);
  std::string tail = "In " + std::to_string(above) + " of those " + steps + " the trend read in real time stands above the "
                     "trend after the fact: spare capacity then looked more lasting than it was, which only the " + steps +
                     " after it show.";
  if (const auto shortage = std::count(d.regimes.begin(), d.regimes.end(), Regime::structural_shortage); shortage > 0)
    tail += " Of the " + count_text(shortage, to_string(cal.step())) + " of structural shortage, " +
            std::to_string(rev.shortage_missed(d.regimes)) + " were not called one in real time " +
            "(a study's periods_shortage_missed_in_real_time).";
  // each structural shortage (after the fact) that the reading in real time called late, or never
  for (const ShortageSeen& run : rev.shortages_seen(d.regimes)) {
    if (run.lag() == 0) continue;
    tail += " The structural shortage of " + month_of(cal, run.first) + " to " + end_month_of(cal, run.last) +
            (run.seen > run.last ? std::string(" was never called one in real time while it lasted.")
                                 : " was first called one in real time in " + month_of(cal, run.seen) + ", " +
                                       count_text(run.lag(), to_string(cal.step())) + " after it began.");
  }
  prose(v, tail + "\n");
}

// Prices by regime: a spot that falls while compute is structurally short reads as a glut.
void verdict_prices(std::string& v, const Scenario& s, const RunResult& r, const SeriesDiagnosis& d) {
  if (!s.market.enabled) return;
  const Calendar& cal = r.calendar;
  v += "\nThe spot index ($ per H100e-hour) and the market's unmet bids, by regime:\n";
  bool fell_in_shortage = false;
  for (const RegimeRun& run : regime_runs(d.regimes)) {
    const auto spot = [&](int t) { return r.periods[static_cast<size_t>(t)].spot_usd_per_h100e_hour; };
    const auto unmet = [&](int t) { return r.periods[static_cast<size_t>(t)].market_unmet_h100e / 1e6; };
    int at_floor = 0;
    for (int t = run.first; t <= run.last; ++t) at_floor += spot_at_floor(spot(t), s.market);
    char line[240];
    std::snprintf(line, sizeof line, "  %s to %s  %-20s spot ", month_of(cal, run.first).c_str(),
                  end_month_of(cal, run.last).c_str(), to_string(run.regime).c_str());
    std::string row = line + first_to_last(run.first, run.last, spot, [](double x) { return "$" + fixed2(x); });
    if (at_floor > 0)
      row += ", within 5% of its $" + fixed2(s.market.spot_floor) + " floor in " + count_text(at_floor, "period");
    // and the bids left unmet on a line of their own under it
    std::snprintf(line, sizeof line, "unmet bids %.1fM to %.1fM H100e\n", unmet(run.first), unmet(run.last));
    v += wrap_text(row + "\n", kVerdictWidth, kRowText) + std::string(kRowText, ' ') + line;
    fell_in_shortage = fell_in_shortage || (run.regime == Regime::structural_shortage &&
                                            (spot(run.last) < spot(run.first) || at_floor > 0));
  }
  if (fell_in_shortage)
    prose(v, "\n" + spot_in_shortage_note(s.market) + "\n");
}

// The largest firm-level surplus episodes, next to the market's regime, and all the firms' spare
// capacity by cause; marks in `named` the causes it names.
void verdict_episodes(std::string& v, const Scenario& s, const RunResult& r, const std::vector<Episode>& episodes,
                      std::vector<char>& named) {
  const Calendar& cal = r.calendar;
  std::vector<const Episode*> big;
  for (const Episode& e : episodes) big.push_back(&e);
  std::sort(big.begin(), big.end(), [](const Episode* a, const Episode* b) { return a->h100e_months > b->h100e_months; });
  v += "\nLargest firm surplus episodes (" + std::to_string(episodes.size()) + " in all, episodes.csv):\n";
  if (!big.empty()) {
    // a table of at most 100 columns, like the firms' below
    const size_t shown = std::min<size_t>(big.size(), 5);
    std::vector<std::string_view> ids;
    size_t cause = std::strlen("spare capacity mostly");
    for (size_t k = 0; k < shown; ++k) {
      ids.push_back(s.firms[static_cast<size_t>(big[k]->firm)].id);
      cause = std::max(cause, big[k]->main_cause().size());
    }
    const size_t w = id_column(ids, 12, 60 + cause);  // " 2027-01 to 2032-12  " ... "%  "
    char row[240];
    std::snprintf(row, sizeof row, " %-18s  %10s  %12s  %11s  %s\n", "months", "peak H100e", "H100e-months",
                  "in shortage", "spare capacity mostly");
    v += id_cell("firm", w) + row;
    for (size_t k = 0; k < shown; ++k) {
      const Episode& e = *big[k];
      std::snprintf(row, sizeof row, " %s to %s  %9.2fM  %11.1fM  %10.0f%%  %s\n", month_of(cal, e.first).c_str(),
                    end_month_of(cal, e.last).c_str(), e.peak_h100e / 1e6, e.h100e_months / 1e6,
                    100 * e.shortage_share, e.main_cause().c_str());
      v += id_cell(ids[k], w) + row;
    }
  }
  // the causes its rows name
  for (size_t k = 0; k < big.size() && k < 5; ++k)
    for (size_t c = 0; c < named.size(); ++c) named[c] |= big[k]->main_cause() == kSpareCauses[c].id;
  // and the same split for all the firms' spare capacity, in or out of episodes
  if (const SpareTotals spare = spare_totals(r); spare.h100e_months > 0) {
    char total[64];
    std::snprintf(total, sizeof total, "%.1fM", spare.h100e_months / 1e6);
    prose(v, "\nAll firms' spare capacity over the run, " + std::string(total) + " H100e-months: " + spare.largest(4) + ".\n");
  }
}

// The question, firm by firm: the periods of each firm's surplus episodes by the market's regime
// then, and what its spare capacity mostly was; marks in `named` the causes it names.
void verdict_by_firm(std::string& v, const Scenario& s, const RunResult& r, const SeriesDiagnosis& d,
                     const std::vector<Episode>& episodes, std::vector<char>& named) {
  const Calendar& cal = r.calendar;
  std::vector<std::array<int, 3>> by_regime(s.firms.size(), {0, 0, 0});  // shortage, balanced, oversupply
  for (const Episode& e : episodes)
    for (int t = e.first; t <= e.last; ++t) {
      const Regime g = d.regimes[static_cast<size_t>(t)];
      ++by_regime[static_cast<size_t>(e.firm)][g == Regime::structural_shortage ? 0 : g == Regime::balanced ? 1 : 2];
    }
  if (!episodes.empty()) {
    prose(v, "\nDoes a firm's surplus indicate market oversupply? The periods of its surplus episodes, by the "
          "market's regime then (oversupply indicated only in `oversupply` periods):\n");
    // and what the firm's spare capacity mostly was over those periods (the largest cause)
    const size_t F = s.firms.size();
    std::vector<CauseNumbers> by_cause(F, CauseNumbers{});
    for (const Episode& e : episodes)
      for (int t = e.first; t <= e.last; ++t)
        add_causes(by_cause[static_cast<size_t>(e.firm)],
                   r.firm_records[static_cast<size_t>(t) * F + static_cast<size_t>(e.firm)],
                   cal[t].months());
    std::vector<std::string_view> ids;
    size_t cause = std::strlen("spare capacity mostly");
    for (size_t f = 0; f < F; ++f)
      if (by_regime[f][0] + by_regime[f][1] + by_regime[f][2] > 0) {
        ids.push_back(s.firms[f].id);
        cause = std::max(cause, std::strlen(largest_cause(by_cause[f])));
      }
    const size_t w = id_column(ids, 11, 63 + cause);  // the counts, the answer and a space
    char row[240];
    std::snprintf(row, sizeof row, "%8s%10s%10s%12s  %-20s %s\n", "periods", "shortage", "balanced", "oversupply",
                  "oversupply indicated", "spare capacity mostly");
    v += id_cell("firm", w) + row;
    for (size_t f = 0; f < F; ++f) {
      const auto& n = by_regime[f];
      const int all = n[0] + n[1] + n[2];
      if (all == 0) continue;
      const std::string answer = n[2] == 0     ? "never"
                                 : n[2] == all ? "in every one"
                                               : "in " + std::to_string(n[2]) + " of " + std::to_string(all);
      const char* most = largest_cause(by_cause[f]);
      std::snprintf(row, sizeof row, "%8d%10d%10d%12d  %-20s %s\n", all, n[0], n[1], n[2], answer.c_str(), most);
      v += id_cell(s.firms[f].id, w) + row;
      for (size_t c = 0; c < named.size(); ++c) named[c] |= most == std::string_view(kSpareCauses[c].id);
    }
  }
}

// What the causes named above mean.
void verdict_causes(std::string& v, const std::vector<char>& named) {
  if (std::find(named.begin(), named.end(), 1) == named.end()) return;
  v += "\nThe causes named above:\n";
  for (size_t c = 0; c < named.size(); ++c)
    if (named[c])
      v += wrap_text(std::string("  ") + kSpareCauses[c].id + ": " + kSpareCauses[c].meaning + "\n", kVerdictWidth, 4);
}
}  // namespace

std::string verdict_text(const Scenario& s, const RunResult& r, const SeriesDiagnosis& d,
                         const std::vector<Episode>& episodes) {
  const Calendar& cal = r.calendar;
  const int T = cal.size();
  std::string v;
  v += "gpumm verdict: " + s.name + ", " + to_iso(cal.start()) + " to " + to_iso(cal[T - 1].last) +
       " (" + count_text(T, to_string(cal.step())) + ")\n\n";
  // the question and the answer first, then the regimes and prices behind it, the firms' surplus
  // episodes and firm by firm whether they indicate oversupply
  prose(v, verdict_headline(r, d) + "\n");
  verdict_timeline(v, r, d);
  verdict_revision(v, r, d);
  verdict_realtime(v, r, d);
  verdict_prices(v, s, r, d);
  std::vector<char> named(std::size(kSpareCauses), 0);  // causes the verdict names, to say what they mean
  verdict_episodes(v, s, r, episodes, named);
  verdict_by_firm(v, s, r, d, episodes, named);
  verdict_causes(v, named);
  v += "\nThe market at the end of the horizon:\n";
  const PeriodSummary& last = r.periods.back();
  char line[200];
  std::snprintf(line, sizeof line,
                "  demand %.1fM H100e, unserved %.1fM, idle %.1fM, utilization %.0f%%, mismatch %.2f\n",
                last.demand_h100e() / 1e6, last.unserved_h100e / 1e6, last.idle_h100e / 1e6,
                100 * last.utilization(), last.mismatch_index);
  v += line;
  prose(v, "\nA firm's spare capacity indicates market oversupply only in an `oversupply` period; in a "
        "`structural_shortage` or `balanced` period with a high mismatch index it is a local, temporary "
        "mismatch (see firms.csv for each firm's balance).\n");
  // what the run warned of, so that the verdict is not read without it
  if (!r.warnings.empty())
    prose(v, "\nThe run warned of: " + warning_counts(r.warnings) + "; warnings.csv says what and when.\n");
  return v;
}

std::string warning_counts(const std::vector<Warning>& warnings) {
  // the known codes in their fixed order, then any other in the order it came
  std::vector<std::string> order(std::begin(kWarningCodes), std::end(kWarningCodes));
  for (const Warning& w : warnings)
    if (std::find(order.begin(), order.end(), w.code) == order.end()) order.push_back(w.code);
  std::string codes;
  for (const std::string& code : order) {
    const auto n = std::count_if(warnings.begin(), warnings.end(), [&](const Warning& w) { return w.code == code; });
    if (n == 0) continue;
    if (!codes.empty()) codes += ", ";
    codes.append(code).append(" (").append(std::to_string(n)).append(")");
  }
  return codes;
}

// ---- RunWriter ------------------------------------------------------------------------------

namespace {

// Every region whose bids went unmet excludes generation g (export controls): idle capacity of
// g elsewhere could not have been placed where those buyers are.
bool unmet_only_where_excluded(const Scenario& s, const State& st, int g) {
  bool any = false;
  for (size_t r = 0; r < s.regions.size(); ++r) {
    if (st.market_unmet_h100e[r] <= 0) continue;
    const auto& ex = s.regions[r].excluded_generations;
    if (std::find(ex.begin(), ex.end(), g) == ex.end()) return false;
    any = true;
  }
  return any;
}


// Sums over a set of cells, and the input that binds the most stranded GPUs among them.
struct Agg {
  double energized = 0, queue = 0, built = 0, usable = 0, ports = 0;
  double installed = 0, installed_h = 0, deployed = 0, deployed_h = 0, stranded = 0;
  double by_power = 0, by_building = 0, by_network = 0;
  double ordered = 0, delivered = 0, backlog = 0, on_order = 0;
  double demand_training = 0, demand_inference = 0, demand_other = 0, unserved = 0, idle = 0;

  void add_cell(const Scenario& s, const State& st, int c) {
    const size_t ci = static_cast<size_t>(c);
    energized += st.energized_mw[ci];
    queue += st.grid_queue_mw[ci];
    built += st.it_built_mw[ci];
    usable += st.usable_it_mw[ci];
    ports += st.ports[ci];
    demand_training += st.demand_training_h100e[ci];
    demand_inference += st.demand_inference_h100e[ci];
    demand_other += st.demand_other_h100e[ci];
    unserved += st.unserved_h100e[ci];
    for (int g = 0; g < st.ngen; ++g) {
      const size_t i = static_cast<size_t>(c * st.ngen + g);
      const double h = s.generations[static_cast<size_t>(g)].train_h100e;
      installed += st.installed[i];
      installed_h += st.installed[i] * h;
      deployed += st.deployed[i];
      deployed_h += st.deployed[i] * h;
      stranded += st.stranded[i];
      if (st.stranded_by[i] == Binding::power) by_power += st.stranded[i];
      if (st.stranded_by[i] == Binding::building) by_building += st.stranded[i];
      if (st.stranded_by[i] == Binding::network) by_network += st.stranded[i];
      ordered += st.ordered[i];
      delivered += st.delivered[i];
      backlog += st.backlog[i];
      on_order += st.on_order[i];
      idle += st.idle[i] * h;
    }
  }
  std::string binding() const {
    if (stranded <= 0) return "none";
    if (by_power >= by_building && by_power >= by_network) return "power";
    if (by_building >= by_network) return "building";
    return "network";
  }
};

// A whole number with its digits grouped by three: 1,048,575.
std::string thousands(long n) {
  std::string digits = std::to_string(n), out;
  for (size_t k = 0; k < digits.size(); ++k) {
    if (k > 0 && (digits.size() - k) % 3 == 0 && digits[k - 1] != '-') out += ',';
    out += digits[k];
  }
  return out;
}

}  // namespace

struct RunWriter::Impl {
  const Scenario& s;
  OutputDir& out;
  Calendar cal;
  CsvWriter timeseries, firms, regions, contracts, market;
  std::vector<std::string> date_text;

  Impl(const Scenario& sc, OutputDir& o)
      : s(sc), out(o), cal(sc.start, sc.end, sc.step),
        timeseries(o.staged("timeseries.csv"), timeseries_columns()),
        firms(o.staged("firms.csv"), firms_columns()),
        regions(o.staged("regions.csv"), regions_columns()),
        contracts(o.staged("contracts.csv"), contracts_columns()),
        market(o.staged("market.csv"), market_columns()) {
    for (int t = 0; t < cal.size(); ++t) date_text.push_back(to_iso(cal[t].start));
  }

  void series(int t, const std::string& firm, const std::string& region, const std::string& gen,
              const char* metric, double value, const char* unit) {
    if (value == 0.0) return;  // long format: absent rows read as zero in a pivot table
    timeseries.text(date_text[static_cast<size_t>(t)]).text(firm).text(region).text(gen)
        .text(metric).number(value).text(unit);
    timeseries.end_row();
  }

  void on_period(int t, const State& st) {
    const std::string& date = date_text[static_cast<size_t>(t)];
    write_timeseries(t, st);
    write_firms(date, st);
    write_contracts(t, date, st);
    if (s.market.enabled) write_market(date, st);
    write_regions(date, st);
  }

  // timeseries.csv: per cell and per cell x generation
  void write_timeseries(int t, const State& st) {
    const int R = s.nregion(), G = s.ngeneration();
    for (int f = 0; f < s.nfirm(); ++f) {
      const std::string& firm = s.firms[static_cast<size_t>(f)].id;
      for (int r = 0; r < R; ++r) {
        const int c = f * R + r;
        const size_t ci = static_cast<size_t>(c);
        const std::string& region = s.regions[static_cast<size_t>(r)].id;
        series(t, firm, region, "", "energized", st.energized_mw[ci], "MW");
        series(t, firm, region, "", "grid_queue", st.grid_queue_mw[ci], "MW");
        series(t, firm, region, "", "it_built", st.it_built_mw[ci], "MW");
        series(t, firm, region, "", "usable_it", st.usable_it_mw[ci], "MW");
        series(t, firm, region, "", "ports", st.ports[ci], "ports");
        series(t, firm, region, "", "demand_training", st.demand_training_h100e[ci], "H100e");
        series(t, firm, region, "", "demand_inference", st.demand_inference_h100e[ci], "H100e");
        series(t, firm, region, "", "demand_other", st.demand_other_h100e[ci], "H100e");
        series(t, firm, region, "", "unserved", st.unserved_h100e[ci], "H100e");
        for (int g = 0; g < G; ++g) {
          const size_t i = static_cast<size_t>(c * G + g);
          const Generation& gen = s.generations[static_cast<size_t>(g)];
          series(t, firm, region, gen.id, "installed", st.installed[i], "GPUs");
          series(t, firm, region, gen.id, "installed_h100e", st.installed[i] * gen.train_h100e, "H100e");
          series(t, firm, region, gen.id, "deployed", st.deployed[i], "GPUs");
          series(t, firm, region, gen.id, "stranded", st.stranded[i], "GPUs");
          series(t, firm, region, gen.id, "delivered", st.delivered[i], "GPUs");
          series(t, firm, region, gen.id, "backlog", st.backlog[i], "GPUs");
          series(t, firm, region, gen.id, "on_order", st.on_order[i], "GPUs");
          series(t, firm, region, gen.id, "used_training", st.used_training[i], "GPUs");
          series(t, firm, region, gen.id, "used_inference", st.used_inference[i], "GPUs");
          series(t, firm, region, gen.id, "used_other", st.used_other[i], "GPUs");
          series(t, firm, region, gen.id, "idle", st.idle[i] * gen.train_h100e, "H100e");
        }
      }
    }
  }

  // firms.csv: a row per firm
  void write_firms(const std::string& date, const State& st) {
    const int R = s.nregion(), G = s.ngeneration();
    for (int f = 0; f < s.nfirm(); ++f) {
      const size_t fi = static_cast<size_t>(f);
      Agg a;
      for (int r = 0; r < R; ++r) a.add_cell(s, st, f * R + r);
      // the upstream constraint on the generation where this firm waits the most
      int worst = -1;
      double most = 0;
      for (int g = 0; g < G; ++g) {
        double b = 0;
        for (int r = 0; r < R; ++r) b += st.backlog[static_cast<size_t>((f * R + r) * G + g)];
        if (b > most) {
          most = b;
          worst = g;
        }
      }
      const std::string upstream =
          worst < 0 ? "none" : binding_upstream_name(s, st.gen_bound_by[static_cast<size_t>(worst)]);
      firms.text(date).text(s.firms[static_cast<size_t>(f)].id).number(a.energized).number(a.queue)
          .number(a.built).number(a.usable).number(a.installed).number(a.installed_h)
          .number(a.deployed).number(a.deployed_h).number(a.stranded).number(a.by_power)
          .number(a.by_building).number(a.by_network).number(a.ports).number(a.ordered)
          .number(a.delivered).number(a.backlog).number(a.on_order).number(a.demand_training)
          .number(a.demand_inference).number(a.demand_other).number(a.unserved).number(a.idle)
          .number(a.idle + st.sold_h100e[fi] - a.unserved - st.bought_h100e[fi]).number(st.contracted_in_h100e[fi]).number(st.contracted_out_h100e[fi])
          .number(st.bought_h100e[fi]).number(st.sold_h100e[fi]).number(st.resale_revenue_usd[fi])
          .number(st.market_spend_usd[fi]).number(st.contract_paid_usd[fi]).number(st.contract_received_usd[fi])
          .number(st.backstop_received_usd[fi]).text(a.binding()).text(upstream);
      // capacity beyond the firm's needs (idle or sold on the market) and why: the causes
      // that episodes.csv sums over each surplus episode
      const FirmRecord& rec = st.firm_records[fi];
      firms.number(rec.spare_h100e());
      for (const SpareCause& c : kSpareCauses) firms.number(rec.*c.per_period);
      firms.text(main_spare_cause(rec));
      firms.end_row();
    }
  }

  // contracts.csv: the contracts in force and the backstops that paid
  void write_contracts(int t, const std::string& date, const State& st) {
    for (size_t k = 0; k < s.contracts.size(); ++k) {
      const auto& fl = st.contract_flows[k];
      if (!fl.in_force) continue;
      const Contract& c = s.contracts[k];
      const int r = c.region >= 0 ? c.region : s.largest_region(c.seller);
      contracts.text(date).text(c.name).text(s.firms[static_cast<size_t>(c.seller)].id)
          .text(s.firms[static_cast<size_t>(c.buyer)].id).text(s.regions[static_cast<size_t>(r)].id)
          .number(fl.delivered_h100e).number(fl.used_h100e)
          .number(fl.delivered_h100e > 0 ? 1.0 - fl.used_h100e / fl.delivered_h100e : 0.0)
          .number(fl.shortfall_h100e)
          .number(fl.delivered_h100e > 0 ? fl.payment_usd / (fl.delivered_h100e * 24.0 * cal[t].days) : 0.0)
          .number(fl.payment_usd);
      contracts.end_row();
    }
    for (size_t k = 0; k < s.backstops.size(); ++k) {
      if (st.backstop_paid_usd[k] <= 0) continue;
      const Backstop& b = s.backstops[k];
      contracts.text(date).text("backstop:" + b.provider).text(s.firms[static_cast<size_t>(b.seller)].id)
          .text(b.provider).text("").number(0).number(0).number(0).number(0)
          .number(b.floor_usd_per_h100e_hour).number(st.backstop_paid_usd[k]);
      contracts.end_row();
    }
  }

  // market.csv: by region x generation, and each region's bids
  void write_market(const std::string& date, const State& st) {
    const int R = s.nregion(), G = s.ngeneration();
    double unmet_anywhere = 0;
    for (double u : st.market_unmet_h100e) unmet_anywhere += u;
    for (int r = 0; r < R; ++r) {
      const Region& reg = s.regions[static_cast<size_t>(r)];
      for (int g = 0; g < G; ++g) {
        const size_t i = static_cast<size_t>(r * G + g);
        const double offers = st.market_offers_h100e[i];
        if (offers <= 0) continue;
        const double idle = detail::units_left_after(offers, st.market_matched_h100e[i]);
        const Generation& gen = s.generations[static_cast<size_t>(g)];
        std::string why = "";
        if (idle > 0) {
          if (gen.custom_for >= 0) why = "custom_accelerator";
          else if (st.market_unmet_h100e[static_cast<size_t>(r)] > 0) why = "cluster_size_or_generation";
          else if (unmet_anywhere > 0) why = unmet_only_where_excluded(s, st, g) ? "export_rule" : "wrong_region";
          else why = "no_bids";
        }
        market.text(date).text(reg.id).text(gen.id).number(offers).number(0)
            .number(st.market_matched_h100e[i]).number(0).number(idle).text(why)
            .number(st.spot_by_gen[static_cast<size_t>(g)]).number(st.term_by_gen[static_cast<size_t>(g)]);
        market.end_row();
      }
      // the region's bids, in H100e of work: met (by offers here or elsewhere in reach) or not
      const double bids = st.market_bids_h100e[static_cast<size_t>(r)], unmet = st.market_unmet_h100e[static_cast<size_t>(r)];
      market.text(date).text(reg.id).text("all").number(0).number(bids)
          .number(detail::units_left_after(bids, unmet)).number(unmet).number(0).text("")
          .number(st.spot_usd_per_h100e_hour).number(st.term_usd_per_h100e_hour);
      market.end_row();
    }
  }

  // regions.csv: a row per region
  void write_regions(const std::string& date, const State& st) {
    const int R = s.nregion();
    for (int r = 0; r < R; ++r) {
      Agg a;
      for (int f = 0; f < s.nfirm(); ++f) a.add_cell(s, st, f * R + r);
      const Region& reg = s.regions[static_cast<size_t>(r)];
      regions.text(date).text(reg.id).text(reg.latency_group).number(a.energized).number(a.queue)
          .number(a.built).number(a.usable).number(a.installed).number(a.installed_h)
          .number(a.deployed).number(a.deployed_h).number(a.stranded).number(a.by_power)
          .number(a.by_building).number(a.by_network).number(a.backlog).number(a.demand_training)
          .number(a.demand_inference).number(a.demand_other).number(a.unserved).number(a.idle)
          .number(a.idle - a.unserved).text(a.binding());
      regions.end_row();
    }
  }


  void write_episodes(const RunResult& r, const std::vector<Episode>& episodes) {
    CsvWriter w(out.staged("episodes.csv"), episodes_columns());
    for (const Episode& e : episodes) {
      const char* during = e.shortage_share >= 0.5 ? "yes" : e.shortage_share > 0 ? "partly" : "no";
      w.text(s.firms[static_cast<size_t>(e.firm)].id).text(to_iso(r.calendar[e.first].start))
          .text(to_iso(r.calendar[e.last].last)).number(e.last - e.first + 1).number(e.peak_h100e)
          .number(e.h100e_months).text(during).number(e.shortage_share);
      for (const SpareCause& c : kSpareCauses) w.number(e.*c.share);
      w.text(e.main_cause());
      w.end_row();
    }
    w.close();
  }

  void write_verdict(const RunResult& r, const SeriesDiagnosis& d, const std::vector<Episode>& episodes) {
    write_text_file(out.staged("verdict.txt"), verdict_text(s, r, d, episodes));
  }

  void write_projects(RunResult& r) {
    CsvWriter w(out.staged("projects.csv"), projects_columns());
    for (const ProjectOutcome& p : r.projects) {
      const std::string status = p.superseded ? "superseded"
                                 : p.start_period < 0 ? (p.wait_periods > 0 ? "waiting" : "not_started")
                                 : p.actual_end > cal.horizon_end() ? "running" : "done";
      // from when it could start to when it started, was dropped, or the horizon ended
      double wait_days = 0;
      const auto days_until = [&](Date until) {
        return std::max(0.0, static_cast<double>((until - std::max(p.slipped_start, cal.start())).days()));
      };
      if (p.start_period >= 0) wait_days = days_until(p.actual_start);
      else if (p.superseded) wait_days = days_until(cal[p.superseded_period].start);
      else if (p.wait_periods > 0) wait_days = days_until(cal.horizon_end());
      w.text(p.name).text(p.program).text(s.firms[static_cast<size_t>(p.firm)].id)
          .text(p.region >= 0 ? s.regions[static_cast<size_t>(p.region)].id : "")
          .number(p.flop).number(p.h100e).text(to_iso(p.planned_start)).text(to_iso(p.planned_end))
          .number(p.slip_days).text(to_iso(p.slipped_start))
          .text(p.start_period >= 0 ? to_iso(p.actual_start) : "")
          .text(p.start_period >= 0 && !(cal.horizon_end() < p.actual_end) ? to_iso(p.actual_end) : "")
          .number(wait_days).text(status);
      w.end_row();
    }
    w.close();
    check_lines(r, "projects.csv", w);
  }

  // A file longer than a spreadsheet opens is warned of: opened in one, it would end short.
  static void check_lines(RunResult& r, const char* name, const CsvWriter& w) {
    if (w.lines() <= kSpreadsheetLines) return;
    r.warnings.push_back({0, "spreadsheet_rows",
                          std::string(name) + " has " + thousands(w.lines() - 1) + " rows, more than a spreadsheet opens (" +
                              thousands(kSpreadsheetLines - 1) +
                              " after the header in Excel and LibreOffice Calc, which drop the rest): read it with a "
                              "script or a database, or run at a longer step"});
  }

  SeriesDiagnosis finish(RunResult& r, const std::string& version) {
    timeseries.close();
    firms.close();
    regions.close();
    contracts.close();
    market.close();
    check_lines(r, "timeseries.csv", timeseries);
    check_lines(r, "firms.csv", firms);
    check_lines(r, "regions.csv", regions);
    check_lines(r, "contracts.csv", contracts);
    check_lines(r, "market.csv", market);
    // the diagnosis of the whole run: trend, temporary component, regimes
    const SeriesDiagnosis diag = diagnose_run_revised(s, r);
    CsvWriter summary(out.staged("summary.csv"), summary_columns());
    for (const PeriodSummary& p : r.periods) {
      const size_t t = static_cast<size_t>(p.period);
      const Period& per = cal[p.period];
      summary.text(to_iso(per.start)).text(to_iso(per.last)).number(per.days);
      for (const SummaryNumber& n : summary_numbers()) summary.number(n.value(p, diag, t));
      summary.text(to_string(diag.regimes[t]));
      // how far the trend may yet move: measured for the last two years only
      const double revision = diag.revision.bound[t];
      if (static_cast<int>(t) >= diag.revision.zone_start() && !std::isnan(revision)) summary.number(revision);
      else summary.text("");
      summary.number(diag.revision.realtime[t]).text(to_string(diag.revision.realtime_regimes[t]));
      summary.text(binding_upstream_name(s, p.binding_upstream));
      summary.end_row();
    }
    summary.close();
    check_lines(r, "summary.csv", summary);
    write_projects(r);
    CsvWriter warnings(out.staged("warnings.csv"), warnings_columns());
    for (const Warning& w : r.warnings) {
      warnings.text(to_iso(cal[w.period].start)).text(w.code).text(w.message);
      warnings.end_row();
    }
    warnings.close();
    const std::vector<Episode> episodes = find_episodes(s, r, diag);
    write_episodes(r, episodes);
    write_verdict(r, diag, episodes);
    write_text_file(out.staged("scenario.resolved.yaml"), write_resolved_yaml(s, version));
    return diag;
  }
};

RunWriter::RunWriter(const Scenario& s, OutputDir& out) : impl_(std::make_unique<Impl>(s, out)) {}
RunWriter::~RunWriter() = default;

PeriodObserver RunWriter::observer() {
  return [this](int t, const State& st, const PeriodSummary&) { impl_->on_period(t, st); };
}

SeriesDiagnosis RunWriter::finish(RunResult& r, const std::string& tool_version) {
  return impl_->finish(r, tool_version);
}

}  // namespace gpumm
