#include <doctest/doctest.h>

#include "gpumm/units.hpp"

using namespace gpumm;

TEST_CASE("units: durations carry their calendar unit") {
  CHECK(parse_duration("90d").value == Duration{90, Duration::Unit::day});
  CHECK(parse_duration("6w").value == Duration{6, Duration::Unit::week});
  CHECK(parse_duration("18mo").value == Duration{18, Duration::Unit::month});
  CHECK(parse_duration("2q").value == Duration{2, Duration::Unit::quarter});
  CHECK(parse_duration(" 3y ").value == Duration{3, Duration::Unit::year});
  CHECK(parse_duration("18mo").value.months() == 18);
  CHECK(parse_duration("2q").value.months() == 6);
  CHECK(parse_duration("6w").value.approx_days() == 42.0);
}

TEST_CASE("units: bad durations say what was expected") {
  CHECK(parse_duration("18").error.rfind("missing unit", 0) == 0);
  CHECK(parse_duration("18m").error == "ambiguous unit `m`; write `mo` for months (e.g. `18mo`)");
  CHECK(parse_duration("-3mo").error == "must be >= 0");
  CHECK(parse_duration("3 fortnights").error.rfind("unknown unit `fortnights`", 0) == 0);
  // units spelled out get the unit to write
  CHECK(parse_duration("18 months").error == "unknown unit `months`; write `18mo`");
  CHECK(parse_duration("18mos").error == "unknown unit `mos`; write `18mo`");
  CHECK(parse_duration("2 years").error == "unknown unit `years`; write `2y`");
  CHECK(parse_duration("90 days").error == "unknown unit `days`; write `90d`");
  // a fraction: whole units, in a smaller one when the duration is whole there
  CHECK(parse_duration("1.5y").error == "a duration counts whole units; write `18mo`");
  CHECK(parse_duration("1.5 years").error == "a duration counts whole units; write `18mo`");
  CHECK(parse_duration("0.5 weeks").error == "a duration counts whole units; write it in a smaller unit (days: `d`)");
  CHECK(parse_duration("2.5q").error == "a duration counts whole units; write it in a smaller unit (days: `d`)");
  CHECK(parse_duration("1.5w").error == "a duration counts whole units; write it in a smaller unit (days: `d`)");
  CHECK(parse_duration("2w").ok());
  CHECK(parse_duration("0.5w").error == "a duration counts whole units; write it in a smaller unit (days: `d`)");
  CHECK(parse_duration("1.5 w").error == "a duration counts whole units; write it in a smaller unit (days: `d`)");
  CHECK(parse_duration("3.0q").error == "a duration counts whole units; write `9mo`");
  CHECK(parse_duration("1.5").error.rfind("unknown unit `.5`", 0) == 0);
  CHECK_FALSE(parse_duration("mo").ok());
  CHECK_FALSE(parse_duration("1.5y").ok());
}

TEST_CASE("units: power in kW, MW, GW and per year") {
  CHECK(parse_power_mw("1.45 kW").value == doctest::Approx(0.00145));
  CHECK(parse_power_mw("250 MW").value == 250.0);
  CHECK(parse_power_mw("1.2 GW").value == doctest::Approx(1200.0));
  CHECK(parse_power_mw("250").error.rfind("missing unit", 0) == 0);
  CHECK(parse_power_mw("250 mw").error.rfind("unknown unit `mw`", 0) == 0);
  CHECK(parse_power_mw_per_year("4 GW/y").value == 4000.0);
  CHECK(parse_power_mw_per_year("4 GW").error.rfind("missing `/y`", 0) == 0);
}

