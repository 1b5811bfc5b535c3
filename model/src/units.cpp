#include "gpumm/units.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <utility>

namespace gpumm {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// What `scan_number` found at the start of a text.
enum class Scan { number, none, out_of_range };

constexpr const char* kOutOfRange =
    "number out of range (a number's magnitude must lie between about 2.2e-308 and 1.8e308, or be 0)";

// Parse a finite number at the start of `s`; returns the rest (unit text) in `rest`. A number
// too large or too small (but not zero) for a double is `out_of_range`, not `none`: `1e400` is a
// number, just not one gpumm can hold.
Scan scan_number(std::string_view s, double& out, std::string_view& rest) {
  s = trim(s);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ptr == s.data()) return Scan::none;
  if (ec == std::errc::result_out_of_range) return Scan::out_of_range;
  if (ec != std::errc() || !std::isfinite(out)) return Scan::none;
  rest = trim(std::string_view(ptr, static_cast<size_t>(s.data() + s.size() - ptr)));
  return Scan::number;
}

template <class T>
Parsed<T> fail(std::string message) {
  Parsed<T> p;
  p.error = std::move(message);
  return p;
}

// When the number that `s` starts with goes on in groups of three digits after `,` or `_`
// (the `rest` after the part `scan_number` read), or after a decimal comma, the error that
// says how to write it; empty otherwise.
std::string thousands_separated(std::string_view s, std::string_view rest) {
  const auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  const auto group_at = [&](size_t k) {
    return k + 4 <= rest.size() && (rest[k] == ',' || rest[k] == '_') && is_digit(rest[k + 1]) &&
           is_digit(rest[k + 2]) && is_digit(rest[k + 3]) && (k + 4 == rest.size() || !is_digit(rest[k + 4]));
  };
  s = trim(s);
  if (!group_at(0)) {
    // `1,25`: a decimal comma
    size_t n = 1;
    while (n < rest.size() && is_digit(rest[n])) ++n;
    if (rest.empty() || rest[0] != ',' || n == 1 || (n < rest.size() && rest[n] == ',')) return {};
    std::string msg = "decimals are written with `.`, not `,` (`";
    msg.append(s.substr(0, static_cast<size_t>(rest.data() - s.data()))).append(".").append(rest.substr(1, n - 1));
    return msg.append("`)");
  }
  std::string plain(s.substr(0, static_cast<size_t>(rest.data() - s.data())));
  size_t k = 0;
  for (; group_at(k); k += 4) plain.append(rest.substr(k + 1, 3));
  // and what goes on the number after its groups: `2,000.5`, `3,000e23`
  for (; k < rest.size() && (is_digit(rest[k]) || std::string_view(".eE+-").find(rest[k]) != std::string_view::npos); ++k)
    plain += rest[k];
  std::erase_if(plain, [](char c) { return c == ' ' || c == '+'; });
  std::string msg = "thousands separators are not read; write the number without them (`";
  return msg.append(plain).append("`)");
}

// Scan the number a quantity starts with into `x` and its unit text into `unit`; returns the
// error to report, empty when there is a number (`expected` says what the quantity looks like).
std::string scan_quantity(std::string_view s, const std::string& expected, double& x, std::string_view& unit) {
  switch (scan_number(s, x, unit)) {
    case Scan::number: return thousands_separated(s, unit);
    case Scan::none: return expected;
    case Scan::out_of_range: break;
  }
  return kOutOfRange;
}

}  // namespace

double Duration::approx_days() const {
  switch (unit) {
    case Unit::day: return static_cast<double>(count);
    case Unit::week: return 7.0 * static_cast<double>(count);
    case Unit::month: return 365.2425 / 12.0 * static_cast<double>(count);
    case Unit::quarter: return 365.2425 / 4.0 * static_cast<double>(count);
    case Unit::year: return 365.2425 * static_cast<double>(count);
  }
  return 0.0;
}

long Duration::months() const {
  switch (unit) {
    case Unit::month: return count;
    case Unit::quarter: return 3 * count;
    case Unit::year: return 12 * count;
    default: return -1;
  }
}

