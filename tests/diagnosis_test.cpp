#include <doctest/doctest.h>

#include <Eigen/Dense>
#include <cmath>
#include <random>

#include "gpumm/diagnosis.hpp"
#include "gpumm/simulate.hpp"

using namespace gpumm;

namespace {
// HP trend computed independently: dense I + lambda D'D built from D, solved by LU.
std::vector<double> dense_hp(const std::vector<double>& y, double lambda) {
  const int n = static_cast<int>(y.size());
  Eigen::MatrixXd D = Eigen::MatrixXd::Zero(n - 2, n);
  for (int r = 0; r < n - 2; ++r) {
    D(r, r) = 1;
    D(r, r + 1) = -2;
    D(r, r + 2) = 1;
  }
  Eigen::MatrixXd A = Eigen::MatrixXd::Identity(n, n) + lambda * D.transpose() * D;
  Eigen::VectorXd b = Eigen::Map<const Eigen::VectorXd>(y.data(), n);
  Eigen::VectorXd x = A.partialPivLu().solve(b);
  return std::vector<double>(x.data(), x.data() + n);
}
}  // namespace

TEST_CASE("diagnosis: constant and linear series are their own HP trend") {
  std::vector<double> constant(30, 0.2), line;
  for (int i = 0; i < 30; ++i) line.push_back(-0.5 + 0.03 * i);
  for (double lambda : {1.0, 1600.0, 129600.0}) {
    auto a = hp_trend(constant, lambda);
    auto b = hp_trend(line, lambda);
    for (int i = 0; i < 30; ++i) {
      CHECK(a[static_cast<size_t>(i)] == doctest::Approx(0.2).epsilon(1e-9));
      CHECK(b[static_cast<size_t>(i)] == doctest::Approx(line[static_cast<size_t>(i)]).epsilon(1e-9));
    }
  }
}

TEST_CASE("diagnosis: lambda = 0 returns the input, short series are their own trend") {
  std::vector<double> y{1, 5, -2, 7};
  CHECK(hp_trend(y, 0) == y);
  std::vector<double> two{1, 9};
  CHECK(hp_trend(two, 1600) == two);
}

TEST_CASE("diagnosis: a 3-point HP trend solved by hand") {
  // lambda = 1, y = (0, 3, 0): (I + D'D) tau = y with D = (1 -2 1) gives tau = (6/7, 9/7, 6/7)
  auto t = hp_trend(std::vector<double>{0, 3, 0}, 1.0);
  CHECK(t[0] == doctest::Approx(6.0 / 7));
  CHECK(t[1] == doctest::Approx(9.0 / 7));
  CHECK(t[2] == doctest::Approx(6.0 / 7));
}

TEST_CASE("diagnosis: a 4-point HP trend solved by hand") {
  // lambda = 1, y = (1, 0, 0, 0). A = I + D'D =
  //   [ 2 -2  1  0]
  //   [-2  6 -4  1]
  //   [ 1 -4  6 -2]
  //   [ 0  1 -2  2]
  // Row 4 gives b = 2c - 2d, row 3 a = 2c - 6d, row 2 d = -4c, so (a, b, c, d) = (26, 10, 1, -4) c
  // and row 1 gives 33c = 1: tau = (26, 10, 1, -4) / 33, which keeps the mean of y.
  auto t = hp_trend(std::vector<double>{1, 0, 0, 0}, 1.0);
  CHECK(t[0] == doctest::Approx(26.0 / 33));
  CHECK(t[1] == doctest::Approx(10.0 / 33));
  CHECK(t[2] == doctest::Approx(1.0 / 33));
  CHECK(t[3] == doctest::Approx(-4.0 / 33));
}

TEST_CASE("diagnosis: the sparse HP trend matches an independent dense solve on a long series") {
  std::vector<double> y;
  for (int i = 0; i < 120; ++i) y.push_back(0.3 * std::sin(i / 5.0) - 0.002 * i + 0.05 * std::cos(i * 1.7));
  for (double lambda : {1600.0, 129600.0}) {
    auto sparse = hp_trend(y, lambda);
    auto dense = dense_hp(y, lambda);
    for (size_t i = 0; i < y.size(); ++i) CHECK(sparse[i] == doctest::Approx(dense[i]).epsilon(1e-7));
    // trend + cycle = input, by construction of the temporary component
    for (size_t i = 0; i < y.size(); ++i) CHECK(sparse[i] + (y[i] - sparse[i]) == doctest::Approx(y[i]));
  }
}

