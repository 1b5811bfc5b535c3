#include "gpumm/sensitivity.hpp"

#include <boost/math/special_functions/erf.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <stdexcept>

#include "gpumm/demand.hpp"  // uniform01: counter-based random numbers
#include "gpumm/units.hpp"   // format_number

namespace gpumm {

std::string to_string(Distribution::Shape s) {
  switch (s) {
    case Distribution::Shape::uniform: return "uniform";
    case Distribution::Shape::log_uniform: return "log_uniform";
    case Distribution::Shape::triangular: return "triangular";
    case Distribution::Shape::normal: return "normal";
    case Distribution::Shape::lognormal: return "lognormal";
  }
  return "uniform";
}

namespace {
// A normal (or lognormal, on the logarithm) cut to a range, as standard scores z = (x - m) / s
// of its ends. Quantiles are taken in the tail that holds the range (the upper tail when it
// lies above the mean), where the probabilities keep their precision: a range five standard
// deviations out still maps u to distinct values.
struct CutNormal {
  double m = 0, s = 1, za = 0, zb = 0;
  bool upper = false;  // work with survival probabilities Q(z) = 1 - Phi(z)
  static double phi(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }  // Phi
  static double q(double z) { return 0.5 * std::erfc(z / std::sqrt(2.0)); }      // 1 - Phi
  CutNormal(double mean, double sd, double a, double b) : m(mean), s(sd), za((a - mean) / sd), zb((b - mean) / sd) {
    upper = za > 0;
  }
  double mass() const { return upper ? q(za) - q(zb) : phi(zb) - phi(za); }
  double quantile(double u) const {  // the standard score below which a share u of the cut lies
    if (upper) {
      const double qa = q(za), qb = q(zb);
      const double p = qa - u * (qa - qb);  // survival probability at the point
      return p <= 0 ? zb : std::sqrt(2.0) * boost::math::erfc_inv(2 * p);
    }
    const double fa = phi(za), fb = phi(zb);
    const double p = fa + u * (fb - fa);
    if (p <= 0) return za;
    if (p >= 1) return zb;  // Phi rounds to 1 beyond about 8 sd
    return -std::sqrt(2.0) * boost::math::erfc_inv(2 * p);
  }
  double share(double z) const {  // the share of the cut at or below standard score z
    const double w = mass();
    return upper ? (q(za) - q(z)) / w : (phi(z) - phi(za)) / w;
  }
};
}  // namespace

double Parameter::from_unit(double u) const {
  using S = Distribution::Shape;
  const S shape = log_scale ? S::log_uniform : dist.shape;
  // the ends exactly (exp(log(low)) is not always low)
  if (u <= 0) return low;
  if (u >= 1) return high;
  double x = 0;
  switch (shape) {
    case S::uniform: return low + u * (high - low);
    case S::log_uniform: return std::exp(std::log(low) + u * (std::log(high) - std::log(low)));
    case S::triangular: {
      const double w = high - low, c = w > 0 ? (dist.mode - low) / w : 0;
      x = u <= c ? low + std::sqrt(u * w * (dist.mode - low)) : high - std::sqrt((1 - u) * w * (high - dist.mode));
      break;
    }
    case S::normal: {
      const CutNormal n(dist.mean, dist.sd, low, high);
      x = dist.mean + dist.sd * n.quantile(u);
      break;
    }
    case S::lognormal: {
      const double lo = low > 0 ? std::log(low) : -std::numeric_limits<double>::infinity();
      const CutNormal n(std::log(dist.median), dist.sigma, lo, std::log(high));
      x = dist.median * std::exp(dist.sigma * n.quantile(u));
      break;
    }
  }
  return std::clamp(x, low, high);
}

double Parameter::to_unit(double x) const {
  using S = Distribution::Shape;
  if (x <= low) return 0.0;
  if (x >= high) return 1.0;
  switch (log_scale ? S::log_uniform : dist.shape) {
    case S::uniform: return (x - low) / (high - low);
    case S::log_uniform: return (std::log(x) - std::log(low)) / (std::log(high) - std::log(low));
    case S::triangular: {
      const double w = high - low;
      return x <= dist.mode ? (x - low) * (x - low) / (w * (dist.mode - low))
                            : 1 - (high - x) * (high - x) / (w * (high - dist.mode));
    }
    case S::normal: return CutNormal(dist.mean, dist.sd, low, high).share((x - dist.mean) / dist.sd);
    case S::lognormal: {
      const double lo = low > 0 ? std::log(low) : -std::numeric_limits<double>::infinity();
      return CutNormal(std::log(dist.median), dist.sigma, lo, std::log(high)).share((std::log(x) - std::log(dist.median)) / dist.sigma);
    }
  }
  return 0.0;
}

std::string Parameter::problem() const {
  using S = Distribution::Shape;
  const S shape = log_scale ? S::log_uniform : dist.shape;
  if (!(low < high))
    return "low must be below high (" + format_number(low) + (low == high ? " = " : " > ") + format_number(high) + ")";
  switch (shape) {
    case S::uniform: return "";
    case S::log_uniform: return low > 0 ? "" : "a log-scale range must be positive";
    case S::triangular:
      return dist.mode >= low && dist.mode <= high ? "" : "the mode of a triangular distribution must lie between low and high";
    case S::normal:
      if (!(dist.sd > 0)) return "a normal distribution needs a positive sd";
      if (!(CutNormal(dist.mean, dist.sd, low, high).mass() > 0))
        return "the range lies too far out in the tail of this normal distribution to hold any of it";
      return "";
    case S::lognormal: {
      if (!(dist.median > 0) || !(dist.sigma > 0)) return "a lognormal distribution needs a positive median and sigma";
      if (low < 0) return "a lognormal range cannot go below 0";
      const double lo = low > 0 ? std::log(low) : -std::numeric_limits<double>::infinity();
      if (!(CutNormal(std::log(dist.median), dist.sigma, lo, std::log(high)).mass() > 0))
        return "the range lies too far out in the tail of this lognormal distribution to hold any of it";
      return "";
    }
  }
  return "";
}

namespace {
// A uniform integer in [0, n) from a counter-based stream.
int draw(std::uint64_t seed, std::uint64_t a, std::uint64_t b, int n) {
  return std::min(n - 1, static_cast<int>(uniform01(seed, a, b) * n));
}
}  // namespace

Eigen::MatrixXd latin_hypercube(int n, int d, std::uint64_t seed) {
  Eigen::MatrixXd x(n, d);
  std::vector<int> perm(static_cast<size_t>(n));
  for (int j = 0; j < d; ++j) {
    std::iota(perm.begin(), perm.end(), 0);
    // Fisher-Yates with draws keyed by (seed, dimension, position)
    for (int i = n - 1; i > 0; --i)
      std::swap(perm[static_cast<size_t>(i)], perm[static_cast<size_t>(draw(seed, 2 * static_cast<std::uint64_t>(j), static_cast<std::uint64_t>(i), i + 1))]);
    for (int i = 0; i < n; ++i)
      x(i, j) = (perm[static_cast<size_t>(i)] + uniform01(seed, 2 * static_cast<std::uint64_t>(j) + 1, static_cast<std::uint64_t>(i))) / n;
  }
  return x;
}

namespace {
// Joe and Kuo (2008), new-joe-kuo-6.21201, dimensions 2 to 40: degree s, coefficient a,
// initial direction numbers m_1 ... m_s. Published by S. Joe and F. Y. Kuo
// (https://web.maths.unsw.edu.au/~fkuo/sobol/), "Constructing Sobol sequences with better
// two-dimensional projections", SIAM J. Sci. Comput. 30 (2008) 2635-2654.
struct Direction {
  int s, a;
  std::array<int, 8> m;
};
constexpr Direction kJoeKuo[] = {
    {1, 0, {1}}, {2, 1, {1, 3}}, {3, 1, {1, 3, 1}}, {3, 2, {1, 1, 1}}, {4, 1, {1, 1, 3, 3}},
    {4, 4, {1, 3, 5, 13}}, {5, 2, {1, 1, 5, 5, 17}}, {5, 4, {1, 1, 5, 5, 5}}, {5, 7, {1, 1, 7, 11, 19}},
    {5, 11, {1, 1, 5, 1, 1}}, {5, 13, {1, 1, 1, 3, 11}}, {5, 14, {1, 3, 5, 5, 31}},
    {6, 1, {1, 3, 3, 9, 7, 49}}, {6, 13, {1, 1, 1, 15, 21, 21}}, {6, 16, {1, 3, 1, 13, 27, 49}},
    {6, 19, {1, 1, 1, 15, 7, 5}}, {6, 22, {1, 3, 1, 15, 13, 25}}, {6, 25, {1, 1, 5, 5, 19, 61}},
    {7, 1, {1, 3, 7, 11, 23, 15, 103}}, {7, 4, {1, 3, 7, 13, 13, 15, 69}}, {7, 7, {1, 1, 3, 13, 7, 35, 63}},
    {7, 8, {1, 3, 5, 9, 1, 25, 53}}, {7, 14, {1, 3, 1, 13, 9, 35, 107}}, {7, 19, {1, 3, 1, 5, 27, 61, 31}},
    {7, 21, {1, 1, 5, 11, 19, 41, 61}}, {7, 28, {1, 3, 5, 3, 3, 13, 69}}, {7, 31, {1, 1, 7, 13, 1, 19, 1}},
    {7, 32, {1, 3, 7, 5, 13, 19, 59}}, {7, 37, {1, 1, 3, 9, 25, 29, 41}}, {7, 41, {1, 3, 5, 13, 23, 1, 55}},
    {7, 42, {1, 3, 7, 3, 13, 59, 17}}, {7, 50, {1, 3, 1, 3, 5, 53, 69}}, {7, 55, {1, 1, 5, 5, 23, 33, 13}},
    {7, 56, {1, 1, 7, 7, 1, 61, 123}}, {7, 59, {1, 1, 7, 9, 13, 61, 49}}, {7, 62, {1, 3, 3, 5, 3, 55, 33}},
    {8, 14, {1, 3, 1, 15, 31, 13, 49, 245}}, {8, 21, {1, 3, 5, 15, 31, 59, 63, 97}},
    {8, 22, {1, 3, 1, 11, 11, 11, 77, 249}}};
constexpr int kBits = 32;
}  // namespace

Eigen::MatrixXd sobol_points(int n, int d, int skip) {
  if (d < 1 || d > kSobolMaxDimensions) throw std::invalid_argument("sobol_points: 1 to 40 dimensions");
  // direction numbers v[j][k], left-aligned in 32 bits
  std::vector<std::array<std::uint32_t, kBits>> v(static_cast<size_t>(d));
  for (int k = 0; k < kBits; ++k) v[0][static_cast<size_t>(k)] = 1u << (kBits - 1 - k);  // van der Corput
  for (int j = 1; j < d; ++j) {
    const Direction& dir = kJoeKuo[j - 1];
    auto& vj = v[static_cast<size_t>(j)];
    for (int k = 0; k < dir.s && k < kBits; ++k)
      vj[static_cast<size_t>(k)] = static_cast<std::uint32_t>(dir.m[static_cast<size_t>(k)]) << (kBits - 1 - k);
    for (int k = dir.s; k < kBits; ++k) {
      std::uint32_t x = vj[static_cast<size_t>(k - dir.s)] ^ (vj[static_cast<size_t>(k - dir.s)] >> dir.s);
      for (int q = 1; q < dir.s; ++q)
        if ((dir.a >> (dir.s - 1 - q)) & 1) x ^= vj[static_cast<size_t>(k - q)];
      vj[static_cast<size_t>(k)] = x;
    }
  }
  // Gray-code order: point i+1 = point i xor v[c], c the lowest zero bit of i
  Eigen::MatrixXd out(n, d);
  std::vector<std::uint32_t> x(static_cast<size_t>(d), 0);
  for (long i = 0; i < skip + n; ++i) {
    if (i >= skip)
      for (int j = 0; j < d; ++j) out(static_cast<int>(i - skip), j) = x[static_cast<size_t>(j)] * 0x1.0p-32;
    int c = 0;
    for (long b = i; b & 1; b >>= 1) ++c;
    for (int j = 0; j < d; ++j) x[static_cast<size_t>(j)] ^= v[static_cast<size_t>(j)][static_cast<size_t>(c)];
  }
  return out;
}

Eigen::MatrixXd shifted_sobol_points(int n, int d, std::uint64_t seed) {
  Eigen::MatrixXd x = sobol_points(n, d, 0);
  for (int j = 0; j < d; ++j) {
    // a 32-bit mask per dimension, from the counter-based stream (3 000 + j keeps clear of the
    // streams of the other samplers)
    const auto mask = static_cast<std::uint32_t>(uniform01(seed, 3000 + static_cast<std::uint64_t>(j), 0) * 0x1.0p32);
    for (int i = 0; i < n; ++i) {
      const auto bits = static_cast<std::uint32_t>(x(i, j) * 0x1.0p32);  // exact: points are k / 2^32
      x(i, j) = (bits ^ mask) * 0x1.0p-32;
    }
  }
  return x;
}

Eigen::MatrixXd morris_design(int r, int d, int levels, std::uint64_t seed) {
  const double delta = levels / (2.0 * (levels - 1));
  const int starts = levels / 2;  // base values that leave room for +delta: 0 .. 1 - delta
  Eigen::MatrixXd x(r * (d + 1), d);
  std::vector<int> order(static_cast<size_t>(d));
  for (int t = 0; t < r; ++t) {
    const std::uint64_t key = 1000003ull * static_cast<std::uint64_t>(t);
    Eigen::RowVectorXd point(d);
    for (int j = 0; j < d; ++j)
      point(j) = draw(seed, key, static_cast<std::uint64_t>(j), starts) / static_cast<double>(levels - 1);
    std::iota(order.begin(), order.end(), 0);
    for (int i = d - 1; i > 0; --i)
      std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(draw(seed, key + 1, static_cast<std::uint64_t>(i), i + 1))]);
    x.row(t * (d + 1)) = point;
    for (int k = 0; k < d; ++k) {
      point(order[static_cast<size_t>(k)]) += delta;
      x.row(t * (d + 1) + k + 1) = point;
    }
  }
  return x;
}

