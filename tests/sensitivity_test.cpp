#include <doctest/doctest.h>

#include <cmath>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include "gpumm/scenario.hpp"
#include "gpumm/sensitivity.hpp"
#include "gpumm/simulate.hpp"
#include "gpumm/study.hpp"

using namespace gpumm;

namespace {
constexpr double kPi = 3.14159265358979323846;

// Ishigami (a = 7, b = 0.1) on [-pi, pi]^3: S = (0.3139, 0.4424, 0), ST = (0.5576, 0.4424, 0.2437)
Eigen::VectorXd ishigami(const Eigen::MatrixXd& u) {
  Eigen::VectorXd y(u.rows());
  for (int k = 0; k < u.rows(); ++k) {
    const double x1 = -kPi + 2 * kPi * u(k, 0), x2 = -kPi + 2 * kPi * u(k, 1), x3 = -kPi + 2 * kPi * u(k, 2);
    y(k) = std::sin(x1) + 7 * std::sin(x2) * std::sin(x2) + 0.1 * std::pow(x3, 4) * std::sin(x1);
  }
  return y;
}

// Sobol's G-function: prod (|4x - 2| + a_i) / (1 + a_i); V_i = 1 / (3 (1 + a_i)^2)
const double kA[] = {0, 1, 4.5, 9, 99, 99};
Eigen::VectorXd g_function(const Eigen::MatrixXd& u) {
  Eigen::VectorXd y(u.rows());
  for (int k = 0; k < u.rows(); ++k) {
    double p = 1;
    for (int i = 0; i < 6; ++i) p *= (std::abs(4 * u(k, i) - 2) + kA[i]) / (1 + kA[i]);
    y(k) = p;
  }
  return y;
}
}  // namespace

TEST_CASE("sensitivity: Latin hypercube strata are each hit once, reproducibly") {
  const int n = 50, d = 4;
  Eigen::MatrixXd x = latin_hypercube(n, d, 42);
  for (int j = 0; j < d; ++j) {
    std::set<int> strata;
    for (int i = 0; i < n; ++i) {
      CHECK(x(i, j) >= 0);
      CHECK(x(i, j) < 1);
      strata.insert(static_cast<int>(x(i, j) * n));
    }
    CHECK(strata.size() == static_cast<size_t>(n));
  }
  CHECK(latin_hypercube(n, d, 42) == x);
  CHECK(latin_hypercube(n, d, 43) != x);
}

TEST_CASE("sensitivity: Sobol' points are in range and balanced over dyadic intervals") {
  const int m = 8, n = 1 << m, d = kSobolMaxDimensions;
  Eigen::MatrixXd x = sobol_points(n, d);
  // the first 2^m points put exactly one point in each [k / 2^m, (k + 1) / 2^m), per dimension
  for (int j = 0; j < d; ++j) {
    std::set<int> cells;
    for (int i = 0; i < n; ++i) {
      REQUIRE(x(i, j) >= 0);
      REQUIRE(x(i, j) < 1);
      cells.insert(static_cast<int>(x(i, j) * n));
    }
    CAPTURE(j);
    CHECK(cells.size() == static_cast<size_t>(n));
  }
  // known values of the 2-dimensional sequence: (0,0), (0.5,0.5), (0.75,0.25), (0.25,0.75)
  Eigen::MatrixXd two = sobol_points(4, 2);
  CHECK(two(1, 0) == 0.5);
  CHECK(two(2, 0) == 0.75);
  CHECK(two(2, 1) == 0.25);
  CHECK(two(3, 1) == 0.75);
  CHECK(sobol_points(3, 2, 1)(0, 0) == 0.5);  // skipping the zero point
}