TEST_CASE("diagnosis: HP lambda scales with the fourth power of the frequency") {
  CHECK(hp_lambda_for(Step::quarter) == 1600);
  CHECK(hp_lambda_for(Step::month) == 129600);
  CHECK(hp_lambda_for(Step::week) == doctest::Approx(1600.0 * 13 * 13 * 13 * 13));
}

TEST_CASE("diagnosis: the centred moving average shrinks symmetrically at the edges") {
  auto m = centred_moving_average(std::vector<double>{1, 2, 3, 4, 10}, 3);
  CHECK(m[0] == 1);
  CHECK(m[1] == 2);
  CHECK(m[2] == 3);
  CHECK(m[3] == doctest::Approx(17.0 / 3));
  CHECK(m[4] == 10);
  auto w5 = centred_moving_average(std::vector<double>{1, 2, 3, 4, 10}, 5);
  CHECK(w5[1] == 2);  // window of 3 around index 1
  CHECK(w5[2] == 4);  // (1 + 2 + 3 + 4 + 10) / 5
}

TEST_CASE("diagnosis: the mismatch index on hand-built cells") {
  CHECK(mismatch_index(std::vector<double>{-3, -1, -2}) == 0);  // all short
  CHECK(mismatch_index(std::vector<double>{4, 1}) == 0);        // all in surplus
  CHECK(mismatch_index(std::vector<double>{5, -5}) == 1);       // equal surplus and shortage
  CHECK(mismatch_index(std::vector<double>{3, -1}) == doctest::Approx(0.5));  // (4 - 2) / 4
  CHECK(mismatch_index(std::vector<double>{0, 0}) == 0);
}

TEST_CASE("diagnosis: regimes need persistence, and oversupply needs low utilization") {
  DiagnosisSettings s;
  s.threshold = 0.05;
  s.persistence = 3;
  s.utilization = 0.85;
  //                          short run of 2       run of 3 short          surplus x3, busy  surplus x3, idle
  std::vector<double> trend{-0.1, -0.1, 0.0, -0.2, -0.2, -0.2, 0.0, 0.1, 0.1, 0.1, 0.0, 0.1, 0.1, 0.1};
  std::vector<double> util{0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.5, 0.5, 0.5};
  auto r = classify_regimes(trend, util, s);
  CHECK(r[0] == Regime::balanced);
  CHECK(r[1] == Regime::balanced);
  CHECK(r[3] == Regime::structural_shortage);
  CHECK(r[5] == Regime::structural_shortage);
  CHECK(r[7] == Regime::balanced);  // surplus, but utilization above u*
  CHECK(r[11] == Regime::oversupply);
  CHECK(r[13] == Regime::oversupply);
  CHECK(to_string(Regime::structural_shortage) == "structural_shortage");
}

TEST_CASE("diagnosis: the relative balance is balance over demand, and without demand +1 for idle capacity") {
  PeriodSummary p;
  p.demand_inference_h100e = 80;
  p.demand_other_h100e = 20;
  p.unserved_h100e = 30;
  p.idle_h100e = 5;
  CHECK(p.relative_balance() == doctest::Approx(-0.25));  // (5 - 30) / 100
  // no demand: all of the idle capacity is spare (+1, as -1 is all demand unserved), or nothing is
  PeriodSummary none;
  none.idle_h100e = 66000;
  CHECK(none.relative_balance() == 1.0);
  none.idle_h100e = 0;
  CHECK(none.relative_balance() == 0.0);
  none.idle_h100e = 1e-9;  // rounding dust is no capacity
  CHECK(none.relative_balance() == 0.0);
}

