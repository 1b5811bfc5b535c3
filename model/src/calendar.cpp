#include "gpumm/calendar.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>

namespace gpumm {

namespace bg = boost::gregorian;

std::string to_string(Step s) {
  switch (s) {
    case Step::week: return "week";
    case Step::month: return "month";
    case Step::quarter: return "quarter";
  }
  return "month";
}

bool parse_step(std::string_view text, Step& out) {
  if (text == "week") out = Step::week;
  else if (text == "month") out = Step::month;
  else if (text == "quarter") out = Step::quarter;
  else return false;
  return true;
}

namespace {

bool digits(std::string_view s, int& out) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  (void)p;
  return ec == std::errc();
}

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int month_length(int year, int month) {
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && leap(year) ? 29 : kDays[month - 1];
}

// Civil dates to and from days since 1970-01-01 (H. Hinnant's algorithms): the calendar's
// arithmetic runs on the hot path of a run, where Boost's checked conversions are costly.
long days_from_civil(long y, long m, long d) {
  y -= m <= 2;
  const long era = (y >= 0 ? y : y - 399) / 400;
  const long yoe = y - era * 400;
  const long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void civil_from_days(long z, long& y, long& m, long& d) {
  z += 719468;
  const long era = (z >= 0 ? z : z - 146096) / 146097;
  const long doe = z - era * 146097;
  const long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const long mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = yoe + era * 400 + (m <= 2);
}

const Date kEpoch(1970, 1, 1);

// The ISO date a date written another common way stands for, when it can only be that one:
// 2025/1/31 or 2025.1.31, 31.1.2025 (day first with dots), 1/31/2025 or 31/1/2025 when the day
// is past 12, 2025/01 or 1/2025; "" otherwise (3/4/2025 is March or April).
std::string iso_date_guess(std::string_view s) {
  // `Jan 2025`, `January 2025`, `2025 Jan`: the month
  if (const size_t space = s.find(' '); space != std::string_view::npos) {
    std::string_view a = s.substr(0, space), b = s.substr(space + 1);
    int y = 0;
    if (!digits(b, y) || b.size() != 4) std::swap(a, b);
    if (b.size() != 4 || !digits(b, y) || a.size() < 3) return "";
    static constexpr const char* kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                              "jul", "aug", "sep", "oct", "nov", "dec"};
    std::string m3;
    for (char c : a.substr(0, 3)) m3 += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (int m = 0; m < 12; ++m)
      if (m3 == kMonths[m]) {
        char buf[16];
        std::snprintf(buf, sizeof buf, "%04d-%02d", y, m + 1);
        return buf;
      }
    return "";
  }
  std::vector<std::string_view> parts;
  char sep = 0;
  size_t from = 0;
  for (size_t k = 0; k <= s.size(); ++k) {
    if (k < s.size() && std::isdigit(static_cast<unsigned char>(s[k]))) continue;
    if (k < s.size()) {
      if (s[k] != '-' && s[k] != '/' && s[k] != '.') return "";
      if (sep != 0 && s[k] != sep) return "";
      sep = s[k];
    }
    if (k == from || k - from > 4) return "";
    parts.push_back(s.substr(from, k - from));
    from = k + 1;
  }
  int v[3] = {0, 0, 0};
  for (size_t k = 0; k < parts.size() && k < 3; ++k)
    if (!digits(parts[k], v[k])) return "";
  int y = 0, m = 0, d = 0;
  if (parts.size() == 2) {
    if (parts[0].size() == 4) y = v[0], m = v[1];
    else if (parts[1].size() == 4) y = v[1], m = v[0];
    else return "";
    if (m < 1 || m > 12) return "";
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d-%02d", y, m);
    return buf;
  }
  if (parts.size() != 3) return "";
  if (parts[0].size() == 4) {
    y = v[0], m = v[1], d = v[2];
  } else if (parts[2].size() == 4) {
    y = v[2];
    if (sep == '.' || v[0] > 12) d = v[0], m = v[1];
    else if (v[1] > 12) m = v[0], d = v[1];
    else {  // month and day could be either way round: both
      char buf[64];
      std::snprintf(buf, sizeof buf, "%04d-%02d-%02d` or `%04d-%02d-%02d", y, v[0], v[1], y, v[1], v[0]);
      return v[0] >= 1 && v[1] >= 1 ? buf : "";
    }
  } else {
    return "";
  }
  if (m < 1 || m > 12 || d < 1 || d > 31) return "";
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
  return buf;
}
}  // namespace

