// gpumm study STUDY: a sensitivity or uncertainty study, checkpointed, on threads or MPI ranks.
#include "command.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include "gpumm/io.hpp"

namespace gpumm::cli::detail {

namespace {

// A study stopped by Ctrl-C (SIGINT) or a polite kill (SIGTERM, as a batch scheduler sends at
// the end of a job's time): the runs in flight finish and are saved, then the study stops and
// says how to finish it. A second signal ends the process at once.
// (a lock-free atomic: set in a signal handler on any thread, read by the study's threads)
std::atomic<int> g_stop_signal{0};
constexpr const char* kStoppedBySignal = "stopped by a signal";
static_assert(std::atomic<int>::is_always_lock_free);
extern "C" void on_stop_signal(int sig) {
  if (g_stop_signal.load() != 0) {
    std::signal(sig, SIG_DFL);
    std::raise(sig);
  }
  g_stop_signal.store(sig);
}
class StopSignals {
 public:
  StopSignals() {
    g_stop_signal.store(0);
    int_ = std::signal(SIGINT, on_stop_signal);
    term_ = std::signal(SIGTERM, on_stop_signal);
  }
  ~StopSignals() {
    std::signal(SIGINT, int_);
    std::signal(SIGTERM, term_);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  void (*int_)(int) = SIG_DFL;
  void (*term_)(int) = SIG_DFL;
};

// An adaptive Sobol study's sample: where it stopped and why.
std::string adaptive_sample_line(const Study& study, const StudyResult& result) {
  char line[200];
  std::snprintf(line, sizeof line, "  sample            N = %d after %d doubling%s; widest interval %.3g %s target %.3g%s\n",
                sobol_points_used(study, result), result.rounds - 1, result.rounds == 2 ? "" : "s", result.widest,
                result.widest <= study.target_width ? "<=" : ">", study.target_width,
                result.widest <= study.target_width ? "" : " (the run budget is spent: raise max_runs)");
  return line;
}

// The checkpoint of a study: one binary record per completed run, appended and flushed as the
// run ends: the run's index and its packed row (outputs, warnings, series), as doubles, then an
// FNV-1a hash of those bytes. A record cut short by a kill, or one whose hash does not match,
// is not a run. (A text line per run took 2.5 times the space: 250 MB per series for the
// 98,304-run Sobol study.)
std::uint64_t checkpoint_hash(const double* values, size_t count) {
  const auto* p = reinterpret_cast<const unsigned char*>(values);
  std::uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < count * sizeof(double); ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

// One run's record: `width` doubles (its index, then its packed row) and their hash.
std::vector<double> checkpoint_record(const StudyResult& r, int k, size_t width) {
  std::vector<double> rec(width + 1);
  rec[0] = k;
  pack_run(r, k, std::span<double>(rec.data() + 1, width - 1));
  const std::uint64_t h = checkpoint_hash(rec.data(), width);
  std::memcpy(&rec[width], &h, sizeof h);
  return rec;
}

// The size of a checkpoint's records (0 when there is no such file).
std::uintmax_t saved_bytes(const std::filesystem::path& file) {
  std::error_code ec;
  const std::uintmax_t n = std::filesystem::file_size(file, ec);
  return ec ? 0 : n;
}

// Visit each whole, undamaged record of a checkpoint of `n` runs whose records hold `width`
// numbers (the run's number first) and a hash: `visit(k, values)` with the run and the numbers
// after its number. Returns the bytes of whole records: what is left after the last one was
// cut short (a kill, a full disk) is not a run.
template <class Visit>
std::uintmax_t read_records(const std::filesystem::path& file, int n, size_t width, Visit&& visit) {
  std::ifstream in(file, std::ios::binary);
  std::vector<double> rec(width + 1);
  std::uintmax_t whole = 0;
  while (in.read(reinterpret_cast<char*>(rec.data()), static_cast<std::streamsize>(rec.size() * sizeof(double)))) {
    std::uint64_t h = 0;
    std::memcpy(&h, &rec[width], sizeof h);
    whole += static_cast<std::uintmax_t>(rec.size() * sizeof(double));
    if (h != checkpoint_hash(rec.data(), width)) continue;  // a damaged record
    const double k = rec[0];
    if (!(k >= 0 && k < n) || k != std::floor(k)) continue;
    visit(static_cast<int>(k), std::span<const double>(rec.data() + 1, width - 1));
  }
  return whole;
}

// The numbers in a checkpoint's record of one run: its number, its outputs, its warnings and
// its series.
size_t checkpoint_width(const Study& study, const std::vector<std::string>& dates) {
  return 1 + study.outputs.size() + 1 + study_series_width(study, dates.size());
}

std::uintmax_t read_checkpoint(const std::filesystem::path& file, const Study& study,
                               const std::vector<std::string>& dates, StudyCheckpoint& cp) {
  const int n = study_runs(study), outs = static_cast<int>(study.outputs.size());
  cp.previous.outputs = Eigen::MatrixXd::Zero(n, outs);
  cp.previous.warned.assign(static_cast<size_t>(n), 0.0);
  cp.previous.period_dates = dates;
  cp.previous.series = SeriesStore(n, static_cast<int>(study_series_width(study, dates.size())));
  return read_records(file, n, checkpoint_width(study, dates), [&](int k, std::span<const double> values) {
    unpack_run(cp.previous, k, values);
    cp.done[static_cast<size_t>(k)] = 1;
  });
}

// How many runs a checkpoint saved, read without keeping what they gave.
long saved_runs(const std::filesystem::path& file, const Study& study, const std::vector<std::string>& dates) {
  std::vector<char> done(static_cast<size_t>(study_runs(study)), 0);
  read_records(file, study_runs(study), checkpoint_width(study, dates),
               [&](int k, std::span<const double>) { done[static_cast<size_t>(k)] = 1; });
  return static_cast<long>(std::count(done.begin(), done.end(), 1));
}

enum class Resume { no, yes, restart };
// A study's checkpoint in its output folder: its manifest, and a record per run done.
constexpr const char* kCheckpointManifest = ".checkpoint-manifest.yaml";
constexpr const char* kCheckpointRows = ".checkpoint.bin";

// How a study starts from what its output folder holds: resuming (the runs its checkpoint
// saved read into `cp`, `whole_bytes` of whole records), afresh, or not at all (`refusal` says
// why): a checkpoint is never thrown away unasked, nor resumed by another study.
struct CheckpointStart {
  bool resuming = false;
  std::uintmax_t whole_bytes = 0;
  std::string refusal;
};
// What differs between two manifests, key by key, a few at most (`seed: 4 -> 5`); a key's
// indented lines (the parameters) count as part of its value, and the first of them that
// differs is shown.
std::string manifest_differences(const std::string& before, const std::string& after) {
  const auto trim = [](std::string t) {
    t.erase(0, t.find_first_not_of(' '));
    t.erase(t.find_last_not_of(' ') + 1);
    return t;
  };
  // (key, the lines of its value)
  const auto keyed = [&](const std::string& text) {
    std::vector<std::pair<std::string, std::vector<std::string>>> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      const size_t colon = line.find(':');
      if (!line.empty() && line[0] != ' ' && colon != std::string::npos)
        out.push_back({line.substr(0, colon), {trim(line.substr(colon + 1))}});
      else if (!out.empty())
        out.back().second.push_back(trim(line));
    }
    return out;
  };
  const auto a = keyed(before), b = keyed(after);
  std::vector<std::string> said;
  for (const auto& entry : b) {
    const std::string& key = entry.first;
    const std::vector<std::string>& value = entry.second;
    const auto was = std::find_if(a.begin(), a.end(), [&](const auto& kv) { return kv.first == key; });
    const std::vector<std::string> old = was == a.end() ? std::vector<std::string>{} : was->second;
    if (old == value) continue;
    size_t k = 0;
    while (k < old.size() && k < value.size() && old[k] == value[k]) ++k;
    const std::string change = (k < old.size() ? old[k] : "(none)") + " -> " + (k < value.size() ? value[k] : "(none)");
    said.push_back(key == "scenario_hash" ? "the scenario's contents changed (scenario_hash " + change + ")"
                                          : key + ": " + change);
  }
  std::string out;
  for (size_t k = 0; k < said.size() && k < 3; ++k) out += (k ? "; " : "") + said[k];
  if (said.size() > 3) out += "; ...";
  return out.empty() ? "its manifest differs" : out;
}

// A manifest without the paths it names the study file and the scenario by (`study:`,
// `scenario:`): the same study resumes from another folder or by another path to the same
// files; the scenario's contents are in its hash.
std::string without_paths(const std::string& manifest) {
  std::string out;
  std::istringstream in(manifest);
  for (std::string line; std::getline(in, line);)
    if (!line.starts_with("study: ") && !line.starts_with("scenario: ")) out += line + "\n";
  return out;
}

CheckpointStart start_checkpoint(const std::filesystem::path& dir, const std::string& manifest, const Study& study,
                                 const std::vector<std::string>& dates, Resume resume, StudyCheckpoint& cp) {
  const std::filesystem::path cp_manifest = dir / kCheckpointManifest, cp_rows = dir / kCheckpointRows;
  CheckpointStart start;
  if (resume == Resume::restart || !std::filesystem::exists(cp_manifest)) return start;
  std::ifstream in(cp_manifest, std::ios::binary);
  if (const std::string saved((std::istreambuf_iterator<char>(in)), {}); without_paths(saved) != without_paths(manifest)) {
    if (resume == Resume::yes || saved_bytes(cp_rows) > 0)
      start.refusal = "the checkpoint in " + dir.string() + " belongs to another study (" +
                      manifest_differences(without_paths(saved), without_paths(manifest)) + ")" +
                      (resume == Resume::yes ? "" : " whose interrupted runs it saved") +
                      "; run with --restart to discard it, or choose another folder with -o";
    return start;
  }
  if (resume == Resume::yes) {
    start.whole_bytes = read_checkpoint(cp_rows, study, dates, cp);
    start.resuming = true;
    return start;
  }
  // run again without --resume: only a checkpoint that saved no run may go
  if (const long runs = saved_runs(cp_rows, study, dates); runs > 0)
    start.refusal = dir.string() + " holds the checkpoint of this study, interrupted after " + std::to_string(runs) +
                    " of " + std::to_string(study_runs(study)) +
                    " runs: run again with --resume to finish it, or with --restart to discard them and start over";
  return start;
}

// Hand rank 0's checkpoint (per run: done, outputs, warnings, series) to every process through
// the share's sum, a block of runs at a time, so that no process holds it all in one buffer.
// Every process calls it with the same study; processes other than rank 0 pass an empty one.
void exchange_checkpoint(StudyCheckpoint& cp, const Study& study, const std::vector<std::string>& dates,
                         const StudyShare& share) {
  const long n = static_cast<long>(cp.done.size());
  const int outs = static_cast<int>(study.outputs.size());
  // a row as wide as a checkpoint's record, the run's number replaced by whether it was done
  const size_t series = study_series_width(study, dates.size()), width = checkpoint_width(study, dates);
  if (cp.previous.outputs.rows() != n) cp.previous.outputs = Eigen::MatrixXd::Zero(n, outs);
  if (cp.previous.warned.size() != static_cast<size_t>(n)) cp.previous.warned.assign(static_cast<size_t>(n), 0.0);
  if (cp.previous.series.runs() != n) cp.previous.series = SeriesStore(n, static_cast<int>(series));
  cp.previous.period_dates = dates;
  constexpr long kBlock = 4096;
  std::vector<double> buf;
  for (long from = 0; from < n; from += kBlock) {
    const long to = std::min(n, from + kBlock);
    buf.assign(static_cast<size_t>(to - from) * width, 0.0);
    for (long k = from; k < to; ++k) {
      if (!cp.done[static_cast<size_t>(k)]) continue;
      double* row = buf.data() + static_cast<size_t>(k - from) * width;
      row[0] = 1;  // done
      pack_run(cp.previous, k, std::span<double>(row + 1, width - 1));
    }
    share.sum(buf.data(), static_cast<long>(buf.size()));
    for (long k = from; k < to; ++k) {
      const double* row = buf.data() + static_cast<size_t>(k - from) * width;
      if (row[0] == 0) continue;
      cp.done[static_cast<size_t>(k)] = 1;
      unpack_run(cp.previous, k, std::span<const double>(row + 1, width - 1));
    }
  }
}

// A process other than rank 0 of a shared study: it learns from rank 0 whether the study goes
// ahead and what its checkpoint holds, runs its share, and writes nothing.
int follow_study(const Study& study, const ScenarioTemplate& tmpl, int threads, const StudyShare& share) {
  double status = 0;
  share.sum(&status, 1);
  if (status > 0) return kBadInput;  // rank 0 said why
  try {
    StudyCheckpoint cp;
    cp.done.assign(static_cast<size_t>(study_runs(study)), 0);
    exchange_checkpoint(cp, study, study_period_dates(study, tmpl), share);
    run_study(study, tmpl, threads, {}, &cp, &share);
    return kOk;
  } catch (const std::exception&) {
    return kRuntimeFailure;  // rank 0 reports
  }
}

}  // namespace

int cmd_study(const std::vector<std::string>& args, std::ostream& out, std::ostream& err, const StudyShare* share) {
  const auto bad = [&err](const std::string& problem) { return usage(err, problem, "study"); };
  std::string study_path, out_dir;
  int threads = all_cores();
  bool quiet = false, resume = false, restart = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-o" || a == "--output") {
      if (const std::string problem = output_option(args, i, out_dir); !problem.empty()) return bad(problem);
    } else if (a == "--restart") {
      restart = true;
    } else if (a == "--threads") {
      if (std::string problem = threads_option(args, i, threads); !problem.empty()) return bad(problem);
    } else if (a == "-q" || a == "--quiet") {
      quiet = true;
    } else if (a == "--resume") {
      resume = true;
    } else if (!a.empty() && a[0] == '-') {
      return unknown_option(err, a, "study", {"--output", "--threads", "--quiet", "--resume", "--restart"});
    } else if (study_path.empty()) {
      study_path = a;
    } else {
      return bad("study takes one study file");
    }
  }
  if (study_path.empty()) return bad("study needs a study file, e.g. `gpumm study inputs/studies/tornado.yaml`");
  if (resume && restart) return bad("--resume finishes an interrupted study and --restart starts it over: give one");
  // shared among MPI ranks: rank 0 speaks, writes and checkpoints; the others only run
  const bool shared = share && share->size > 1;
  std::ostream silent(nullptr);
  std::ostream& complain = shared && share->rank != 0 ? silent : err;
  Study study;
  std::optional<ScenarioTemplate> tmpl;
  try {
    load_study(study_path, study, tmpl);
  } catch (const ScenarioError& e) {
    return report(complain, e);
  }
  if (out_dir.empty()) out_dir = (std::filesystem::path("out") / std::filesystem::path(study_path).stem()).string();
  if (shared && share->rank != 0) return follow_study(study, *tmpl, threads, *share);
  // rank 0 tells the others whether the study goes ahead (0) or not (1)
  bool told = false;
  const auto tell = [&](double status) {
    if (!shared || told) return;
    told = true;
    share->sum(&status, 1);
  };
  try {
    std::optional<OutputDir> dir_holder;
    try {
      dir_holder.emplace(out_dir);
    } catch (...) {
      tell(1);
      throw;
    }
    OutputDir& dir = *dir_holder;
    const auto start = std::chrono::steady_clock::now();
    RunsProgress progress(err, !quiet && ::isatty(2), study.target_width > 0);
    // the checkpoint: the manifest of the study, then one record per completed run
    const std::filesystem::path cp_manifest = dir.dir() / kCheckpointManifest, cp_rows = dir.dir() / kCheckpointRows;
    const std::string manifest = study_manifest(study, *tmpl, study_runs(study), GPUMM_VERSION);
    StudyCheckpoint cp;
    cp.done.assign(static_cast<size_t>(study_runs(study)), 0);
    const std::vector<std::string> dates = study_period_dates(study, *tmpl);  // one base run: once
    cp.previous.period_dates = dates;
    const CheckpointStart start_from =
        start_checkpoint(dir.dir(), manifest, study, dates, resume ? Resume::yes : restart ? Resume::restart : Resume::no, cp);
    if (!start_from.refusal.empty()) {
      err << "gpumm: " << start_from.refusal << "\n";
      tell(1);
      return kBadInput;
    }
    const bool resuming = start_from.resuming;
    if (!resuming) {
      std::filesystem::remove(cp_rows);
      try {
        write_text_file(cp_manifest, manifest);
      } catch (...) {
        tell(1);
        throw;
      }
    }
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> rows(std::fopen(cp_rows.c_str(), "ab"), &std::fclose);
    // a study that could not save the run written last (a kill, a full disk) may have cut its
    // record short; new records go after the last whole one
    std::error_code cut;
    if (rows) std::filesystem::resize_file(cp_rows, start_from.whole_bytes, cut);
    if (!rows || cut) {
      tell(1);
      throw OutputError("cannot write " + cp_rows.string());
    }
    if (shared) {  // the study goes ahead; hand the checkpoint to the other processes
      tell(0);
      exchange_checkpoint(cp, study, dates, *share);
    }
    const long recovered = std::count(cp.done.begin(), cp.done.end(), 1);  // runs the checkpoint held
    long saved = recovered;  // runs in the checkpoint now
    const auto test_hook = [](const char* name) { return std::getenv(name) ? std::atol(std::getenv(name)) : -1L; };
    const long kill_after = test_hook("GPUMM_TEST_KILL_AFTER_RUNS"), stop_after = test_hook("GPUMM_TEST_STOP_AFTER_RUNS");
    long saved_now = 0;
    const size_t record_width = checkpoint_width(study, dates);
    cp.saved = [&](int k, const StudyResult& r) {
      const std::vector<double> rec = checkpoint_record(r, k, record_width);
      if (std::fwrite(rec.data(), sizeof(double), rec.size(), rows.get()) != rec.size() || std::fflush(rows.get()) != 0)
        throw WriteError("cannot write the checkpoint " + cp_rows.string() + ": " + std::strerror(errno) +
                         " (the runs saved so far are kept: free space, then run again with --resume)");
      ++saved;
      ++saved_now;
      // test hooks: die the way a killed study dies; be stopped the way Ctrl-C stops it
      if (kill_after >= 0 && saved_now >= kill_after) std::raise(SIGKILL);
      if (saved_now == stop_after) std::raise(SIGINT);
      if (g_stop_signal != 0) throw std::runtime_error(kStoppedBySignal);
    };
    std::optional<StudyResult> ran;
    try {
      const StopSignals stop_signals;
      ran.emplace(run_study(study, *tmpl, threads, [&](int done, int total) { progress(done, total); }, &cp, share));
    } catch (const std::exception& e) {
      if (e.what() != std::string_view(kStoppedBySignal)) throw;  // another failure: as it is
      progress.end();
      tell(1);
      err << "gpumm: study stopped (" << (g_stop_signal == SIGINT ? "Ctrl-C" : "SIGTERM") << "): " << saved << " of "
          << (study.method == StudyMethod::sobol && study.target_width > 0 ? "at most " : "") << study_runs(study)
          << " runs are saved in " << dir.dir().string() << "; the same command with --resume finishes the study\n";
      return 128 + g_stop_signal;
    }
    const StudyResult& result = *ran;
    if (std::fclose(rows.release()) != 0)
      throw WriteError("cannot write the checkpoint " + cp_rows.string() + ": " + std::strerror(errno));
    // stage the files, then move them into place
    std::string table = study.method == StudyMethod::tornado       ? "tornado.csv"
                        : study.method == StudyMethod::morris      ? "morris.csv"
                        : study.method == StudyMethod::sobol       ? "sobol.csv"
                        : study.method == StudyMethod::monte_carlo ? "bands.csv"
                                                                   : "";
    const std::filesystem::path staging = dir.staged("samples.csv").parent_path();
    if (!table.empty()) dir.staged(table);
    if (study.method == StudyMethod::sobol) dir.staged("sobol_periods.csv");
    dir.staged("manifest.yaml");
    std::string headline;
    try {
      headline = write_study(study, *tmpl, result, staging.string(), GPUMM_VERSION);
      dir.commit();
    } catch (const WriteError& e) {  // a full disk: every run is in the checkpoint, none need running again
      throw WriteError(std::string(e.what()) + " (all " + std::to_string(result.values.rows()) +
                       " runs are saved: free space, then the same command with --resume writes the results"
                       " without running them again)");
    }
    std::filesystem::remove(cp_rows);
    std::filesystem::remove(cp_manifest);
    if (quiet) return kOk;
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const int used = result.threads;  // no more than runs to make: each holds a copy of the document
    std::ostringstream first, labelled;
    // paths whole on their line, whatever spaces they hold
    first << "gpumm " << GPUMM_VERSION << ": study " << no_break(study_path) << ", " << to_string(study.method) << ", "
          << result.values.rows() << " runs of " << no_break(study.scenario)
          << (study.scenario_seed == Study::ScenarioSeed::per_run ? ", each with a seed of its own," : "") << " on "
          << (shared ? std::to_string(share->size) + " processes x " : "") << used
          << (used == 1 ? " thread in " : " threads in ") << duration_text(secs) << "\n";
    labelled << "  output            " << no_break(dir.dir().string() + "/") << " (samples.csv, " << (table.empty() ? "" : table + ", ")
             << (study.method == StudyMethod::sobol ? "sobol_periods.csv, " : "") << "manifest.yaml)\n";
    if (resume) {  // what the checkpoint spared
      const long runs = static_cast<long>(result.values.rows());
      if (resuming)
        labelled << "  resumed           " << recovered << " of " << runs << " runs from the checkpoint, ran the other "
                 << runs - recovered << "\n";
      else
        labelled << "  resumed           nothing: no checkpoint in " << no_break(dir.dir().string())
                 << " (its study had finished or not begun), so all " << runs << " runs were run\n";
    }
    out << wrap_text(first.str(), kTerminalWidth, 2) << wrap_text(labelled.str(), kTerminalWidth, kValueColumn);
    if (study.method == StudyMethod::sobol && study.target_width > 0) out << adaptive_sample_line(study, result);
    out << headline;
    return kOk;
  } catch (const OutputError& e) {
    tell(1);
    err << "gpumm: " << e.what() << "\n";
    return kBadInput;
  } catch (const std::exception& e) {
    tell(1);
    err << "gpumm: study failed: " << e.what() << "\n";
    return kRuntimeFailure;
  }
}

}  // namespace gpumm::cli::detail