TEST_CASE("diagnosis: defaults by step") {
  DiagnosisSettings m = resolve_defaults({}, Step::month);
  CHECK(m.lambda == 129600);
  CHECK(m.window == 13);
  CHECK(m.persistence == 6);
  DiagnosisSettings q = resolve_defaults({}, Step::quarter);
  CHECK(q.window == 5);
  CHECK(q.persistence == 2);
}

namespace {
// A centred moving average of `window` points, structural beyond 5% for `persistence` periods,
// oversupply below 85% utilization.
DiagnosisSettings moving_average_settings(int window, int persistence) {
  DiagnosisSettings s;
  s.method = DiagnosisSettings::Method::moving_average;
  s.window = window;
  s.threshold = 0.05;
  s.persistence = persistence;
  s.utilization = 0.85;
  return s;
}
// A diagnosis by a centred moving average of 3 points, structural beyond 5% from one period on.
SeriesDiagnosis moving_average_diagnosis(const std::vector<double>& y, const std::vector<double>& util) {
  return diagnose_series(y, util, moving_average_settings(3, 1));
}
}  // namespace

TEST_CASE("diagnosis: the regime read in real time needs the persistence seen by then, not still to come") {
  // the trend is the series itself (a moving average of one point); shortage needs three
  // periods below -5%. After the fact the run of 2-4 is a shortage from its first period; in
  // real time it is one only from its third, when three periods below -5% have been seen.
  const DiagnosisSettings s = moving_average_settings(1, 3);
  using R = Regime;
  const std::vector<double> y = {0, 0, -0.1, -0.1, -0.1, 0, 0.1, 0.1, 0.1},
                            util = {0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.5, 0.5, 0.5};
  SeriesDiagnosis d = diagnose_series(y, util, s);
  revise_trend(d, y, util, 1);
  CHECK(d.regimes == std::vector<R>{R::balanced, R::balanced, R::structural_shortage, R::structural_shortage,
                                    R::structural_shortage, R::balanced, R::oversupply, R::oversupply, R::oversupply});
  CHECK(d.revision.realtime == y);
  // how many periods in a row, back from each, the reading then is beyond the threshold
  CHECK(d.revision.realtime_run == std::vector<int>{0, 0, 1, 2, 3, 0, 1, 2, 3});
  CHECK(d.revision.realtime_regimes == std::vector<R>{R::balanced, R::balanced, R::balanced, R::balanced,
                                                      R::structural_shortage, R::balanced, R::balanced, R::balanced,
                                                      R::oversupply});
  CHECK(d.revision.misread(d.regimes) == 4);
  CHECK(d.revision.shortage_missed(d.regimes) == 2);
  // a run's first two periods, too few to confirm a regime, keep the one after the fact: a
  // shortage where the run opens with one, and no regime from one or two periods alone
  const std::vector<double> opens = {-0.1, -0.1, -0.1, 0}, brief = {-0.1, -0.1, 0, 0}, busy(4, 0.9);
  SeriesDiagnosis o = diagnose_series(opens, busy, s), b = diagnose_series(brief, busy, s);
  revise_trend(o, opens, busy, 1);
  revise_trend(b, brief, busy, 1);
  CHECK(o.revision.realtime_regimes ==
        std::vector<R>{R::structural_shortage, R::structural_shortage, R::structural_shortage, R::balanced});
  CHECK(b.revision.realtime_regimes == std::vector<R>(4, R::balanced));
}

