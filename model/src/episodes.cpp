#include "gpumm/episodes.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <mutex>
#include <stdexcept>

#include "gpumm/io.hpp"
#include "gpumm/market.hpp"
#include "gpumm/sensitivity.hpp"
#include "parallel.hpp"

namespace gpumm {

namespace {
// The series the diagnosis reads: relative balance and market utilization per period.
struct RunSeries {
  std::vector<double> relative_balance, utilization;
  explicit RunSeries(const RunResult& r) {
    for (const PeriodSummary& p : r.periods) {
      relative_balance.push_back(p.relative_balance());
      utilization.push_back(p.utilization());
    }
  }
};
}  // namespace

SeriesDiagnosis diagnose_run(const Scenario& s, const RunResult& r) {
  const RunSeries x(r);
  return diagnose_series(x.relative_balance, x.utilization, resolve_defaults(s.diagnosis, s.step));
}

SeriesDiagnosis diagnose_run_revised(const Scenario& s, const RunResult& r) {
  const RunSeries x(r);
  SeriesDiagnosis d = diagnose_series(x.relative_balance, x.utilization, resolve_defaults(s.diagnosis, s.step));
  revise_trend(d, x.relative_balance, x.utilization, revision_lookahead(s.step));
  return d;
}

const char* largest_cause(const CauseNumbers& x) {
  return kSpareCauses[static_cast<size_t>(std::max_element(x.begin(), x.end()) - x.begin())].id;
}

void add_causes(CauseNumbers& sum, const FirmRecord& rec, double weight) {
  for (size_t k = 0; k < sum.size(); ++k) sum[k] += rec.*kSpareCauses[k].per_period * weight;
}

std::string Episode::main_cause() const {
  CauseNumbers shares;
  for (size_t k = 0; k < shares.size(); ++k) shares[k] = this->*kSpareCauses[k].share;
  return largest_cause(shares);
}

std::vector<Episode> find_episodes(const Scenario& s, const RunResult& r, const SeriesDiagnosis& d,
                                   double min_share) {
  const int F = s.nfirm(), T = static_cast<int>(r.periods.size());
  std::vector<Episode> out;
  for (int f = 0; f < F; ++f) {
    Episode e;
    double idle_months = 0;
    CauseNumbers causes{};
    bool open = false;
    const auto close = [&] {
      if (!open) return;
      if (idle_months > 0)
        for (size_t k = 0; k < causes.size(); ++k) e.*kSpareCauses[k].share = causes[k] / idle_months;
      int shortage = 0;
      for (int t = e.first; t <= e.last; ++t) shortage += d.regimes[static_cast<size_t>(t)] == Regime::structural_shortage;
      e.shortage_share = static_cast<double>(shortage) / (e.last - e.first + 1);
      out.push_back(e);
      open = false;
    };
    for (int t = 0; t < T; ++t) {
      const FirmRecord& rec = r.firm_records[static_cast<size_t>(t * F + f)];
      const double b = rec.balance_h100e();
      const bool surplus = b > 0 && b > min_share * rec.deployed_h100e;
      if (!surplus) {
        close();
        continue;
      }
      const double months = r.calendar[t].months();
      if (!open) {
        e = Episode{};
        e.firm = f;
        e.first = t;
        idle_months = 0;
        causes.fill(0.0);
        open = true;
      }
      e.last = t;
      e.peak_h100e = std::max(e.peak_h100e, b);
      e.h100e_months += b * months;
      idle_months += rec.spare_h100e() * months;
      add_causes(causes, rec, months);
    }
    close();
  }
  return out;
}

const char* main_spare_cause(const FirmRecord& rec) {
  if (rec.spare_h100e() <= 0) return "";
  CauseNumbers h{};
  add_causes(h, rec, 1.0);
  return largest_cause(h);
}

SpareTotals spare_totals(const RunResult& r) {
  SpareTotals out;
  const size_t F = r.periods.empty() ? 0 : r.firm_records.size() / r.periods.size();
  for (size_t t = 0; t < r.periods.size(); ++t) {
    const double months = r.calendar[static_cast<int>(t)].months();
    for (size_t f = 0; f < F; ++f) {
      const FirmRecord& rec = r.firm_records[t * F + f];
      out.h100e_months += rec.spare_h100e() * months;
      add_causes(out.by_cause, rec, months);
    }
  }
  return out;
}

std::string SpareTotals::largest(int n) const {
  if (h100e_months <= 0) return "";
  std::array<size_t, std::size(kSpareCauses)> order;
  for (size_t k = 0; k < order.size(); ++k) order[k] = k;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return by_cause[a] > by_cause[b]; });
  std::string v;
  for (int k = 0; k < n && k < static_cast<int>(order.size()); ++k) {
    char share[16];
    std::snprintf(share, sizeof share, "%.0f%% ", 100 * by_cause[order[static_cast<size_t>(k)]] / h100e_months);
    if (!v.empty() && share == std::string_view("0% ")) break;  // the largest is never 0%; those after it may be
    v += (v.empty() ? "" : ", ") + std::string(share) + kSpareCauses[order[static_cast<size_t>(k)]].text;
  }
  return v;
}

