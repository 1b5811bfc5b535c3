#include <doctest/doctest.h>

#include "gpumm/calendar.hpp"

using namespace gpumm;
namespace bg = boost::gregorian;

namespace {
Date d(const char* s) { return parse_date(s).value; }
}  // namespace

TEST_CASE("calendar: monthly periods have their actual lengths") {
  Calendar cal(d("2024-01-01"), d("2024-12-31"), Step::month);
  REQUIRE(cal.size() == 12);
  CHECK(cal[0].days == 31);
  CHECK(cal[1].days == 29);  // leap year
  CHECK(cal[1].last == d("2024-02-29"));
  CHECK(cal[11].start == d("2024-12-01"));
  CHECK(cal.horizon_end() == d("2025-01-01"));
}

TEST_CASE("calendar: quarterly and weekly periods") {
  Calendar q(d("2023-01-01"), d("2023-12-31"), Step::quarter);
  REQUIRE(q.size() == 4);
  CHECK(q[0].days == 90);
  CHECK(q[1].days == 91);
  CHECK(q[2].days == 92);
  CHECK(q[3].days == 92);
  Calendar w(d("2024-01-01"), d("2024-01-31"), Step::week);
  CHECK(w.size() == 5);  // the last week contains Jan 29-31 and runs to Feb 4
  CHECK(w[4].start == d("2024-01-29"));
  for (int t = 0; t < w.size(); ++t) CHECK(w[t].days == 7);
}

TEST_CASE("calendar: the last period is the one that contains the end date") {
  Calendar cal(d("2024-01-01"), d("2024-03-15"), Step::month);
  CHECK(cal.size() == 3);
  CHECK(cal[2].last == d("2024-03-31"));
}

TEST_CASE("calendar: adding durations") {
  CHECK(Calendar::add(d("2024-01-31"), {1, Duration::Unit::month}) == d("2024-02-29"));
  CHECK(Calendar::add(d("2023-01-31"), {1, Duration::Unit::month}) == d("2023-02-28"));
  CHECK(Calendar::add(d("2024-01-15"), {18, Duration::Unit::month}) == d("2025-07-15"));
  CHECK(Calendar::add(d("2024-01-01"), {2, Duration::Unit::quarter}) == d("2024-07-01"));
  CHECK(Calendar::add(d("2024-02-29"), {1, Duration::Unit::year}) == d("2025-02-28"));
  CHECK(Calendar::add(d("2024-01-01"), {90, Duration::Unit::day}) == d("2024-03-31"));
  CHECK(Calendar::add(d("2024-01-01"), {6, Duration::Unit::week}) == d("2024-02-12"));
}

TEST_CASE("calendar: a tranche committed at period t arrives at t + lead time, for every step") {
  SUBCASE("month") {
    Calendar cal(d("2024-01-01"), d("2027-12-31"), Step::month);
    for (int t : {0, 5, 11, 20})
      CHECK(cal.arrival(cal[t].start, {18, Duration::Unit::month}) == t + 18);
  }
  SUBCASE("quarter") {
    Calendar cal(d("2024-01-01"), d("2030-12-31"), Step::quarter);
    for (int t : {0, 3, 7})
      CHECK(cal.arrival(cal[t].start, {2, Duration::Unit::quarter}) == t + 2);
    CHECK(cal.arrival(cal[1].start, {3, Duration::Unit::year}) == 13);
  }
  SUBCASE("week") {
    Calendar cal(d("2024-01-01"), d("2025-12-31"), Step::week);
    for (int t : {0, 9, 40})
      CHECK(cal.arrival(cal[t].start, {6, Duration::Unit::week}) == t + 6);
    CHECK(cal.arrival(cal[2].start, {21, Duration::Unit::day}) == 5);
  }
}

TEST_CASE("calendar: arrival mid-period counts from the next period, past the horizon is size()") {
  Calendar cal(d("2024-01-01"), d("2024-12-31"), Step::month);
  CHECK(cal.arrival(d("2024-01-10"), {1, Duration::Unit::month}) == 2);  // 2024-02-10 -> March
  CHECK(cal.arrival(d("2023-01-01"), {6, Duration::Unit::month}) == 0);  // already there
  CHECK(cal.arrival(d("2024-06-01"), {1, Duration::Unit::year}) == cal.size());
  CHECK(cal.index_of(d("2023-12-31")) == -1);
  CHECK(cal.index_of(d("2024-02-29")) == 1);
  CHECK(cal.index_of(d("2025-01-01")) == cal.size());
}