TEST_CASE("diagnosis: the trend's revision near the end measured by hand on a moving average") {
  // y = 0 0 0 0 0.06, one period added in the test. Cut at e = 1, 2, 3 (the cuts that leave a
  // period after them): the last point of a cut is its own average, and one period later it is
  // the average of three. Only the cut at 3 moves: 0 -> (0 + 0 + 0.06) / 3 = 0.02.
  const std::vector<double> util(5, 0.5);
  SeriesDiagnosis d = moving_average_diagnosis({0, 0, 0, 0, 0.06}, util);
  revise_trend(d, std::vector<double>{0, 0, 0, 0, 0.06}, util, 1);
  const TrendRevision& rev = d.revision;
  CHECK(rev.samples == 3);
  CHECK(rev.zone_start() == 4);
  for (size_t t = 0; t < 4; ++t) CHECK(rev.bound[t] == 0.0);
  CHECK(rev.bound[4] == doctest::Approx(0.02).epsilon(1e-12));
  // the last trend, 0.06 (oversupply: utilization 50%), is 0.01 from +5%: within 0.02, it may change
  CHECK(d.regimes[4] == Regime::oversupply);
  CHECK(rev.threshold[4] == 0.05);
  CHECK(rev.may_change(d.trend, 4));
  CHECK_FALSE(rev.may_change(d.trend, 3));  // before the zone
  // in real time a centred moving average has only the period itself at a cut's end
  CHECK(rev.realtime == std::vector<double>{0, 0, 0, 0, 0.06});
  CHECK(rev.realtime_regimes.back() == Regime::oversupply);
  CHECK(rev.realtime_regimes[3] == Regime::balanced);
  // 0.09 at the end: the cut at 3 moves by 0.03, and the trend is 0.04 from +5%: it holds
  SeriesDiagnosis far = moving_average_diagnosis({0, 0, 0, 0, 0.09}, util);
  revise_trend(far, std::vector<double>{0, 0, 0, 0, 0.09}, util, 1);
  CHECK(far.revision.bound[4] == doctest::Approx(0.03).epsilon(1e-12));
  CHECK_FALSE(far.revision.may_change(far.trend, 4));
  // busy (utilization 90%, no oversupply to call): the threshold to cross is -5%, 0.11 away
  SeriesDiagnosis busy = moving_average_diagnosis({0, 0, 0, 0, 0.06}, std::vector<double>(5, 0.9));
  revise_trend(busy, std::vector<double>{0, 0, 0, 0, 0.06}, std::vector<double>(5, 0.9), 1);
  CHECK(busy.revision.threshold[4] == -0.05);
  CHECK_FALSE(busy.revision.may_change(busy.trend, 4));
}

TEST_CASE("diagnosis: a straight line's HP trend is not revised when the series grows") {
  // every cut of a straight line is its own HP trend: nothing moves at any distance
  std::vector<double> y, util;
  for (int t = 0; t < 60; ++t) {
    y.push_back(-0.30 + 0.001 * t);
    util.push_back(0.99);
  }
  DiagnosisSettings s = resolve_defaults({}, Step::month);
  SeriesDiagnosis d = diagnose_series(y, util, s);
  revise_trend(d, y, util, revision_lookahead(Step::month));
  CHECK(d.revision.lookahead == 24);
  CHECK(d.revision.samples == 60 - 2 * 24);  // cuts at 24 to 35
  CHECK(d.revision.zone_start() == 36);
  for (size_t t = 0; t < y.size(); ++t) {
    CHECK(std::abs(d.revision.bound[t]) < 1e-9);
    CHECK_FALSE(d.revision.may_change(d.trend, t));
  }
}

TEST_CASE("diagnosis: a series too short for the revision test leaves its last periods unmeasured and provisional") {
  // 10 months, two years added in the test: the whole run is the zone, and nothing can be cut
  const std::vector<double> y(10, -0.3), util(10, 0.99);
  SeriesDiagnosis d = diagnose_series(y, util, resolve_defaults({}, Step::month));
  revise_trend(d, y, util, 24);
  CHECK(d.revision.samples == 0);
  CHECK_FALSE(d.revision.measured());
  CHECK(d.revision.zone_start() == 0);
  for (size_t t = 0; t < y.size(); ++t) {
    CHECK(std::isnan(d.revision.bound[t]));
    CHECK(d.revision.may_change(d.trend, t));
  }
  CHECK(revision_lookahead(Step::quarter) == 8);
  CHECK(revision_lookahead(Step::week) == 104);
}

