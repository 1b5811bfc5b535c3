#include "gpumm/demand.hpp"

#include <algorithm>
#include <cmath>

namespace gpumm {

double training_h100e(double flop, double mfu, double days) {
  if (flop <= 0 || mfu <= 0 || days <= 0) return 0.0;
  return flop / (kH100PeakFlops * mfu * days * 86400.0);
}

double project_h100e(const Project& p, const Scenario& s) {
  if (p.gpu_generation >= 0)
    return p.gpu_count * s.generations[static_cast<size_t>(p.gpu_generation)].train_h100e;
  const double days = static_cast<double>((Calendar::add(p.start, p.duration) - p.start).days());
  return training_h100e(p.flop, p.mfu, days);
}

namespace {
std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}
}  // namespace

double uniform01(std::uint64_t seed, std::uint64_t a, std::uint64_t b) {
  const std::uint64_t h = splitmix64(splitmix64(splitmix64(seed) ^ a) ^ (b * 0x9E3779B97F4A7C15ull));
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

std::uint64_t name_key(const std::string& name) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : name) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

double slip_days(const Delay& d, double u_happens, double u_size) {
  if (d.probability <= 0 || u_happens >= d.probability) return 0.0;
  const double mean = d.mean.approx_days();
  switch (d.distribution) {
    case Delay::Distribution::fixed: return mean;
    case Delay::Distribution::uniform: return 2.0 * mean * u_size;
    case Delay::Distribution::exponential: return -mean * std::log1p(-u_size);
  }
  return 0.0;
}

double years_between(Date from, Date to) {
  return static_cast<double>((to - from).days()) / 365.2425;
}

double GrowthPath::factor_by_year(Date from, Date to, double offset) const {
  const bool back = to < from;
  const Date a = back ? to : from, b = back ? from : to;
  // the number holding at a: the last year given at or before a's year, or the first
  auto next = by_year.upper_bound(a.year());
  double number = next == by_year.begin() ? next->second : std::prev(next)->second;
  if (next == by_year.begin()) ++next;  // the first year's number also holds before it
  double f = 1.0;
  Date from_here = a;
  for (; next != by_year.end(); ++next) {
    const Date change(static_cast<unsigned short>(next->first), 1, 1);
    if (!(change < b)) break;
    f *= std::pow(number + offset, years_between(from_here, change));
    from_here = change;
    number = next->second;
  }
  f *= std::pow(number + offset, years_between(from_here, b));
  return back ? 1.0 / f : f;
}

std::vector<Project> expand_program(const Program& p, const Scenario& s) {
  std::vector<Project> out;
  const Date until = p.until.value_or(s.end);
  const std::uint64_t key = name_key(p.id);
  for (long k = 0; k < 10000; ++k) {
    const Date nominal = Calendar::add(p.first_run, Duration{k * p.cadence.count, p.cadence.unit});
    if (until < nominal) break;
    if (p.cadence.count == 0 && k > 0) break;
    Project r;
    r.name = p.id + "-" + std::to_string(k + 1);
    r.program = p.id;
    r.firm = p.firm;
    // jitter: uniform in [-jitter, +jitter] days, drawn from (seed, program, run)
    const double j = p.jitter.approx_days() * (2.0 * uniform01(s.seed, key, static_cast<std::uint64_t>(3 * k)) - 1.0);
    r.start = nominal + boost::gregorian::days(static_cast<long>(std::lround(j)));
    r.flop = p.flop * p.growth_per_year.factor(p.first_run, nominal, 0.0);
    double days = p.duration.approx_days() * p.duration_growth_per_year.factor(p.first_run, nominal, 0.0);
    if (p.max_duration) days = std::min(days, p.max_duration->approx_days());
    r.duration = Duration{std::max(1L, std::lround(days)), Duration::Unit::day};
    r.mfu = p.mfu;
    r.placement = p.placement;
    r.delay = p.delay;
    out.push_back(std::move(r));
  }
  return out;
}