TEST_CASE("sensitivity: shifted Sobol' points stay balanced, and the seed moves them") {
  const int m = 6, n = 1 << m, d = 12;
  const Eigen::MatrixXd a = shifted_sobol_points(n, d, 1), b = shifted_sobol_points(n, d, 2);
  for (int j = 0; j < d; ++j) {
    CAPTURE(j);
    std::set<int> cells;
    for (int i = 0; i < n; ++i) {
      REQUIRE(a(i, j) >= 0);
      REQUIRE(a(i, j) < 1);
      cells.insert(static_cast<int>(a(i, j) * n));
    }
    CHECK(cells.size() == static_cast<size_t>(n));  // one point in each [k / 64, (k + 1) / 64)
    // the shift XORs every point of a dimension with one mask: point 0 (all zeros) is the mask
    CHECK(a(0, j) != b(0, j));
    const Eigen::MatrixXd plain = sobol_points(n, d);
    for (int i = 0; i < n; ++i) {
      const auto bits = [](double u) { return static_cast<std::uint32_t>(u * 0x1.0p32); };
      CHECK((bits(a(i, j)) ^ bits(plain(i, j))) == bits(a(0, j)));
    }
  }
  CHECK(shifted_sobol_points(n, d, 1) == a);  // reproducible
}

TEST_CASE("sensitivity: Morris on a linear model gives its coefficients and no spread") {
  const int r = 20, d = 3, levels = 4;
  Eigen::MatrixXd x = morris_design(r, d, levels, 7);
  Eigen::VectorXd y = x * Eigen::Vector3d(2.0, -1.0, 0.0);
  MorrisResult m = morris_effects(x, y, r, d);
  CHECK(m.mu(0) == doctest::Approx(2.0));
  CHECK(m.mu(1) == doctest::Approx(-1.0));
  CHECK(m.mu_star(1) == doctest::Approx(1.0));
  CHECK(m.mu_star(2) == doctest::Approx(0.0));
  CHECK(m.sigma(0) == doctest::Approx(0.0).epsilon(1e-9));
  // every point is on the grid and in the unit cube
  CHECK(x.minCoeff() >= 0);
  CHECK(x.maxCoeff() <= 1 + 1e-12);
}

TEST_CASE("sensitivity: Morris separates a nonlinear factor by its spread") {
  const int r = 30, d = 2;
  Eigen::MatrixXd x = morris_design(r, d, 4, 3);
  Eigen::VectorXd y(x.rows());
  for (int k = 0; k < x.rows(); ++k) y(k) = x(k, 0) + x(k, 1) * x(k, 1) * 4;  // x2 acts nonlinearly
  MorrisResult m = morris_effects(x, y, r, d);
  CHECK(m.sigma(0) == doctest::Approx(0.0).epsilon(1e-9));
  CHECK(m.sigma(1) > 0.5);
}

TEST_CASE("sensitivity: Sobol' indices of the Ishigami function") {
  // N = 2^13: the estimators' error is well below 0.03 at this size
  const int n = 1 << 13, d = 3;
  Eigen::MatrixXd x = saltelli_design(n, d);
  SobolIndices s = sobol_indices(ishigami(x), n, d, 100);
  CHECK(s.first(0) == doctest::Approx(0.3139).epsilon(0.03 / 0.3139));
  CHECK(s.first(1) == doctest::Approx(0.4424).epsilon(0.03 / 0.4424));
  CHECK(std::abs(s.first(2)) < 0.03);
  CHECK(s.total(0) == doctest::Approx(0.5576).epsilon(0.03 / 0.5576));
  CHECK(s.total(1) == doctest::Approx(0.4424).epsilon(0.03 / 0.4424));
  CHECK(s.total(2) == doctest::Approx(0.2437).epsilon(0.03 / 0.2437));
  for (int i = 0; i < d; ++i) {
    CHECK(s.first_low(i) <= s.first(i));
    CHECK(s.first(i) <= s.first_high(i));
    CHECK(s.total_low(i) <= s.total_high(i));
  }
}