TEST_CASE("diagnosis: the trend's revision and its real-time reading equal those of a sparse solve of every cut") {
  // the test as written: the trend of each cut by hp_trend (or the moving average), compared
  // point by point; the library shares one factorization among the cuts instead
  const auto brute = [](const std::vector<double>& y, const DiagnosisSettings& s, int lookahead) {
    const int n = static_cast<int>(y.size()), zone = std::min(lookahead, n);
    const auto cut = [&](int e) {
      const std::vector<double> head(y.begin(), y.begin() + e + 1);
      return s.method == DiagnosisSettings::Method::hp ? hp_trend(head, s.lambda) : centred_moving_average(head, s.window);
    };
    std::vector<double> bound(static_cast<size_t>(n), 0.0);
    for (int e = lookahead; e + lookahead <= n - 1; ++e) {
      const std::vector<double> now = cut(e), later = cut(e + lookahead);
      for (int k = 0; k < zone; ++k) {
        double& b = bound[static_cast<size_t>(n - 1 - k)];
        b = std::max(b, std::abs(later[static_cast<size_t>(e - k)] - now[static_cast<size_t>(e - k)]));
      }
    }
    return bound;
  };
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(0.0, 0.05);
  for (const auto& [step, n] : {std::pair{Step::month, 120}, std::pair{Step::quarter, 40}, std::pair{Step::week, 400}}) {
    std::vector<double> y, util;
    double level = -0.2;
    for (int t = 0; t < n; ++t) {
      level += noise(rng) / 5;
      y.push_back(level + noise(rng));
      util.push_back(0.9);
    }
    for (auto method : {DiagnosisSettings::Method::hp, DiagnosisSettings::Method::moving_average}) {
      DiagnosisSettings s;
      s.method = method;
      s = resolve_defaults(s, step);
      SeriesDiagnosis d = diagnose_series(y, util, s);
      const int lookahead = revision_lookahead(step);
      revise_trend(d, y, util, lookahead);
      const std::vector<double> expected = brute(y, s, lookahead);
      CHECK(d.revision.samples == n - 2 * lookahead);
      // both are solves of I + lambda D'D, whose condition number is about 16 lambda (7e8 for
      // weeks): round-off of 1e-16 may grow to 1e-7 of the values (up to 0.05 here) in either
      for (size_t t = 0; t < y.size(); ++t) {
        const std::string where = std::string(gpumm::to_string(step)) + " period " + std::to_string(t);
        CHECK_MESSAGE(std::abs(d.revision.bound[t] - expected[t]) < 1e-8, where);
        // the trend in real time is the last value of the cut at t
        const std::vector<double> head(y.begin(), y.begin() + static_cast<long>(t) + 1);
        const double realtime = method == DiagnosisSettings::Method::hp ? hp_trend(head, s.lambda).back()
                                                                        : centred_moving_average(head, s.window).back();
        CHECK_MESSAGE(std::abs(d.revision.realtime[t] - realtime) < 1e-8, where);
      }
      // the regime in real time is the last of the cut at t, classified by the rule on its own
      for (size_t t = 0; t < y.size(); t += 7) {
        const std::vector<double> head(y.begin(), y.begin() + static_cast<long>(t) + 1),
            head_util(util.begin(), util.begin() + static_cast<long>(t) + 1);
        const std::vector<double> cut = method == DiagnosisSettings::Method::hp ? hp_trend(head, s.lambda)
                                                                                : centred_moving_average(head, s.window);
        // (a run's first periods, too few to confirm a regime, keep the one after the fact)
        const std::string where = std::string(gpumm::to_string(step)) + " period " + std::to_string(t);
        const Regime then = static_cast<int>(t) + 1 < s.persistence ? d.regimes[t] : classify_regimes(cut, head_util, s).back();
        CHECK_MESSAGE(d.revision.realtime_regimes[t] == then, where);
        // and how many of the cut's last periods in a row are beyond the threshold on its last one's side
        int run = 0;
        const bool below = cut.back() < -s.threshold;
        for (size_t k = 0; k < cut.size() && run < s.persistence; ++k, ++run) {
          const size_t i = cut.size() - 1 - k;
          if (below ? !(cut[i] < -s.threshold) : !(cut[i] > s.threshold && head_util[i] < s.utilization)) break;
        }
        CHECK_MESSAGE(d.revision.realtime_run[t] == run, where);
      }
      if (method == DiagnosisSettings::Method::hp) CHECK(d.revision.bound[y.size() - 1] > 0.01);
    }
  }
}