namespace {
std::string num(double x) {
  x += 0.0;  // no "-0"
  if (std::abs(x) < 0.5) x = 0.0;
  char buf[32];
  if (std::abs(x) >= 1e6) std::snprintf(buf, sizeof buf, "%.2fM", x / 1e6);
  else if (std::abs(x) >= 1e3) std::snprintf(buf, sizeof buf, "%.1fk", x / 1e3);
  else std::snprintf(buf, sizeof buf, "%.0f", x);
  return buf;
}
std::string pct(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f%%", 100 * x);
  return buf;
}
std::string month(const Calendar& cal, int t) { return to_iso(cal[t].start).substr(0, 7); }
std::string end_month(const Calendar& cal, int t) { return to_iso(cal[t].last).substr(0, 7); }
// The period asked about, as a person would name it: `2027-06` for a month, `the quarter
// 2026-10 to 2026-12`, `the week 2026-10-05 to 2026-10-11`.
std::string period_words(const Calendar& cal, int t) {
  switch (cal.step()) {
    case Step::month: return month(cal, t);
    case Step::quarter: return "the quarter " + month(cal, t) + " to " + end_month(cal, t);
    case Step::week: return "the week " + to_iso(cal[t].start) + " to " + to_iso(cal[t].last);
  }
  return month(cal, t);
}
// "weak demand 80%, slipped training project 20%; 0%: take-or-pay excess, ...": the causes by
// their shares, largest first, then those whose share rounds to 0%, so that every cause is named
template <class ShareOf>
std::string causes_text(ShareOf share_of) {
  std::vector<const SpareCause*> order;
  for (const SpareCause& c : kSpareCauses) order.push_back(&c);
  std::stable_sort(order.begin(), order.end(),
                   [&](const SpareCause* a, const SpareCause* b) { return share_of(*a) > share_of(*b); });
  std::string some, none;
  for (const SpareCause* c : order) {
    const std::string share = pct(share_of(*c));
    if (share != "0%") some += (some.empty() ? "" : ", ") + std::string(c->text) + " " + share;
    else none += (none.empty() ? "" : ", ") + std::string(c->text);
  }
  return some + (none.empty() ? "" : (some.empty() ? "" : "; ") + std::string("0%: ") + none);
}
}  // namespace

SurplusAnswer surplus_answer(const FirmRecord& rec, Regime regime) {
  if (rec.balance_h100e() <= 0) return SurplusAnswer::no_surplus;
  return regime == Regime::oversupply ? SurplusAnswer::oversupply : SurplusAnswer::mismatch;
}

SeedSpread across_seeds(const Scenario& s, int firm, int t, int runs, int threads,
                        const std::function<void(int, int)>& progress) {
  if (runs < 1 || s.seed > kMaxSeed - static_cast<std::uint64_t>(runs - 1))
    throw std::invalid_argument("across_seeds: " + std::to_string(runs) + " seeds from " + std::to_string(s.seed) +
                                " pass the largest seed");
  SeedSpread out;
  out.first_seed = s.seed;
  out.runs = runs;
  out.balances.resize(static_cast<size_t>(runs));
  std::vector<SurplusAnswer> answers(static_cast<size_t>(runs)), answers_then(static_cast<size_t>(runs));
  std::vector<Regime> regimes(static_cast<size_t>(runs)), realtime(static_cast<size_t>(runs));
  std::vector<char> in_episode(static_cast<size_t>(runs), 0);
  std::mutex lock;
  int done = 0;
  detail::run_jobs(static_cast<size_t>(runs), threads, [&](size_t k) {
    Scenario run_of = s;
    run_of.seed = s.seed + k;
    const RunResult r = simulate(run_of);
    const SeriesDiagnosis d = diagnose_run_revised(run_of, r);
    const FirmRecord& rec = r.firm_records[static_cast<size_t>(t * s.nfirm() + firm)];
    regimes[k] = d.regimes[static_cast<size_t>(t)];
    realtime[k] = d.revision.realtime_regimes[static_cast<size_t>(t)];
    answers[k] = surplus_answer(rec, regimes[k]);
    answers_then[k] = surplus_answer(rec, realtime[k]);
    out.balances[k] = rec.balance_h100e();
    for (const Episode& e : find_episodes(run_of, r, d))
      if (e.firm == firm && e.first <= t && t <= e.last) in_episode[k] = 1;
    if (progress) {
      const std::lock_guard<std::mutex> hold(lock);
      progress(++done, runs);
    }
  });
  for (size_t k = 0; k < static_cast<size_t>(runs); ++k) {
    ++out.answers[static_cast<size_t>(answers[k])];
    ++out.answers_then[static_cast<size_t>(answers_then[k])];
    ++out.regimes[static_cast<size_t>(regimes[k])];
    ++out.realtime_regimes[static_cast<size_t>(realtime[k])];
    out.in_episode += in_episode[k];
  }
  return out;
}

