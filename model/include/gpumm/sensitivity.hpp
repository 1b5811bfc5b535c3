#pragma once
// The analysis engine for sensitivity and uncertainty studies (DESIGN §8), independent of the
// market model: samplers (Latin hypercube, Sobol' sequence), Morris elementary effects, and
// Sobol' first-order and total indices from a Saltelli design (Saltelli 2010 and Jansen
// estimators) with bootstrap confidence intervals. Points live in the unit cube; `Parameter`
// maps them to a range. Designs and estimators are separate, so any function from a parameter
// vector to outputs can be analysed, and each piece is tested on functions with known answers.
#include <Eigen/Dense>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace gpumm {

/// The shape of an uncertain input's distribution within its range [low, high].
struct Distribution {
  enum class Shape { uniform, log_uniform, triangular, normal, lognormal };
  Shape shape = Shape::uniform;
  double mode = 0;               ///< triangular: the peak, within the range
  double mean = 0, sd = 0;       ///< normal, truncated to the range
  double median = 0, sigma = 0;  ///< lognormal (sigma: of the logarithm), truncated to the range
};
std::string to_string(Distribution::Shape s);

/// An uncertain input: a range and the distribution of its values within it. Designs live in the
/// unit cube; a coordinate u maps to the value below which a share u of the distribution lies
/// (its quantile), so u = 0 is `low` and u = 1 is `high` whatever the shape: uniform,
/// log-uniform (`log_scale`, or that shape), triangular, or a normal or lognormal cut to the
/// range.
struct Parameter {
  std::string name;
  double low = 0, high = 1;
  bool log_scale = false;  ///< the same as Distribution::Shape::log_uniform
  Distribution dist{};
  /// The value at unit coordinate u in [0, 1].
  double from_unit(double u) const;
  /// The share of the distribution at or below x (0 below the range, 1 above it): the inverse
  /// of from_unit.
  double to_unit(double x) const;
  /// Why the distribution does not fit the range ("" when it does): a mode outside it, a
  /// spread that is not positive, a normal or lognormal with (numerically) none of its
  /// probability in the range.
  std::string problem() const;
};

/// n points in [0, 1)^d: in every dimension each of the n strata [k/n, (k+1)/n) holds exactly
/// one point; permutations and positions within strata come from `seed`.
Eigen::MatrixXd latin_hypercube(int n, int d, std::uint64_t seed);

/// The first n points of the d-dimensional Sobol' sequence (Joe and Kuo's direction numbers,
/// `new-joe-kuo-6.21201`, for up to `kSobolMaxDimensions` dimensions), starting at index
/// `skip` (the all-zero point is index 0).
Eigen::MatrixXd sobol_points(int n, int d, int skip = 0);
inline constexpr int kSobolMaxDimensions = 40;

/// The first n points of the d-dimensional Sobol' sequence under a random digital shift keyed by
/// `seed`: each coordinate's 32 bits XORed with a mask drawn per dimension. The shift maps the
/// sequence's balanced blocks onto balanced blocks (n = 2^m points still put n / 2^k in each
/// [j / 2^k, (j + 1) / 2^k) of a coordinate), and another seed gives another sample as even, so
/// quasi-random Monte Carlo can be replicated.
Eigen::MatrixXd shifted_sobol_points(int n, int d, std::uint64_t seed);

/// Morris design: r trajectories of d + 1 points on a p-level grid ({0, 1/(p-1), ..., 1}),
/// each moving one factor at a time by delta = p / (2 (p - 1)). Rows r*(d+1), columns d.
Eigen::MatrixXd morris_design(int r, int d, int levels, std::uint64_t seed);

struct MorrisResult {
  Eigen::VectorXd mu, mu_star, sigma;  ///< mean, mean of absolute values, std of the effects
};
/// Elementary effects of a Morris design's outputs y (one per design row), in unit-cube units.
MorrisResult morris_effects(const Eigen::MatrixXd& design, const Eigen::VectorXd& y, int r, int d);

/// Saltelli design from a 2d-dimensional Sobol' sample of N points: rows in blocks of N —
/// A, B, then AB_1 ... AB_d (A with column i from B). Rows N (d + 2), columns d.
Eigen::MatrixXd saltelli_design(int n, int d, int skip = 1);

struct SobolIndices {
  Eigen::VectorXd first, total;                  ///< S_i and S_Ti
  Eigen::VectorXd first_low, first_high;          ///< bootstrap confidence interval of S_i
  Eigen::VectorXd total_low, total_high;          ///< ... and of S_Ti
  double variance = 0;  ///< V; 0 when the output does not vary, and then every index is 0
};
/// Indices from the outputs of a Saltelli design: S_i = mean((f_B - m) (f_ABi - f_A)) / V (m the
/// mean of f; centring does not change the expectation but removes the noise of a large mean) and
/// S_Ti = mean((f_A - f_ABi)^2) / (2V) (Jansen), V the variance of f over A and B. The
/// confidence intervals resample the N rows `bootstrap` times (percentiles at `confidence`),
/// with the resampling drawn from `seed`.
SobolIndices sobol_indices(const Eigen::VectorXd& y, int n, int d, int bootstrap = 200,
                           double confidence = 0.95, std::uint64_t seed = 1);

/// Growing a Saltelli design in powers of two. Round 0 holds the first N0 base points of the
/// sequence, round k >= 1 the next N0 2^(k-1), each in the block layout of `saltelli_design`;
/// after round k the rounds together are the design of N0 2^k points, so no run is wasted.
int saltelli_round_points(int n0, int round);
Eigen::MatrixXd saltelli_round(int n0, int round, int d);
/// The outputs of rounds 0 .. rounds-1 (in round order) rearranged in the block layout of
/// `saltelli_design(N0 2^(rounds-1), d)`, ready for `sobol_indices`.
Eigen::VectorXd saltelli_rounds_to_design(const Eigen::VectorXd& y, int n0, int rounds, int d);

/// The widest confidence interval among a result's first-order and total indices.
double sobol_widest_interval(const SobolIndices& s);

struct AdaptiveSobol {
  int n = 0;            ///< base points used
  long runs = 0;        ///< evaluations of f: n (d + 2)
  int rounds = 0;
  bool converged = false;  ///< every interval of every output is at most the target
  double widest = 0;       ///< the widest interval at the end
  std::vector<SobolIndices> indices;  ///< per output
};
/// Sobol indices with a sample that doubles until every confidence interval of every output is
/// at most `target_width` wide or the next doubling would exceed `max_runs` evaluations. `f`
/// maps design rows (unit cube) to outputs (rows x outputs).
AdaptiveSobol sobol_adaptive(const std::function<Eigen::MatrixXd(const Eigen::MatrixXd&)>& f, int d, int n0,
                             double target_width, long max_runs, int bootstrap = 200,
                             double confidence = 0.95, std::uint64_t seed = 1);

/// The p-quantile (0 to 1) of values sorted from low to high, interpolated linearly between
/// neighbours: with 5 values, p = 0.1 is 40% of the way from the first to the second. Needs at
/// least one value.
double quantile_sorted(const std::vector<double>& x, double p);

}  // namespace gpumm
