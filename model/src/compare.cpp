#include "gpumm/compare.hpp"

#include <cmath>
#include <limits>

#include "gpumm/episodes.hpp"
#include "gpumm/simulate.hpp"
#include "gpumm/study.hpp"

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
                    std::optional<std::uint64_t> seed) {
  Waterfall w;
  w.changes = a.changes_to(b);
  w.metrics = metrics;
  const auto measure = [&](Scenario s, std::string* warnings = nullptr) {
    if (seed) s.seed = *seed;
    const RunResult r = simulate(s);
    const SeriesDiagnosis d = diagnose_run(s, r);
    std::vector<double> out;
    for (const std::string& m : metrics) out.push_back(run_metric(m, s, r, d));
    if (warnings) *warnings = warning_codes(warning_bits(r.warnings));
    ++w.runs;
    return out;
  };
  const Scenario sa = a.instantiate({}), sb = b.instantiate({});
  w.from = sa.name;
  w.to = sb.name;
  w.start = measure(sa, &w.warnings_from);
  w.end = measure(sb, &w.warnings_to);
  const size_t n = w.changes.size();
  std::vector<size_t> upto, pending;
  for (size_t k = 0; k < n; ++k) {
    upto.push_back(k);
    pending.push_back(k);
    WaterfallStep step;
    try {
      step.after = measure(a.with_changes(b, upto));
    } catch (const ScenarioError&) {
      if (k + 1 < n) continue;  // this change needs a later one: they make one step
      throw;
    }
    step.changes = pending;
    if (pending == upto) {
      step.alone = step.after;  // the first step: the same document
    } else {
      try {
        step.alone = measure(a.with_changes(b, pending));
      } catch (const ScenarioError&) {
        step.alone.assign(metrics.size(), kNotLoadable);
      }
    }
    w.steps.push_back(step);
    pending.clear();
  }
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