std::string explain_across_seeds(const Scenario& s, const Calendar& cal, const SeedSpread& spread, int firm, int t) {
  const auto count = [](int n, const char* what) { return std::string(what) + " in " + std::to_string(n); };
  const auto& a = spread.answers;
  const auto regimes = [&](const std::array<int, 3>& g) {
    return count(g[static_cast<size_t>(Regime::structural_shortage)], "in structural shortage") + ", " +
           count(g[static_cast<size_t>(Regime::balanced)], "balanced") + ", " +
           count(g[static_cast<size_t>(Regime::oversupply)], "in oversupply");
  };
  std::vector<double> sorted = spread.balances;
  std::sort(sorted.begin(), sorted.end());
  const int no = a[static_cast<size_t>(SurplusAnswer::no_surplus)] + a[static_cast<size_t>(SurplusAnswer::mismatch)];
  // the answers an analyst would have given then, where the reading in real time changes some
  const int yes_then = spread.answers_then[static_cast<size_t>(SurplusAnswer::oversupply)];
  const std::string asked_then =
      yes_then == a[static_cast<size_t>(SurplusAnswer::oversupply)]
          ? ""
          : "Asked then, the answer would have been " + count(spread.runs - yes_then, "No") + ", " +
                count(yes_then, "Yes") + ". ";
  return "Across " + std::to_string(spread.runs) + " seeds (" + std::to_string(spread.first_seed) + " to " +
         std::to_string(spread.first_seed + static_cast<std::uint64_t>(spread.runs - 1)) +
         "; only the slips and random draws differ): " + count(no, "No") + " of " + std::to_string(spread.runs) + " (" +
         count(a[static_cast<size_t>(SurplusAnswer::mismatch)], "a local, temporary mismatch") + ", " +
         count(a[static_cast<size_t>(SurplusAnswer::no_surplus)], "no surplus") + "), " +
         count(a[static_cast<size_t>(SurplusAnswer::oversupply)], "Yes") + ". The market in " + period_words(cal, t) +
         ": " + regimes(spread.regimes) + "; read in real time, from the " + to_string(cal.step()) +
         "s up to then only: " + regimes(spread.realtime_regimes) + ". " + asked_then +
         s.firms[static_cast<size_t>(firm)].id + "'s balance then: P10 " + num(quantile_sorted(sorted, 0.1)) +
         ", median " + num(quantile_sorted(sorted, 0.5)) + ", P90 " + num(quantile_sorted(sorted, 0.9)) +
         " H100e; in a surplus episode in " + std::to_string(spread.in_episode) + " of the " +
         std::to_string(spread.runs) + " runs.\n";
}

std::string trend_revision_note(const Calendar& cal, const SeriesDiagnosis& d, int t) {
  const TrendRevision& rev = d.revision;
  if (rev.bound.empty() || t < rev.zone_start()) return "";
  const size_t i = static_cast<size_t>(t);
  const int before_end = cal.size() - 1 - t;
  const std::string steps = to_string(cal.step()) + "s";
  const std::string where = before_end == 0 ? "at the horizon's end" : count_text(before_end, to_string(cal.step())) + " before the horizon's end";
  std::string v = "The trend is provisional here, " + where + ": it rests on fewer later " + steps +
                  " and moves when the horizon is extended";
  if (!rev.measured())
    return v + ", by how much a run shorter than " + count_text(2 * rev.lookahead + 1, to_string(cal.step())) +
           " cannot measure (extending `end`, with the inputs of the added years, confirms the regime).\n";
  v += ".";
  const double moved = rev.bound[i], distance = std::abs(d.trend[i] - rev.threshold[i]);
  const bool may_change = rev.may_change(d.trend, i);
  char line[400];
  std::snprintf(line, sizeof line,
                " In this run a trend %s a cut-off end moved by up to %.1f%% of demand when two more years came "
                "after it; this one is %.1f points from the %s%.0f%% threshold, %s (extending `end`, with the "
                "inputs of the added years, confirms the regime).\n",
                before_end == 0 ? "at" : (count_text(before_end, to_string(cal.step())) + " before").c_str(), 100 * moved,
                100 * distance, rev.threshold[i] < 0 ? "-" : "+", 100 * d.settings.threshold,
                may_change ? "less than that: its regime may change"
                           : "more than that: a move as large as this run's past ones would not change its regime, but a "
                             "turn after the horizon could");
  return v + line;
}