TEST_CASE("sensitivity: Sobol' indices do not depend on the output's mean, a constant output has none") {
  // f + 10^6 has the indices of f; the centred estimator keeps them (the uncentred
  // mean(f_B (f_ABi - f_A)) would be swamped by the 10^6 times the noise of f_ABi - f_A)
  const int n = 1 << 10, d = 3;
  Eigen::MatrixXd x = saltelli_design(n, d);
  const Eigen::VectorXd y = ishigami(x);
  const SobolIndices a = sobol_indices(y, n, d, 50), b = sobol_indices((y.array() + 1e6).matrix(), n, d, 50);
  for (int i = 0; i < d; ++i) {
    CHECK(b.first(i) == doctest::Approx(a.first(i)).epsilon(1e-6));
    CHECK(b.total(i) == doctest::Approx(a.total(i)).epsilon(1e-6));
    CHECK(b.first_high(i) - b.first_low(i) < 0.2);
  }
  CHECK(b.variance == doctest::Approx(a.variance).epsilon(1e-6));
  // 0.1 is not exact in binary: the rounding of its mean must not pass for variance
  const SobolIndices c = sobol_indices(Eigen::VectorXd::Constant(n * (d + 2), 0.1), n, d, 10);
  CHECK(c.variance == 0);
  for (int i = 0; i < d; ++i) {
    CHECK(c.first(i) == 0);
    CHECK(c.total(i) == 0);
  }
}

TEST_CASE("sensitivity: rounds of a growing Saltelli design make up the design of the doubled sample") {
  const int n0 = 8, d = 3, rounds = 3;  // 8 + 8 + 16 base points = the design of 32
  Eigen::MatrixXd in_rounds(0, d);
  for (int r = 0; r < rounds; ++r) {
    const Eigen::MatrixXd part = saltelli_round(n0, r, d);
    CHECK(part.rows() == saltelli_round_points(n0, r) * (d + 2));
    Eigen::MatrixXd grown(in_rounds.rows() + part.rows(), d);
    grown << in_rounds, part;
    in_rounds = grown;
  }
  const Eigen::MatrixXd whole = saltelli_design(32, d);
  REQUIRE(in_rounds.rows() == whole.rows());
  for (int i = 0; i < d; ++i) CHECK(saltelli_rounds_to_design(in_rounds.col(i), n0, rounds, d) == whole.col(i));
}

TEST_CASE("sensitivity: adaptive Sobol doubles N until every interval is narrow enough or the budget is spent") {
  const int d = 3;
  int calls = 0;
  const auto f = [&](const Eigen::MatrixXd& u) {
    ++calls;
    Eigen::MatrixXd y(u.rows(), 2);
    y.col(0) = ishigami(u);
    y.col(1) = 2 * u.col(0) + u.col(1);  // linear: S = ST = (0.8, 0.2, 0)
    return y;
  };
  const AdaptiveSobol a = sobol_adaptive(f, d, 64, 0.15, 1000000, 100, 0.95, 3);
  CHECK(a.converged);
  CHECK(a.widest <= 0.15);
  CHECK(a.n > 64);
  CHECK((a.n & (a.n - 1)) == 0);
  CHECK(a.runs == static_cast<long>(a.n) * (d + 2));
  CHECK(calls == a.rounds);
  // the same indices as one design of the final size: the rounds waste nothing
  const Eigen::MatrixXd x = saltelli_design(a.n, d);
  const SobolIndices direct = sobol_indices(ishigami(x), a.n, d, 100, 0.95, 3);
  CHECK(a.indices[0].total == direct.total);
  CHECK(a.indices[0].first_high == direct.first_high);
  CHECK(a.indices[1].first(0) == doctest::Approx(0.8).epsilon(0.05));
  // half the sample would not have met the target (else the search would have stopped there)
  const Eigen::MatrixXd xh = saltelli_design(a.n / 2, d);
  const double half = std::max(sobol_widest_interval(sobol_indices(ishigami(xh), a.n / 2, d, 100, 0.95, 3)),
                               sobol_widest_interval(sobol_indices(f(xh).col(1), a.n / 2, d, 100, 0.95, 3)));
  CHECK(half > 0.15);
  // a budget too small for the target: stops before exceeding it, not converged
  const AdaptiveSobol b = sobol_adaptive(f, d, 64, 0.001, 64 * 5 * 4, 50);
  CHECK_FALSE(b.converged);
  CHECK(b.runs == 64 * 5 * 4);
  CHECK(b.n == 256);
}