MorrisResult morris_effects(const Eigen::MatrixXd& design, const Eigen::VectorXd& y, int r, int d) {
  Eigen::MatrixXd effects(r, d);
  for (int t = 0; t < r; ++t)
    for (int k = 0; k < d; ++k) {
      const int a = t * (d + 1) + k, b = a + 1;
      // the one factor that changed between consecutive points
      int j = 0;
      for (int q = 0; q < d; ++q)
        if (design(b, q) != design(a, q)) j = q;
      effects(t, j) = (y(b) - y(a)) / (design(b, j) - design(a, j));
    }
  MorrisResult m;
  m.mu = effects.colwise().mean().transpose();
  m.mu_star = effects.cwiseAbs().colwise().mean().transpose();
  m.sigma.resize(d);
  for (int j = 0; j < d; ++j) {
    const double mean = m.mu(j);
    const double var = r > 1 ? (effects.col(j).array() - mean).square().sum() / (r - 1) : 0.0;
    m.sigma(j) = std::sqrt(var);
  }
  return m;
}

Eigen::MatrixXd saltelli_design(int n, int d, int skip) {
  const Eigen::MatrixXd base = sobol_points(n, 2 * d, skip);
  Eigen::MatrixXd x(n * (d + 2), d);
  x.topRows(n) = base.leftCols(d);                 // A
  x.middleRows(n, n) = base.rightCols(d);          // B
  for (int i = 0; i < d; ++i) {
    Eigen::MatrixXd ab = base.leftCols(d);
    ab.col(i) = base.col(d + i);
    x.middleRows(n * (2 + i), n) = ab;             // AB_i
  }
  return x;
}