std::string explain_surplus(const Scenario& s, const RunResult& r, const SeriesDiagnosis& d,
                            const std::vector<Episode>& episodes, int firm, int t) {
  const Calendar& cal = r.calendar;
  const int F = s.nfirm();
  const FirmRecord& rec = r.firm_records[static_cast<size_t>(t * F + firm)];
  const PeriodSummary& p = r.periods[static_cast<size_t>(t)];
  const std::string& id = s.firms[static_cast<size_t>(firm)].id;
  const Regime regime = d.regimes[static_cast<size_t>(t)];
  std::string v;
  // the answer first
  const SurplusAnswer answer = surplus_answer(rec, regime);
  if (answer == SurplusAnswer::no_surplus) {
    v += "No: " + id + " has no surplus in " + period_words(cal, t) + " (idle " + num(rec.idle_h100e) +
         " H100e, sold " + num(rec.sold_h100e) + ", unserved " + num(rec.unserved_h100e) + " H100e).\n";
  } else if (answer == SurplusAnswer::oversupply) {
    v += "Yes: " + id + "'s surplus in " + period_words(cal, t) +
         " comes during market oversupply: the structural balance is above the threshold and "
         "utilization is low.\n";
  } else {
    v += "No: " + id + "'s surplus in " + period_words(cal, t) + " is a local, temporary mismatch; the market is " +
         (regime == Regime::structural_shortage ? "in structural shortage" : "balanced") + ".\n";
  }
  // the evidence
  char line[400];
  std::snprintf(line, sizeof line,
                "\nMarket in %s: regime %s, structural balance (trend) %+.1f%% of demand, temporary "
                "component %+.1f%%, utilization %.0f%%, mismatch index %.2f (firms %.2f, regions "
                "%.2f, generations %.2f).\n",
                period_words(cal, t).c_str(), to_string(regime).c_str(), 100 * d.trend[static_cast<size_t>(t)],
                100 * d.temporary[static_cast<size_t>(t)], 100 * p.utilization(), p.mismatch_index,
                p.mismatch_firms, p.mismatch_regions, p.mismatch_generations);
  v += line;
  // what an analyst would have measured then, from the periods up to it only
  if (!d.revision.realtime.empty()) {
    const Regime then = d.revision.realtime_regimes[static_cast<size_t>(t)];
    std::snprintf(line, sizeof line, "Read in real time, from the %ss up to %s only, the trend was %+.1f%% of demand: regime %s%s.\n",
                  to_string(cal.step()).c_str(), period_words(cal, t).c_str(), 100 * d.revision.realtime[static_cast<size_t>(t)],
                  to_string(then).c_str(),
                  then == regime ? ", as after the fact" : (" then (" + to_string(regime) + " after the fact)").c_str());
    v += line;
    // beyond the threshold, yet no regime: a market too busy for oversupply, or too few periods
    // of that reading in a row so far
    const double now = d.revision.realtime[static_cast<size_t>(t)], theta = d.settings.threshold;
    const int run = d.revision.realtime_run[static_cast<size_t>(t)], need = d.settings.persistence;
    const std::string step = to_string(cal.step());
    if (then == Regime::balanced && now > theta && p.utilization() >= d.settings.utilization) {
      v += "That is above +" + pct(theta) + ", but the market's utilization was " + pct(p.utilization()) +
           ": oversupply needs it below " + pct(d.settings.utilization) + ".\n";
    } else if (then == Regime::balanced && run > 0 && run < need && t + 1 >= need) {
      const bool below = now < 0;
      v += "The trend of that reading was " + std::string(below ? "below -" : "above +") + pct(theta) +
           (below ? "" : " with utilization below " + pct(d.settings.utilization)) + " in its last " +
           (run == 1 ? step : count_text(run, step)) + " only: " + (below ? "a structural shortage" : "oversupply") +
           " needs " + count_text(need, step) + " in a row.\n";
    }
    // the answer an analyst would have given then, where the two readings part it
    const SurplusAnswer answered_then = surplus_answer(rec, then);
    if (answered_then == SurplusAnswer::oversupply && answer == SurplusAnswer::mismatch)
      v += "Asked then, from the " + step + "s up to " + period_words(cal, t) + " only, the answer would have been Yes: "
           "the surplus came during what read then as oversupply; the " + step + "s after show it was not.\n";
    else if (answered_then == SurplusAnswer::mismatch && answer == SurplusAnswer::oversupply)
      v += "Asked then, from the " + step + "s up to " + period_words(cal, t) + " only, the answer would have been No: "
           "the market read then as " + (then == Regime::structural_shortage ? "in structural shortage" : "balanced") +
           "; the " + step + "s after show it was in oversupply.\n";
  }
  v += trend_revision_note(cal, d, t);
  // the price, which a glut story reads first
  if (s.market.enabled) {
    const int year_ago = cal.index_of(Calendar::add(cal[t].start, Duration{-1, Duration::Unit::year}));
    const double spot = p.spot_usd_per_h100e_hour;
    const double before = r.periods[static_cast<size_t>(std::max(0, year_ago))].spot_usd_per_h100e_hour;
    std::snprintf(line, sizeof line, "Prices in %s: spot index $%.2f per H100e-hour, $%.2f %s; bids unmet on the market %s H100e.",
                  period_words(cal, t).c_str(), spot, before, year_ago >= 0 ? "a year earlier" : "at the start",
                  num(p.market_unmet_h100e).c_str());
    v += line;
    if (regime == Regime::structural_shortage && (spot < before || spot_at_floor(spot, s.market)))
      v.append(1, ' ').append(spot_in_shortage_note(s.market));
    v += "\n";
  }
  v += id + " then: deployed " + num(rec.deployed_h100e) + " H100e of its own; under contracts " +
       num(rec.contracted_in_h100e) + " in from sellers, " + num(rec.contracted_out_h100e) +
       " out to buyers; idle " + num(rec.idle_h100e) +
       ", sold on the market " + num(rec.sold_h100e) + ", unserved demand " + num(rec.unserved_h100e) +
       ", bought " + num(rec.bought_h100e) + ", balance " + num(rec.balance_h100e()) + ".\n";
  bool in_episode = false;
  for (const Episode& e : episodes) {
    if (e.firm != firm || t < e.first || t > e.last) continue;
    in_episode = true;
    v += "Surplus episode " + month(cal, e.first) + " to " + end_month(cal, e.last) + ": peak " + num(e.peak_h100e) +
         " H100e, " + num(e.h100e_months) + " H100e-months, " + pct(e.shortage_share) +
         " of it during structural shortage.\n";
    v += "Causes of the episode's spare capacity (idle or sold): " +
         causes_text([&](const SpareCause& c) { return e.*c.share; }) + ".\n";
  }
  // a surplus too small to be an episode still has its causes, this month's
  if (!in_episode && rec.balance_h100e() > 0 && rec.spare_h100e() > 0) {
    const double share = rec.deployed_h100e > 0 ? rec.balance_h100e() / rec.deployed_h100e : 1.0;
    char text[160];
    std::snprintf(text, sizeof text, "No surplus episode: the balance is %.2f%% of its deployed capacity, below the %.0f%% an episode needs.\n",
                  100 * share, 100 * kEpisodeMinShare);
    v += text;
  }
  // the period asked about: an episode's causes can shift over its years
  if (rec.balance_h100e() > 0 && rec.spare_h100e() > 0) {
    const double spare = rec.spare_h100e();
    // capacity sold is counted under what left it spare (a slip, a contract...) before it
    // counts as sold to firms short of capacity: said where the firm sold some, or "sold to firms
    // short of capacity 0%" beside what it sold reads as a contradiction
    const std::string how = rec.sold_h100e > 0 ? " (capacity sold counts under the cause that left it spare, such "
                                                 "as a slip or a contract; as sold to firms short of capacity only "
                                                 "when no such cause did)"
                                               : "";
    v += "Causes of this " + to_string(cal.step()) + "'s idle and sold capacity" + how + ": " +
         causes_text([&](const SpareCause& c) { return rec.*c.per_period / spare; }) + ".\n";
  }
  return v;
}

}  // namespace gpumm
