// Studies: the metrics of a run, running a study's design on threads (or MPI ranks) with a
// checkpoint of its runs and their per-period series, and its results (tornado, Morris, Sobol
// indices, bands), headline and manifest. Study files are read and checked in study_file.cpp.
#include "gpumm/study.hpp"

#include <yaml-cpp/yaml.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <mutex>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <thread>

#include "gpumm/demand.hpp"
#include "gpumm/diagnosis.hpp"
#include "gpumm/episodes.hpp"
#include "gpumm/io.hpp"
#include "gpumm/simulate.hpp"
#include "yaml_reader.hpp"

namespace gpumm {

using detail::Diagnostics;
using detail::MapReader;

std::string to_string(StudyMethod m) {
  switch (m) {
    case StudyMethod::monte_carlo: return "monte_carlo";
    case StudyMethod::tornado: return "tornado";
    case StudyMethod::morris: return "morris";
    case StudyMethod::sobol: return "sobol";
    case StudyMethod::sweep: return "sweep";
    case StudyMethod::grid: return "grid";
  }
  return "monte_carlo";
}

std::uint64_t run_scenario_seed(std::uint64_t study_seed, long run) {
  // a draw from the study's stream keyed apart from the design's (0x5eed); 48 bits, at most 15
  // digits, which a spreadsheet holds exactly (it keeps 15 significant digits of a number)
  constexpr std::uint64_t kKey = 0x5eed;
  return static_cast<std::uint64_t>(uniform01(study_seed, kKey, static_cast<std::uint64_t>(run)) * 0x1.0p48);
}

const std::vector<std::pair<std::string, std::string>>& study_metrics() {
  static const std::vector<std::pair<std::string, std::string>> m = {
      {"peak_unserved_h100e", "largest unserved demand in any period (H100e)"},
      {"periods_in_structural_shortage", "periods the diagnosis calls a structural shortage"},
      {"periods_in_oversupply", "periods the diagnosis calls oversupply"},
      {"periods_misread_in_real_time",
       "periods whose regime read in real time (the trend from the periods up to each only: summary.csv's "
       "regime_realtime) differs from the regime after the fact (regime)"},
      {"periods_shortage_missed_in_real_time",
       "periods of structural shortage after the fact that the reading in real time did not call a shortage: the "
       "months an analyst would have read the market's spare capacity as something other than a shortage"},
      {"periods_before_shortage_seen_in_real_time",
       "the longest a structural shortage (after the fact) went before the reading in real time first called it "
       "one, in periods from its start (its whole length if it never did; 0 without a shortage)"},
      {"mean_mismatch_index_frac", "mean of the mismatch index over the horizon (0 to 1)"},
      {"mean_relative_balance_frac",
       "mean relative balance over the horizon (balance over demand, a fraction: -0.05 is 5% short)"},
      {"final_relative_balance_frac", "relative balance in the last period (a fraction, as above)"},
      {"final_spot_usd_per_h100e_hour", "spot price in the last period (0 without a market)"},
      {"final_installed_h100e", "installed compute in the last period"},
      {"peak_stranded_gpus", "largest number of stranded GPUs in any period"},
      {"contract_shortfall_h100e_months",
       "what contracts' sellers could not deliver of the volume in force, summed over the horizon (H100e x months)"},
      {"surplus_h100e_months:FIRM",
       "a firm's positive balance summed over the horizon (H100e x months; 0 without the firm)"},
      {"spare_share:CAUSE",
       "the share (0 to 1) of all firms' spare capacity over the horizon (idle or sold, H100e x months) that a cause "
       "explains; CAUSE is one of episodes.csv's main causes, e.g. spare_share:sold_to_short_firms (0 without spare "
       "capacity)"}};
  return m;
}

namespace {

// The index in kSpareCauses of the cause of a `spare_share:CAUSE` metric; -1 for none.
int spare_cause_index(const std::string& id) {
  for (size_t k = 0; k < std::size(kSpareCauses); ++k)
    if (id == kSpareCauses[k].id) return static_cast<int>(k);
  return -1;
}

// The ratios' names carry `_frac` (a fraction of 1) as the other numbers carry their unit; the
// names they had before are told so, not guessed at.
std::string renamed_to_frac(const std::string& name) {
  return "`" + name + "` is now `" + name + "_frac` (a ratio's name ends in `_frac`: a fraction of 1, not percent)";
}

// The metrics as people say them ("peak shortage", "final spot price"), too far in spelling
// from gpumm's names with their units for a did-you-mean to find.
struct MetricOtherNames {
  std::vector<std::string_view> words;
  std::string_view metric;
};
const MetricOtherNames kMetricOtherNames[] = {
    {{"peak_shortage", "peak_shortage_h100e", "max_shortage", "shortage_peak", "max_unserved", "peak_unmet"},
     "peak_unserved_h100e"},
    {{"final_spot_price", "final_spot", "final_price", "spot_price", "end_spot_price", "final_spot_usd"},
     "final_spot_usd_per_h100e_hour"},
    {{"shortage_periods", "structural_shortage_periods", "periods_in_shortage", "months_in_structural_shortage",
      "structural_shortage"},
     "periods_in_structural_shortage"},
    {{"oversupply_periods", "periods_oversupplied", "glut_periods", "oversupply"}, "periods_in_oversupply"},
    {{"periods_misread", "misread_periods", "realtime_misread", "periods_misread_in_realtime", "misread"},
     "periods_misread_in_real_time"},
    {{"missed_shortage", "shortage_missed", "periods_shortage_missed", "missed_shortage_periods"},
     "periods_shortage_missed_in_real_time"},
    {{"recognition_lag", "shortage_recognition_lag", "shortage_lag", "lag_to_see_shortage", "months_to_see_shortage"},
     "periods_before_shortage_seen_in_real_time"},
    {{"surplus", "firm_surplus", "surplus_h100e", "spare"}, "surplus_h100e_months:FIRM"},
};

bool known_metric(const std::string& name, const Scenario* s) {
  const auto colon = name.find(':');
  if (colon != std::string::npos) {
    const std::string head = name.substr(0, colon), arg = name.substr(colon + 1);
    if (head == "spare_share") return spare_cause_index(arg) >= 0;
    if (head != "surplus_h100e_months") return false;
    if (!s) return true;
    return std::any_of(s->firms.begin(), s->firms.end(), [&](const Firm& f) { return f.id == arg; });
  }
  for (const auto& [m, _] : study_metrics())
    if (m == name) return true;
  return false;
}

}  // namespace

std::string metric_problem(const std::string& name, const Scenario* s) {
  if (name.starts_with("spare_share:") && !known_metric(name, nullptr)) {
    std::vector<std::string> causes;
    for (const SpareCause& c : kSpareCauses) causes.emplace_back(c.id);
    const std::string cause = name.substr(name.find(':') + 1);
    if (const std::string guess = detail::did_you_mean(cause, causes); !guess.empty())
      return "unknown cause `" + cause + "`; did you mean `spare_share:" + guess + "`?";
    std::string all;
    for (const std::string& c : causes) all += (all.empty() ? "" : ", ") + c;
    return "unknown cause `" + cause + "` (the causes: " + all + ")";
  }
  if (!known_metric(name, nullptr)) {
    std::vector<std::string> names;
    for (const auto& [n, _] : study_metrics()) names.push_back(n);
    if (std::find(names.begin(), names.end(), name + "_frac") != names.end()) return renamed_to_frac(name);
    for (const MetricOtherNames& other : kMetricOtherNames)
      if (std::find(other.words.begin(), other.words.end(), name) != other.words.end())
        return "unknown metric `" + name + "`; did you mean `" + std::string(other.metric) + "`?";
    if (const std::string guess = detail::did_you_mean(name, names); !guess.empty())
      return "unknown metric `" + name + "`; did you mean `" + guess + "`?";
    std::string all;
    for (const std::string& n : names) all += (all.empty() ? "" : ", ") + n;
    return "unknown metric `" + name + "` (the metrics: " + all + ")";
  }
  if (!s || known_metric(name, s)) return "";
  std::vector<std::string> firms;
  for (const Firm& f : s->firms) firms.push_back(f.id);
  const size_t colon = name.find(':');
  const std::string guess = detail::did_you_mean(name.substr(colon + 1), firms);
  return "`" + name + "`: no such firm in " + s->source_file +
         (guess.empty() ? "" : "; did you mean `" + name.substr(0, colon + 1) + guess + "`?");
}

std::string series_problem(const std::string& name) {
  std::vector<std::string> names;
  for (const SummaryNumber& n : summary_numbers()) names.emplace_back(n.name);
  if (std::find(names.begin(), names.end(), name) != names.end()) return "";
  if (std::find(names.begin(), names.end(), name + "_frac") != names.end()) return renamed_to_frac(name);
  if (const std::string guess = detail::did_you_mean(name, names); !guess.empty())
    return "unknown series `" + name + "`; did you mean `" + guess + "`?";
  return "unknown series `" + name + "` (a series is one of summary.csv's number columns, such as relative_balance_frac, "
         "unserved_h100e or spot_usd_per_h100e_hour)";
}

std::size_t study_series_width(const Study& study, std::size_t periods) {
  return study_keeps_series(study.method) ? study.series.size() * periods : 0;
}

std::vector<double> run_series(const Study& study, const RunResult& r, const SeriesDiagnosis& d) {
  std::vector<double> row;
  row.reserve(study.series.size() * r.periods.size());
  for (const std::string& name : study.series) {
    const auto& numbers = summary_numbers();
    const auto n = std::find_if(numbers.begin(), numbers.end(), [&](const SummaryNumber& x) { return name == x.name; });
    if (n == numbers.end()) throw std::logic_error("run_series: no summary number " + name);
    for (size_t t = 0; t < r.periods.size(); ++t) row.push_back(n->value(r.periods[t], d, t));
  }
  return row;
}

bool metric_reads_in_real_time(const std::string& name) {
  return name == "periods_misread_in_real_time" || name == "periods_shortage_missed_in_real_time" ||
         name == "periods_before_shortage_seen_in_real_time";
}

SeriesDiagnosis diagnose_for_metrics(const Scenario& s, const RunResult& r, const std::vector<std::string>& metrics) {
  return std::any_of(metrics.begin(), metrics.end(), metric_reads_in_real_time) ? diagnose_run_revised(s, r)
                                                                                 : diagnose_run(s, r);
}

double run_metric(const std::string& name, const Scenario& s, const RunResult& r, const SeriesDiagnosis& d) {
  const auto& p = r.periods;
  if (metric_reads_in_real_time(name)) {
    if (d.revision.realtime_regimes.size() != d.regimes.size())
      throw std::logic_error("run_metric: " + name + " needs the diagnosis read in real time (diagnose_for_metrics)");
    if (name == "periods_before_shortage_seen_in_real_time") {
      int longest = 0;
      for (const ShortageSeen& run : d.revision.shortages_seen(d.regimes)) longest = std::max(longest, run.lag());
      return longest;
    }
    return name == "periods_shortage_missed_in_real_time" ? d.revision.shortage_missed(d.regimes)
                                                          : d.revision.misread(d.regimes);
  }
  if (name == "peak_unserved_h100e") {
    double m = 0;
    for (const auto& x : p) m = std::max(m, x.unserved_h100e);
    return m;
  }
  if (name == "periods_in_structural_shortage" || name == "periods_in_oversupply") {
    const Regime want = name == "periods_in_oversupply" ? Regime::oversupply : Regime::structural_shortage;
    return static_cast<double>(std::count(d.regimes.begin(), d.regimes.end(), want));
  }
  if (name == "mean_mismatch_index_frac" || name == "mean_relative_balance_frac") {
    double sum = 0;
    for (const auto& x : p) sum += name == "mean_mismatch_index_frac" ? x.mismatch_index : x.relative_balance();
    return sum / static_cast<double>(p.size());
  }
  if (name == "final_relative_balance_frac") return p.back().relative_balance();
  if (name == "final_spot_usd_per_h100e_hour") return p.back().spot_usd_per_h100e_hour;
  if (name == "final_installed_h100e") return p.back().installed_h100e;
  if (name == "peak_stranded_gpus") {
    double m = 0;
    for (const auto& x : p) m = std::max(m, x.stranded_gpus);
    return m;
  }
  if (name == "contract_shortfall_h100e_months") {
    double sum = 0;
    for (size_t t = 0; t < p.size(); ++t)
      sum += p[t].contract_shortfall_h100e * r.calendar[static_cast<int>(t)].months();
    return sum;
  }
  if (name.starts_with("spare_share:")) {
    const int k = spare_cause_index(name.substr(name.find(':') + 1));
    if (k < 0) throw std::logic_error("run_metric: no cause in " + name);
    const SpareTotals spare = spare_totals(r);
    return spare.h100e_months > 0 ? spare.by_cause[static_cast<size_t>(k)] / spare.h100e_months : 0.0;
  }
  // surplus_h100e_months:FIRM
  const std::string firm = name.substr(name.find(':') + 1);
  const auto it = std::find_if(s.firms.begin(), s.firms.end(), [&](const Firm& x) { return x.id == firm; });
  if (it == s.firms.end()) return 0.0;  // a scenario without the firm (a step of `gpumm diff`)
  const size_t f = static_cast<size_t>(it - s.firms.begin());
  double sum = 0;
  for (size_t t = 0; t < p.size(); ++t)
    sum += std::max(0.0, r.firm_records[t * static_cast<size_t>(s.nfirm()) + f].balance_h100e()) *
           r.calendar[static_cast<int>(t)].months();
  return sum;
}


void pack_run(const StudyResult& r, long run, std::span<double> row) {
  const long outs = r.outputs.cols();
  for (long o = 0; o < outs; ++o) row[static_cast<size_t>(o)] = r.outputs(run, o);
  row[static_cast<size_t>(outs)] = r.warned[static_cast<size_t>(run)];
  if (row.size() > static_cast<size_t>(outs) + 1) {
    const std::vector<double> series = r.series.row(run);
    std::copy(series.begin(), series.end(), row.begin() + outs + 1);
  }
}

void unpack_run(StudyResult& r, long run, std::span<const double> row) {
  const long outs = r.outputs.cols();
  for (long o = 0; o < outs; ++o) r.outputs(run, o) = row[static_cast<size_t>(o)];
  r.warned[static_cast<size_t>(run)] = row[static_cast<size_t>(outs)];
  if (row.size() > static_cast<size_t>(outs) + 1) r.series.put(run, row.subspan(static_cast<size_t>(outs) + 1));
}

// a run's codes are bits of a whole number that a double holds exactly
static_assert(std::size(kWarningCodes) <= 32);

double warning_bits(const std::vector<Warning>& warnings) {
  unsigned bits = 0;
  for (const Warning& w : warnings)
    for (size_t c = 0; c < std::size(kWarningCodes); ++c)
      if (w.code == kWarningCodes[c]) bits |= 1u << c;
  return static_cast<double>(bits);
}

std::string warning_codes(double bits) {
  std::string codes;
  const unsigned b = static_cast<unsigned>(bits);
  for (size_t c = 0; c < std::size(kWarningCodes); ++c)
    if (b & (1u << c)) {
      if (!codes.empty()) codes += ' ';
      codes += kWarningCodes[c];
    }
  return codes;
}


std::vector<std::string> study_period_dates(const Study& study, const ScenarioTemplate& tmpl) {
  std::vector<std::string> dates;
  if (!study_keeps_series(study.method)) return dates;
  const RunResult base = simulate(tmpl.instantiate({}));
  for (int t = 0; t < base.calendar.size(); ++t) dates.push_back(to_iso(base.calendar[t].start));
  return dates;
}

int study_runs(const Study& study) {
  const int d = static_cast<int>(study.parameters.size());
  switch (study.method) {
    case StudyMethod::monte_carlo: return study.samples;
    case StudyMethod::morris: return study.samples * (d + 1);
    case StudyMethod::sobol: {
      if (study.target_width <= 0) return study.samples * (d + 2);
      long n = study.samples;  // the largest doubling within the budget
      while (2 * n * (d + 2) <= study.max_runs) n *= 2;
      return static_cast<int>(n * (d + 2));
    }
    case StudyMethod::tornado: return 1 + 2 * d;
    case StudyMethod::sweep: return d * study.points;
    case StudyMethod::grid: return static_cast<int>(std::pow(study.points, d));
  }
  return 0;
}

// ---- SeriesStore ------------------------------------------------------------------------------
namespace {
// The runs' per-period series wait in an unnamed temporary file (in TMPDIR, else /tmp).
[[noreturn]] void io_failure(const std::string& what) {
  throw std::runtime_error("cannot " + what + " the temporary file that holds the runs' per-period series (in TMPDIR, else /tmp): " +
                           std::strerror(errno));
}
void read_all(int fd, char* p, std::size_t n, off_t at) {
  while (n > 0) {
    const ssize_t got = ::pread(fd, p, n, at);
    if (got <= 0) io_failure("read");
    p += got;
    n -= static_cast<std::size_t>(got);
    at += got;
  }
}
void write_all(int fd, const char* p, std::size_t n, off_t at) {
  while (n > 0) {
    const ssize_t put = ::pwrite(fd, p, n, at);
    if (put <= 0) io_failure("write");
    p += put;
    n -= static_cast<std::size_t>(put);
    at += put;
  }
}
}  // namespace

SeriesStore::SeriesStore(long runs, int columns) : runs_(runs), columns_(columns) {
  if (empty()) return;
  // an unnamed file in the temporary folder: removed by the system when it is closed
  std::FILE* f = std::tmpfile();
  if (!f) io_failure("create");
  fd_ = ::dup(::fileno(f));
  std::fclose(f);
  if (fd_ < 0) io_failure("create");
  const off_t bytes = static_cast<off_t>(runs_) * columns_ * static_cast<off_t>(sizeof(double));
  if (::ftruncate(fd_, bytes) != 0) io_failure("make room for " + std::to_string((bytes + (1 << 20) - 1) >> 20) + " MiB in");
}
SeriesStore::~SeriesStore() {
  if (fd_ >= 0) ::close(fd_);
}
SeriesStore::SeriesStore(SeriesStore&& o) noexcept : fd_(o.fd_), runs_(o.runs_), columns_(o.columns_) {
  o.fd_ = -1;
  o.runs_ = 0;
  o.columns_ = 0;
}
SeriesStore& SeriesStore::operator=(SeriesStore&& o) noexcept {
  SeriesStore taken(std::move(o));  // `o` is left empty; this store's old file closes with `taken`
  std::swap(fd_, taken.fd_);
  std::swap(runs_, taken.runs_);
  std::swap(columns_, taken.columns_);
  return *this;
}
void SeriesStore::put(long run, std::span<const double> row) {
  if (run < 0 || run >= runs_ || row.size() != static_cast<std::size_t>(columns_))
    throw std::logic_error("SeriesStore::put: run " + std::to_string(run) + " with " + std::to_string(row.size()) + " values");
  write_all(fd_, reinterpret_cast<const char*>(row.data()), row.size_bytes(),
            static_cast<off_t>(run) * columns_ * static_cast<off_t>(sizeof(double)));
}
std::vector<double> SeriesStore::row(long run) const {
  std::vector<double> v(static_cast<std::size_t>(columns_));
  if (run < 0 || run >= runs_) throw std::logic_error("SeriesStore::row: no run " + std::to_string(run));
  read_all(fd_, reinterpret_cast<char*>(v.data()), v.size() * sizeof(double),
           static_cast<off_t>(run) * columns_ * static_cast<off_t>(sizeof(double)));
  return v;
}
void SeriesStore::truncate(long runs) {
  runs_ = std::min(runs_, std::max(0L, runs));
  if (fd_ >= 0 && ::ftruncate(fd_, static_cast<off_t>(runs_) * columns_ * static_cast<off_t>(sizeof(double))) != 0)
    io_failure("size");
}
void SeriesStore::for_each_column(const std::function<void(int, std::span<const double>)>& f,
                                  std::size_t memory_bytes) const {
  if (empty()) return;
  const std::size_t P = static_cast<std::size_t>(columns_), n = static_cast<std::size_t>(runs_);
  const std::size_t block = std::clamp<std::size_t>(memory_bytes / (n * sizeof(double)), 1, P);
  const std::size_t rows_per_read = std::max<std::size_t>(1, (std::size_t{1} << 20) / (P * sizeof(double)));
  std::vector<double> columns, buf(rows_per_read * P);
  for (std::size_t t0 = 0; t0 < P; t0 += block) {
    const std::size_t width = std::min(block, P - t0);
    columns.assign(width * n, 0.0);
    for (std::size_t k0 = 0; k0 < n; k0 += rows_per_read) {
      const std::size_t rows = std::min(rows_per_read, n - k0);
      read_all(fd_, reinterpret_cast<char*>(buf.data()), rows * P * sizeof(double),
               static_cast<off_t>(k0 * P * sizeof(double)));
      for (std::size_t k = 0; k < rows; ++k)
        for (std::size_t j = 0; j < width; ++j) columns[j * n + k0 + k] = buf[k * P + t0 + j];
    }
    for (std::size_t j = 0; j < width; ++j)
      f(static_cast<int>(t0 + j), std::span<const double>(columns.data() + j * n, n));
  }
}
bool SeriesStore::operator==(const SeriesStore& o) const {
  if (runs_ != o.runs_ || columns_ != o.columns_) return false;
  for (long k = 0; k < runs_; ++k)
    if (row(k) != o.row(k)) return false;
  return true;
}

int sobol_points_used(const Study& study, const StudyResult& r) { return study.samples << (r.rounds - 1); }

namespace {
// The outputs (column o) or the period-t balances of a Sobol study in the block layout of its
// final design.
Eigen::VectorXd sobol_design_outputs(const Study& study, const StudyResult& r, const Eigen::VectorXd& y) {
  return saltelli_rounds_to_design(y, study.samples, r.rounds, static_cast<int>(study.parameters.size()));
}

// Why run k failed, with the parameter values that made it: a scenario that these values
// make invalid is named by its keys (its lines are those of the document before the values
// were set, so none is given).
std::string run_failure(const Study& study, const StudyResult& r, int k, const std::exception& e) {
  std::string what = "run " + std::to_string(k) + ", with";
  for (size_t i = 0; i < study.parameters.size(); ++i)
    what += std::string(i ? "," : "") + " " + study.parameters[i].path + " = " +
            format_number(r.values(k, static_cast<int>(i)));
  if (const auto* bad = dynamic_cast<const ScenarioError*>(&e)) {
    what += ": the scenario does not load with these values:";
    for (const Diagnostic& d : bad->diagnostics()) what += " " + (d.path.empty() ? "" : d.path + ": ") + d.message + ";";
    what.back() = '.';
    return what + " Give the parameters ranges that the scenario accepts.";
  }
  return what + ": " + e.what();
}
}  // namespace

StudyResult run_study(const Study& study, const ScenarioTemplate& tmpl, int threads,
                      const std::function<void(int, int)>& progress, StudyCheckpoint* checkpoint,
                      const StudyShare* share) {
  const bool shared = share && share->size > 1;
  const int d = static_cast<int>(study.parameters.size());
  StudyResult r;
  // the design, in the unit cube
  switch (study.method) {
    case StudyMethod::monte_carlo:
      // no parameters (the scenario's random draws alone): points of no dimension, whatever the sampler
      r.unit = d == 0 ? Eigen::MatrixXd(study.samples, 0)
               : study.sampler == Study::Sampler::sobol ? shifted_sobol_points(study.samples, d, study.seed)
                                                        : latin_hypercube(study.samples, d, study.seed);
      break;
    case StudyMethod::morris: r.unit = morris_design(study.samples, d, study.levels, study.seed); break;
    case StudyMethod::sobol: {
      // in rounds: the first N, then doublings (one round unless a target width is set)
      r.unit.resize(study_runs(study), d);
      for (int round = 0, row = 0; row < r.unit.rows(); ++round) {
        const Eigen::MatrixXd part = saltelli_round(study.samples, round, d);
        r.unit.middleRows(row, part.rows()) = part;
        row += static_cast<int>(part.rows());
      }
      break;
    }
    case StudyMethod::sweep:
    case StudyMethod::grid: {
      // sweep: each parameter through `points` values, the others at the scenario's values;
      // grid: every combination of those values
      const int pts = study.points, rows = study_runs(study);
      r.unit.resize(rows, d);
      for (int k = 0; k < rows; ++k)
        for (int i = 0; i < d; ++i) {
          const StudyParameter& p = study.parameters[static_cast<size_t>(i)];
          const double base = std::clamp((p.base - p.low) / (p.high - p.low), 0.0, 1.0);
          if (study.method == StudyMethod::sweep) {
            r.unit(k, i) = k / pts == i ? static_cast<double>(k % pts) / (pts - 1) : base;
          } else {
            int digit = k;
            for (int q = 0; q < i; ++q) digit /= pts;
            r.unit(k, i) = static_cast<double>(digit % pts) / (pts - 1);
          }
        }
      break;
    }
    case StudyMethod::tornado: {
      r.unit.resize(1 + 2 * d, d);
      Eigen::RowVectorXd base(d);
      for (int i = 0; i < d; ++i) {
        const StudyParameter& p = study.parameters[static_cast<size_t>(i)];
        base(i) = std::clamp((p.base - p.low) / (p.high - p.low), 0.0, 1.0);
      }
      for (int k = 0; k < 1 + 2 * d; ++k) r.unit.row(k) = base;
      for (int i = 0; i < d; ++i) {
        r.unit(1 + 2 * i, i) = study.tornado_quantiles.low;
        r.unit(2 + 2 * i, i) = study.tornado_quantiles.high;
      }
      break;
    }
  }
  const int n = static_cast<int>(r.unit.rows());
  r.values.resize(n, d);
  for (int k = 0; k < n; ++k)
    for (int i = 0; i < d; ++i) {
      const StudyParameter& p = study.parameters[static_cast<size_t>(i)];
      const Parameter range = p.range();
      // a tornado's base point is the scenario's own value
      const bool at_base = (study.method == StudyMethod::tornado && (k == 0 || (k - 1) / 2 != i)) ||
                           (study.method == StudyMethod::sweep && k / study.points != i);
      r.values(k, i) = at_base ? p.base : range.from_unit(r.unit(k, i));
    }
  r.outputs.resize(n, static_cast<int>(study.outputs.size()));
  r.warned.assign(static_cast<size_t>(n), 0.0);
  // per-period series: their dates (one base run) before any run, so rows can be streamed out
  if (study_keeps_series(study.method)) {
    r.period_dates = checkpoint && !checkpoint->previous.period_dates.empty() ? checkpoint->previous.period_dates
                                                                             : study_period_dates(study, tmpl);
    r.series = SeriesStore(n, static_cast<int>(study_series_width(study, r.period_dates.size())));
  }
  // runs done before an interruption are taken as they were
  int done = 0;
  const auto was_done = [&](int k) {
    return checkpoint && k < static_cast<int>(checkpoint->done.size()) && checkpoint->done[static_cast<size_t>(k)];
  };
  if (checkpoint)
    for (int k = 0; k < n; ++k)
      if (was_done(k)) {
        r.outputs.row(k) = checkpoint->previous.outputs.row(k);
        r.warned[static_cast<size_t>(k)] = checkpoint->previous.warned[static_cast<size_t>(k)];
        if (!r.series.empty()) r.series.put(k, checkpoint->previous.series.row(k));
        ++done;
      }
  // shared among processes: every row of the exchanges has the series
  const size_t series_width = shared ? static_cast<size_t>(r.series.columns()) : 0;
  // runs, shared among threads; each writes only its own rows
  std::atomic<int> next{0};
  int end = n;
  std::mutex lock;
  std::string failure;
  // The checkpoint hook saves run k; a hook that cannot save (a full disk) stops the study with
  // its reason, as a failed run does. Returns whether the study goes on.
  const auto save = [&](int k) {
    if (!checkpoint || !checkpoint->saved) return true;
    try {
      checkpoint->saved(k, r);
      return true;
    } catch (const std::exception& e) {
      if (failure.empty()) failure = e.what();
      return false;
    }
  };
  const auto mine = [&](int k) { return !was_done(k) && (!shared || k % share->size == share->rank); };
  const auto worker = [&] {
    std::optional<ScenarioTemplate::Instantiator> make;  // this thread's copy of the document, once it has a run
    for (int k = next++; k < end; k = next++) {
      if (!mine(k)) continue;
      try {
        if (!make) make.emplace(tmpl);
        std::vector<std::pair<std::string, double>> values;
        for (int i = 0; i < d; ++i) values.emplace_back(study.parameters[static_cast<size_t>(i)].path, r.values(k, i));
        Scenario s = (*make)(values);
        if (study.scenario_seed == Study::ScenarioSeed::per_run) s.seed = run_scenario_seed(study.seed, k);
        const RunResult run = simulate(s);
        const SeriesDiagnosis diag = diagnose_for_metrics(s, run, study.outputs);
        for (size_t o = 0; o < study.outputs.size(); ++o)
          r.outputs(k, static_cast<int>(o)) = run_metric(study.outputs[o], s, run, diag);
        r.warned[static_cast<size_t>(k)] = warning_bits(run.warnings);
        if (!r.series.empty()) r.series.put(k, run_series(study, run, diag));
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> g(lock);
        if (failure.empty()) failure = run_failure(study, r, k, e);
        next = end;
      }
      if (shared) continue;  // saved and counted after the chunk's exchange
      std::lock_guard<std::mutex> g(lock);
      ++done;
      if (failure.empty() && !save(k)) next = end;
      if (progress) progress(done, n);
    }
  };
  const auto run_local = [&](int begin, int stop) {
    next = begin;
    end = stop;
    // no more threads than runs to make: each holds a copy of the document
    int runs = 0;
    for (int k = begin; k < stop; ++k) runs += mine(k) ? 1 : 0;
    std::vector<std::thread> pool;
    for (int i = 1; i < std::min(std::max(1, threads), runs); ++i) pool.emplace_back(worker);
    r.threads = std::max(r.threads, static_cast<int>(pool.size()) + 1);
    worker();
    for (auto& t : pool) t.join();
  };
  const auto run_range = [&](int begin, int stop) {
    if (!shared) {
      run_local(begin, stop);
      if (!failure.empty()) throw std::runtime_error(failure);
      return;
    }
    const int outs = static_cast<int>(r.outputs.cols());
    const size_t width = static_cast<size_t>(outs) + 1 + series_width;
    for (int from = begin; from < stop; from += share->chunk) {
      const int to = std::min(stop, from + share->chunk);
      // after rank 0 failed to save the previous chunk, no more runs: the sum below tells the others
      if (failure.empty()) run_local(from, to);
      // a failure anywhere stops every process
      std::vector<double> buf(static_cast<size_t>(to - from) * width + 1, 0.0);
      buf.back() = failure.empty() ? 0.0 : 1.0;
      for (int k = from; k < to; ++k) {
        if (was_done(k) || k % share->size != share->rank || !failure.empty()) continue;
        pack_run(r, k, std::span<double>(buf.data() + static_cast<size_t>(k - from) * width, width));
      }
      share->sum(buf.data(), static_cast<long>(buf.size()));
      if (buf.back() > 0) throw std::runtime_error(failure.empty() ? "a run failed in another process" : failure);
      for (int k = from; k < to; ++k) {
        if (was_done(k)) continue;
        unpack_run(r, k, std::span<const double>(buf.data() + static_cast<size_t>(k - from) * width, width));
        ++done;
        if (share->rank == 0 && failure.empty()) save(k);
      }
      if (progress) progress(done, n);
    }
    // rank 0 could not save the last chunk: every process stops (an adaptive study's others
    // would otherwise go on to a round that rank 0 never joins)
    double failed = failure.empty() ? 0.0 : 1.0;
    share->sum(&failed, 1);
    if (failed > 0) throw std::runtime_error(failure.empty() ? "a run failed in another process" : failure);
  };
  if (study.method != StudyMethod::sobol || study.target_width <= 0) {
    run_range(0, n);
    return r;
  }
  // a Sobol study with a target width: round by round until every interval is narrow enough
  int row = 0;
  for (int round = 0; row < n; ++round) {
    row += saltelli_round_points(study.samples, round) * (d + 2);
    run_range(row - saltelli_round_points(study.samples, round) * (d + 2), row);
    r.rounds = round + 1;
    const int points = sobol_points_used(study, r);
    r.widest = 0;
    for (int o = 0; o < r.outputs.cols(); ++o) {
      const Eigen::VectorXd y = sobol_design_outputs(study, r, r.outputs.col(o).head(row));
      r.widest = std::max(r.widest, sobol_widest_interval(sobol_indices(y, points, d, study.bootstrap, 0.95, study.seed)));
    }
    if (r.widest <= study.target_width) break;
  }
  // keep the runs done
  r.unit.conservativeResize(row, d);
  r.values.conservativeResize(row, d);
  r.outputs.conservativeResize(row, Eigen::NoChange);
  r.series.truncate(row);
  return r;
}

namespace {
// The headline's lines wrap to the terminal's width, never inside a number with its label
// (`P5 0.267`), an interval or a setting (`path = value`).
constexpr size_t kHeadlineWidth = kTerminalWidth;

// The headline lines of a study result (see write_study).
class Headline {
 public:
  Headline(const Study& study, const Eigen::MatrixXd& outputs) : study_(study), outputs_(outputs) {}
  // the parameters with the largest `score`, at most three, each with its text; an output that
  // is the same in every run has nothing to rank
  void ranked(int o, const char* what, const Eigen::VectorXd& score,
              const std::function<std::string(int)>& detail) {
    if (constant(o, outputs_.col(o))) return;
    std::vector<int> order(static_cast<size_t>(score.size()));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return score(a) > score(b); });
    text_ += "  " + study_.outputs[static_cast<size_t>(o)] + ": " + what + "\n";
    // a table of paths and numbers where every row fits the terminal, else each path on its
    // line with its numbers under it
    std::vector<std::pair<std::string, std::string>> rows;  // path, numbers
    bool fits = true;
    for (size_t k = 0; k < order.size() && k < 3; ++k) {
      rows.emplace_back(study_.parameters[static_cast<size_t>(order[k])].path, detail(order[k]));
      fits = fits && 4 + pad(rows.back().first).size() + rows.back().second.size() <= kHeadlineWidth;
    }
    for (const auto& [path, numbers] : rows)
      text_ += fits ? "    " + pad(path) + numbers + "\n"
                    : "    " + path + "\n" + wrap_text("        " + numbers + "\n", kHeadlineWidth, 8);
  }
  // the spread of an output over the runs
  void spread(int o, const Eigen::VectorXd& y) {
    std::vector<double> x(y.data(), y.data() + y.size());
    std::sort(x.begin(), x.end());
    const auto q = [&](double p) { return quantile_sorted(x, p); };
    text_ += wrap_text("  " + study_.outputs[static_cast<size_t>(o)] + ": " + fmt(x.front()) + " to " + fmt(x.back()) +
                           " over " + std::to_string(x.size()) + " runs (" + no_break("P5 " + fmt(q(0.05))) + ", " +
                           no_break("P50 " + fmt(q(0.5))) + ", " + no_break("P95 " + fmt(q(0.95))) + ")\n",
                       kHeadlineWidth, 4);
  }
  // the parameter with the largest total index of a series in one period
  void last_period_leader(const std::string& series, const std::string& date, const SobolIndices& s) {
    const std::string head = "  " + series + " in " + date.substr(0, 7) + ": ";
    if (!(s.variance > 0) || s.total.size() == 0) {
      text_ += wrap_text(head + "the same in every run (no parameter moves it)\n", kHeadlineWidth, 4);
      return;
    }
    Eigen::Index top = 0;
    s.total.maxCoeff(&top);
    text_ += wrap_text(head + "largest total Sobol' index " + study_.parameters[static_cast<size_t>(top)].path + " " +
                           no_break(fmt(s.total(top)) + " [" + fmt(s.total_low(top)) + ", " + fmt(s.total_high(top)) + "]") +
                           " (sobol_periods.csv has every period)\n",
                       kHeadlineWidth, 4);
  }
  // a series' band in one period
  void band(const std::string& series, const std::string& date, double p5, double p50, double p95) {
    text_ += wrap_text("  " + series + " in " + date.substr(0, 7) + ": " + no_break("P5 " + fmt(p5)) + ", " +
                           no_break("P50 " + fmt(p50)) + ", " + no_break("P95 " + fmt(p95)) + " (bands.csv has every period)\n",
                       kHeadlineWidth, 4);
  }
  // a design's lowest and highest value of an output, with the parameters set away from the
  // scenario's values in those runs
  void extremes(int o, const Eigen::MatrixXd& values, const Eigen::VectorXd& y) {
    Eigen::Index lo = 0, hi = 0;
    y.minCoeff(&lo);
    y.maxCoeff(&hi);
    const auto at = [&](Eigen::Index k) {
      std::string set;
      for (size_t i = 0; i < study_.parameters.size(); ++i) {
        const double v = values(k, static_cast<Eigen::Index>(i));
        if (v == study_.parameters[i].base) continue;
        set += (set.empty() ? "" : ", ") + no_break(study_.parameters[i].path + " = " + fmt(v));
      }
      return fmt(y(k)) + " (run " + std::to_string(k) + (set.empty() ? ": the scenario as it is" : ": " + set) + ")";
    };
    // "highest" under "lowest", the settings of each run wrapped a little further in (a setting
    // whole on its line), unless the longest setting would not fit there
    const std::string& name = study_.outputs[static_cast<size_t>(o)];
    const std::string low = at(lo), high = at(hi);
    size_t longest = 0;
    for (const std::string* text : {&low, &high})
      for (size_t from = 0; from < text->size();) {
        const size_t end = std::min(text->find(' ', from), text->size());
        longest = std::max(longest, end - from);
        from = end + 1;
      }
    // (then "highest" goes under the name's start, and the settings a little further in)
    const bool under = name.size() + 6 + longest <= kHeadlineWidth;
    const size_t indent = under ? name.size() + 6 : 6, high_lead = under ? name.size() + 4 : 4;
    text_ += wrap_text("  " + name + ": lowest " + low + "\n", kHeadlineWidth, indent) +
             wrap_text(std::string(high_lead, ' ') + "highest " + high + "\n", kHeadlineWidth, indent);
  }
  // a sweep: each parameter's points from low to high with the output at each, the others at
  // the scenario's values (run k of parameter i's points is i x points + the point)
  void sweep(int o, const Eigen::MatrixXd& values, const Eigen::VectorXd& y) {
    if (constant(o, y)) return;
    text_ += wrap_text("  " + study_.outputs[static_cast<size_t>(o)] + " as each parameter goes from low to high:\n",
                       kHeadlineWidth, 4);
    const int pts = study_.points;
    for (size_t i = 0; i < study_.parameters.size(); ++i) {
      std::string line = "    " + study_.parameters[i].path + ":";
      for (int p = 0; p < pts; ++p) {
        const Eigen::Index k = static_cast<Eigen::Index>(i) * pts + p;
        line += (p == 0 ? " " : ", ") + no_break(fmt(values(k, static_cast<Eigen::Index>(i))) + " -> " + fmt(y(k)));
      }
      text_ += wrap_text(line + "\n", kHeadlineWidth, 8);
    }
  }
  // a grid of two parameters: the output as a table, the first parameter's points down and the
  // second's across (run k is the first's point k mod points and the second's k / points);
  // false when its columns would not fit the terminal, for the extremes to be told instead
  bool grid_table(int o, const Eigen::MatrixXd& values, const Eigen::VectorXd& y) {
    const int pts = study_.points;
    if (study_.parameters.size() != 2 || values.rows() != static_cast<Eigen::Index>(pts) * pts) return false;
    const std::string& name = study_.outputs[static_cast<size_t>(o)];
    if (constant(o, y)) return true;
    // every cell as wide as the widest number, the row labels as the widest of theirs
    size_t cell = 0, label = 0;
    for (int k = 0; k < pts * pts; ++k) cell = std::max(cell, fmt(y(k)).size());
    for (int a = 0; a < pts; ++a) {
      cell = std::max(cell, fmt(values(static_cast<Eigen::Index>(a) * pts, 1)).size());
      label = std::max(label, fmt(values(a, 0)).size());
    }
    cell += 2;
    if (4 + label + static_cast<size_t>(pts) * cell > kHeadlineWidth) return false;
    const auto right = [](const std::string& x, size_t w) { return std::string(w - std::min(w, x.size()), ' ') + x; };
    text_ += wrap_text("  " + name + " by " + study_.parameters[0].path + " (down) and " + study_.parameters[1].path +
                           " (across):\n",
                       kHeadlineWidth, 4);
    std::string row = "    " + std::string(label, ' ');
    for (int b = 0; b < pts; ++b) row += right(fmt(values(static_cast<Eigen::Index>(b) * pts, 1)), cell);
    text_ += row + "\n";
    for (int a = 0; a < pts; ++a) {
      row = "    " + right(fmt(values(a, 0)), label);
      for (int b = 0; b < pts; ++b) row += right(fmt(y(a + static_cast<Eigen::Index>(b) * pts)), cell);
      text_ += row + "\n";
    }
    return true;
  }
  const std::string& text() const { return text_; }