namespace {
// S_i and S_Ti over the rows `rows` of the A and B blocks of a Saltelli design's outputs;
// returns the variance of f.
double estimate(const Eigen::VectorXd& y, int n, int d, const std::vector<int>& rows, Eigen::VectorXd& first,
                Eigen::VectorXd& total) {
  const double m = static_cast<double>(rows.size());
  double mean = 0;
  for (int j : rows) mean += y(j) + y(n + j);
  mean /= 2 * m;
  double var = 0;  // two passes: no cancellation when the output barely varies
  for (int j : rows) var += (y(j) - mean) * (y(j) - mean) + (y(n + j) - mean) * (y(n + j) - mean);
  var /= 2 * m;
  // an output that does not vary (up to rounding) has no variance to share out
  if (var <= 1e-24 * std::max(1.0, mean * mean)) var = 0;
  first.resize(d);
  total.resize(d);
  for (int i = 0; i < d; ++i) {
    double s = 0, st = 0;
    for (int j : rows) {
      const double fa = y(j), fb = y(n + j), fab = y(n * (2 + i) + j);
      s += (fb - mean) * (fab - fa);  // centred: same expectation, far less noise when the mean is large
      st += (fa - fab) * (fa - fab);
    }
    first(i) = var > 0 ? s / m / var : 0.0;
    total(i) = var > 0 ? st / (2 * m) / var : 0.0;
  }
  return var;
}
}  // namespace

