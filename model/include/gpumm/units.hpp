#pragma once
// Quantities with units, as written in scenarios: durations (`18mo`), power (`1.2 GW`),
// power per year (`4 GW/y`), money (`$39B`), compute (`3e26 FLOP`).
// Each parser returns std::nullopt-free results through `ParseResult`: a value or a message
// saying what was expected, so the loader can report every problem with its location.
#include <optional>
#include <string>
#include <string_view>

namespace gpumm {

/// A duration as written: a count of a calendar unit. Months, quarters and years are calendar
/// units (added to a date with month arithmetic), days and weeks are exact.
struct Duration {
  enum class Unit { day, week, month, quarter, year };
  long count = 0;
  Unit unit = Unit::month;

  /// Length in days, approximated with the mean Gregorian year (365.2425 d); use only where
  /// no date is at hand. Calendar arithmetic goes through `Calendar::add`.
  double approx_days() const;
  /// Whole months for month, quarter and year units; -1 for day and week.
  long months() const;
  bool operator==(const Duration&) const = default;
};

/// Result of parsing a quantity: `value` when `error` is empty.
template <class T>
struct Parsed {
  T value{};
  std::string error;  ///< what was expected, e.g. "expected a power such as `250 MW`"
  bool ok() const { return error.empty(); }
};

Parsed<Duration> parse_duration(std::string_view text);
/// Power in MW from `kW`, `MW` or `GW`.
Parsed<double> parse_power_mw(std::string_view text);
/// Power per year in MW/year from `MW/y` or `GW/y`.
Parsed<double> parse_power_mw_per_year(std::string_view text);
/// Money in USD from `$`, `$k`, `$M`, `$B` or `$T` (e.g. `$14.2B`, `$25000`).
Parsed<double> parse_money_usd(std::string_view text);
/// A price in USD per hour, kWh or million tokens, written as money (`$2.10`); a bare number
/// is offered in dollars alone, not with the scales of a budget.
Parsed<double> parse_price_usd(std::string_view text);
/// Compute in FLOP from `3e26 FLOP`.
Parsed<double> parse_flop(std::string_view text);
/// A plain finite number (no unit), e.g. `1.25` or `3e5`.
Parsed<double> parse_number(std::string_view text);

/// The number inside a scalar such as `$135B`, `18mo` or `1.2 GW`: the text before it (`$`,
/// spaces), the number and the text after it. False when no number leads the text, or when
/// a date does (`2025-01-01` is not a number with a unit).
bool split_number(const std::string& text, std::string& prefix, double& value, std::string& suffix);
/// Whether the text is a number followed by a unit (`$120B`, `12mo`, `6 GW/y`), not a plain one.
bool number_with_unit(const std::string& text);

std::string to_string(const Duration& d);         ///< `18mo`
std::string format_power_mw(double mw);           ///< `1200 MW`, exact round trip
std::string format_power_mw_per_year(double mw);  ///< `4000 MW/y`
std::string format_money_usd(double usd);         ///< `$39000000000`
std::string format_number(double x);              ///< shortest text that round-trips

}  // namespace gpumm