TEST_CASE("units: money, compute and plain numbers") {
  CHECK(parse_money_usd("$14.2B").value == doctest::Approx(14.2e9));
  CHECK(parse_money_usd("$25000").value == 25000.0);
  CHECK(parse_money_usd("$10M").value == 10e6);
  CHECK(parse_money_usd("$2k").value == 2000.0);
  CHECK(parse_money_usd("14B").error == "missing `$`; write `$14B`");
  // a negative amount is not offered back with a `$`: no money in a scenario is negative
  for (const char* negative : {"-5", "-5B", "-2.5 USD"}) {
    CAPTURE(negative);
    CHECK(parse_money_usd(negative).error ==
          "missing `$`; and money is never negative here: a budget, price or cost is at least `$0`");
    CHECK(parse_price_usd(negative).error ==
          "missing `$`; and money is never negative here: a budget, price or cost is at least `$0`");
  }
  // money written the ways people write it: said the way gpumm writes it
  CHECK(parse_money_usd("20B USD").error == "missing `$`; write `$20B`");
  CHECK(parse_money_usd("USD 20B").error == "missing `$`; write `$20B`");
  CHECK(parse_money_usd("20 billion dollars").error == "missing `$`; write `$20B`");
  CHECK(parse_money_usd("20e9").error == "missing `$`; write `$20e9`");
  // a number alone could be dollars or a budget in billions: both are offered, not a guess
  CHECK(parse_money_usd("200").error == "missing `$`; write `$200` for dollars, or with a scale: `$200k`, `$200M`, `$200B`");
  // a price per hour, kWh or million tokens is not a budget: dollars alone
  CHECK(parse_price_usd("2.5").error == "missing `$`; write `$2.5`");
  CHECK(parse_price_usd("$2.10").value == 2.10);
  CHECK(parse_price_usd("2.5 USD").error == "missing `$`; write `$2.5`");
  CHECK(parse_money_usd("72 $B").error == "the `$` goes before the number; write `$72B`");
  CHECK(parse_money_usd("72$").error == "the `$` goes before the number; write `$72`");
  CHECK(parse_money_usd("$20bn").error == "unknown unit `bn`; write `$20B`");
  CHECK(parse_money_usd("$20 billion").error == "unknown unit `billion`; write `$20B`");
  CHECK(parse_money_usd("$20b").error == "unknown unit `b`; write `$20B`");
  CHECK(parse_money_usd("$20 mn").error == "unknown unit `mn`; write `$20M`");
  CHECK(parse_money_usd("$1.5tn").error == "unknown unit `tn`; write `$1.5T`");
  CHECK(parse_money_usd("$300 thousand").error == "unknown unit `thousand`; write `$300k`");
  CHECK(parse_money_usd("$20Bn USD").error == "unknown unit `Bn USD`; write `$20B`");
  const std::string expected = "expected money in dollars: $, $k, $M, $B or $T (e.g. `$14.2B`)";
  CHECK(parse_money_usd("$20 apples").error == "unknown unit `apples`; " + expected);
  CHECK(parse_money_usd("20 apples").error == "missing `$`; " + expected);
  CHECK(parse_money_usd("72 $X").error == "the `$` goes before the number; " + expected);
  CHECK(parse_money_usd("twenty").error == expected);
  CHECK(parse_flop("3e26 FLOP").value == 3e26);
  CHECK(parse_flop("3e26").error.rfind("missing unit", 0) == 0);
  CHECK(parse_number("1.25").value == 1.25);
  CHECK(parse_number(".nan").error == "must be a finite number");
  CHECK(parse_number(".inf").error == "must be a finite number");
  CHECK(parse_number("abc").error == "expected a number");
  // a number a double cannot hold is out of range, in every quantity
  for (const char* big : {"1e999", "-1e400", "1e-400"})
    CHECK(parse_number(big).error.rfind("number out of range", 0) == 0);
  CHECK(parse_money_usd("$1e400B").error.rfind("number out of range", 0) == 0);
  CHECK(parse_power_mw("1e400 MW").error.rfind("number out of range", 0) == 0);
  CHECK(parse_power_mw_per_year("1e400 GW/y").error.rfind("number out of range", 0) == 0);
  CHECK(parse_flop("1e400 FLOP").error.rfind("number out of range", 0) == 0);
  CHECK(parse_number("0e-400").value == 0.0);
  CHECK(parse_number("12 MW").error == "expected a plain number, found unit text `MW`");
  CHECK(parse_number("150%").error ==
        "expected a plain number, without `%` (150% is `1.5`; docs/scenario.md says what this number means)");
  CHECK(parse_number("2.5 %").error ==
        "expected a plain number, without `%` (2.5% is `0.025`; docs/scenario.md says what this number means)");
  // a power as people write one: its value offered
  CHECK(parse_number("2^13").error == "write the number itself, `8192`");
  CHECK(parse_number("10^-3").error == "write the number itself, `0.001`");
  CHECK(parse_number("10^400").error == "expected a plain number, found unit text `^400`");
  CHECK(parse_number("2^x").error == "expected a plain number, found unit text `^x`");
}