namespace {

// The unit a spelled-out duration unit stands for (`months` -> `mo`), or nullptr.
const char* duration_unit_for(std::string_view word) {
  static const std::pair<std::string_view, const char*> kWords[] = {
      {"day", "d"},     {"days", "d"},    {"week", "w"},     {"weeks", "w"},     {"wk", "w"},
      {"wks", "w"},     {"month", "mo"},  {"months", "mo"},  {"mos", "mo"},      {"mon", "mo"},
      {"mth", "mo"},    {"mths", "mo"},   {"quarter", "q"},  {"quarters", "q"},  {"qtr", "q"},
      {"qtrs", "q"},    {"year", "y"},    {"years", "y"},    {"yr", "y"},        {"yrs", "y"}};
  for (const auto& [w, u] : kWords)
    if (word == w) return u;
  return nullptr;
}

// When a duration is written with a fraction (`1.5y`: `number` is "1.5y", `unit` ".5y"), the
// error: a duration counts whole units, with the same duration in a smaller unit when it is
// whole there (`18mo`). Empty when there is no fraction.
std::string whole_duration_hint(std::string_view number, std::string_view unit) {
  if (unit.size() < 2 || unit[0] != '.' || unit[1] < '0' || unit[1] > '9') return {};
  double x = 0;
  auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), x);
  if (ec != std::errc()) return {};
  std::string_view u = trim(std::string_view(ptr, static_cast<size_t>(number.data() + number.size() - ptr)));
  if (u.empty()) return {};  // `1.5`: the missing unit is the problem to name
  if (const char* spelled = duration_unit_for(u)) u = spelled;  // `1.5 years`
  std::string msg = "a duration counts whole units";
  const std::pair<std::string_view, std::pair<double, const char*>> kSmaller[] = {
      {"y", {12, "mo"}}, {"q", {3, "mo"}}, {"w", {7, "d"}}};
  for (const auto& [from, to] : kSmaller)
    if (u == from && x * to.first == std::round(x * to.first))
      return msg + "; write `" + format_number(x * to.first) + to.second + "`";
  return msg + "; write it in a smaller unit (days: `d`)";
}

}  // namespace

Parsed<Duration> parse_duration(std::string_view text) {
  const std::string expected =
      "expected a duration with a unit: d, w, mo, q or y (e.g. `90d`, `6w`, `18mo`, `2q`, `3y`)";
  std::string_view s = trim(text);
  size_t i = 0;
  bool negative = false;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) negative = s[i++] == '-';
  size_t digits_start = i;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  if (i == digits_start) return fail<Duration>(expected);
  long n = 0;
  auto [ptr, ec] = std::from_chars(s.data() + digits_start, s.data() + i, n);
  if (ec != std::errc() || n > 100000) return fail<Duration>("duration is too large");
  (void)ptr;
  std::string_view unit = trim(s.substr(i));
  if (std::string why = whole_duration_hint(s.substr(digits_start), unit); !why.empty()) return fail<Duration>(why);
  Duration d;
  d.count = negative ? -n : n;
  if (unit == "d") d.unit = Duration::Unit::day;
  else if (unit == "w") d.unit = Duration::Unit::week;
  else if (unit == "mo") d.unit = Duration::Unit::month;
  else if (unit == "q") d.unit = Duration::Unit::quarter;
  else if (unit == "y") d.unit = Duration::Unit::year;
  else if (unit.empty()) return fail<Duration>("missing unit; " + expected);
  else if (unit == "m")
    return fail<Duration>("ambiguous unit `m`; write `mo` for months (e.g. `18mo`)");
  else if (const char* u = duration_unit_for(unit))
    return fail<Duration>("unknown unit `" + std::string(unit) + "`; write `" + std::to_string(n) + u + "`");
  else return fail<Duration>("unknown unit `" + std::string(unit) + "`; " + expected);
  if (d.count < 0) return fail<Duration>("must be >= 0");
  return {d, {}};
}

Parsed<double> parse_power_mw(std::string_view text) {
  const std::string expected = "expected a power with a unit: kW, MW or GW (e.g. `250 MW`)";
  double x = 0;
  std::string_view unit;
  if (std::string e = scan_quantity(text, expected, x, unit); !e.empty()) return fail<double>(e);
  if (unit == "kW") return {x / 1000.0, {}};
  if (unit == "MW") return {x, {}};
  if (unit == "GW") return {x * 1000.0, {}};
  if (unit.empty()) return fail<double>("missing unit; " + expected);
  return fail<double>("unknown unit `" + std::string(unit) + "`; " + expected);
}