double other_h100e(const OtherDemand& od, Date d) {
  const auto& by_year = od.h100e_by_year;
  if (by_year.empty()) return 0.0;
  const auto mid = [](int y) { return Date(static_cast<unsigned short>(y), 7, 1); };
  const int year = d.year();
  if (year < by_year.begin()->first) return 0.0;
  // the mid-years on either side of d: (year - 1, year) before July 1, (year, year + 1) after
  const bool early = d < mid(year);
  auto next = by_year.lower_bound(early ? year : year + 1);  // first given year >= that
  if (next == by_year.begin()) {
    // before the first mid-year, from that year's January 1: the series grows into its first
    // value at the pace of its first change, geometrically as demand grows (held flat, it put
    // the first year's mid-year demand on January's smaller fleet); flat with one value or a 0
    const auto second = std::next(next);
    if (second == by_year.end() || next->second <= 0 || second->second <= 0) return next->second;
    const Date a = mid(next->first), b = mid(second->first);
    const double x = static_cast<double>((d - a).days()) / static_cast<double>((b - a).days());  // < 0
    return next->second * std::pow(second->second / next->second, x);
  }
  auto prev = std::prev(next);
  if (next == by_year.end()) return prev->second;             // after the last mid-year
  const Date a = mid(prev->first), b = mid(next->first);
  const double x = static_cast<double>((d - a).days()) / static_cast<double>((b - a).days());
  return prev->second + (next->second - prev->second) * x;
}

double service_users(const InferenceService& sv, Date d) {
  const double x = sv.users_steepness_per_year * years_between(sv.users_midpoint, d);
  return sv.users_saturation / (1.0 + std::exp(-x));
}

double service_tokens_per_user(const InferenceService& sv, Date d) {
  if (sv.tokens_growth_until && *sv.tokens_growth_until < d) d = *sv.tokens_growth_until;
  return sv.tokens_per_user_per_day * sv.tokens_growth_per_year.factor(sv.tokens_at, d, 1.0);
}

double service_throughput(const InferenceService& sv, Date d) {
  return sv.tokens_per_h100e_second *
         sv.throughput_gain_per_year.factor(sv.throughput_at, d, 1.0);
}

double service_price_factor(const InferenceService& sv, Date d) {
  if (sv.price_usd_per_mtok.empty() || sv.elasticity == 0 || sv.reference_usd_per_mtok <= 0) return 1.0;
  // the price of the period's year; before the first year given, the first; after, the last
  auto it = sv.price_usd_per_mtok.upper_bound(d.year());
  const double price = it == sv.price_usd_per_mtok.begin() ? it->second : std::prev(it)->second;
  return std::pow(price / sv.reference_usd_per_mtok, -sv.elasticity);
}

double service_launch_factor(const InferenceService& sv, const std::vector<Date>& launch_dates, Date d) {
  double f = 1.0;
  for (size_t i = 0; i < sv.launches.size() && i < launch_dates.size(); ++i) {
    const Launch& l = sv.launches[i];
    const Date at = launch_dates[i];
    if (d < at) continue;
    const double ramp_days = static_cast<double>((Calendar::add(at, l.ramp) - at).days());
    const double done = ramp_days <= 0 ? 1.0 : std::min(1.0, static_cast<double>((d - at).days()) / ramp_days);
    f *= 1.0 + (l.multiplier - 1.0) * done;
  }
  return f;
}

double service_tokens_per_day(const InferenceService& sv, Date d) {
  return service_users(sv, d) * service_tokens_per_user(sv, d) * service_price_factor(sv, d);
}

double service_h100e(const InferenceService& sv, double launch_factor, Date d) {
  const double tps = service_throughput(sv, d);
  if (tps <= 0) return 0.0;
  return service_tokens_per_day(sv, d) * launch_factor / 86400.0 / tps * sv.peak_to_average;
}

}  // namespace gpumm