SobolIndices sobol_indices(const Eigen::VectorXd& y, int n, int d, int bootstrap, double confidence,
                           std::uint64_t seed) {
  if (y.size() != static_cast<long>(n) * (d + 2))
    throw std::invalid_argument("sobol_indices: expected N (d + 2) outputs of a Saltelli design");
  SobolIndices out;
  std::vector<int> rows(static_cast<size_t>(n));
  std::iota(rows.begin(), rows.end(), 0);
  out.variance = estimate(y, n, d, rows, out.first, out.total);
  // bootstrap: resample the N rows with replacement
  std::vector<Eigen::VectorXd> s1(static_cast<size_t>(bootstrap)), st(static_cast<size_t>(bootstrap));
  for (int b = 0; b < bootstrap; ++b) {
    for (int j = 0; j < n; ++j) rows[static_cast<size_t>(j)] = draw(seed, 7919ull + static_cast<std::uint64_t>(b), static_cast<std::uint64_t>(j), n);
    estimate(y, n, d, rows, s1[static_cast<size_t>(b)], st[static_cast<size_t>(b)]);
  }
  const auto band = [&](const std::vector<Eigen::VectorXd>& v, int i, double q) {
    std::vector<double> x;
    for (const auto& e : v) x.push_back(e(i));
    std::sort(x.begin(), x.end());
    const double pos = q * (static_cast<double>(x.size()) - 1);
    const size_t k = static_cast<size_t>(pos);
    const double w = pos - static_cast<double>(k);
    return k + 1 < x.size() ? x[k] * (1 - w) + x[k + 1] * w : x.back();
  };
  const double lo = (1 - confidence) / 2, hi = 1 - lo;
  out.first_low.resize(d);
  out.first_high.resize(d);
  out.total_low.resize(d);
  out.total_high.resize(d);
  for (int i = 0; i < d; ++i) {
    out.first_low(i) = bootstrap > 0 ? band(s1, i, lo) : out.first(i);
    out.first_high(i) = bootstrap > 0 ? band(s1, i, hi) : out.first(i);
    out.total_low(i) = bootstrap > 0 ? band(st, i, lo) : out.total(i);
    out.total_high(i) = bootstrap > 0 ? band(st, i, hi) : out.total(i);
  }
  return out;
}

