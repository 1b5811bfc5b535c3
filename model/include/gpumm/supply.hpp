#pragma once
// Supply building blocks (DESIGN §3), as pure functions so each can be tested by hand:
// production ramps, upstream node capacity, pro-rata sharing of scarce output, and the
// Leontief deployment of one firm x region cell.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "gpumm/calendar.hpp"
#include "gpumm/scenario.hpp"

namespace gpumm {

/// What stops an installed GPU from running.
enum class Binding : std::uint8_t { none, power, building, network };
std::string to_string(Binding b);

/// The production ramp of a generation as a piecewise-linear rate over day numbers, so
/// that a run integrates it per period without date arithmetic.
class ProductionRamp {
 public:
  explicit ProductionRamp(const Generation& g);
  /// Units produced in days [from_day, to_day) with the yearly rate spread over `year_days`.
  double units(double from_day, double to_day, int year_days) const;

 private:
  double t0_, t1_, t2_, t3_;  // first shipment, plateau, start and end of the ramp-down
  double peak_per_year_;
};

/// Units of `g` the world can produce in [from, to): the integral of the ramp (0 at first
/// shipment, linear to the plateau over `ramp`, flat until `end_of_production`, linear to 0
/// over `ramp_down`), with the per-year rate spread over the actual days of `from`'s year.
double production_units(const Generation& g, Date from, Date to);

/// Capacity of an upstream node in each period of `cal` (node units per period): the base
/// capacity plus expansions once their lag has passed, growing no faster than
/// `max_growth_per_year`, spread over the actual days of each period.
std::vector<double> node_capacity_per_period(const UpstreamNode& n, const Calendar& cal);

/// Share `supply` among `claims` in proportion to each claim, never giving a claim more than
/// it asked for; writes the grants to `out` (same size as `claims`). Returns what was granted.
double allocate_pro_rata(double supply, std::span<const double> claims, std::span<double> out);

/// The deployment of one firm x region cell.
struct CellDeployment {
  double usable_it_mw = 0;  ///< min(energized / PUE, built IT MW)
  Binding power_binding = Binding::power;  ///< which of the two limits usable IT power
};

/// Usable IT power of a cell and which of energized power or built shells limits it.
CellDeployment usable_it_power(double energized_mw, double pue, double it_built_mw);

/// Leontief deployment of a cell: generations in `order` (best H100e per kW first) take
/// usable IT power and ports until one runs out; deployed_g = min(installed_g,
/// power left / kW per GPU_g, ports left / ports per GPU_g). GPUs `committed` to contracts
/// (per generation; empty: none) take theirs first, in the same order, and the rest follow.
/// Writes deployed and stranded counts and, for stranded GPUs, the input that bound them.
void deploy_cell(const std::vector<Generation>& gens, std::span<const int> order,
                 const CellDeployment& cell, double ports, std::span<const double> installed,
                 std::span<double> deployed, std::span<double> stranded,
                 std::span<Binding> binding, std::span<const double> committed = {});

}  // namespace gpumm
