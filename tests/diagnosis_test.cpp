#include <doctest/doctest.h>

#include <Eigen/Dense>
#include <cmath>

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