Parsed<double> parse_power_mw_per_year(std::string_view text) {
  const std::string expected = "expected a power per year: MW/y or GW/y (e.g. `4 GW/y`)";
  double x = 0;
  std::string_view unit;
  if (std::string e = scan_quantity(text, expected, x, unit); !e.empty()) return fail<double>(e);
  if (unit == "MW/y") return {x, {}};
  if (unit == "GW/y") return {x * 1000.0, {}};
  if (unit.empty() || unit == "MW" || unit == "GW")
    return fail<double>("missing `/y`: the cap is per year; " + expected);
  return fail<double>("unknown unit `" + std::string(unit) + "`; " + expected);
}

namespace {
// gpumm's money unit for a word people write for one (`bn`, `billion`, `mn`...), or "" if none.
std::string money_unit(std::string_view word) {
  std::string w;
  for (char c : word) w += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (w == "k" || w == "thousand") return "k";
  if (w == "m" || w == "mn" || w == "mm" || w == "mio" || w == "million" || w == "millions") return "M";
  if (w == "b" || w == "bn" || w == "billion" || w == "billions") return "B";
  if (w == "t" || w == "tn" || w == "trillion" || w == "trillions") return "T";
  return "";
}
// The way gpumm writes `number unit` as money (`$20B`), when `unit` is a word for one of its
// units or nothing; "" otherwise. `number` is as written.
std::string money_as_written(std::string_view number, std::string_view unit) {
  const std::string u = unit.empty() ? "" : money_unit(unit);
  if (!unit.empty() && u.empty()) return "";
  std::string out = "$";
  out.append(number).append(u);
  return out;
}
// `rest` without a currency word before or after it (`USD`, `dollars`).
std::string_view without_currency(std::string_view rest) {
  for (std::string_view word : {"USD", "usd", "US$", "dollars", "Dollars"}) {
    if (rest.size() >= word.size() && rest.substr(rest.size() - word.size()) == word) rest.remove_suffix(word.size());
    if (rest.size() >= word.size() && rest.substr(0, word.size()) == word) rest.remove_prefix(word.size());
  }
  return trim(rest);
}
}  // namespace

namespace {
// Money; `rate`: a price per hour, kWh or million tokens, which a bare number is offered in
// dollars alone (`$2.5`), where a budget is offered with each scale too.
Parsed<double> parse_money(std::string_view text, bool rate) {
  const std::string expected = "expected money in dollars: $, $k, $M, $B or $T (e.g. `$14.2B`)";
  std::string_view s = trim(text);
  if (s.empty() || s.front() != '$') {
    // `20B`, `20B USD`, `USD 20B`, `20 billion dollars`: say how gpumm writes it
    const std::string_view bare = without_currency(s);
    double x = 0;
    std::string_view rest;
    if (scan_number(bare, x, rest) != Scan::none) {
      const std::string number(trim(bare.substr(0, bare.size() - rest.size())));
      // `72 $B`: the `$` written after the number
      const bool dollar_after = !rest.empty() && rest.front() == '$';
      if (dollar_after) rest = trim(rest.substr(1));
      const std::string as_written = money_as_written(number, rest);
      const std::string head = dollar_after ? "the `$` goes before the number; " : "missing `$`; ";
      // no amount of money in a scenario is negative (a budget, price or cost): no `$-5` to offer
      if (x < 0) return fail<double>(head + "and money is never negative here: a budget, price or cost is at least `$0`");
      // `200` alone: dollars, or (as budgets are mostly written) billions? Both, not a guess.
      if (!dollar_after && rest.empty() && number.find_first_of("eE") == std::string::npos && !rate)
        return fail<double>(head + "write `$" + number + "` for dollars, or with a scale: `$" + number + "k`, `$" + number +
                            "M`, `$" + number + "B`");
      return fail<double>(head + (as_written.empty() ? expected : "write `" + as_written + "`"));
    }
    return fail<double>(expected);
  }
  s.remove_prefix(1);
  double x = 0;
  std::string_view unit;
  if (std::string e = scan_quantity(s, expected, x, unit); !e.empty()) return fail<double>(e);
  if (unit.empty()) return {x, {}};
  if (unit == "k" || unit == "K") return {x * 1e3, {}};
  if (unit == "M") return {x * 1e6, {}};
  if (unit == "B") return {x * 1e9, {}};
  if (unit == "T") return {x * 1e12, {}};
  // `$20bn`, `$20 billion`: the unit gpumm writes for it
  const std::string_view plain = without_currency(unit);
  if (const std::string u = money_unit(plain); !u.empty())
    return fail<double>("unknown unit `" + std::string(unit) + "`; write `$" +
                        std::string(trim(s.substr(0, s.size() - unit.size()))) + u + "`");
  return fail<double>("unknown unit `" + std::string(unit) + "`; " + expected);
}
}  // namespace