TEST_CASE("units: thousands separators and decimal commas are refused with the number as it should be written") {
  const std::string thousands = "thousands separators are not read; write the number without them ";
  CHECK(parse_number("2,000,000").error == thousands + "(`2000000`)");
  CHECK(parse_number("1_200").error == thousands + "(`1200`)");
  CHECK(parse_money_usd("$150,500M").error == thousands + "(`150500`)");
  CHECK(parse_power_mw("1,200 MW").error == thousands + "(`1200`)");
  CHECK(parse_flop("3,000e23 FLOP").error == thousands + "(`3000e23`)");
  CHECK(parse_number("2,000.5").error == thousands + "(`2000.5`)");
  CHECK(parse_number("1,25").error == "decimals are written with `.`, not `,` (`1.25`)");
  CHECK(parse_number("0,8").error == "decimals are written with `.`, not `,` (`0.8`)");
  // neither: the unit text as it is
  CHECK(parse_number("1,2,3").error == "expected a plain number, found unit text `,2,3`");
  CHECK(parse_number("2,0000").error == "decimals are written with `.`, not `,` (`2.0000`)");
}

TEST_CASE("units: formatting round-trips exactly") {
  for (double x : {0.1, 1.0 / 3.0, 123456789.125, 2.9e7, 1e-9}) {
    CHECK(parse_number(format_number(x)).value == x);
    CHECK(parse_power_mw(format_power_mw(x)).value == x);
    CHECK(parse_money_usd(format_money_usd(x)).value == x);
  }
  CHECK(to_string(Duration{18, Duration::Unit::month}) == "18mo");
}

TEST_CASE("units: the number inside a scalar, and whether a unit follows it") {
  std::string prefix, suffix;
  double x = 0;
  CHECK(split_number("$135B", prefix, x, suffix));
  CHECK(prefix == "$");
  CHECK(x == 135);
  CHECK(suffix == "B");
  CHECK(split_number("1.2 GW", prefix, x, suffix));
  CHECK(prefix.empty());
  CHECK(x == 1.2);
  CHECK(suffix == " GW");
  CHECK(split_number("0.5", prefix, x, suffix));
  CHECK(suffix.empty());
  CHECK_FALSE(split_number("2025-01-01", prefix, x, suffix));  // a date
  CHECK_FALSE(split_number("GW", prefix, x, suffix));
  CHECK(number_with_unit("$120B"));
  CHECK(number_with_unit("$2.10"));  // money without a scale: a price
  CHECK(number_with_unit("$ 3"));
  CHECK(number_with_unit("12mo"));
  CHECK(number_with_unit("6 GW/y"));
  CHECK_FALSE(number_with_unit("120"));
  CHECK_FALSE(number_with_unit("1e5"));
  CHECK_FALSE(number_with_unit("2025-Q3"));
  CHECK_FALSE(number_with_unit("12%"));  // not a unit: a share is read as one and refused there
}
