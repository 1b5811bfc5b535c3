#pragma once
// Demand (DESIGN §4) as pure functions: training projects (lumpy, slipping), inference
// (nonlinear: adoption, tokens per user, price, launches, efficiency) and steady workloads.
// The allocation of capacity to demand inside a firm is part of the step (simulate.cpp).
#include <cstdint>
#include <string>
#include <vector>

#include "gpumm/calendar.hpp"
#include "gpumm/scenario.hpp"

namespace gpumm {

/// Dense BF16 peak of one H100 SXM, FLOP per second (NVIDIA H100 datasheet: 989 TFLOPS
/// without sparsity): the unit of compute, 1 H100e.
inline constexpr double kH100PeakFlops = 989e12;

/// H100e needed in each period while a run of `flop` FLOP lasts `days` days at utilization
/// `mfu`: flop / (989e12 FLOP/s x mfu x days x 86400 s).
double training_h100e(double flop, double mfu, double days);

/// H100e a project needs while it runs: from its FLOP over its planned duration, or its GPU
/// count times the generation's training H100e.
double project_h100e(const Project& p, const Scenario& s);

/// A uniform number in [0, 1) that depends only on (seed, a, b): adding a project or a draw
/// elsewhere never changes this one.
double uniform01(std::uint64_t seed, std::uint64_t a, std::uint64_t b);
/// A stable 64-bit key for a name (FNV-1a), for random streams keyed by entity.
std::uint64_t name_key(const std::string& name);

/// The slip drawn for a delay, in days (0 when it does not happen). `u_happens` and `u_size`
/// are two independent uniforms in [0, 1).
double slip_days(const Delay& d, double u_happens, double u_size);

/// The projects a program generates, in order: run k starts at first_run + k x cadence
/// (+ jitter drawn from (seed, program, k)), is growth_per_year^(years since the first run)
/// times the first run's FLOP, and lasts duration x duration_growth_per_year^(years) days,
/// capped at max_duration. Runs that would start after `until` (or the scenario's end) are
/// not generated.
std::vector<Project> expand_program(const Program& p, const Scenario& s);

/// Users of a service on `d`: saturation / (1 + exp(-steepness x (years from midpoint))).
double service_users(const InferenceService& sv, Date d);
/// Tokens per user per day on `d`, growing at tokens_growth_per_year from `tokens_at` (and
/// flat after `tokens_growth_until`, when given).
double service_tokens_per_user(const InferenceService& sv, Date d);
/// Tokens per H100e-second on `d`, improving at throughput_gain_per_year from `throughput_at`.
double service_throughput(const InferenceService& sv, Date d);
/// Demand factor of the price on `d`: (price / reference)^-elasticity (1 with no price path).
double service_price_factor(const InferenceService& sv, Date d);
/// Product of the launches' factors on `d`, each 1 before its (slipped) date and reaching its
/// multiplier linearly over its ramp. `launch_dates` are the slipped dates, one per launch.
double service_launch_factor(const InferenceService& sv, const std::vector<Date>& launch_dates, Date d);
/// Tokens per day on `d` (before the launch factor).
double service_tokens_per_day(const InferenceService& sv, Date d);
/// Inference H100e needed on `d`: tokens per day x launch factor / 86400 / throughput x
/// peak-to-average.
double service_h100e(const InferenceService& sv, double launch_factor, Date d);

/// A steady workload's H100e on `d`: each year's value holds at July 1 of that year and is
/// interpolated linearly by days in between; before the first year's July 1 it is that year's
/// value from its January 1 (0 earlier), after the last year's July 1 the last value.
double other_h100e(const OtherDemand& od, Date d);

/// Years between two dates (365.2425-day years).
double years_between(Date from, Date to);

}  // namespace gpumm