int saltelli_round_points(int n0, int round) { return round == 0 ? n0 : n0 << (round - 1); }

Eigen::MatrixXd saltelli_round(int n0, int round, int d) {
  // round 0 holds base points 1 .. n0 of the sequence, round k the next n0 2^(k-1)
  const int skip = 1 + (round == 0 ? 0 : saltelli_round_points(n0, round));
  return saltelli_design(saltelli_round_points(n0, round), d, skip);
}

Eigen::VectorXd saltelli_rounds_to_design(const Eigen::VectorXd& y, int n0, int rounds, int d) {
  const int n = n0 << (rounds - 1);
  if (y.size() != static_cast<long>(n) * (d + 2))
    throw std::invalid_argument("saltelli_rounds_to_design: expected the outputs of whole rounds");
  Eigen::VectorXd out(y.size());
  // block b of the design of n points is block b of round 0, then of round 1, ...
  long from = 0;
  int before = 0;  // base points in earlier rounds
  for (int r = 0; r < rounds; ++r) {
    const int m = saltelli_round_points(n0, r);
    for (int b = 0; b < d + 2; ++b) out.segment(static_cast<long>(b) * n + before, m) = y.segment(from + static_cast<long>(b) * m, m);
    from += static_cast<long>(m) * (d + 2);
    before += m;
  }
  return out;
}