  // 371M rather than 3.71e+08: H100e and GPUs as the run summary writes them
  static std::string fmt(double x) { return significant_number(x); }

 private:
  // an output that is the same in every run is said to be so, with nothing to rank or tabulate
  bool constant(int o, const Eigen::VectorXd& y) {
    if (y.size() == 0 || y.minCoeff() != y.maxCoeff()) return false;
    text_ += "  " + study_.outputs[static_cast<size_t>(o)] + ": " + fmt(y(0)) + " in every run (no parameter moves it)\n";
    return true;
  }
  std::string pad(const std::string& path) const {
    size_t width = 0;
    for (const auto& p : study_.parameters) width = std::max(width, p.path.size());
    return path + std::string(width + 2 - path.size(), ' ');
  }
  const Study& study_;
  const Eigen::MatrixXd& outputs_;
  std::string text_;
};
}  // namespace

namespace {
// The runs that raised warnings, per code: what to look at in samples.csv before trusting a
// result ("" when no run warned).
std::string warnings_line(const StudyResult& r) {
  std::string text;
  const size_t n = r.warned.size();
  for (size_t c = 0; c < std::size(kWarningCodes); ++c) {
    size_t runs = 0, first = 0;
    for (size_t k = n; k-- > 0;)
      if (static_cast<unsigned>(r.warned[k]) & (1u << c)) {
        ++runs;
        first = k;
      }
    if (runs == 0) continue;
    if (!text.empty()) text += ", ";
    text.append(kWarningCodes[c]).append(" in ").append(std::to_string(runs)).append(" of ");
    text.append(std::to_string(n)).append(" runs (first: run ").append(std::to_string(first)).append(")");
  }
  if (text.empty()) return "";
  return wrap_text("  warnings: " + text + "; samples.csv lists each run's in `warnings`\n", kHeadlineWidth, 4);
}
}  // namespace