TEST_CASE("sensitivity: Sobol' indices of the G-function match their closed form") {
  const int n = 1 << 12, d = 6;
  double v[6], prod = 1;
  for (int i = 0; i < d; ++i) {
    v[i] = 1.0 / (3 * (1 + kA[i]) * (1 + kA[i]));
    prod *= 1 + v[i];
  }
  const double total_var = prod - 1;
  Eigen::MatrixXd x = saltelli_design(n, d);
  SobolIndices s = sobol_indices(g_function(x), n, d, 50);
  for (int i = 0; i < d; ++i) {
    CAPTURE(i);
    const double first = v[i] / total_var;
    const double total = v[i] * (prod / (1 + v[i])) / total_var;  // V_Ti = V_i prod_{j != i} (1 + V_j)
    CHECK(std::abs(s.first(i) - first) < 0.03);
    CHECK(std::abs(s.total(i) - total) < 0.03);
  }
}

TEST_CASE("sensitivity: bootstrap intervals shrink as N grows") {
  const auto width = [](int n) {
    Eigen::MatrixXd x = saltelli_design(n, 3);
    SobolIndices s = sobol_indices(ishigami(x), n, 3, 200, 0.95, 11);
    return (s.total_high - s.total_low).sum();
  };
  const double small = width(1 << 9), large = width(1 << 12);
  CHECK(large < 0.6 * small);
}

TEST_CASE("sensitivity: parameters map the unit interval to their range") {
  Parameter lin{"lead", 2, 10, false};
  CHECK(lin.from_unit(0.25) == 4);
  Parameter lg{"capex", 1, 100, true};
  CHECK(lg.from_unit(0.5) == doctest::Approx(10));
  // the ends are the range's ends exactly: exp(log(18)) is 17.999999999999996, and a tornado
  // or a grid runs there
  Parameter ends{"cap", 7, 18, true};
  CHECK(ends.from_unit(0) == 7);
  CHECK(ends.from_unit(1) == 18);
  CHECK(Parameter{"x", 0.1, 0.7, false}.from_unit(1) == 0.7);
}

TEST_CASE("sensitivity: distributions map the unit interval to their quantiles within the range") {
  using S = Distribution::Shape;
  // triangular on [0, 10] peaking at 2: F(x) = x^2 / 20 up to the mode (which holds 0.2),
  // 1 - (10 - x)^2 / 80 above it
  Parameter tri{"t", 0, 10, false, {S::triangular, 2}};
  CHECK(tri.from_unit(0.2) == doctest::Approx(2));
  CHECK(tri.from_unit(0.1) == doctest::Approx(std::sqrt(2.0)));        // x^2 / 20 = 0.1
  CHECK(tri.from_unit(0.6) == doctest::Approx(10 - std::sqrt(32.0)));  // (10 - x)^2 / 80 = 0.4
  CHECK(tri.from_unit(0) == 0);
  CHECK(tri.from_unit(1) == 10);
  // a standard normal cut far out (+-10 sd): the normal's own quantiles
  Parameter nor{"n", -10, 10, false};
  nor.dist = {S::normal, 0, 0, 1};
  CHECK(nor.from_unit(0.5) == doctest::Approx(0).epsilon(1e-12));
  CHECK(nor.from_unit(0.975) == doctest::Approx(1.9599639845400536).epsilon(1e-12));
  // cut at its mean: a half-normal, whose median is Phi^-1(0.75)
  Parameter half = nor;
  half.low = 0;
  CHECK(half.from_unit(0.5) == doctest::Approx(0.6744897501960817).epsilon(1e-12));
  CHECK(half.from_unit(0) == 0);
  CHECK(half.from_unit(1) == 10);
  // five to six sd out: Q(5) = 2.8665e-7, Q(6) = 9.866e-10; the cut's median solves
  // Q(z) = (Q(5) + Q(6)) / 2, z = 5.131371763283918 (by bisection on erfc)
  Parameter tail = nor;
  tail.low = 5;
  tail.high = 6;
  CHECK(tail.from_unit(0.5) == doctest::Approx(5.131371763283918).epsilon(1e-10));
  CHECK(tail.from_unit(0.25) < tail.from_unit(0.5));
  // lognormal with median 100 and sigma 0.5: ln x is normal; the 84.13% point (Phi(1)) is 100 e^0.5
  Parameter logn{"l", 1, 1e6, false};
  logn.dist.shape = S::lognormal;
  logn.dist.median = 100;
  logn.dist.sigma = 0.5;
  CHECK(logn.from_unit(0.5) == doctest::Approx(100).epsilon(1e-12));
  CHECK(logn.from_unit(0.8413447460685429) == doctest::Approx(164.87212707001282).epsilon(1e-10));
  // to_unit undoes from_unit
  for (const Parameter& p : {tri, nor, half, tail, logn, Parameter{"u", 2, 10, false}, Parameter{"g", 1, 100, true}})
    for (double u : {0.0, 0.01, 0.3, 0.5, 0.77, 0.999, 1.0}) {
      CAPTURE(p.name);
      CAPTURE(u);
      CHECK(p.to_unit(p.from_unit(u)) == doctest::Approx(u).epsilon(1e-9));
    }
  // a Latin hypercube through a normal keeps its mean and spread
  const Eigen::MatrixXd x = latin_hypercube(2000, 1, 7);
  Parameter wide{"w", -100, 100, false};
  wide.dist = {S::normal, 0, 20, 5};
  double sum = 0, sq = 0;
  for (int i = 0; i < x.rows(); ++i) {
    const double v = wide.from_unit(x(i, 0));
    sum += v;
    sq += v * v;
  }
  const double mean = sum / 2000, sd = std::sqrt(sq / 2000 - mean * mean);
  CHECK(mean == doctest::Approx(20).epsilon(0.005));
  CHECK(sd == doctest::Approx(5).epsilon(0.01));
}

