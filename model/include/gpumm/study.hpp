#pragma once
// Sensitivity and uncertainty studies on a scenario (DESIGN §8): a study file names the
// scenario, the parameters (paths with ranges, in the units written in the scenario), the
// method and the outputs (scalar metrics of a run). Runs are shared among threads; each
// sample's design point, and with `scenario_seed: per_run` its scenario seed, depend only on
// (seed, sample index), so results are identical whatever the number of threads.
#include <Eigen/Dense>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "gpumm/error.hpp"
#include "gpumm/scenario.hpp"
#include "gpumm/sensitivity.hpp"

namespace gpumm {

struct RunResult;
struct SeriesDiagnosis;

enum class StudyMethod { monte_carlo, tornado, morris, sobol, sweep, grid };
std::string to_string(StudyMethod m);

struct StudyParameter {
  std::string path;
  double low = 0, high = 0, base = 0;  ///< base: the scenario's own value
  bool log_scale = false;
  Distribution dist{};                 ///< the shape of its values within [low, high]
  int line = 0, column = 0;            ///< where the path is written in the study file (1-based; 0 unknown)
  /// A number of the parameter written with units (`$120B`, `12mo`): `low`, `high` or a
  /// distribution's `mode`, `mean`, `sd` or `median`, read by `study_problems` in the units the
  /// scenario writes at the path.
  struct Written {
    std::string key, text;
    int line = 0, column = 0;
  };
  std::vector<Written> written{};
  int entry_line = 0, entry_column = 0;  ///< where the parameter's entry is written