std::string write_study(const Study& study, const ScenarioTemplate& tmpl, const StudyResult& r, const std::string& dir,
                        const std::string& tool_version) {
  namespace fs = std::filesystem;
  const int d = static_cast<int>(study.parameters.size()), n = static_cast<int>(r.values.rows());
  const int outs = static_cast<int>(study.outputs.size());
  Headline headline(study, r.outputs);
  // each parameter's units, as the scenario writes them at its path ("" for a plain number)
  std::vector<std::string> units;
  for (const auto& p : study.parameters) units.push_back(tmpl.units_at(p.path));
  {
    // a parameter's column says its units: `firms.meta.capex.2027 ($B)`
    // with a seed per run, the seed each ran with: `gpumm run --set ... --seed S` repeats it
    const bool seeds = study.scenario_seed == Study::ScenarioSeed::per_run;
    std::vector<std::string> header{"run"};
    if (seeds) header.push_back("scenario_seed");
    for (size_t i = 0; i < study.parameters.size(); ++i)
      header.push_back(study.parameters[i].path + (units[i].empty() ? "" : " (" + units[i] + ")"));
    for (const auto& o : study.outputs) header.push_back(o);
    header.push_back("warnings");
    CsvWriter w(fs::path(dir) / "samples.csv", header);
    for (int k = 0; k < n; ++k) {
      w.number(k);
      if (seeds) w.text(std::to_string(run_scenario_seed(study.seed, k)));
      for (int i = 0; i < d; ++i) w.number(r.values(k, i));
      for (int o = 0; o < outs; ++o) w.number(r.outputs(k, o));
      w.text(warning_codes(r.warned[static_cast<size_t>(k)]));
      w.end_row();
    }
    w.close();
  }
  switch (study.method) {
    case StudyMethod::tornado: {
      CsvWriter w(fs::path(dir) / "tornado.csv",
                  {"output", "parameter", "parameter_units", "low", "high", "at_low", "at_base", "at_high", "swing"});
      for (int o = 0; o < outs; ++o) {
        std::vector<int> order(static_cast<size_t>(d));
        for (int i = 0; i < d; ++i) order[static_cast<size_t>(i)] = i;
        // how far the output moves over the low end, the base and the high end: |at_high - at_low|
        // where the base lies between them, and more where it does not (an effect that is not
        // monotone: both ends above the base must not rank as no effect)
        const auto swing = [&](int i) {
          const double lo = r.outputs(1 + 2 * i, o), base = r.outputs(0, o), hi = r.outputs(2 + 2 * i, o);
          return std::max({lo, base, hi}) - std::min({lo, base, hi});
        };
        std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return swing(a) > swing(b); });
        for (int i : order) {
          const StudyParameter& p = study.parameters[static_cast<size_t>(i)];
          w.text(study.outputs[static_cast<size_t>(o)]).text(p.path).text(units[static_cast<size_t>(i)])
              .number(r.values(1 + 2 * i, i)).number(r.values(2 + 2 * i, i))
              .number(r.outputs(1 + 2 * i, o)).number(r.outputs(0, o)).number(r.outputs(2 + 2 * i, o)).number(swing(i));
          w.end_row();
        }
        Eigen::VectorXd swings(d);
        for (int i = 0; i < d; ++i) swings(i) = swing(i);
        headline.ranked(o, ("largest swings (base " + Headline::fmt(r.outputs(0, o)) + ")").c_str(), swings, [&](int i) {
          const double lo = r.outputs(1 + 2 * i, o), base = r.outputs(0, o), hi = r.outputs(2 + 2 * i, o);
          const bool monotone = std::min(lo, hi) <= base && base <= std::max(lo, hi);
          return "swing " + Headline::fmt(swing(i)) + " (" + Headline::fmt(lo) + " at low, " + Headline::fmt(hi) +
                 " at high" + (monotone ? "" : "; not monotone: the base lies outside") + ")";
        });
      }
      w.close();
      break;
    }
    case StudyMethod::morris: {
      CsvWriter w(fs::path(dir) / "morris.csv", {"output", "parameter", "mu", "mu_star", "sigma"});
      for (int o = 0; o < outs; ++o) {
        const MorrisResult m = morris_effects(r.unit, r.outputs.col(o), study.samples, d);
        for (int i = 0; i < d; ++i) {
          w.text(study.outputs[static_cast<size_t>(o)]).text(study.parameters[static_cast<size_t>(i)].path)
              .number(m.mu(i)).number(m.mu_star(i)).number(m.sigma(i));
          w.end_row();
        }
        headline.ranked(o, "largest elementary effects", m.mu_star, [&](int i) {
          return "mu* " + Headline::fmt(m.mu_star(i)) + ", mu " + Headline::fmt(m.mu(i)) + ", sigma " +
                 Headline::fmt(m.sigma(i));
        });
      }
      w.close();
      break;
    }
    case StudyMethod::sobol: {
      CsvWriter w(fs::path(dir) / "sobol.csv", {"output", "parameter", "first_order", "first_order_low",
                                                "first_order_high", "total", "total_low", "total_high"});
      for (int o = 0; o < outs; ++o) {
        const SobolIndices s = sobol_indices(sobol_design_outputs(study, r, r.outputs.col(o)), sobol_points_used(study, r), d,
                                             study.bootstrap, 0.95, study.seed);
        for (int i = 0; i < d; ++i) {
          w.text(study.outputs[static_cast<size_t>(o)]).text(study.parameters[static_cast<size_t>(i)].path)
              .number(s.first(i)).number(s.first_low(i)).number(s.first_high(i)).number(s.total(i))
              .number(s.total_low(i)).number(s.total_high(i));
          w.end_row();
        }
        headline.ranked(o, "largest total Sobol' indices (95% intervals)", s.total, [&](int i) {
          return "total " + Headline::fmt(s.total(i)) + " [" + Headline::fmt(s.total_low(i)) + ", " +
                 Headline::fmt(s.total_high(i)) + "], first order " + Headline::fmt(s.first(i)) + " [" +
                 Headline::fmt(s.first_low(i)) + ", " + Headline::fmt(s.first_high(i)) + "]";
        });
      }
      w.close();
      // the same indices for every period of each series; a period in which a series does not
      // vary across runs (history, for one) has no variance to share out: empty cells
      CsvWriter wp(fs::path(dir) / "sobol_periods.csv",
                   {"date", "series", "parameter", "variance", "first_order", "first_order_low", "first_order_high",
                    "total", "total_low", "total_high"});
      const size_t periods = r.period_dates.size();
      r.series.for_each_column([&](int j, std::span<const double> values) {
        const size_t t = static_cast<size_t>(j) % periods;
        const std::string& series = study.series[static_cast<size_t>(j) / periods];
        const Eigen::VectorXd y = Eigen::Map<const Eigen::VectorXd>(values.data(), static_cast<Eigen::Index>(values.size()));
        const SobolIndices s = sobol_indices(sobol_design_outputs(study, r, y), sobol_points_used(study, r), d,
                                             study.bootstrap, 0.95, study.seed);
        for (int i = 0; i < d; ++i) {
          wp.text(r.period_dates[t]).text(series).text(study.parameters[static_cast<size_t>(i)].path).number(s.variance);
          if (s.variance > 0)
            wp.number(s.first(i)).number(s.first_low(i)).number(s.first_high(i)).number(s.total(i))
                .number(s.total_low(i)).number(s.total_high(i));
          else
            for (int c = 0; c < 6; ++c) wp.text("");
          wp.end_row();
        }
        // the headline: what decides each series in the last period
        if (t + 1 == periods) headline.last_period_leader(series, r.period_dates[t], s);
      });
      wp.close();
      break;
    }
    case StudyMethod::sweep:
      // samples.csv is the table: one row per point
      for (int o = 0; o < outs; ++o) headline.sweep(o, r.values, r.outputs.col(o));
      break;
    case StudyMethod::grid:
      for (int o = 0; o < outs; ++o)
        if (!headline.grid_table(o, r.values, r.outputs.col(o))) headline.extremes(o, r.values, r.outputs.col(o));
      break;
    case StudyMethod::monte_carlo: {
      for (int o = 0; o < outs; ++o) headline.spread(o, r.outputs.col(o));
      // per period, the percentiles of each series, the series side by side
      static constexpr double kBands[] = {0.05, 0.10, 0.50, 0.90, 0.95};
      std::vector<std::string> columns = {"date"};
      for (const std::string& series : study.series)
        for (const char* p : {"_p5", "_p10", "_p50", "_p90", "_p95"}) columns.push_back(series + p);
      const size_t periods = r.period_dates.size(), nb = std::size(kBands);
      std::vector<double> bands(study.series.size() * periods * nb), x;  // (series, period, band)
      r.series.for_each_column([&](int j, std::span<const double> values) {
        x.assign(values.begin(), values.end());
        std::sort(x.begin(), x.end());
        for (size_t b = 0; b < nb; ++b) bands[static_cast<size_t>(j) * nb + b] = quantile_sorted(x, kBands[b]);
      });
      CsvWriter w(fs::path(dir) / "bands.csv", columns);
      for (size_t t = 0; t < periods; ++t) {
        w.text(r.period_dates[t]);
        for (size_t k = 0; k < study.series.size(); ++k)
          for (size_t b = 0; b < nb; ++b) w.number(bands[(k * periods + t) * nb + b]);
        w.end_row();
      }
      // the headline: each series' band in the last period
      for (size_t k = 0; k < study.series.size() && periods > 0; ++k) {
        const double* at = &bands[(k * periods + periods - 1) * nb];
        headline.band(study.series[k], r.period_dates.back(), at[0], at[2], at[4]);
      }
      w.close();
      break;
    }
  }
  write_text_file(fs::path(dir) / "manifest.yaml", study_manifest(study, tmpl, n, tool_version));
  return headline.text() + warnings_line(r);
}