Parsed<Date> parse_date(std::string_view s) {
  Parsed<Date> r;
  const auto expected = [s] {
    std::string e = "expected an ISO date `YYYY-MM-DD` (or `YYYY-MM`, `YYYY-Qn`)";
    if (const std::string guess = iso_date_guess(s); !guess.empty()) e += "; write `" + guess + "`";
    return e;
  };
  int y = 0, m = 0, d = 1;
  if (s.size() < 7 || s[4] != '-' || !digits(s.substr(0, 4), y)) {
    r.error = expected();
    return r;
  }
  if (s.size() == 7 && (s[5] == 'Q' || s[5] == 'q')) {
    int q = 0;
    if (!digits(s.substr(6, 1), q) || q < 1 || q > 4) {
      r.error = "quarter must be Q1 to Q4";
      return r;
    }
    m = 3 * (q - 1) + 1;
  } else if (s.size() == 7) {
    if (!digits(s.substr(5, 2), m)) {
      r.error = expected();
      return r;
    }
  } else if (s.size() == 10 && s[7] == '-') {
    if (!digits(s.substr(5, 2), m) || !digits(s.substr(8, 2), d)) {
      r.error = expected();
      return r;
    }
  } else {
    r.error = expected();
    return r;
  }
  if (y < 1900 || y > 2999) {
    r.error = "year must be between 1900 and 2999";
    return r;
  }
  if (m < 1 || m > 12) {
    r.error = "impossible date: month " + std::to_string(m);
    return r;
  }
  if (d < 1 || d > month_length(y, m)) {
    r.error = "impossible date: " + std::string(s) + " (that month has " +
              std::to_string(month_length(y, m)) + " days)";
    return r;
  }
  r.value = Date(static_cast<unsigned short>(y), static_cast<unsigned short>(m),
                 static_cast<unsigned short>(d));
  return r;
}

std::string to_iso(Date d) {
  if (d.is_special()) return "(no date)";  // never a crash in a message about a bad date
  char buf[32];  // room for any int, so that GCC's -Wformat-truncation has nothing to say at -O2
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", static_cast<int>(d.year()),
                static_cast<int>(d.month()), static_cast<int>(d.day()));
  return buf;
}

int days_in_year(int year) { return leap(year) ? 366 : 365; }

Date Calendar::add(Date d, const Duration& dur) {
  if (dur.unit == Duration::Unit::day) return d + bg::days(dur.count);
  if (dur.unit == Duration::Unit::week) return d + bg::days(7 * dur.count);
  long y0, m0, d0;
  civil_from_days(static_cast<long>((d - kEpoch).days()), y0, m0, d0);
  const long total = y0 * 12 + (m0 - 1) + dur.months();
  const long y = total / 12, m = total % 12 + 1;
  const long day = std::min<long>(d0, month_length(static_cast<int>(y), static_cast<int>(m)));
  return kEpoch + bg::days(days_from_civil(y, m, day));
}

Calendar::Calendar(Date start, Date end, Step step) : step_(step) {
  const Duration one = step == Step::week      ? Duration{1, Duration::Unit::week}
                       : step == Step::month   ? Duration{1, Duration::Unit::month}
                                               : Duration{1, Duration::Unit::quarter};
  Date s = start;
  // always at least one period, even when end < start (the loader rejects that case)
  do {
    Date next = add(s, one);
    Period p;
    p.start = s;
    p.last = next - bg::days(1);
    p.days = static_cast<int>((next - s).days());
    periods_.push_back(p);
    s = next;
  } while (s <= end);
  month_aligned_ = start.day() == 1 && (step_ != Step::quarter || (start.month() - 1) % 3 == 0);
}

int Calendar::index_of(Date d) const {
  if (d < periods_.front().start) return -1;
  if (d > periods_.back().last) return size();
  auto it = std::upper_bound(periods_.begin(), periods_.end(), d,
                             [](Date x, const Period& p) { return x < p.start; });
  return static_cast<int>(it - periods_.begin()) - 1;
}

int Calendar::first_starting_at_or_after(Date d) const {
  auto it = std::lower_bound(periods_.begin(), periods_.end(), d,
                             [](const Period& p, Date x) { return p.start < x; });
  return static_cast<int>(it - periods_.begin());
}

int Calendar::arrival_from_period(int t, const Duration& lead) const {
  const long months = lead.months();
  long ahead = -1;
  if (months >= 0 && month_aligned_ && step_ != Step::week) {
    const long per = step_ == Step::month ? 1 : 3;
    ahead = (months + per - 1) / per;
  } else if (months < 0 && step_ == Step::week) {
    const long days = lead.unit == Duration::Unit::week ? 7 * lead.count : lead.count;
    ahead = (days + 6) / 7;
  }
  if (ahead < 0) return arrival((*this)[t].start, lead);
  return static_cast<int>(std::min<long>(t + ahead, size()));
}

int Calendar::days_in_year(int t, int year) const {
  const Period& p = (*this)[t];
  Date a = std::max(p.start, Date(static_cast<unsigned short>(year), 1, 1));
  Date b = std::min(p.last, Date(static_cast<unsigned short>(year), 12, 31));
  if (b < a) return 0;
  return static_cast<int>((b - a).days()) + 1;
}

}  // namespace gpumm
