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

int TrendRevision::misread(std::span<const Regime> regimes) const {
  int n = 0;
  for (size_t t = 0; t < realtime_regimes.size() && t < regimes.size(); ++t) n += realtime_regimes[t] != regimes[t];
  return n;
}

int TrendRevision::shortage_missed(std::span<const Regime> regimes) const {
  int n = 0;
  for (size_t t = 0; t < realtime_regimes.size() && t < regimes.size(); ++t)
    n += regimes[t] == Regime::structural_shortage && realtime_regimes[t] != Regime::structural_shortage;
  return n;
}

std::vector<ShortageSeen> TrendRevision::shortages_seen(std::span<const Regime> regimes) const {
  std::vector<ShortageSeen> out;
  for (const RegimeRun& run : regime_runs(regimes)) {
    if (run.regime != Regime::structural_shortage) continue;
    int seen = run.first;
    while (seen <= run.last && realtime_regimes[static_cast<size_t>(seen)] != Regime::structural_shortage) ++seen;
    out.push_back({run.first, run.last, seen});
  }
  return out;
}

int revision_lookahead(Step step) {
  return 2 * (step == Step::week ? 52 : step == Step::month ? 12 : 4);
}

namespace {
// The HP trend of every prefix of a series near the prefix's end, from one factorization.
// A = I + lambda D'D of a prefix of m points agrees with that of the whole series in its first
// m - 2 rows (D'D differs only where the prefix's last rows of D end), so the LDL' factors of
// those rows, and the forward substitution through them, serve every prefix; a prefix's last
// two rows are factored on their own, and the back substitution runs only as far as the trend
// values asked for. The revision test thus costs O(n x lookahead), not n sparse solves.
class HpPrefixes {
 public:
  HpPrefixes(std::span<const double> y, double lambda) : y_(y), lambda_(lambda) {
    const int n = static_cast<int>(y.size());
    p_.assign(static_cast<size_t>(n), 0.0);
    q_.assign(static_cast<size_t>(n), 0.0);
    d_.assign(static_cast<size_t>(n), 0.0);
    z_.assign(static_cast<size_t>(n), 0.0);
    for (int i = 0; i < n; ++i) {
      const Row r = factor(i, n, i >= 1 ? p_[static_cast<size_t>(i - 1)] : 0.0, i >= 1 ? d_[static_cast<size_t>(i - 1)] : 0.0,
                           i >= 1 ? z_[static_cast<size_t>(i - 1)] : 0.0);
      p_[static_cast<size_t>(i)] = r.p;
      q_[static_cast<size_t>(i)] = r.q;
      d_[static_cast<size_t>(i)] = r.d;
      z_[static_cast<size_t>(i)] = r.z;
    }
  }

  // The trend of y[0, m) at its last `count` points: out[k] is the value at m - 1 - k.
  void tail(int m, int count, std::vector<double>& out) const {
    count = std::min(count, m);
    out.assign(static_cast<size_t>(count), 0.0);
    if (m < 3 || lambda_ <= 0) {  // its own trend, as hp_trend has it
      for (int k = 0; k < count; ++k) out[static_cast<size_t>(k)] = y_[static_cast<size_t>(m - 1 - k)];
      return;
    }
    // the prefix's last two rows, factored with its own entries
    const size_t a = static_cast<size_t>(m - 3);
    const Row r2 = factor(m - 2, m, p_[a], d_[a], z_[a]);
    const Row r1 = factor(m - 1, m, r2.p, r2.d, r2.z);
    const auto p = [&](int i) { return i == m - 1 ? r1.p : i == m - 2 ? r2.p : p_[static_cast<size_t>(i)]; };
    const auto q = [&](int i) { return i == m - 1 ? r1.q : i == m - 2 ? r2.q : q_[static_cast<size_t>(i)]; };
    const auto w = [&](int i) {  // D^-1 z
      return i == m - 1 ? r1.z / r1.d : i == m - 2 ? r2.z / r2.d : z_[static_cast<size_t>(i)] / d_[static_cast<size_t>(i)];
    };
    // back substitution, L' x = w, from the end as far as asked
    double x1 = 0, x2 = 0;  // x[i + 1], x[i + 2]
    for (int i = m - 1; i >= m - count; --i) {
      const double x = w(i) - (i + 1 < m ? p(i + 1) * x1 : 0.0) - (i + 2 < m ? q(i + 2) * x2 : 0.0);
      out[static_cast<size_t>(m - 1 - i)] = x;
      x2 = x1;
      x1 = x;
    }
  }