namespace {
// A parameter's distribution in its manifest entry (nothing for a uniform or log-uniform range,
// which low, high and log_scale say).
struct DistributionEntries {
  const StudyParameter& p;
};
DistributionEntries distribution_entries(const StudyParameter& p) { return {p}; }
YAML::Emitter& operator<<(YAML::Emitter& e, const DistributionEntries& d) {
  using S = Distribution::Shape;
  const Distribution& x = d.p.dist;
  if (x.shape == S::uniform || x.shape == S::log_uniform) return e;
  e << YAML::Key << "distribution" << YAML::Value << to_string(x.shape);
  const auto put = [&](const char* key, double v) { e << YAML::Key << key << YAML::Value << format_number(v); };
  if (x.shape == S::triangular) put("mode", x.mode);
  if (x.shape == S::normal) {
    put("mean", x.mean);
    put("sd", x.sd);
  }
  if (x.shape == S::lognormal) {
    put("median", x.median);
    put("sigma", x.sigma);
  }
  return e;
}
}  // namespace

std::string study_manifest(const Study& study, const ScenarioTemplate& tmpl, int runs, const std::string& tool_version) {
  YAML::Emitter e;
  e << YAML::BeginMap;
  e << YAML::Key << "tool" << YAML::Value << ("gpumm " + tool_version);
  e << YAML::Key << "study" << YAML::Value << study.file;
  e << YAML::Key << "scenario" << YAML::Value << study.scenario;
  e << YAML::Key << "scenario_hash" << YAML::Value << tmpl.hash();
  e << YAML::Key << "method" << YAML::Value << to_string(study.method);
  e << YAML::Key << "sampler" << YAML::Value
    << (study.method == StudyMethod::monte_carlo
            ? (study.sampler == Study::Sampler::sobol ? "shifted_sobol_sequence" : "latin_hypercube")
        : study.method == StudyMethod::sobol     ? "saltelli_sobol_sequence"
        : study.method == StudyMethod::morris    ? "morris_trajectories"
        : study.method == StudyMethod::grid      ? "full_factorial"
                                                 : "one_at_a_time");
  e << YAML::Key << "seed" << YAML::Value << std::to_string(study.seed);
  e << YAML::Key << "scenario_seed" << YAML::Value
    << (study.scenario_seed == Study::ScenarioSeed::per_run ? "per_run" : "fixed");
  e << YAML::Key << "samples" << YAML::Value << study.samples;
  e << YAML::Key << "levels" << YAML::Value << study.levels;
  e << YAML::Key << "points" << YAML::Value << study.points;
  if (study.method == StudyMethod::tornado)
    e << YAML::Key << "tornado_quantiles" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key << "low"
      << YAML::Value << format_number(study.tornado_quantiles.low) << YAML::Key << "high" << YAML::Value
      << format_number(study.tornado_quantiles.high) << YAML::EndMap;
  if (study.target_width > 0) {
    e << YAML::Key << "target_width" << YAML::Value << format_number(study.target_width);
    e << YAML::Key << "max_runs" << YAML::Value << study.max_runs;
  }
  e << YAML::Key << "runs" << YAML::Value << runs;
  e << YAML::Key << "parameters" << YAML::Value << YAML::BeginSeq;
  for (const auto& p : study.parameters)
    e << YAML::Flow << YAML::BeginMap << YAML::Key << "path" << YAML::Value << p.path << YAML::Key << "low"
      << YAML::Value << format_number(p.low) << YAML::Key << "high" << YAML::Value << format_number(p.high)
      << YAML::Key << "base" << YAML::Value << format_number(p.base) << YAML::Key << "log_scale" << YAML::Value
      << (p.log_scale ? "true" : "false") << distribution_entries(p) << YAML::EndMap;
  e << YAML::EndSeq;
  e << YAML::Key << "outputs" << YAML::Value << YAML::Flow << study.outputs;
  if (study_keeps_series(study.method)) e << YAML::Key << "series" << YAML::Value << YAML::Flow << study.series;
  e << YAML::EndMap;
  return std::string(e.c_str()) + "\n";
}

}  // namespace gpumm
