#pragma once
// The simulation calendar (DESIGN §1): periods of a week, a month or a quarter between a start
// and an end date, on boost::gregorian dates. Inside the step a period is an integer index;
// dates live only at the edges (loading, this calendar, writing).
#include <boost/date_time/gregorian/gregorian.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "gpumm/units.hpp"

namespace gpumm {

using Date = boost::gregorian::date;

enum class Step { week, month, quarter };
std::string to_string(Step s);
/// `week`, `month` or `quarter`; false when `text` is none of them.
bool parse_step(std::string_view text, Step& out);

/// Parse `YYYY-MM-DD`, `YYYY-MM` (first of the month) or `YYYY-Qn` (first day of the quarter).
/// Impossible dates (2023-02-30) are errors.
Parsed<Date> parse_date(std::string_view text);
/// ISO `YYYY-MM-DD`.
std::string to_iso(Date d);

/// One period: first day, last day (inclusive) and its length in days.
struct Period {
  Date start;
  Date last;
  int days = 0;
  /// Its length in months of 365.2425 / 12 days: what H100e-months weigh a period's H100e by.
  double months() const { return days / (365.2425 / 12.0); }
};

class Calendar {
 public:
  /// Periods start at `start` and follow each other until the one that contains `end`.
  /// A month step needs `start` on the first of a month, a quarter step on the first day of a
  /// quarter (the loader checks and says so); a week step may start on any day.
  Calendar(Date start, Date end, Step step);

  int size() const { return static_cast<int>(periods_.size()); }
  const Period& operator[](int t) const { return periods_[static_cast<size_t>(t)]; }
  Step step() const { return step_; }
  Date start() const { return periods_.front().start; }
  /// Day after the last period: the end of the horizon (exclusive).
  Date horizon_end() const { return periods_.back().last + boost::gregorian::days(1); }

  /// Index of the period that contains `d`; -1 before the start, size() after the horizon.
  int index_of(Date d) const;
  /// Index of the first period that starts on or after `d`: a stock that becomes available on
  /// `d` counts from that period on. 0 for dates at or before the start; size() past the horizon.
  int first_starting_at_or_after(Date d) const;
  /// Period in which something committed on `commit` with lead time `lead` becomes available.
  int arrival(Date commit, const Duration& lead) const {
    return first_starting_at_or_after(add(commit, lead));
  }
  /// Period in which something committed at the start of period `t` with lead time `lead`
  /// becomes available; the same as `arrival(operator[](t).start, lead)`, without date
  /// arithmetic when the step and the lead's unit allow it (the simulation's hot path).
  int arrival_from_period(int t, const Duration& lead) const;
  /// Number of days of period `t` that fall in calendar year `year`.
  int days_in_year(int t, int year) const;

  /// Calendar arithmetic: days and weeks exactly; months, quarters and years by month with the
  /// day clamped to the month's length (2024-01-31 + 1mo = 2024-02-29).
  static Date add(Date d, const Duration& dur);

 private:
  Step step_;
  std::vector<Period> periods_;
  bool month_aligned_ = false;  // periods start on the first of a month (of a quarter)
};

/// Days in calendar year `year` (365 or 366).
int days_in_year(int year);

}  // namespace gpumm