 private:
  struct Row {
    double p, q, d, z;  // L(i, i-1), L(i, i-2), D(i), the forward substitution's z(i)
  };
  // Row i of the LDL' factors of A for a series of m points, given row i - 1's p, d and z
  // (rows i - 2 and before are the shared ones: i - 2 <= m - 3).
  Row factor(int i, int m, double p_prev, double d_prev, double z_prev) const {
    // A(i, i), A(i, i-1), A(i, i-2) of I + lambda D'D, D's rows r covering points r, r+1, r+2
    const double diag = 1.0 + lambda_ * ((i <= m - 3) + 4.0 * (i >= 1 && i <= m - 2) + (i >= 2 && i <= m - 1));
    const double off1 = -2.0 * lambda_ * ((i >= 1 && i <= m - 2) + (i >= 2 && i <= m - 1));
    const double off2 = lambda_ * (i >= 2 && i <= m - 1);
    Row r{0, 0, 0, 0};
    const double d_prev2 = i >= 2 ? d_[static_cast<size_t>(i - 2)] : 0.0;
    if (i >= 2) r.q = off2 / d_prev2;
    if (i >= 1) r.p = (off1 - (i >= 2 ? r.q * p_prev * d_prev2 : 0.0)) / d_prev;
    r.d = diag - (i >= 1 ? r.p * r.p * d_prev : 0.0) - (i >= 2 ? r.q * r.q * d_prev2 : 0.0);
    r.z = y_[static_cast<size_t>(i)] - (i >= 1 ? r.p * z_prev : 0.0) - (i >= 2 ? r.q * z_[static_cast<size_t>(i - 2)] : 0.0);
    return r;
  }

  std::span<const double> y_;
  double lambda_;
  std::vector<double> p_, q_, d_, z_;
};
}  // namespace

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
  if (n == 0) return;
  // the trend of the series cut after its first m points, at its last `count` points (out[k]
  // at m - 1 - k), by the diagnosis' method
  const bool hp = d.settings.method == DiagnosisSettings::Method::hp;
  const HpPrefixes prefixes(hp ? relative_balance : std::span<const double>(), d.settings.lambda);
  const auto tail = [&](int m, int count, std::vector<double>& out) {
    if (hp) return prefixes.tail(m, count, out);
    // the centred moving average, its window shrinking at the prefix's end (centred_moving_average)
    const int half = std::max(0, d.settings.window / 2);
    out.assign(static_cast<size_t>(std::min(count, m)), 0.0);
    for (int k = 0; k < static_cast<int>(out.size()); ++k) {
      const int i = m - 1 - k, h = std::min({half, i, m - 1 - i});
      double sum = 0;
      for (int j = i - h; j <= i + h; ++j) sum += relative_balance[static_cast<size_t>(j)];
      out[static_cast<size_t>(k)] = sum / (2 * h + 1);
    }
  };
  // the trend in real time: each cut's own last value; and the regime an analyst would have
  // called then: the cut's regime at its end, which the rule gives from the cut's own trend over
  // its last `persistence` periods (a run of them beyond the threshold that reaches the end),
  // never from a later period's. A run's first `persistence` - 1 periods have too few before
  // them to confirm a regime; they stand for the market before the run, which an analyst would
  // have known and the run does not hold, and keep the regime after the fact.
  std::vector<double> now, later;
  rev.realtime.resize(static_cast<size_t>(n));
  rev.realtime_regimes.assign(static_cast<size_t>(n), Regime::balanced);
  rev.realtime_run.assign(static_cast<size_t>(n), 0);
  const int persistence = std::max(1, d.settings.persistence);
  for (int t = 0; t < n; ++t) {
    tail(t + 1, persistence, now);  // now[k]: the trend at t - k of the series cut at t
    rev.realtime[static_cast<size_t>(t)] = now[0];
    const bool shortage = now[0] < -theta;
    const auto beyond = [&](int k) {
      const double x = now[static_cast<size_t>(k)];
      return shortage ? x < -theta : x > theta && utilization[static_cast<size_t>(t - k)] < d.settings.utilization;
    };
    int run = 0;
    while (run < static_cast<int>(now.size()) && beyond(run)) ++run;
    rev.realtime_run[static_cast<size_t>(t)] = run;
    if (t + 1 < persistence)
      rev.realtime_regimes[static_cast<size_t>(t)] = d.regimes[static_cast<size_t>(t)];
    else if (run == persistence)
      rev.realtime_regimes[static_cast<size_t>(t)] = shortage ? Regime::structural_shortage : Regime::oversupply;
  }
  if (lookahead < 1) return;
  const int zone = std::min(lookahead, n);  // the last periods, whose bound is measured
  // the largest move at each distance k from a cut's end when `lookahead` periods come after it
  std::vector<double> most(static_cast<size_t>(zone), 0.0);
  for (int e = lookahead; e + lookahead <= n - 1; ++e) {
    ++rev.samples;
    tail(e + 1, zone, now);                        // now[k]: the trend at e - k, cut at e
    tail(e + lookahead + 1, lookahead + zone, later);  // later[lookahead + k]: the same point, cut later
    for (int k = 0; k < zone && k <= e; ++k)
      most[static_cast<size_t>(k)] = std::max(most[static_cast<size_t>(k)],
                                              std::abs(later[static_cast<size_t>(lookahead + k)] - now[static_cast<size_t>(k)]));
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