double sobol_widest_interval(const SobolIndices& s) {
  double w = 0;
  for (int i = 0; i < s.first.size(); ++i)
    w = std::max({w, s.first_high(i) - s.first_low(i), s.total_high(i) - s.total_low(i)});
  return w;
}

AdaptiveSobol sobol_adaptive(const std::function<Eigen::MatrixXd(const Eigen::MatrixXd&)>& f, int d, int n0,
                             double target_width, long max_runs, int bootstrap, double confidence,
                             std::uint64_t seed) {
  if (n0 < 2 || (n0 & (n0 - 1)) != 0) throw std::invalid_argument("sobol_adaptive: N0 must be a power of two");
  AdaptiveSobol out;
  Eigen::MatrixXd y;  // outputs in round order, rows x outputs
  for (int round = 0;; ++round) {
    const int m = saltelli_round_points(n0, round);
    const Eigen::MatrixXd part = f(saltelli_round(n0, round, d));
    Eigen::MatrixXd grown(y.rows() + part.rows(), part.cols());
    if (y.rows() > 0) grown.topRows(y.rows()) = y;
    grown.bottomRows(part.rows()) = part;
    y = std::move(grown);
    out.n = round == 0 ? m : 2 * m;
    out.runs = y.rows();
    out.rounds = round + 1;
    out.indices.clear();
    out.widest = 0;
    for (int o = 0; o < y.cols(); ++o) {
      out.indices.push_back(sobol_indices(saltelli_rounds_to_design(y.col(o), n0, round + 1, d), out.n, d, bootstrap,
                                          confidence, seed));
      out.widest = std::max(out.widest, sobol_widest_interval(out.indices.back()));
    }
    out.converged = out.widest <= target_width;
    // the next round doubles the runs
    if (out.converged || 2 * out.runs > max_runs) return out;
  }
}

double quantile_sorted(const std::vector<double>& x, double p) {
  const double pos = p * (static_cast<double>(x.size()) - 1);
  const size_t k = static_cast<size_t>(pos);
  return k + 1 < x.size() ? x[k] + (x[k + 1] - x[k]) * (pos - static_cast<double>(k)) : x.back();
}

}  // namespace gpumm
