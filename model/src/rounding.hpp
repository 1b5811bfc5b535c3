#pragma once

// Flows that should cancel leave rounding remainders (1e-13 GPUs on order, 1e-11 installed after
// the last retirement, 1e-12 H100e idle) that would keep a pair alive in the step and fill the
// outputs with dust. These say what is left of a quantity after taking from it, with such a
// remainder read as zero.

namespace gpumm::detail {

inline constexpr double kDust = 1e-9;       // of what was taken
inline constexpr double kDustUnits = 1e-6;  // of one GPU or H100e

// `x` - `taken`, or 0 when that is below a billionth of `taken` (or negative).
inline double left_after(double x, double taken) {
  const double left = x - taken;
  return left <= kDust * taken ? 0.0 : left;
}

// The same for a count of GPUs or H100e, also 0 below a millionth of one: sums of many cohorts
// leave remainders of the order of the largest sum's rounding, not of the last cohort's.
inline double units_left_after(double units, double taken) {
  const double left = units - taken;
  return left <= kDust * taken || left < kDustUnits ? 0.0 : left;
}

}  // namespace gpumm::detail
