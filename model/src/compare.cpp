#include "gpumm/compare.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <numeric>

#include "gpumm/episodes.hpp"
#include "gpumm/simulate.hpp"
#include "gpumm/study.hpp"
#include "parallel.hpp"

namespace gpumm {

namespace {

constexpr double kNotLoadable = std::numeric_limits<double>::quiet_NaN();

}  // namespace

double Waterfall::before(size_t k, size_t metric) const { return k == 0 ? start[metric] : steps[k - 1].after[metric]; }

double Waterfall::effect(size_t k, size_t metric) const { return steps[k].after[metric] - before(k, metric); }

double Waterfall::alone_effect(size_t k, size_t metric) const { return steps[k].alone[metric] - start[metric]; }

double Waterfall::interactions(size_t metric) const {
  double alone = 0;
  for (size_t k = 0; k < steps.size(); ++k)
    if (!steps[k].changes.empty()) alone += alone_effect(k, metric);
  return end[metric] - start[metric] - alone;
}

Waterfall waterfall(const ScenarioTemplate& a, const ScenarioTemplate& b, const std::vector<std::string>& metrics,
                    std::optional<std::uint64_t> seed, int threads, const WaterfallProgress& progress) {
  Waterfall w;
  w.changes = a.changes_to(b);
  w.metrics = metrics;
  const size_t n = w.changes.size();
  // progress: the runs ended, of at most A, B, each change added to those before it, and each
  // step after the first alone (fewer when a change does not load without the next)
  std::mutex lock;
  int total = static_cast<int>(2 + n + (n > 0 ? n - 1 : 0));
  const auto ended = [&] {
    const std::lock_guard<std::mutex> hold(lock);
    ++w.runs;
    if (progress) progress(w.runs, total);
  };
  // a run of A with some changes of B: its metrics and its warnings, or no metrics when the
  // document does not load (unless it must)
  struct Measured {
    std::optional<std::vector<double>> metrics;
    std::string warnings, name;
  };
  const auto measure = [&](const ScenarioTemplate& t, const std::vector<size_t>* changes, bool must_load) {
    Measured out;
    Scenario s;
    try {
      s = changes ? a.with_changes(b, *changes) : t.instantiate({});
    } catch (const ScenarioError&) {
      if (must_load) throw;
      const std::lock_guard<std::mutex> hold(lock);
      --total;  // one run fewer to make
      if (progress) progress(w.runs, total);
      return out;
    }
    if (seed) s.seed = *seed;
    const RunResult r = simulate(s);
    const SeriesDiagnosis d = diagnose_for_metrics(s, r, metrics);
    out.metrics.emplace();
    for (const std::string& m : metrics) out.metrics->push_back(run_metric(m, s, r, d));
    out.warnings = warning_codes(warning_bits(r.warnings));
    out.name = s.name;
    ended();
    return out;
  };
  // A, B, and A with each change added to those before it (the last must load: all of them
  // together are B's document)
  std::vector<Measured> upto(n + 2);
  detail::run_jobs(n + 2, threads, [&](size_t j) {
    if (j < 2) {
      upto[j] = measure(j == 0 ? a : b, nullptr, true);
      return;
    }
    std::vector<size_t> changes(j - 1);
    std::iota(changes.begin(), changes.end(), size_t{0});
    upto[j] = measure(a, &changes, j == n + 1);
  });
  w.start = *upto[0].metrics;
  w.end = *upto[1].metrics;
  w.warnings_from = upto[0].warnings;
  w.warnings_to = upto[1].warnings;
  w.from = upto[0].name;
  w.to = upto[1].name;
  // the steps: a change that does not load without the next makes one step with it
  std::vector<size_t> pending;
  std::vector<std::vector<size_t>> alone;  // the changes of each step after the first
  std::vector<size_t> alone_step;          // ... and its index in w.steps
  for (size_t k = 0; k < n; ++k) {
    pending.push_back(k);
    if (!upto[k + 2].metrics) continue;
    WaterfallStep step;
    step.changes = pending;
    step.after = *upto[k + 2].metrics;
    if (pending.size() == k + 1) {
      step.alone = step.after;  // the first step: the same document
    } else {
      alone.push_back(pending);
      alone_step.push_back(w.steps.size());
    }
    w.steps.push_back(step);
    pending.clear();
  }
  // each step after the first, alone on A
  {
    const std::lock_guard<std::mutex> hold(lock);
    total = w.runs + static_cast<int>(alone.size());
  }
  std::vector<Measured> alone_runs(alone.size());
  detail::run_jobs(alone.size(), threads, [&](size_t j) { alone_runs[j] = measure(a, &alone[j], false); });
  for (size_t j = 0; j < alone.size(); ++j)
    w.steps[alone_step[j]].alone =
        alone_runs[j].metrics ? *alone_runs[j].metrics : std::vector<double>(metrics.size(), kNotLoadable);
  // every change made, the document may still differ from B's in the order of its entries
  if ((w.steps.empty() ? w.start : w.steps.back().after) != w.end)
    w.steps.push_back({{}, w.end, std::vector<double>(metrics.size(), kNotLoadable)});
  return w;
}

const std::vector<std::string>& waterfall_columns() {
  static const std::vector<std::string> c = {"step",   "path",          "value_a",      "value_b",     "metric",
                                             "metric_before", "metric_after", "step_effect", "alone_effect"};
  return c;
}

void write_waterfall(const Waterfall& w, OutputDir& out) {
  CsvWriter csv(out.staged("diff.csv"), waterfall_columns());
  for (size_t k = 0; k < w.steps.size(); ++k) {
    const WaterfallStep& s = w.steps[k];
    std::string path, va, vb;
    for (size_t c : s.changes) {
      const std::string sep = path.empty() ? "" : " & ";
      path += sep + w.changes[c].path;
      va += sep + w.changes[c].before;
      vb += sep + w.changes[c].after;
    }
    if (s.changes.empty()) path = "(order of entries)";
    for (size_t m = 0; m < w.metrics.size(); ++m) {
      csv.number(static_cast<double>(k + 1)).text(path).text(va).text(vb).text(w.metrics[m]);
      csv.number(w.before(k, m)).number(s.after[m]).number(w.effect(k, m));
      if (std::isnan(s.alone[m])) csv.text("");
      else csv.number(w.alone_effect(k, m));
      csv.end_row();
    }
  }
  csv.close();
}

}  // namespace gpumm