Parsed<double> parse_money_usd(std::string_view text) { return parse_money(text, false); }
Parsed<double> parse_price_usd(std::string_view text) { return parse_money(text, true); }

Parsed<double> parse_flop(std::string_view text) {
  const std::string expected = "expected compute in FLOP (e.g. `3e26 FLOP`)";
  double x = 0;
  std::string_view unit;
  if (std::string e = scan_quantity(text, expected, x, unit); !e.empty()) return fail<double>(e);
  if (unit == "FLOP") return {x, {}};
  if (unit.empty()) return fail<double>("missing unit; " + expected);
  return fail<double>("unknown unit `" + std::string(unit) + "`; " + expected);
}

Parsed<double> parse_number(std::string_view text) {
  std::string_view s = trim(text);
  if (s == ".nan" || s == ".NaN" || s == "nan" || s == ".inf" || s == "-.inf" || s == "inf")
    return fail<double>("must be a finite number");
  double x = 0;
  std::string_view rest;
  if (std::string e = scan_quantity(s, "expected a number", x, rest); !e.empty()) return fail<double>(e);
  if (!rest.empty()) {
    // `2^13`, `10^6`: a power written as people write one; say its value
    double e = 0;
    std::string_view after;
    if (rest.front() == '^' && scan_number(rest.substr(1), e, after) != Scan::none && trim(after).empty()) {
      const double power = std::pow(x, e);
      if (std::isfinite(power))
        return fail<double>("write the number itself, `" + format_number(power) + "`");
    }
    // `150%`: the number as a fraction, without saying what the key means by it (a growth rate
    // or a multiplier: docs/scenario.md says)
    if (trim(rest) == "%")
      return fail<double>("expected a plain number, without `%` (" + format_number(x) + "% is `" +
                          format_number(x / 100) + "`; docs/scenario.md says what this number means)");
    return fail<double>("expected a plain number, found unit text `" + std::string(rest) + "`");
  }
  return {x, {}};
}

std::string format_number(double x) {
  char buf[64];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, x);
  (void)ec;
  return std::string(buf, ptr);
}

std::string to_string(const Duration& d) {
  const char* u = "mo";
  switch (d.unit) {
    case Duration::Unit::day: u = "d"; break;
    case Duration::Unit::week: u = "w"; break;
    case Duration::Unit::month: u = "mo"; break;
    case Duration::Unit::quarter: u = "q"; break;
    case Duration::Unit::year: u = "y"; break;
  }
  return std::to_string(d.count) + u;
}

std::string format_power_mw(double mw) { return format_number(mw) + " MW"; }
std::string format_power_mw_per_year(double mw) { return format_number(mw) + " MW/y"; }
std::string format_money_usd(double usd) {
  std::string out = "$";  // appended, not `"$" + ...`: GCC 12 warns falsely on that (-Wrestrict)
  return out += format_number(usd);
}

bool split_number(const std::string& text, std::string& prefix, double& value, std::string& suffix) {
  size_t i = 0;
  while (i < text.size() && (text[i] == '$' || text[i] == ' ')) ++i;
  prefix = text.substr(0, i);
  const char* begin = text.data() + i;
  auto [p, ec] = std::from_chars(begin, text.data() + text.size(), value);
  if (ec != std::errc() || p == begin) return false;
  suffix = std::string(p, text.data() + text.size());
  // a date (`2025-01-01`, `2025-Q3`) is not a number with a unit
  return suffix.empty() || suffix[0] != '-';
}

bool number_with_unit(const std::string& text) {
  std::string prefix, suffix;
  double x = 0;
  if (!split_number(text, prefix, x, suffix)) return false;
  if (prefix.find('$') != std::string::npos) return true;  // money: `$2.10`, `$120B`
  const size_t u = suffix.find_first_not_of(' ');
  return u != std::string::npos && std::isalpha(static_cast<unsigned char>(suffix[u]));
}

}  // namespace gpumm