TEST_CASE("sensitivity: a distribution that does not fit its range says why") {
  using S = Distribution::Shape;
  CHECK(Parameter{"t", 0, 10, false, {S::triangular, 2}}.problem().empty());
  CHECK(Parameter{"t", 0, 10, false, {S::triangular, 12}}.problem() ==
        "the mode of a triangular distribution must lie between low and high");
  Parameter n{"n", 0, 10, false, {S::normal, 0, 5, 0}};
  CHECK(n.problem() == "a normal distribution needs a positive sd");
  n.dist.sd = 1;
  CHECK(n.problem().empty());
  n.dist.mean = -100;  // the range is 100 sd out: no probability left in double precision
  CHECK(n.problem() == "the range lies too far out in the tail of this normal distribution to hold any of it");
  Parameter l{"l", -1, 10, false, {S::lognormal, 0, 0, 0, 2, 0.5}};
  CHECK(l.problem() == "a lognormal range cannot go below 0");
  l.low = 0;
  CHECK(l.problem().empty());
  CHECK(l.from_unit(0) == 0);
  CHECK(Parameter{"l", 1, 10, false, {S::lognormal, 0, 0, 0, 2, 0}}.problem() ==
        "a lognormal distribution needs a positive median and sigma");
  // a median of 1e-30 with sigma 0.1: the range 1 to 10 is 690 sigma out
  CHECK(Parameter{"l", 1, 10, false, {S::lognormal, 0, 0, 0, 1e-30, 0.1}}.problem() ==
        "the range lies too far out in the tail of this lognormal distribution to hold any of it");
  CHECK(Parameter{"g", 0, 10, true}.problem() == "a log-scale range must be positive");
  CHECK(Parameter{"u", 10, 10, false}.problem() == "low must be below high (10 = 10)");
  CHECK(Parameter{"u", 10, 2.5, false}.problem() == "low must be below high (10 > 2.5)");
}

TEST_CASE("sensitivity: every example study loads and names numbers of its scenario") {
  namespace fs = std::filesystem;
  int examples = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(GPUMM_SOURCE_DIR) / "inputs/studies")) {
    if (entry.path().extension() != ".yaml") continue;
    CAPTURE(entry.path().string());
    ++examples;
    Study study = load_study_file(entry.path().string());
    const ScenarioTemplate tmpl = ScenarioTemplate::from_file(study.scenario);
    for (const auto& p : study.parameters) {
      const double base = tmpl.value_at(p.path);
      CHECK(std::isfinite(base));
    }
    CHECK(study_problems(study, tmpl).empty());
    CHECK(study_runs(study) > 0);
  }
  CHECK(examples >= 6);
}