  /// The range and distribution, for the samplers.
  Parameter range() const { return Parameter{path, low, high, log_scale, dist}; }
  /// The number a written key stands for (low, high, mode, mean, sd, median).
  double* number(const std::string& key);
};

struct Study {
  std::string file;
  std::string scenario;                ///< path of the scenario (relative paths: to the study file)
  StudyMethod method = StudyMethod::monte_carlo;
  /// Monte Carlo: Latin hypercube draws, or Sobol' points under a random digital shift
  /// (quasi-random; most even when `samples` is a power of two).
  enum class Sampler { latin_hypercube, sobol };
  Sampler sampler = Sampler::latin_hypercube;
  /// Where a run's random draws (slips of projects and launches, programs' jitter, sampled
  /// builds) come from: the scenario's seed in every run (`fixed`: runs differ by their
  /// parameters alone, as sweeps and sensitivity indices want), or a seed of its own per run,
  /// drawn from the study's seed and the run's index (`per_run`: the draws vary with the
  /// parameters, as uncertainty bands want). Read from the file's `scenario_seed`; by default
  /// per_run for Monte Carlo, fixed for the other methods.
  enum class ScenarioSeed { fixed, per_run };
  ScenarioSeed scenario_seed = ScenarioSeed::fixed;
  std::uint64_t seed = 1;
  int samples = 64;                    ///< Monte Carlo points; Morris trajectories; Sobol N (a power of 2)
  int points = 5;                      ///< sweep and grid: values per parameter, low to high
  int levels = 4;                      ///< Morris grid levels
  int bootstrap = 200;                 ///< Sobol confidence intervals
  /// Tornado: the shares of each parameter's distribution at which its low and high runs are
  /// made (its quantiles; {0.1, 0.9}: P10 and P90); {0, 1}: the range's ends.
  struct Quantiles {
    double low = 0, high = 1;
  } tornado_quantiles;
  /// Sobol: when > 0, N starts at `samples` and doubles until every interval is at most this
  /// wide or the next doubling would take more than `max_runs` runs.
  double target_width = 0;
  long max_runs = 100000;
  std::vector<StudyParameter> parameters;
  std::vector<std::string> outputs;    ///< metric names (see `study_metrics`)
  std::vector<std::pair<int, int>> output_at;  ///< line and column of each output in the file (1-based; 0 unknown)
  /// Per-period series that Monte Carlo bands and Sobol indices per period analyse, named as
  /// summary.csv's number columns (see `summary_numbers`); `relative_balance_frac` unless the file
  /// names others; empty for the methods that keep no series.
  std::vector<std::string> series;
};

/// The scenario seed of run `run` of a study with `scenario_seed: per_run`: from 0 to 2^48 - 1
/// (15 digits, exact in a spreadsheet), a function of the study's seed and the run's index only
/// (so the same on any thread or rank).
std::uint64_t run_scenario_seed(std::uint64_t study_seed, long run);

/// Whether a file is a study file rather than a scenario: a map without a scenario's
/// `generations`, `firms` or `extends` that has a study's `scenario`, `method`, `parameters`
/// or `outputs`, or another tool's word for one of them (`model`, `params`, `metrics`); false
/// for anything unreadable (the scenario loader then says why).
bool is_study_file(const std::string& path);

/// Whether a file reads as a scenario (a map with `generations`, `firms` or `extends`) rather
/// than a study, so that `gpumm study` on it says what to run instead; false for anything
/// unreadable.
bool is_scenario_file(const std::string& path);

/// Load and validate a study file; errors as for scenarios (file:line:col, all at once).
Study load_study_file(const std::string& path);

/// The same, adding the file's problems to `problems` instead of throwing them, so that the
/// problems against its scenario can be listed with them; throws only when the file cannot be
/// read as YAML.
Study read_study_file(const std::string& path, std::vector<Diagnostic>& problems);

/// Problems of a study against its scenario: parameter paths that name no number of it and
/// firm metrics that name no firm, located in the study file. Sets each parameter's `base`.
std::vector<Diagnostic> study_problems(Study& study, const ScenarioTemplate& scenario);

/// The metrics a study can analyse, with what they mean.
const std::vector<std::pair<std::string, std::string>>& study_metrics();
/// Why `name` is not one of `study_metrics` for runs of `s` ("" when it is): an unknown name,
/// with the closest known one, or a firm metric naming a firm that `s` does not have, with the
/// closest firm. Without `s`, any firm will do.
std::string metric_problem(const std::string& name, const Scenario* s = nullptr);
/// Why `name` is not one of summary.csv's numbers, which a study may keep per period ("" when
/// it is): an unknown name with the closest one, or the `_frac` name a ratio has now.
std::string series_problem(const std::string& name);
/// Whether metric `name` compares the regimes read in real time with those after the fact, and
/// so needs the diagnosis with its revision (`diagnose_run_revised`).
bool metric_reads_in_real_time(const std::string& name);
/// The diagnosis of a run that `metrics` need: with the reading in real time when one of them
/// compares it (it costs a run about 0.02 ms more), otherwise without.
SeriesDiagnosis diagnose_for_metrics(const Scenario& s, const RunResult& r, const std::vector<std::string>& metrics);
/// The value of metric `name` (one of `study_metrics`) for a run of `s` and its diagnosis (from
/// `diagnose_for_metrics`: a metric read in real time throws std::logic_error without it).
double run_metric(const std::string& name, const Scenario& s, const RunResult& r, const SeriesDiagnosis& d);

/// Per-period series of every run of a study, kept in an unnamed temporary file rather than in
/// memory (a 98,304-run study of 120 months holds 94 MB per series): a row of `columns` numbers
/// per run (each series over every period, one after another). Runs write their rows as they
/// finish, in any order and from any thread; the analysis reads them back a block of columns
/// at a time. The file disappears with the store.
class SeriesStore {
 public:
  SeriesStore() = default;
  SeriesStore(long runs, int columns);  ///< every value 0 until written; throws on I/O failure
  ~SeriesStore();
  SeriesStore(SeriesStore&& o) noexcept;
  SeriesStore& operator=(SeriesStore&& o) noexcept;
  SeriesStore(const SeriesStore&) = delete;
  SeriesStore& operator=(const SeriesStore&) = delete;

  bool empty() const { return runs_ == 0 || columns_ == 0; }
  long runs() const { return runs_; }
  int columns() const { return columns_; }
  /// Write run `run`'s row (`columns()` values); safe from several threads for distinct runs.
  void put(long run, std::span<const double> row);
  std::vector<double> row(long run) const;
  /// Keep the first `runs` rows.
  void truncate(long runs);
  /// Call f(j, values of every run in column j) for j = 0, 1, ...; the file is read once per
  /// block of columns that fits in `memory_bytes` (at least one column).
  void for_each_column(const std::function<void(int, std::span<const double>)>& f,
                       std::size_t memory_bytes = std::size_t{64} << 20) const;
  bool operator==(const SeriesStore& o) const;