TEST_CASE("calendar: days of a period within a year") {
  Calendar cal(d("2024-12-23"), d("2025-01-31"), Step::week);
  // week of 2024-12-30 .. 2025-01-05: 2 days in 2024, 5 in 2025
  CHECK(cal.days_in_year(1, 2024) == 2);
  CHECK(cal.days_in_year(1, 2025) == 5);
  CHECK(days_in_year(2024) == 366);
  CHECK(days_in_year(2100) == 365);
}

TEST_CASE("calendar: parse_date accepts ISO days, months and quarters and rejects impossible dates") {
  CHECK(parse_date("2024-02-29").value == Date(2024, 2, 29));
  CHECK(parse_date("2024-03").value == Date(2024, 3, 1));
  CHECK(parse_date("2024-Q3").value == Date(2024, 7, 1));
  CHECK(parse_date("2023-02-29").error == "impossible date: 2023-02-29 (that month has 28 days)");
  CHECK(parse_date("2023-13-01").error == "impossible date: month 13");
  CHECK(parse_date("2024-Q5").error == "quarter must be Q1 to Q4");
  CHECK_FALSE(parse_date("01/02/2024").ok());
  CHECK_FALSE(parse_date("2024-1-1").ok());
  CHECK(to_iso(Date(2024, 7, 1)) == "2024-07-01");
}

TEST_CASE("calendar: steps round-trip through text") {
  for (Step s : {Step::week, Step::month, Step::quarter}) {
    Step back;
    REQUIRE(parse_step(to_string(s), back));
    CHECK(back == s);
  }
  Step x;
  CHECK_FALSE(parse_step("monthly", x));
}

TEST_CASE("calendar: arrival from a period start agrees with date arithmetic") {
  for (Step step : {Step::week, Step::month, Step::quarter}) {
    Calendar cal(Date(2024, 1, 1), Date(2030, 12, 31), step);
    for (Duration lead : {Duration{0, Duration::Unit::month}, Duration{1, Duration::Unit::month},
                          Duration{18, Duration::Unit::month}, Duration{2, Duration::Unit::quarter},
                          Duration{6, Duration::Unit::year}, Duration{90, Duration::Unit::day},
                          Duration{6, Duration::Unit::week}, Duration{10, Duration::Unit::year}})
      for (int t = 0; t < cal.size(); t += 5) {
        CAPTURE(t);
        CHECK(cal.arrival_from_period(t, lead) == cal.arrival(cal[t].start, lead));
      }
  }
}

TEST_CASE("calendar: a date written another common way is refused with the ISO date it stands for") {
  const std::string expected = "expected an ISO date `YYYY-MM-DD` (or `YYYY-MM`, `YYYY-Qn`)";
  CHECK(parse_date("2025/01/31").error == expected + "; write `2025-01-31`");
  CHECK(parse_date("2025-1-1").error == expected + "; write `2025-01-01`");
  CHECK(parse_date("2025.3.4").error == expected + "; write `2025-03-04`");
  CHECK(parse_date("01.02.2025").error == expected + "; write `2025-02-01`");  // day first with dots
  CHECK(parse_date("1/31/2025").error == expected + "; write `2025-01-31`");   // the day is past 12
  CHECK(parse_date("31/1/2025").error == expected + "; write `2025-01-31`");
  CHECK(parse_date("3/4/2025").error == expected + "; write `2025-03-04` or `2025-04-03`");
  CHECK(parse_date("2025/03").error == expected + "; write `2025-03`");
  CHECK(parse_date("3/2025").error == expected + "; write `2025-03`");
  CHECK(parse_date("Jan 2025").error == expected + "; write `2025-01`");
  CHECK(parse_date("September 2025").error == expected + "; write `2025-09`");
  CHECK(parse_date("2025 Sep").error == expected + "; write `2025-09`");
  // nothing to suggest
  CHECK(parse_date("yesterday").error == expected);
  CHECK(parse_date("Foo 2025").error == expected);
  CHECK(parse_date("13/13/2025").error == expected);
  CHECK(parse_date("2025/1-1").error == expected);
  CHECK(parse_date("12345/1/1").error == expected);
  // the ISO shape with other than digits where the month or the day go, or too long
  CHECK(parse_date("2025-ab").error == expected);
  CHECK(parse_date("2025-01-3x").error == expected);
  CHECK(parse_date("2025-01-031").error == expected + "; write `2025-01-31`");
  CHECK(parse_date("2025-13").error == "impossible date: month 13");
  CHECK(parse_date("1850-01-01").error == "year must be between 1900 and 2999");
}