namespace {
// An in-process stand-in for MPI_Allreduce(MPI_SUM) among `size` participants (threads).
class SumExchange {
 public:
  explicit SumExchange(int size) : size_(size) {}
  void sum(double* data, long count) {
    std::unique_lock<std::mutex> g(m_);
    const long gen = generation_;
    if (arrived_ == 0) total_.assign(static_cast<size_t>(count), 0.0);
    for (long i = 0; i < count; ++i) total_[static_cast<size_t>(i)] += data[i];
    if (++arrived_ == size_) {
      result_ = total_;
      arrived_ = 0;
      ++generation_;
      cv_.notify_all();
    } else {
      cv_.wait(g, [&] { return generation_ != gen; });
    }
    std::copy(result_.begin(), result_.end(), data);
  }

 private:
  int size_, arrived_ = 0;
  long generation_ = 0;
  std::vector<double> total_, result_;
  std::mutex m_;
  std::condition_variable cv_;
};

// A study shared among `size` "processes" (threads) in chunks of `chunk` runs, each with a
// checkpoint hook `saved(rank, k)`: what each process returned, or the message it threw.
struct SharedRun {
  StudyResult result;
  std::string failed;
};
std::vector<SharedRun> run_shared(const Study& study, const ScenarioTemplate& tmpl, int size, int chunk,
                                  const std::function<void(int, int)>& saved) {
  SumExchange exchange(size);
  std::vector<SharedRun> out(static_cast<size_t>(size));
  std::vector<std::thread> procs;
  for (int rank = 0; rank < size; ++rank)
    procs.emplace_back([&, rank] {
      StudyShare share;
      share.rank = rank;
      share.size = size;
      share.chunk = chunk;
      share.sum = [&](double* d, long c) { exchange.sum(d, c); };
      StudyCheckpoint cp;
      cp.done.assign(static_cast<size_t>(study_runs(study)), 0);
      cp.saved = [&, rank](int k, const StudyResult&) { saved(rank, k); };
      try {
        out[static_cast<size_t>(rank)].result = run_study(study, tmpl, 1, {}, &cp, &share);
      } catch (const std::exception& e) {
        out[static_cast<size_t>(rank)].failed = e.what();
      }
    });
  for (auto& t : procs) t.join();
  return out;
}
}  // namespace

TEST_CASE("sensitivity: a study shared among processes gathers exactly the single-process results") {
  const std::string dir = std::string(GPUMM_SOURCE_DIR) + "/tests/testdata/studies/";
  for (const char* name : {"sobol_small.yaml", "monte_carlo_small.yaml", "sobol_adaptive.yaml"}) {
    CAPTURE(name);
    Study study = load_study_file(dir + name);
    const ScenarioTemplate tmpl = ScenarioTemplate::from_file(study.scenario);
    for (auto& p : study.parameters) p.base = tmpl.value_at(p.path);
    const StudyResult one = run_study(study, tmpl, 1);
    // three "processes", small chunks so that there are many exchanges
    std::vector<std::vector<int>> saved(3);
    const std::vector<SharedRun> parts =
        run_shared(study, tmpl, 3, 10, [&](int rank, int k) { saved[static_cast<size_t>(rank)].push_back(k); });
    for (const auto& [part, failed] : parts) {
      CHECK(failed.empty());
      CHECK(part.outputs == one.outputs);
      CHECK(part.values == one.values);
      CHECK(part.series == one.series);
      CHECK(part.period_dates == one.period_dates);
      CHECK(part.rounds == one.rounds);
    }
    // only rank 0 checkpoints, every run once
    CHECK(saved[0].size() == static_cast<size_t>(one.outputs.rows()));
    CHECK(saved[1].empty());
  }
}