 private:
  int fd_ = -1;
  long runs_ = 0;
  int columns_ = 0;
};

/// The outputs of every run of a study.
struct StudyResult {
  Eigen::MatrixXd unit;     ///< design in the unit cube (runs x parameters)
  Eigen::MatrixXd values;   ///< parameter values (runs x parameters)
  Eigen::MatrixXd outputs;  ///< metrics (runs x outputs)
  /// Per run, the warnings it raised: bit c set for code kWarningCodes[c] (a whole number held
  /// as a double, so it travels with the outputs through checkpoints and processes).
  std::vector<double> warned;
  /// Per run, the study's series one after another, each over every period (see
  /// `study_keeps_series`): column j is series j / periods in period j % periods.
  SeriesStore series;
  std::vector<std::string> period_dates;
  int rounds = 1;          ///< Sobol: rounds of the design run (N = samples 2^(rounds - 1))
  double widest = 0;       ///< Sobol with a target width: the widest interval at the end
  /// The most threads this process ran at once: no more than runs it had to make (1 when the
  /// checkpoint held them all).
  int threads = 1;
};

/// A run's outputs, its warnings and its per-period series as one row of `outputs + 1 +
/// periods` numbers (to share results between processes and to checkpoint them), and back
/// into a result.
void pack_run(const StudyResult& r, long run, std::span<double> row);
void unpack_run(StudyResult& r, long run, std::span<const double> row);

/// A run's warnings as StudyResult::warned holds them, and back as their codes, space
/// separated ("" for none).
double warning_bits(const std::vector<Warning>& warnings);
std::string warning_codes(double bits);

/// Checkpointing: runs already done (from an interrupted study) and a hook called, serialized,
/// after each new run with its index, so a caller can save it. A hook that throws (it cannot
/// save) stops the study: `run_study` throws std::runtime_error with the hook's message.
struct StudyCheckpoint {
  std::vector<char> done;                       ///< per run: 1 when `StudyResult` already holds it
  StudyResult previous;                         ///< outputs (and series) of the runs done
  std::function<void(int, const StudyResult&)> saved;  ///< after run k completes
};

/// The Sobol base sample N of a result.
int sobol_points_used(const Study& study, const StudyResult& r);

/// Sharing a study's runs among processes (MPI ranks): process `rank` of `size` runs the runs
/// k with k % size == rank, in chunks of `chunk` runs; after each chunk `sum` adds a buffer
/// over all processes in place (every process gets the total). Each value is added to zeros
/// only, so the gathered results are exactly those of one process. The checkpoint hook is
/// called on rank 0 only, after each chunk.
struct StudyShare {
  int rank = 0, size = 1;
  int chunk = 256;
  std::function<void(double* data, long count)> sum;
};

/// Run a study on `threads` threads. `progress(done, total)` is called as runs complete
/// (serialized). With a checkpoint, runs already done are not run again (with a share, every
/// process must be given the same checkpoint).
StudyResult run_study(const Study& study, const ScenarioTemplate& scenario, int threads,
                      const std::function<void(int, int)>& progress = {}, StudyCheckpoint* checkpoint = nullptr,
                      const StudyShare* share = nullptr);

/// The study's manifest (manifest.yaml): it identifies the study, so a checkpoint or outputs
/// are only ever combined with the study that made them.
std::string study_manifest(const Study& study, const ScenarioTemplate& scenario, int runs,
                           const std::string& tool_version);

/// Whether a method keeps each run's per-period series: Monte Carlo for its bands, Sobol for its
/// indices per period.
bool study_keeps_series(StudyMethod m);

/// The numbers a study keeps per run for its series: one per series and period.
std::size_t study_series_width(const Study& study, std::size_t periods);

/// A run's values of the study's series, one after another, each over every period.
std::vector<double> run_series(const Study& study, const RunResult& r, const SeriesDiagnosis& d);

/// The first day of every period of the study's scenario (one base run), when the method keeps
/// per-period series; empty otherwise. Processes sharing a study need them before any run.
std::vector<std::string> study_period_dates(const Study& study, const ScenarioTemplate& scenario);

/// The number of runs of a study's design (for a Sobol study with a target width: the most it
/// may take).
int study_runs(const Study& study);

/// Write samples.csv, the method's tables (tornado.csv, morris.csv, sobol.csv and
/// sobol_periods.csv, or bands.csv) and manifest.yaml into the staging folder `dir`. Returns
/// the headline of the result in a few indented lines for the terminal, per output: the three
/// parameters with the largest swing (tornado), mu* (Morris) or total index (Sobol, with its
/// interval); its spread over the runs (Monte Carlo); its lowest and highest run with the
/// parameters set there (sweeps and grids).
std::string write_study(const Study& study, const ScenarioTemplate& scenario, const StudyResult& r,
                        const std::string& dir, const std::string& tool_version);

}  // namespace gpumm
