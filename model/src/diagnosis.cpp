#include "gpumm/diagnosis.hpp"

#include <Eigen/Sparse>
#include <Eigen/SparseCholesky>
#include <algorithm>
#include <cmath>
#include <limits>

namespace gpumm {

std::vector<double> hp_trend(std::span<const double> y, double lambda) {
  const int n = static_cast<int>(y.size());
  std::vector<double> out(y.begin(), y.end());
  if (n < 3 || lambda <= 0) return out;
  // A = I + lambda D'D: symmetric, pentadiagonal. Row i of D is (1, -2, 1) at i, i+1, i+2.
  std::vector<Eigen::Triplet<double>> t;
  t.reserve(static_cast<size_t>(5 * n));
  for (int i = 0; i < n; ++i) t.emplace_back(i, i, 1.0);
  for (int r = 0; r < n - 2; ++r) {
    const int idx[3] = {r, r + 1, r + 2};
    const double w[3] = {1.0, -2.0, 1.0};
    for (int a = 0; a < 3; ++a)
      for (int b = 0; b < 3; ++b) t.emplace_back(idx[a], idx[b], lambda * w[a] * w[b]);
  }
  Eigen::SparseMatrix<double> A(n, n);
  A.setFromTriplets(t.begin(), t.end());  // duplicates are summed
  Eigen::SimplicialLDLT<Eigen::SparseMatrix<double>> solver(A);
  Eigen::VectorXd rhs(n);
  for (int i = 0; i < n; ++i) rhs(i) = y[static_cast<size_t>(i)];
  const Eigen::VectorXd tau = solver.solve(rhs);
  for (int i = 0; i < n; ++i) out[static_cast<size_t>(i)] = tau(i);
  return out;
}

double hp_lambda_for(Step step) {
  switch (step) {
    case Step::quarter: return 1600.0;
    case Step::month: return 1600.0 * 81.0;            // 129,600
    case Step::week: return 1600.0 * std::pow(13.0, 4);  // 45,697,600
  }
  return 1600.0;
}

std::vector<double> centred_moving_average(std::span<const double> y, int window) {
  const int n = static_cast<int>(y.size());
  const int half = std::max(0, window / 2);
  std::vector<double> out(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    const int h = std::min({half, i, n - 1 - i});  // symmetric, shrinking at the ends
    double sum = 0;
    for (int k = i - h; k <= i + h; ++k) sum += y[static_cast<size_t>(k)];
    out[static_cast<size_t>(i)] = sum / (2 * h + 1);
  }
  return out;
}

double mismatch_index(std::span<const double> b) {
  double gross = 0, net = 0;
  for (double x : b) {
    gross += std::abs(x);
    net += x;
  }
  return gross > 0 ? (gross - std::abs(net)) / gross : 0.0;
}

std::string to_string(Regime r) {
  switch (r) {
    case Regime::balanced: return "balanced";
    case Regime::structural_shortage: return "structural_shortage";
    case Regime::oversupply: return "oversupply";
  }
  return "balanced";
}

DiagnosisSettings resolve_defaults(DiagnosisSettings s, Step step) {
  const int per_year = step == Step::week ? 52 : step == Step::month ? 12 : 4;
  if (s.lambda <= 0) s.lambda = hp_lambda_for(step);
  if (s.window <= 0) s.window = per_year % 2 == 0 ? per_year + 1 : per_year;
  if (s.persistence <= 0) s.persistence = std::max(1, per_year / 2);
  return s;
}

std::vector<Regime> classify_regimes(std::span<const double> trend, std::span<const double> utilization,
                                     const DiagnosisSettings& s) {
  const size_t n = trend.size();
  std::vector<Regime> out(n, Regime::balanced);
  const auto label_runs = [&](auto condition, Regime regime) {
    size_t i = 0;
    while (i < n) {
      if (!condition(i)) {
        ++i;
        continue;
      }
      size_t j = i;
      while (j < n && condition(j)) ++j;
      if (static_cast<int>(j - i) >= s.persistence)
        for (size_t k = i; k < j; ++k) out[k] = regime;
      i = j;
    }
  };
  label_runs([&](size_t i) { return trend[i] < -s.threshold; }, Regime::structural_shortage);
  label_runs([&](size_t i) { return trend[i] > s.threshold && utilization[i] < s.utilization; },
             Regime::oversupply);
  return out;
}

namespace {
std::vector<double> trend_of(std::span<const double> y, const DiagnosisSettings& s) {
  return s.method == DiagnosisSettings::Method::hp ? hp_trend(y, s.lambda) : centred_moving_average(y, s.window);
}
}  // namespace

SeriesDiagnosis diagnose_series(std::span<const double> relative_balance,
                                std::span<const double> utilization, const DiagnosisSettings& settings) {
  SeriesDiagnosis d;
  d.settings = settings;
  d.trend = trend_of(relative_balance, settings);
  d.temporary.resize(relative_balance.size());
  for (size_t i = 0; i < relative_balance.size(); ++i) d.temporary[i] = relative_balance[i] - d.trend[i];
  d.regimes = classify_regimes(d.trend, utilization, settings);
  return d;
}

std::vector<int> TrendRevision::may_change(const std::vector<double>& trend) const {
  std::vector<int> out;
  for (size_t t = static_cast<size_t>(zone_start()); t < bound.size(); ++t)
    if (may_change(trend, t)) out.push_back(static_cast<int>(t));
  return out;
}

int revision_lookahead(Step step) {
  return 2 * (step == Step::week ? 52 : step == Step::month ? 12 : 4);
}

void revise_trend(SeriesDiagnosis& d, std::span<const double> relative_balance,
                  std::span<const double> utilization, int lookahead) {
  const int n = static_cast<int>(relative_balance.size());
  TrendRevision& rev = d.revision;
  rev = TrendRevision{};
  rev.lookahead = lookahead;
  rev.bound.assign(static_cast<size_t>(n), 0.0);
  // the threshold a move of the trend would have to cross to change the regime
  const double theta = d.settings.threshold;
  rev.threshold.resize(static_cast<size_t>(n));
  for (size_t t = 0; t < static_cast<size_t>(n); ++t) {
    const bool glut_possible = utilization[t] < d.settings.utilization;
    rev.threshold[t] = glut_possible && std::abs(d.trend[t] - theta) < std::abs(d.trend[t] + theta) ? theta : -theta;
  }
  if (lookahead < 1 || n == 0) return;
  const int zone = std::min(lookahead, n);  // the last periods, whose bound is measured
  // the trend of the series cut at e (its first e + 1 periods), for every cut the test reads
  std::vector<std::vector<double>> cut(static_cast<size_t>(n));
  const auto trend_cut_at = [&](int e) -> const std::vector<double>& {
    auto& c = cut[static_cast<size_t>(e)];
    if (c.empty()) c = trend_of(relative_balance.first(static_cast<size_t>(e) + 1), d.settings);
    return c;
  };
  // the largest move at each distance k from a cut's end when `lookahead` periods come after it
  std::vector<double> most(static_cast<size_t>(zone), 0.0);
  for (int e = lookahead; e + lookahead <= n - 1; ++e) {
    ++rev.samples;
    const std::vector<double>& now = trend_cut_at(e);
    const std::vector<double>& later = trend_cut_at(e + lookahead);
    for (int k = 0; k < zone && k <= e; ++k) {
      const size_t t = static_cast<size_t>(e - k);
      most[static_cast<size_t>(k)] = std::max(most[static_cast<size_t>(k)], std::abs(later[t] - now[t]));
    }
    cut[static_cast<size_t>(e)].clear();  // no later cut reads it again
    cut[static_cast<size_t>(e)].shrink_to_fit();
  }
  for (int k = 0; k < zone; ++k)
    rev.bound[static_cast<size_t>(n - 1 - k)] =
        rev.samples > 0 ? most[static_cast<size_t>(k)] : std::numeric_limits<double>::quiet_NaN();
}

std::vector<RegimeRun> regime_runs(std::span<const Regime> regimes) {
  std::vector<RegimeRun> out;
  for (size_t i = 0; i < regimes.size(); ++i) {
    if (out.empty() || out.back().regime != regimes[i])
      out.push_back({regimes[i], static_cast<int>(i), static_cast<int>(i)});
    else
      out.back().last = static_cast<int>(i);
  }
  return out;
}

}  // namespace gpumm