TEST_CASE("sensitivity: a checkpoint that cannot be saved stops the study with its reason, on one process or three") {
  const std::string dir = std::string(GPUMM_SOURCE_DIR) + "/tests/testdata/studies/";
  Study study = load_study_file(dir + "sobol_small.yaml");
  const ScenarioTemplate tmpl = ScenarioTemplate::from_file(study.scenario);
  const int n = study_runs(study);
  REQUIRE(n == 64);
  // the hook fails on its fifth run, as a full disk would; on two threads the study stops
  // there instead of running the other 59 (a thread at most one run further)
  int calls = 0;
  StudyCheckpoint cp;
  cp.done.assign(static_cast<size_t>(n), 0);
  cp.saved = [&](int, const StudyResult&) {
    if (++calls == 5) throw std::runtime_error("cannot write the checkpoint: disk full");
  };
  CHECK_THROWS_WITH_AS(run_study(study, tmpl, 2, {}, &cp), "cannot write the checkpoint: disk full", std::runtime_error);
  CHECK(calls == 5);
  // shared among three processes, rank 0 saving after each chunk of 10 runs and failing on its
  // `fail_at`-th save: what each process threw ("" for nothing), and how often rank 0 saved
  const auto shared = [&](const Study& which, int fail_at) {
    int saves = 0;
    std::vector<std::string> failed;
    for (const SharedRun& p : run_shared(which, tmpl, 3, 10, [&](int rank, int) {
           if (rank == 0 && ++saves == fail_at) throw std::runtime_error("disk full");
         }))
      failed.push_back(p.failed);
    failed.push_back(std::to_string(saves));
    return failed;
  };
  const std::string others = "a run failed in another process";
  // failing in the second chunk: every process stops after the third chunk's exchange, none
  // waits forever
  CHECK(shared(study, 15) == std::vector<std::string>{"disk full", others, others, "15"});
  // failing on the last chunk's saves: every process stops all the same
  CHECK(shared(study, n) == std::vector<std::string>{"disk full", others, others, std::to_string(n)});
  // an adaptive study failing on the last save of its first round (64 runs; its intervals
  // are not yet narrow enough): the others do not go on to a second round without rank 0
  const Study adaptive = load_study_file(dir + "sobol_adaptive.yaml");
  REQUIRE(adaptive.scenario == study.scenario);  // the scenario of sobol_small
  CHECK(shared(adaptive, 64) == std::vector<std::string>{"disk full", others, others, "64"});
}

TEST_CASE("study series: rows written in any order from several threads read back by row and by column") {
  const long n = 1000;
  const int periods = 7;
  SeriesStore store(n, periods);
  CHECK(store.row(5) == std::vector<double>(periods, 0.0));  // unwritten rows are zeros
  const auto value = [](long k, int t) { return static_cast<double>(k) * 10.0 + t + 0.25; };
  std::vector<std::thread> writers;
  for (int w = 0; w < 3; ++w)
    writers.emplace_back([&, w] {
      for (long k = n - 1 - w; k >= 0; k -= 3) {  // backwards, interleaved
        std::vector<double> row(periods);
        for (int t = 0; t < periods; ++t) row[static_cast<size_t>(t)] = value(k, t);
        store.put(k, row);
      }
    });
  for (auto& t : writers) t.join();
  CHECK(store.row(0)[3] == value(0, 3));
  CHECK(store.row(n - 1)[6] == value(n - 1, 6));
  // by column, with room for only two columns at a time: four blocks
  int seen = 0;
  bool right = true;
  store.for_each_column(
      [&](int t, std::span<const double> col) {
        CHECK(t == seen++);
        right = right && col.size() == static_cast<size_t>(n);
        for (long k = 0; k < n; ++k) right = right && col[static_cast<size_t>(k)] == value(k, t);
      },
      2 * n * sizeof(double));
  CHECK(seen == periods);
  CHECK(right);
  // keep the first rows only
  store.truncate(10);
  CHECK(store.runs() == 10);
  long rows = 0;
  store.for_each_column([&](int, std::span<const double> col) { rows = static_cast<long>(col.size()); });
  CHECK(rows == 10);
  CHECK_THROWS_AS(store.row(10), std::logic_error);
  CHECK_THROWS_AS(store.put(0, std::vector<double>(3)), std::logic_error);
  // moved, the file goes with it; assigned over, the old file is let go
  SeriesStore moved = std::move(store);
  CHECK(moved.row(9)[0] == value(9, 0));
  CHECK(store.empty());
  SeriesStore other(2, 1);
  other = std::move(moved);
  CHECK(other.runs() == 10);
  CHECK(other.row(9)[0] == value(9, 0));
  CHECK(moved.empty());
}

TEST_CASE("sensitivity: a run's own scenario seed depends on the study's seed and the run's index alone") {
  std::set<std::uint64_t> seen;
  for (long k = 0; k < 1000; ++k) {
    const std::uint64_t s = run_scenario_seed(7, k);
    CHECK(s < (std::uint64_t{1} << 48));  // 15 digits at most
    CHECK(s == run_scenario_seed(7, k));
    seen.insert(s);
  }
  CHECK(seen.size() == 1000);
  CHECK(run_scenario_seed(8, 0) != run_scenario_seed(7, 0));
  // a study file's default: a seed per run in Monte Carlo, the scenario's in the other methods
  const std::string dir = std::string(GPUMM_SOURCE_DIR) + "/inputs/studies/";
  CHECK(load_study_file(dir + "monte_carlo.yaml").scenario_seed == Study::ScenarioSeed::per_run);
  CHECK(load_study_file(dir + "sobol.yaml").scenario_seed == Study::ScenarioSeed::fixed);
  CHECK(load_study_file(dir + "tornado.yaml").scenario_seed == Study::ScenarioSeed::fixed);
}

TEST_CASE("sensitivity: the real-time metrics count the periods whose regime read then differs from the one after the fact") {
  using R = Regime;
  SeriesDiagnosis d;
  d.regimes = {R::structural_shortage, R::structural_shortage, R::balanced, R::balanced, R::structural_shortage,
               R::oversupply};
  const Scenario s;
  const RunResult r{Calendar(parse_date("2030-01-01").value, parse_date("2030-06-30").value, Step::month), {}, {}, {}, {}, {}};
  // without the reading in real time the metrics cannot be measured, and say so rather than give 0
  CHECK_THROWS_AS(run_metric("periods_misread_in_real_time", s, r, d), std::logic_error);
  CHECK_THROWS_AS(run_metric("periods_shortage_missed_in_real_time", s, r, d), std::logic_error);
  d.revision.realtime_regimes = {R::balanced, R::structural_shortage, R::balanced, R::structural_shortage,
                                 R::oversupply, R::balanced};
  // differ at 0 (shortage read as balanced), 3 (a false alarm), 4 (shortage read as a glut), 5
  CHECK(run_metric("periods_misread_in_real_time", s, r, d) == 4);
  // of the three months of shortage after the fact, 0 and 4 were not called one then
  CHECK(run_metric("periods_shortage_missed_in_real_time", s, r, d) == 2);
  // shortages 0-1 (seen at 1: one period late) and 4 (never seen: its one period): the longest, 1
  CHECK(run_metric("periods_before_shortage_seen_in_real_time", s, r, d) == 1);
  const std::vector<ShortageSeen> seen = d.revision.shortages_seen(d.regimes);
  REQUIRE(seen.size() == 2);
  CHECK((seen[0].first == 0 && seen[0].last == 1 && seen[0].seen == 1));
  CHECK((seen[1].first == 4 && seen[1].last == 4 && seen[1].seen == 5));
  // none: 0
  SeriesDiagnosis calm;
  calm.regimes.assign(3, R::balanced);
  calm.revision.realtime_regimes.assign(3, R::structural_shortage);
  CHECK(run_metric("periods_before_shortage_seen_in_real_time", s, r, calm) == 0);
  CHECK(metric_reads_in_real_time("periods_misread_in_real_time"));
  CHECK_FALSE(metric_reads_in_real_time("periods_in_structural_shortage"));
  CHECK(metric_problem("misread_periods") ==
        "unknown metric `misread_periods`; did you mean `periods_misread_in_real_time`?");
}
