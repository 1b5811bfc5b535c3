#include "gpumm/simulate.hpp"

#include "event_queue.hpp"
#include "rounding.hpp"
#include "gpumm/demand.hpp"
#include "gpumm/diagnosis.hpp"
#include "gpumm/io.hpp"
#include "gpumm/market.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>
#include <set>

namespace gpumm {

namespace {

using detail::left_after;
using detail::units_left_after;

// Precomputation for one run: everything that depends only on the scenario and calendar.
struct Plan {
  const Scenario& s;
  const Calendar& cal;
  int F, R, G, N, T, ncell;
  std::vector<double> production;  // (G x T) units the ramp allows in each period
  std::vector<double> node_cap;    // (N x T) node units per period
  std::vector<int> due_at;         // (G x T) period in which an order placed in t falls due
  std::vector<int> retire_at;      // (G x T) period in which a delivery of t retires
  std::vector<int> port_due_at;    // (T) period in which ports ordered in t fall due
  std::vector<double> port_cap;    // (T) ports the world can supply per period; empty: unlimited
  std::vector<int> production_ends;  // (G) first period from which the ramp produces nothing
  int window = 2, due_window = 2, retire_window = 2;  // ring sizes of the event queues
  std::vector<double> gpu_usd, facility_usd;       // (F x T) capex spent per period
  std::vector<std::string> families;               // distinct generation families
  std::vector<int> gen_family;                     // (G) family index
  std::vector<std::vector<int>> eligible;          // (families x F) generations a firm may buy
  std::vector<std::vector<std::pair<int, double>>> firm_mix;  // (F) (family index, share)
  std::vector<long> ship_day, end_day;             // (G) first shipment, end of production
  std::vector<long> period_day;                    // (T) day number of each period's start
  std::vector<int> period_year;                    // (T) year of each period's start
  std::vector<std::vector<int>> groups;            // regions of each latency group
  std::vector<std::vector<std::pair<int, double>>> splits;  // ((G + 1) x F) region shares
  std::vector<int> deploy_order;   // generations, best H100e per kW first
  std::vector<int> rank;           // (G) position of each generation in deploy_order
  // capex per firm and year, net of what explicit orders and builds already spend
  std::vector<std::map<int, double>> gpu_budget, facility_budget;  // (F) year -> USD

  Plan(const Scenario& sc, const Calendar& c)
      : s(sc), cal(c), F(sc.nfirm()), R(sc.nregion()), G(sc.ngeneration()), N(sc.nnode()),
        T(c.size()), ncell(F * R) {
    production.resize(static_cast<size_t>(G * T));
    due_at.resize(static_cast<size_t>(G * T));
    retire_at.resize(static_cast<size_t>(G * T));
    std::vector<double> first_day(static_cast<size_t>(T));
    std::vector<int> year_days(static_cast<size_t>(T));
    for (int t = 0; t < T; ++t) {
      first_day[static_cast<size_t>(t)] = static_cast<double>(cal[t].start.day_number());
      year_days[static_cast<size_t>(t)] = days_in_year(cal[t].start.year());
    }
    for (int g = 0; g < G; ++g) {
      const Generation& gen = s.generations[static_cast<size_t>(g)];
      const ProductionRamp ramp(gen);
      for (int t = 0; t < T; ++t) {
        const size_t i = static_cast<size_t>(g * T + t);
        const double a = first_day[static_cast<size_t>(t)];
        production[i] = ramp.units(a, a + cal[t].days, year_days[static_cast<size_t>(t)]);
        due_at[i] = cal.arrival_from_period(t, gen.lead_time);
        retire_at[i] = cal.arrival_from_period(t, gen.useful_life);
      }
    }
    production_ends.assign(static_cast<size_t>(G), 0);
    for (int g = 0; g < G; ++g)
      for (int t = T - 1; t >= 0; --t)
        if (production[static_cast<size_t>(g * T + t)] > 0) {
          production_ends[static_cast<size_t>(g)] = t + 1;
          break;
        }
    node_cap.reserve(static_cast<size_t>(N * T));
    for (const UpstreamNode& n : s.nodes) {
      std::vector<double> c = node_capacity_per_period(n, cal);
      node_cap.insert(node_cap.end(), c.begin(), c.end());
    }
    if (s.network.supply) port_cap = node_capacity_per_period(*s.network.supply, cal);
    port_due_at.resize(static_cast<size_t>(T));
    for (int t = 0; t < T; ++t) port_due_at[static_cast<size_t>(t)] = cal.arrival_from_period(t, s.network.lead_time);

    // how far ahead the run schedules events, in periods: sizes of the rings (an event beyond
    // them still goes to their overflow lists)
    window = due_window = retire_window = 2;
    for (int g = 0; g < G && T > 0; ++g) {
      due_window = std::max(due_window, due_at[static_cast<size_t>(g * T)] + 2);
      retire_window = std::max(retire_window, retire_at[static_cast<size_t>(g * T)] + 2);
    }
    if (T > 0) due_window = std::max(due_window, port_due_at[0] + 2);
    for (const Firm& f : s.firms)
      window = std::max({window, cal.arrival_from_period(0, f.build_lead_time) + 2,
                         cal.arrival_from_period(0, f.build_time) + 2});
    due_window = std::min(due_window, T + 1);
    retire_window = std::min(retire_window, T + 1);
    window = std::min(window, T + 1);

    deploy_order.resize(static_cast<size_t>(G));
    std::iota(deploy_order.begin(), deploy_order.end(), 0);
    std::stable_sort(deploy_order.begin(), deploy_order.end(), [&](int a, int b) {
      const Generation& x = s.generations[static_cast<size_t>(a)];
      const Generation& y = s.generations[static_cast<size_t>(b)];
      const double ex = x.train_h100e / x.it_kw_per_gpu, ey = y.train_h100e / y.it_kw_per_gpu;
      if (ex != ey) return ex > ey;
      return y.first_shipment < x.first_shipment;
    });

    gpu_budget.resize(static_cast<size_t>(F));
    facility_budget.resize(static_cast<size_t>(F));
    for (int f = 0; f < F; ++f) {
      const Firm& firm = s.firms[static_cast<size_t>(f)];
      if (firm.capex_usd.empty()) continue;
      std::map<int, double> spent_gpus, spent_fac;
      const Date from = firm.capex_start.value_or(cal.start());
      for (const GpuOrder& o : firm.orders) {
        if (o.date < from) continue;
        const Generation& g = s.generations[static_cast<size_t>(o.generation)];
        spent_gpus[o.date.year()] += o.units * (g.price_usd + g.ports_per_gpu * s.costs.port_usd);
      }
      for (const Build& b : firm.builds)
        if (!(b.commit < from)) spent_fac[b.commit.year()] += b.power_mw * s.costs.facility_usd_per_mw;
      for (auto& [year, usd] : firm.capex_usd) {
        const double gpus = (firm.capex_split.gpus_share + firm.capex_split.network_share) * usd;
        gpu_budget[static_cast<size_t>(f)][year] = std::max(0.0, gpus - spent_gpus[year]);
        facility_budget[static_cast<size_t>(f)][year] =
            std::max(0.0, firm.capex_split.facilities_share * usd - spent_fac[year]);
      }
    }
    spread_budgets();
    split_regions();
    index_families();
    std::vector<std::string> names;
    for (int r = 0; r < R; ++r) {
      const std::string& lg = s.regions[static_cast<size_t>(r)].latency_group;
      auto it = std::find(names.begin(), names.end(), lg);
      if (it == names.end()) {
        names.push_back(lg);
        groups.push_back({r});
      } else {
        groups[static_cast<size_t>(it - names.begin())].push_back(r);
      }
    }
    rank.resize(static_cast<size_t>(G));
    for (int k = 0; k < G; ++k) rank[static_cast<size_t>(deploy_order[static_cast<size_t>(k)])] = k;
  }

  // Capex per firm and period, by actual days (F x T); zero before the firm's capex start.
  void spread_budgets() {
    share_years();
    gpu_usd.assign(static_cast<size_t>(F * T), 0.0);
    facility_usd.assign(static_cast<size_t>(F * T), 0.0);
    for (int f = 0; f < F; ++f) {
      const Firm& firm = s.firms[static_cast<size_t>(f)];
      if (firm.capex_usd.empty()) continue;
      for (int t = 0; t < T; ++t) {
        if (firm.capex_start && cal[t].last < *firm.capex_start) continue;
        gpu_usd[static_cast<size_t>(f * T + t)] = in_period(gpu_budget[static_cast<size_t>(f)], t);
        facility_usd[static_cast<size_t>(f * T + t)] = in_period(facility_budget[static_cast<size_t>(f)], t);
      }
    }
  }

  // The firm's region weights without the regions that exclude generation g (any region for
  // g = -1), renormalized; one list per (g + 1, firm).
  void split_regions() {
    splits.assign(static_cast<size_t>((G + 1) * F), {});
    for (int g = -1; g < G; ++g)
      for (int f = 0; f < F; ++f) {
        auto& out = splits[static_cast<size_t>((g + 1) * F + f)];
        double total = 0;
        const Firm& firm = s.firms[static_cast<size_t>(f)];
        for (int r = 0; r < R; ++r) {
          const double w = firm.region_weight[static_cast<size_t>(r)];
          if (w > 0 && (g < 0 || !excluded(r, g))) {
            out.emplace_back(r, w);
            total += w;
          }
        }
        for (auto& rw : out) rw.second /= total;
      }
  }

  // Spending of a yearly budget that falls in period t, by actual days. A period spans at
  // most two calendar years (a quarter at most), whose shares are computed once per period.
  struct YearShare {
    int year = 0;
    double share = 0;  // days of the period in `year` / days of `year`
  };
  std::vector<std::array<YearShare, 2>> year_shares;  // (T)

  void share_years() {
    year_shares.assign(static_cast<size_t>(T), {});
    for (int t = 0; t < T; ++t) {
      const int y0 = cal[t].start.year(), y1 = cal[t].last.year();
      for (int y = y0, k = 0; y <= y1 && k < 2; ++y, ++k)
        year_shares[static_cast<size_t>(t)][static_cast<size_t>(k)] =
            {y, static_cast<double>(cal.days_in_year(t, y)) / days_in_year(y)};
    }
  }

  double in_period(const std::map<int, double>& by_year, int t) const {
    double usd = 0.0;
    for (const YearShare& ys : year_shares[static_cast<size_t>(t)]) {
      if (ys.share == 0) continue;
      auto it = by_year.find(ys.year);
      if (it != by_year.end()) usd += it->second * ys.share;
    }
    return usd;
  }

  // What firm f buys of `family` when it orders in period t: each generation the firm may use
  // gets a share of the budget in proportion to what its ramp can produce in the period the
  // order falls due, so purchases follow the vendor's generation transitions. When nothing is
  // in production then, the newest generation already announced takes it all (and waits).
  // Writes (generation, share) pairs to `out`; leaves it empty when nothing can be bought.
  void family_mix_at(int family, int f, int t, std::vector<std::pair<int, double>>& out) const {
    out.clear();
    double total = 0.0;
    int newest = -1;
    const long today = period_day[static_cast<size_t>(t)];
    for (int g : eligible[static_cast<size_t>(family * F + f)]) {
      if (today >= end_day[static_cast<size_t>(g)]) continue;
      if (newest < 0 || ship_day[static_cast<size_t>(newest)] < ship_day[static_cast<size_t>(g)]) newest = g;
      const int due = due_at[static_cast<size_t>(g * T + t)];
      const double cap = due < T ? production[static_cast<size_t>(g * T + due)] : 0.0;
      if (cap > 0) {
        out.emplace_back(g, cap);
        total += cap;
      }
    }
    if (total > 0) {
      for (auto& gs : out) gs.second /= total;
    } else if (newest >= 0 && ship_day[static_cast<size_t>(newest)] <= today + 366) {
      out.emplace_back(newest, 1.0);
    }
  }

  // Generation families as small integers, and for each (family, firm) the generations of the
  // family that the firm may buy (merchant ones, and its own custom accelerators).
  void index_families() {
    for (const Generation& g : s.generations)
      if (std::find(families.begin(), families.end(), g.family) == families.end()) families.push_back(g.family);
    const int nfam = static_cast<int>(families.size());
    gen_family.resize(static_cast<size_t>(G));
    eligible.assign(static_cast<size_t>(nfam * F), {});
    ship_day.resize(static_cast<size_t>(G));
    end_day.resize(static_cast<size_t>(G));
    for (int g = 0; g < G; ++g) {
      const Generation& gen = s.generations[static_cast<size_t>(g)];
      const int fam = family_index(gen.family);
      gen_family[static_cast<size_t>(g)] = fam;
      ship_day[static_cast<size_t>(g)] = gen.first_shipment.day_number();
      end_day[static_cast<size_t>(g)] = gen.end_of_production ? static_cast<long>(gen.end_of_production->day_number())
                                                              : std::numeric_limits<long>::max();
      for (int f = 0; f < F; ++f)
        if (gen.custom_for < 0 || gen.custom_for == f) eligible[static_cast<size_t>(fam * F + f)].push_back(g);
    }
    period_day.resize(static_cast<size_t>(T));
    period_year.resize(static_cast<size_t>(T));
    for (int t = 0; t < T; ++t) {
      period_day[static_cast<size_t>(t)] = cal[t].start.day_number();
      period_year[static_cast<size_t>(t)] = cal[t].start.year();
    }
    firm_mix.assign(static_cast<size_t>(F), {});
    for (int f = 0; f < F; ++f)
      for (const auto& [family, share] : s.firms[static_cast<size_t>(f)].family_mix)
        firm_mix[static_cast<size_t>(f)].emplace_back(family_index(family), share);
  }
  int family_index(const std::string& family) const {
    return static_cast<int>(std::find(families.begin(), families.end(), family) - families.begin());
  }

  bool excluded(int r, int g) const {
    const auto& ex = s.regions[static_cast<size_t>(r)].excluded_generations;
    return std::find(ex.begin(), ex.end(), g) != ex.end();
  }
};

class Engine {
 public:
  Engine(const Scenario& s, const Calendar& cal) : s_(s), cal_(cal), p_(s, cal) {}

  RunResult run(const PeriodObserver& observer) {
    RunResult result{cal_, {}, {}, p_.deploy_order, {}, {}};
    init();
    if (s_.calibrated_step && *s_.calibrated_step != s_.step)
      warn_once(0, "uncalibrated_step",
                "the scenario was calibrated at a " + to_string(*s_.calibrated_step) + "ly step and runs by " +
                    to_string(s_.step) + "s: its prices, capex and regimes differ from the calibrated ones");
    // a year of capex outside the run is no error (a plan may run past the horizon), but a
    // changed number there changes nothing, which would otherwise go unseen
    if (const std::vector<UnspentCapex> unspent = unspent_capex(s_, cal_); !unspent.empty())
      warn_once(0, "capex_outside_run", describe_unspent_capex(s_, unspent));
    result.periods.reserve(static_cast<size_t>(p_.T));
    records_ = &result.firm_records;
    records_->assign(static_cast<size_t>(p_.T * p_.F), {});
    for (int t = 0; t < p_.T; ++t) {
      PeriodSummary sum;
      step(t, sum);
      result.periods.push_back(sum);
      st_.firm_records = records_->data() + static_cast<size_t>(t) * static_cast<size_t>(p_.F);
      if (observer) observer(t, st_, sum);
      st_.firm_records = nullptr;
    }
    result.warnings = std::move(warnings_);
    for (const ProjectRun& pr : runs_) result.projects.push_back(pr.out);
    return result;
  }

 private:
  size_t cg(int c, int g) const { return static_cast<size_t>(c * p_.G + g); }
  int cell(int f, int r) const { return f * p_.R + r; }

  void init() {
    const int T = p_.T, C = p_.ncell, G = p_.G;
    st_.ncell = C;
    st_.ngen = G;
    for (auto* v : {&st_.energized_mw, &st_.grid_queue_mw, &st_.it_built_mw, &st_.usable_it_mw,
                    &st_.ports, &st_.port_backlog})
      v->assign(static_cast<size_t>(C), 0.0);
    st_.power_binding.assign(static_cast<size_t>(C), Binding::power);
    for (auto* v : {&st_.installed, &st_.deployed, &st_.stranded, &st_.backlog, &st_.on_order,
                    &st_.ordered, &st_.delivered, &st_.retired, &st_.rolled_over})
      v->assign(static_cast<size_t>(C * G), 0.0);
    st_.stranded_by.assign(static_cast<size_t>(C * G), Binding::none);
    for (auto* v : {&st_.demand_training_h100e, &st_.demand_inference_h100e, &st_.demand_other_h100e,
                    &st_.unserved_h100e})
      v->assign(static_cast<size_t>(C), 0.0);
    for (auto* v : {&st_.used_training, &st_.used_inference, &st_.used_other})
      v->assign(static_cast<size_t>(C * G), 0.0);
    st_.idle.assign(static_cast<size_t>(C * G), 0.0);
    range_begin_.assign(static_cast<size_t>(C), 0);
    range_end_.assign(static_cast<size_t>(C), 0);
    rank_bits_.assign(static_cast<size_t>((G + 63) / 64), 0);
    cell_order_.assign(static_cast<size_t>(C * G), 0);
    cell_order_len_.assign(static_cast<size_t>(C), -1);  // -1: to be worked out
    st_.gen_bound_by.assign(static_cast<size_t>(G), -1);
    live_.assign(static_cast<size_t>(G), 0);
    pair_on_.assign(static_cast<size_t>(C * G), 0);
    sorted_upto_ = 0;
    train_h100e_.clear();
    infer_h100e_.clear();
    custom_gen_.clear();
    for (const Generation& g : s_.generations) {
      train_h100e_.push_back(g.train_h100e);
      infer_h100e_.push_back(g.infer_h100e);
      custom_gen_.push_back(g.custom_for >= 0);
    }
    pairs_.clear();
    dropped_.clear();
    ranges_stale_ = true;
    collect_cells();
    init_demand();
    init_market();
    st_.produced.assign(static_cast<size_t>(G), 0.0);
    for (auto* q : {&power_q_, &shell_q_}) q->reset(T, p_.window);
    explicit_.clear();
    next_explicit_ = 0;
    gpu_due_.reset(T, p_.due_window, C * G);
    retire_.reset(T, p_.retire_window, C * G);
    port_due_.reset(T, p_.due_window, C);

    double due_before_start = 0;  // GPUs of explicit orders due before the start
    Date first_due_before_start(boost::gregorian::not_a_date_time);
    for (int f = 0; f < p_.F; ++f) {
      const Firm& firm = s_.firms[static_cast<size_t>(f)];
      // power and shells in service at the start
      for (int r = 0; r < p_.R; ++r) {
        const double mw = firm.power_at_start_mw[static_cast<size_t>(r)];
        st_.energized_mw[static_cast<size_t>(cell(f, r))] += mw;
        st_.it_built_mw[static_cast<size_t>(cell(f, r))] += mw / s_.regions[static_cast<size_t>(r)].pue;
      }
      // the fleet at the start, split by region weight, dated at its generation's first shipment
      for (int g = 0; g < G; ++g) {
        const double units = firm.fleet_at_start[static_cast<size_t>(g)];
        if (units <= 0) continue;
        const Generation& gen = s_.generations[static_cast<size_t>(g)];
        const int retire = cal_.arrival(gen.first_shipment, gen.useful_life);
        for (auto [r, w] : region_split(f, g)) {
          const int c = cell(f, r);
          st_.installed[cg(c, g)] += units * w;
          mark_pair(c, g);
          st_.ports[static_cast<size_t>(c)] += units * w * gen.ports_per_gpu;
          retire_.add(0, retire, static_cast<int>(cg(c, g)), units * w);
        }
        st_.initial_total += units;
      }
      // explicit builds, discounted (or drawn) by their stage's completion probability
      for (size_t i = 0; i < firm.builds.size(); ++i) {
        const Build& b = firm.builds[i];
        const double p = s_.stages.of(b.stage);
        double mw = b.power_mw * p;
        if (s_.pipeline == PipelineMode::sampled)
          mw = uniform01(s_.seed, static_cast<std::uint64_t>(f), i) < p ? b.power_mw : 0.0;
        if (mw <= 0) continue;
        const Date ready = Calendar::add(b.commit, b.lead_time);
        const auto split = b.region >= 0 ? std::vector<std::pair<int, double>>{{b.region, 1.0}}
                                         : region_split(f, -1);
        for (auto [r, w] : split) {
          add_power(cell(f, r), mw * w, cal_.arrival(b.commit, b.lead_time),
                    !b.grid || ready < cal_.start());
          add_shell(cell(f, r), mw * w, cal_.arrival(b.commit, b.build_time));
        }
      }
      // explicit orders, placed in the period of their date (before the start: in period 0);
      // an order spread `over` a span is placed in slices of one calendar step
      for (const GpuOrder& o : firm.orders)
        for (auto [date, units] : order_slices(o))
          if (!place_explicit(f, o, date, units)) {
            due_before_start += units;
            if (first_due_before_start.is_not_a_date() || date < first_due_before_start) first_due_before_start = date;
          }
    }
    // orders that should have arrived before the run began arrive in it, from production as it
    // is then (a run started after its scenario's history): said, since its fleet looks wrong
    if (due_before_start > 0)
      warn_once(0, "orders_before_start",
                "orders for " + short_number(due_before_start) + " GPUs (the first dated " +
                    to_iso(first_due_before_start) + ") fall due before the start, " + to_iso(cal_.start()) +
                    ": they join the first period's backlog and wait for production then; a scenario that starts "
                    "after its orders would give those GPUs as fleet_at_start");
    for (auto* q : {&power_q_, &shell_q_}) q->seal();
    std::stable_sort(explicit_.begin(), explicit_.end(),
                     [](const Explicit& a, const Explicit& b) { return a.period < b.period; });
  }

  // Slices of an order: one per calendar step from its date until `over` has passed, each
  // with its share of the units by days.
  std::vector<std::pair<Date, double>> order_slices(const GpuOrder& o) const {
    if (o.over.count <= 0) return {{o.date, o.units}};
    const Duration step = cal_.step() == Step::week    ? Duration{1, Duration::Unit::week}
                          : cal_.step() == Step::month ? Duration{1, Duration::Unit::month}
                                                       : Duration{1, Duration::Unit::quarter};
    const Date end = Calendar::add(o.date, o.over);
    const double total_days = static_cast<double>((end - o.date).days());
    std::vector<std::pair<Date, double>> out;
    Date a = o.date;  // o.date + k steps
    for (long k = 0; a < end; ++k) {
      const Date next = Calendar::add(o.date, Duration{(k + 1) * step.count, step.unit});
      const Date b = std::min(end, next);
      out.emplace_back(a, o.units * static_cast<double>((b - a).days()) / total_days);
      a = next;
    }
    return out;
  }

  // Place a slice of an order; false when it falls due before the start (the run would have
  // had it delivered already).
  bool place_explicit(int f, const GpuOrder& o, Date date, double units) {
    const int placed = std::max(cal_.index_of(date), 0);
    if (placed >= p_.T) return true;
    const Generation& gen = s_.generations[static_cast<size_t>(o.generation)];
    // from a period's first day, the calendar counts periods instead of dates
    const bool at_start = cal_[placed].start == date;
    const Date due_date = at_start ? Date() : Calendar::add(date, gen.lead_time);
    const int due = at_start ? cal_.arrival_from_period(placed, gen.lead_time) : cal_.first_starting_at_or_after(due_date);
    const int port_due = at_start ? cal_.arrival_from_period(placed, s_.network.lead_time)
                                  : cal_.arrival(date, s_.network.lead_time);
    explicit_.push_back({placed, f, o.region, o.generation, units, due, port_due});
    return at_start || !(due_date < cal_.start());
  }

  // The firm's region weights, without regions that exclude generation g, renormalized.
  const std::vector<std::pair<int, double>>& region_split(int f, int g) const {
    return p_.splits[static_cast<size_t>((g + 1) * p_.F + f)];
  }

  void add_power(int c, double mw, int period, bool bypass) {
    power_q_.push(now_, period, {c, -1, mw, bypass, 0});
  }
  void add_shell(int c, double facility_mw, int period) {
    const double it_mw = facility_mw / s_.regions[static_cast<size_t>(c % p_.R)].pue;
    shell_q_.push(now_, period, {c, -1, it_mw, false, 0});
  }

  // An order of `units` of generation g for cell c placed in period t, due in period `due`
  // (one due after the last period stays on order to the end).
  void place_order(int t, int c, int g, double units, int due) {
    mark_pair(c, g);
    st_.ordered[cg(c, g)] += units;
    st_.ordered_total += units;
    st_.on_order[cg(c, g)] += units;
    if (due < p_.T) gpu_due_.add(t, due, static_cast<int>(cg(c, g)), units);
  }
  void place_ports(int t, int c, double ports, int due) {
    port_due_.add(t, due, c, ports);
  }


  // Sparsity: the step visits only the cells a firm can use and, within them, the (cell,
  // generation) pairs that hold stock or orders (`pairs_`, sorted by index), and the
  // generations that have any such pair (`live_gens_`, and `live_order_` in deployment order).
  void mark_pair(int c, int g) {
    const size_t i = cg(c, g);
    if (pair_on_[i]) return;
    pair_on_[i] = 1;
    cell_order_len_[static_cast<size_t>(c)] = -1;
    pairs_.push_back({static_cast<int>(i), c, g, c / p_.R, c % p_.R});
    pairs_sorted_ = false;
    ranges_stale_ = true;
    if (!live_[static_cast<size_t>(g)]) {
      live_[static_cast<size_t>(g)] = 1;
      live_changed_ = true;
    }
  }
  void collect_live() {
    if (!pairs_sorted_) {
      // pairs added since the last sort sit at the end: sort them and merge
      const auto by_index = [](const Pair& a, const Pair& b) { return a.i < b.i; };
      const auto tail = pairs_.begin() + static_cast<long>(sorted_upto_);
      std::sort(tail, pairs_.end(), by_index);
      std::inplace_merge(pairs_.begin(), tail, pairs_.end(), by_index);
      pairs_sorted_ = true;
    }
    sorted_upto_ = pairs_.size();
    if (!live_changed_) return;
    live_changed_ = false;
    live_gens_.clear();
    live_order_.clear();
    for (int g = 0; g < p_.G; ++g)
      if (live_[static_cast<size_t>(g)]) live_gens_.push_back(g);
    for (int g : p_.deploy_order)
      if (live_[static_cast<size_t>(g)]) live_order_.push_back(g);
  }
  // Drop pairs left with nothing installed, waiting or on order, and that contracts moved
  // nothing into this period (a buyer's pair comes back every period its contract is in force:
  // kept, it does not make the pairs be sorted and indexed again each period); their flows of
  // this period are zeroed at the start of the next.
  void drop_empty_pairs() {
    std::fill(live_.begin(), live_.end(), 0);
    size_t keep = 0, kept_sorted = 0;
    for (size_t n = 0; n < pairs_.size(); ++n) {
      const Pair p = pairs_[n];
      const size_t k = static_cast<size_t>(p.i);
      if (st_.installed[k] > 0 || st_.backlog[k] > 0 || st_.on_order[k] > 0 || st_.idle[k] > 0 ||
          st_.used_training[k] > 0 || st_.used_inference[k] > 0 || st_.used_other[k] > 0) {
        if (keep != n) pairs_[keep] = p;
        ++keep;
        if (n < sorted_upto_) ++kept_sorted;
        live_[static_cast<size_t>(p.g)] = 1;
      } else {
        pair_on_[k] = 0;
        cell_order_len_[static_cast<size_t>(p.c)] = -1;
        dropped_.push_back(p);
      }
    }
    if (keep < pairs_.size()) ranges_stale_ = true;
    pairs_.resize(keep);
    sorted_upto_ = kept_sorted;  // the kept part of the sorted prefix is still sorted
    if (kept_sorted < keep) pairs_sorted_ = false;
    live_changed_ = true;
  }
  void collect_cells() {
    std::vector<char> used(static_cast<size_t>(p_.ncell), 0);
    for (int f = 0; f < p_.F; ++f) {
      const Firm& firm = s_.firms[static_cast<size_t>(f)];
      for (int r = 0; r < p_.R; ++r)
        if (firm.region_weight[static_cast<size_t>(r)] > 0 || firm.power_at_start_mw[static_cast<size_t>(r)] > 0)
          used[static_cast<size_t>(cell(f, r))] = 1;
      for (const Build& b : firm.builds)
        if (b.region >= 0) used[static_cast<size_t>(cell(f, b.region))] = 1;
      for (const GpuOrder& o : firm.orders)
        if (o.region >= 0) used[static_cast<size_t>(cell(f, o.region))] = 1;
    }
    // demand lands in the regions its weights name, and training of a firm in any region
    const auto mark = [&](int f, const std::vector<double>& w) {
      for (int r = 0; r < p_.R; ++r)
        if (w[static_cast<size_t>(r)] > 0) used[static_cast<size_t>(cell(f, r))] = 1;
    };
    for (const InferenceService& sv : s_.inference) mark(sv.firm, sv.region_weight);
    for (const OtherDemand& od : s_.other_demand) mark(od.firm, od.region_weight);
    const std::vector<double> everywhere(static_cast<size_t>(p_.R), 1.0);
    for (const Project& p : s_.projects) mark(p.firm, everywhere);
    for (const Program& p : s_.programs) mark(p.firm, everywhere);
    for (const Contract& k : s_.contracts) {
      const int r = k.region >= 0 ? k.region : s_.largest_region(k.seller);
      used[static_cast<size_t>(cell(k.seller, r))] = used[static_cast<size_t>(cell(k.buyer, r))] = 1;
    }
    cells_.clear();
    for (int c = 0; c < p_.ncell; ++c)
      if (used[static_cast<size_t>(c)]) cells_.push_back(c);
  }

  void warn_once(int t, const std::string& code, const std::string& message) {
    if (warned_.insert(code + message).second) warnings_.push_back({t, code, message});
  }

  // ---- the step ---------------------------------------------------------------------------
  void step(int t, PeriodSummary& out) {
    out.period = t;
    now_ = t;
    // flows of the last period are zero now (they live only on pairs, or pairs just dropped);
    // one array at a time: a pass that writes all eight per pair is 3% slower per base run
    // (and 5% on the large benchmark), with 3% fewer instructions
    for (auto* v : {&st_.ordered, &st_.delivered, &st_.retired, &st_.rolled_over, &st_.used_training,
                    &st_.used_inference, &st_.used_other, &st_.idle}) {
      double* a = v->data();
      for (const auto* list : {&pairs_, &dropped_})
        for (const Pair& p : *list) a[p.i] = 0.0;
    }
    dropped_.clear();
    collect_live();
    // GPUs at the end of their useful life leave, with their ports
    retire(t);
    // at the start of a year, firms with an investment rule set this year's capex
    invest(t);
    // explicit orders placed now, and what this period's capex buys
    place_explicit_orders(t);
    spend_capex(t, out);
    collect_live();
    // power, interconnect queue and data-center shells
    advance_power(t);
    // orders that fall due join the backlog; production and upstream nodes decide deliveries
    produce_and_deliver(t, out);
    deliver_ports(t);
    // contracts in force this period (options decided now) keep their GPUs running
    commit_contracts(t);
    // what each cell can run: Leontief over power, buildings and ports
    deploy(t);
    // own capacity serves own demand: training, then inference, then other
    serve_demand(t, out);
    drop_empty_pairs();
    summarize(t, out);
    // the price of compute responds to this period's tightness
    update_prices(t, out);
  }

  void retire(int t) {
    double* due = retire_.slot(t);
    for (const Pair& p : pairs_) {
      const size_t i = static_cast<size_t>(p.i);
      if (due[i] == 0.0) continue;
      const double units = std::min(due[i], st_.installed[i]);
      due[i] = 0.0;
      st_.installed[i] = units_left_after(st_.installed[i], units);
      st_.retired[i] += units;
      st_.retired_total += units;
      const int c = p.c;
      const double ports = units * s_.generations[static_cast<size_t>(p.g)].ports_per_gpu;
      st_.ports[static_cast<size_t>(c)] = std::max(0.0, st_.ports[static_cast<size_t>(c)] - ports);
    }
  }

  void place_explicit_orders(int t) {
    for (; next_explicit_ < explicit_.size() && explicit_[next_explicit_].period <= t; ++next_explicit_) {
      const Explicit& o = explicit_[next_explicit_];
      const double ppg = s_.generations[static_cast<size_t>(o.gen)].ports_per_gpu;
      const auto place = [&](int r, double w) {
        place_order(t, cell(o.firm, r), o.gen, o.units * w, o.due);
        place_ports(t, cell(o.firm, r), o.units * w * ppg, o.port_due);
      };
      if (o.region >= 0) place(o.region, 1.0);
      else
        for (auto [r, w] : region_split(o.firm, o.gen)) place(r, w);
    }
  }

  void spend_capex(int t, PeriodSummary& out) {
    for (int f = 0; f < p_.F; ++f) {
      const Firm& firm = s_.firms[static_cast<size_t>(f)];
      if (firm.capex_usd.empty()) continue;
      // GPUs with their ports, newest generation of each family in the mix
      const double m = st_.capex_multiplier[static_cast<size_t>(f)];
      const double gpu_usd = p_.gpu_usd[static_cast<size_t>(f * p_.T + t)] * m;
      if (gpu_usd > 0) {
        for (const auto& [family, share] : p_.firm_mix[static_cast<size_t>(f)]) {
          p_.family_mix_at(family, f, t, mix_);
          if (mix_.empty()) {
            warn_once(t, "capex_unspent",
                      firm.id + " has no " + p_.families[static_cast<size_t>(family)] +
                          " generation to buy on " + to_iso(cal_[t].start));
            continue;
          }
          for (auto [g, gshare] : mix_) {
            const double usd = gpu_usd * share * gshare;
            const Generation& gen = s_.generations[static_cast<size_t>(g)];
            const double units = usd / (gen.price_usd + gen.ports_per_gpu * s_.costs.port_usd);
            const int due = p_.due_at[static_cast<size_t>(g * p_.T + t)];
            const int port_due = p_.port_due_at[static_cast<size_t>(t)];
            for (auto [r, w] : region_split(f, g)) {
              place_order(t, cell(f, r), g, units * w, due);
              place_ports(t, cell(f, r), units * w * gen.ports_per_gpu, port_due);
            }
            out.capex_spent_usd += usd;
          }
        }
      }
      // facilities: power and shells committed now, funded so certain to complete
      const double fac_usd = p_.facility_usd[static_cast<size_t>(f * p_.T + t)] * m;
      if (fac_usd > 0) {
        const double mw = fac_usd / s_.costs.facility_usd_per_mw;
        const int power_at = cal_.arrival_from_period(t, firm.build_lead_time);
        const int shell_at = cal_.arrival_from_period(t, firm.build_time);
        for (auto [r, w] : region_split(f, -1)) {
          add_power(cell(f, r), mw * w, power_at, false);
          add_shell(cell(f, r), mw * w, shell_at);
        }
        out.capex_spent_usd += fac_usd;
      }
    }
  }

  void advance_power(int t) {
    power_q_.drain(t, [&](const Event& e) {
      if (e.bypass_queue) st_.energized_mw[static_cast<size_t>(e.cell)] += e.amount;
      else st_.grid_queue_mw[static_cast<size_t>(e.cell)] += e.amount;
    });
    shell_q_.drain(t, [&](const Event& e) { st_.it_built_mw[static_cast<size_t>(e.cell)] += e.amount; });
    // each region energizes at most its interconnect cap, shared pro-rata among waiting firms
    const double year_days = days_in_year(p_.period_year[static_cast<size_t>(t)]);
    for (int r = 0; r < p_.R; ++r) {
      const double cap = s_.regions[static_cast<size_t>(r)].interconnect_cap_mw_per_year;
      double waiting = 0;
      for (int f = 0; f < p_.F; ++f) waiting += st_.grid_queue_mw[static_cast<size_t>(cell(f, r))];
      if (waiting <= 0) continue;
      const double slots = cap == kUnlimited ? waiting : cap * cal_[t].days / year_days;
      const double share = std::min(1.0, slots / waiting);
      for (int f = 0; f < p_.F; ++f) {
        const size_t c = static_cast<size_t>(cell(f, r));
        const double mw = st_.grid_queue_mw[c] * share;
        st_.energized_mw[c] += mw;
        st_.grid_queue_mw[c] = share >= 1.0 ? 0.0 : st_.grid_queue_mw[c] - mw;
      }
    }
  }

  void produce_and_deliver(int t, PeriodSummary& out) {
    const int G = p_.G;
    // orders that fall due now join the backlog (twice: roll-overs may fall due at once)
    // (and what each generation would ship: its backlog, up to the ramp)
    const auto fall_due = [&] {
      double* due = gpu_due_.slot(t);
      want_.assign(static_cast<size_t>(G), 0.0);
      for (const Pair& p : pairs_) {
        const size_t i = static_cast<size_t>(p.i);
        if (due[i] != 0.0) {
          st_.on_order[i] = units_left_after(st_.on_order[i], due[i]);
          st_.backlog[i] += due[i];
          due[i] = 0.0;
        }
        want_[static_cast<size_t>(p.g)] += st_.backlog[i];
      }
    };
    fall_due();
    if (roll_over_ended(t)) {
      collect_live();
      fall_due();
    }
    need_.assign(static_cast<size_t>(G), 0.0);
    for (int g : live_gens_)
      need_[static_cast<size_t>(g)] = std::min(want_[static_cast<size_t>(g)], p_.production[static_cast<size_t>(g * p_.T + t)]);

    // upstream nodes: if the generations using a node need more than it has, all are scaled
    scale_.assign(static_cast<size_t>(std::max(p_.N, 0)), 1.0);
    for (int n = 0; n < p_.N; ++n) {
      double load = 0;
      for (int g = 0; g < G; ++g)
        for (const auto& u : s_.generations[static_cast<size_t>(g)].uses)
          if (u.node == n) load += u.per_gpu * need_[static_cast<size_t>(g)];
      const double cap = p_.node_cap[static_cast<size_t>(n * p_.T + t)];
      if (load > cap) scale_[static_cast<size_t>(n)] = load > 0 ? cap / load : 1.0;
    }
    out.binding_upstream = -1;
    double tightest = 1.0;
    share_.assign(static_cast<size_t>(G), 0.0);
    for (int g : live_gens_) {
      const size_t gi = static_cast<size_t>(g);
      double factor = 1.0;
      int node = -1;
      for (const auto& u : s_.generations[gi].uses)
        if (scale_[static_cast<size_t>(u.node)] < factor) {
          factor = scale_[static_cast<size_t>(u.node)];
          node = u.node;
        }
      const double ship = need_[gi] * factor;
      st_.produced[gi] = ship;
      // who binds this generation's deliveries
      int bound = -1;
      if (want_[gi] > ship * (1 + 1e-12) + 1e-9) bound = node >= 0 ? node : -2;
      st_.gen_bound_by[gi] = bound;
      if (bound >= 0 && factor < tightest) {
        tightest = factor;
        out.binding_upstream = bound;
      } else if (bound == -2 && out.binding_upstream == -1) {
        out.binding_upstream = -2;
      }
      if (ship > 0) share_[gi] = std::min(1.0, ship / want_[gi]);
    }
    // share each generation's shipment pro-rata to each cell's backlog
    for (const Pair& p : pairs_) {
      const size_t i = static_cast<size_t>(p.i);
      const size_t g = static_cast<size_t>(p.g);
      const double share = share_[g];
      if (share <= 0 || st_.backlog[i] <= 0) continue;
      const double units = share >= 1.0 ? st_.backlog[i] : st_.backlog[i] * share;
      st_.backlog[i] = share >= 1.0 ? 0.0 : st_.backlog[i] - units;
      st_.installed[i] += units;
      st_.delivered[i] += units;
      st_.delivered_total += units;
      retire_.add(t, p_.retire_at[g * static_cast<size_t>(p_.T) + static_cast<size_t>(t)], p.i, units);
    }
  }

  // Backlog of a generation whose production has ended for good can never be delivered: the
  // buyer re-orders the same value of what its family ships now (the successor). Orders are
  // never lost: the old units count as rolled over, the new ones as ordered.
  // Returns whether it placed any order.
  // (want_: each generation's backlog, so only a period with ended backlog visits the pairs)
  bool roll_over_ended(int t) {
    bool any_ended = false;
    for (int g : live_gens_)
      any_ended = any_ended || (p_.production_ends[static_cast<size_t>(g)] <= t && want_[static_cast<size_t>(g)] > 0);
    if (!any_ended) return false;
    bool placed = false;
    // (place_order may append pairs: visit only those present at the start)
    const size_t n = pairs_.size();
    for (size_t k = 0; k < n; ++k) {
      const Pair p = pairs_[k];
      const size_t i = static_cast<size_t>(p.i);
      const int c = p.c, g = p.g;
      if (p_.production_ends[static_cast<size_t>(g)] > t || st_.backlog[i] <= 0) continue;
      const Generation& old = s_.generations[static_cast<size_t>(g)];
      const double old_price = old.price_usd + old.ports_per_gpu * s_.costs.port_usd;
      {
        p_.family_mix_at(p_.gen_family[static_cast<size_t>(g)], c / p_.R, t, mix_);
        std::erase_if(mix_, [&](const auto& gs) {
          const Generation& to = s_.generations[static_cast<size_t>(gs.first)];
          return gs.first == g || p_.excluded(c % p_.R, gs.first) ||
                 to.price_usd + to.ports_per_gpu * s_.costs.port_usd <= 0;
        });
        if (mix_.empty() || old_price <= 0) {
          warn_once(t, "backlog_undeliverable",
                    "orders for " + old.id + " wait for production that has ended and has no successor");
          continue;
        }
        double total_share = 0;
        for (auto [g2, share] : mix_) total_share += share;
        const double value = st_.backlog[i] * old_price;
        for (auto [g2, share] : mix_) {
          const Generation& gen = s_.generations[static_cast<size_t>(g2)];
          const double units = value * share / total_share / (gen.price_usd + gen.ports_per_gpu * s_.costs.port_usd);
          place_order(t, c, g2, units, p_.due_at[static_cast<size_t>(g2 * p_.T + t)]);
          placed = true;
        }
        st_.rolled_over[i] += st_.backlog[i];
        st_.rolled_over_total += st_.backlog[i];
        st_.backlog[i] = 0.0;
      }
    }
    return placed;
  }

  void deliver_ports(int t) {
    double* due = port_due_.slot(t);
    for (int c : cells_) {
      st_.port_backlog[static_cast<size_t>(c)] += due[c];
      due[c] = 0.0;
    }
    double waiting = 0;
    for (int c : cells_) waiting += st_.port_backlog[static_cast<size_t>(c)];
    if (waiting <= 0) return;
    const double cap = p_.port_cap.empty() ? waiting : p_.port_cap[static_cast<size_t>(t)];
    const double share = std::min(1.0, cap / waiting);
    for (int c : cells_) {
      const size_t i = static_cast<size_t>(c);
      const double got = share >= 1.0 ? st_.port_backlog[i] : st_.port_backlog[i] * share;
      st_.ports[i] += got;
      st_.port_backlog[i] = share >= 1.0 ? 0.0 : st_.port_backlog[i] - got;
    }
  }

  void deploy(int /*t*/) {
    const int G = p_.G;
    // pairs_ is sorted by cell, so each cell's generations are one run of it
    index_cell_ranges();
    for (int c : cells_) {
      const size_t ci = static_cast<size_t>(c);
      CellDeployment cd = usable_it_power(st_.energized_mw[ci], s_.regions[static_cast<size_t>(c % p_.R)].pue,
                                          st_.it_built_mw[ci]);
      st_.usable_it_mw[ci] = cd.usable_it_mw;
      st_.power_binding[ci] = cd.power_binding;
      // the cell's generations, best H100e per kW first (worked out again only when the
      // cell's pairs changed): a bit per deployment rank
      int* order = cell_order_.data() + cg(c, 0);
      int& len = cell_order_len_[ci];
      if (len < 0) {
        len = 0;
        std::fill(rank_bits_.begin(), rank_bits_.end(), 0);
        for (int k = range_begin_[ci]; k < range_end_[ci]; ++k) {
          const int rank = p_.rank[static_cast<size_t>(pairs_[static_cast<size_t>(k)].g)];
          rank_bits_[static_cast<size_t>(rank / 64)] |= std::uint64_t{1} << (rank % 64);
        }
        for (size_t w = 0; w < rank_bits_.size(); ++w)
          for (std::uint64_t bits = rank_bits_[w]; bits != 0; bits &= bits - 1)
            order[len++] = p_.deploy_order[w * 64 + static_cast<size_t>(std::countr_zero(bits))];
      }
      if (len == 0) continue;
      const size_t base = cg(c, 0);
      deploy_cell(s_.generations, std::span<const int>(order, static_cast<size_t>(len)), cd, st_.ports[ci],
                  std::span<const double>(st_.installed.data() + base, static_cast<size_t>(G)),
                  std::span<double>(st_.deployed.data() + base, static_cast<size_t>(G)),
                  std::span<double>(st_.stranded.data() + base, static_cast<size_t>(G)),
                  std::span<Binding>(st_.stranded_by.data() + base, static_cast<size_t>(G)),
                  committed_cell_[ci] ? std::span<const double>(committed_.data() + base, static_cast<size_t>(G))
                                      : std::span<const double>());
    }
  }

  // ---- demand -------------------------------------------------------------------------------
  // A training project as it runs: its spec, what it needs, and what happened to it.
  struct ProjectRun {
    Project spec;
    std::vector<char> allowed;  // (G) generations it may run on
    int ready = 0;              // first period it may start (after its slip)
    int next_of_program = -1;   // index in runs_ of the program's next run
    int host = -1;              // firm whose cluster it rents (-1: its own)
    ProjectOutcome out;
  };

  void init_demand() {
    runs_.clear();
    std::vector<Project> all = s_.projects;
    for (const Program& pg : s_.programs) {
      std::vector<Project> more = expand_program(pg, s_);
      all.insert(all.end(), more.begin(), more.end());
    }
    for (Project& p : all) {
      ProjectRun pr;
      const std::uint64_t key = name_key(p.name);
      pr.out.name = p.name;
      pr.out.program = p.program;
      pr.out.firm = p.firm;
      pr.out.flop = p.gpu_generation >= 0 ? 0.0 : p.flop;
      pr.out.h100e = project_h100e(p, s_);
      pr.out.planned_start = p.start;
      pr.out.planned_end = Calendar::add(p.start, p.duration);
      // the slip comes from (seed, project): adding a project changes no other draw
      pr.out.slip_days = slip_days(p.delay, uniform01(s_.seed, key, 1), uniform01(s_.seed, key, 2));
      pr.out.slipped_start = p.start + boost::gregorian::days(static_cast<long>(std::lround(pr.out.slip_days)));
      pr.ready = std::max(cal_.index_of(pr.out.slipped_start), 0);
      // it must not have ended before the horizon
      if (Calendar::add(pr.out.slipped_start, p.duration) <= cal_.start()) continue;
      pr.allowed.assign(static_cast<size_t>(p_.G), 1);
      if (p.placement.min_generation >= 0) {
        const Date min_ship = s_.generations[static_cast<size_t>(p.placement.min_generation)].first_shipment;
        for (int g = 0; g < p_.G; ++g)
          pr.allowed[static_cast<size_t>(g)] = !(s_.generations[static_cast<size_t>(g)].first_shipment < min_ship);
      }
      pr.spec = std::move(p);
      runs_.push_back(std::move(pr));
    }
    // first come, first served: by ready period, then planned start, then name
    std::stable_sort(runs_.begin(), runs_.end(), [](const ProjectRun& a, const ProjectRun& b) {
      if (a.ready != b.ready) return a.ready < b.ready;
      if (a.out.planned_start != b.out.planned_start) return a.out.planned_start < b.out.planned_start;
      return a.out.name < b.out.name;
    });
    // each program run knows the program's next run (the one that supersedes it if it waits)
    std::map<std::string, size_t> last;
    for (size_t k = 0; k < runs_.size(); ++k) {
      if (runs_[k].out.program.empty()) continue;
      auto it = last.find(runs_[k].out.program);
      if (it != last.end()) runs_[it->second].next_of_program = static_cast<int>(k);
      last[runs_[k].out.program] = k;
    }
    // launch dates after their slips, per service
    launch_dates_.assign(s_.inference.size(), {});
    for (size_t i = 0; i < s_.inference.size(); ++i) {
      const InferenceService& sv = s_.inference[i];
      for (size_t k = 0; k < sv.launches.size(); ++k) {
        const Launch& l = sv.launches[k];
        const std::uint64_t key = name_key(sv.id + "#launch" + std::to_string(k));
        const double slip = slip_days(l.delay, uniform01(s_.seed, key, 1), uniform01(s_.seed, key, 2));
        launch_dates_[i].push_back(l.date + boost::gregorian::days(static_cast<long>(std::lround(slip))));
      }
    }
  }

  // The share of period t's days that fall in [from, to).
  double share_of_period(int t, Date from, Date to) const {
    const Date a = std::max(from, cal_[t].start);
    const Date b = std::min(to, cal_[t].last + boost::gregorian::days(1));
    return b > a ? static_cast<double>((b - a).days()) / cal_[t].days : 0.0;
  }

  // A run starts in period t: on its slipped start when that falls in t, else on t's first
  // day; it runs its duration and holds its cluster for that share of each period.
  void start_run(ProjectRun& pr, int t) {
    ProjectOutcome& o = pr.out;
    o.start_period = t;
    o.actual_start = std::max(o.slipped_start, cal_[t].start);
    o.actual_end = Calendar::add(o.actual_start, pr.spec.duration);
    o.end_period = std::max(t + 1, cal_.first_starting_at_or_after(o.actual_end));
  }

  bool region_allowed(const Placement& pl, int r) const {
    return pl.regions.empty() || std::find(pl.regions.begin(), pl.regions.end(), r) != pl.regions.end();
  }

  // Visit firm f's pairs in pairs_ order (its cells' runs; valid from serve_demand's ranges on).
  template <class Visit>
  void for_firm_pairs(int f, Visit&& visit) const {
    for (int r = 0; r < p_.R; ++r) {
      const size_t c = static_cast<size_t>(cell(f, r));
      for (int k = range_begin_[c]; k < range_end_[c]; ++k) visit(pairs_[static_cast<size_t>(k)]);
    }
  }

  // Training H100e of `units(i)` GPUs on each pair i of cell c of the allowed generations.
  template <class Units>
  double allowed_h100e(int c, const std::vector<char>& allowed, Units&& units) const {
    double h = 0;
    for (int k = range_begin_[static_cast<size_t>(c)]; k < range_end_[static_cast<size_t>(c)]; ++k) {
      const Pair& p = pairs_[static_cast<size_t>(k)];
      if (allowed[static_cast<size_t>(p.g)]) h += units(static_cast<size_t>(p.i)) * train_h100e_[static_cast<size_t>(p.g)];
    }
    return h;
  }
  // Free training H100e of a cell on the allowed generations.
  double free_h100e(int c, const std::vector<char>& allowed) const {
    return allowed_h100e(c, allowed, [&](size_t i) { return st_.idle[i]; });
  }

  // A project's room (training H100e of `units(i)` on allowed generations) in its firm's
  // allowed cells: the cell with the most (of cells with the same room, to a billionth, the one
  // in the region where the firm weighs most, so that the order regions are written in does not
  // decide), and all of them together. It holds the project when one cell (a contiguous run) or
  // the cells together have room for all of it: the start rule.
  struct Room {
    int best_cell = -1;
    double best = 0, total = 0;
    bool holds(const ProjectRun& pr) const {
      return (pr.spec.placement.contiguous ? best : total) >= pr.out.h100e * (1 - 1e-12);
    }
  };
  template <class Units>
  Room room_for(const ProjectRun& pr, Units&& units) const {
    Room room;
    for (int r = 0; r < p_.R; ++r) {
      if (!region_allowed(pr.spec.placement, r)) continue;
      const int c = cell(pr.out.firm, r);
      const double h = allowed_h100e(c, pr.allowed, units);
      room.total += h;
      if (h <= 0) continue;
      const bool tie = room.best_cell >= 0 && std::abs(h - room.best) <= 1e-9 * room.best;
      if (tie ? s_.prefers_region(pr.out.firm, r, room.best_cell % p_.R) : h > room.best) {
        room.best = h;
        room.best_cell = c;
      }
    }
    return room;
  }

  // A market purchase by take_greedy: what the taken capacity costs per hour at each
  // generation's spot, and the region's rows (by generation) of the market's matched and, when
  // the capacity was not among this period's offers, offered H100e.
  struct MarketTake {
    double usd_per_hour = 0;
    double* matched = nullptr;
    double* offered = nullptr;
  };

  // Take `need` training H100e from cell c, best generations first; returns what it got.
  double take_greedy(int c, double need, const std::vector<char>& allowed, std::vector<double>& used,
                     MarketTake* market = nullptr) {
    double got = 0;
    for (int g : live_order_) {
      if (!allowed[static_cast<size_t>(g)] || units_left_after(need, got) == 0.0) continue;
      const size_t i = cg(c, g);
      const double h = train_h100e_[static_cast<size_t>(g)];
      if (st_.idle[i] <= 0 || h <= 0) continue;
      const double units = take_free(i, std::min(st_.idle[i], (need - got) / h));
      used[i] += units;
      got += units * h;
      if (market) {
        market->usd_per_hour += units * h * spot_g_[static_cast<size_t>(g)];
        market->matched[g] += units * h;
        if (market->offered) market->offered[g] += units * h;
      }
    }
    return got;
  }

  // Firm f's training run rents up to `need` training H100e of the host's free GPUs in region
  // r and pays each generation's spot for them; what it took is matched on the market (and
  // offered, unless `offered` says it already was). Returns what it got.
  double rent(int f, int host, int r, double need, const std::vector<char>& allowed, int t, bool offered) {
    const size_t row = static_cast<size_t>(r * p_.G);
    MarketTake market{0.0, st_.market_matched_h100e.data() + row,
                      offered ? nullptr : st_.market_offers_h100e.data() + row};
    const double got = take_greedy(cell(host, r), need, allowed, st_.used_training, &market);
    pay_market(f, host, got, market.usd_per_hour * hours(t));
    return got;
  }

  // Take `units` free GPUs of pair i, or all of them when what would be left is dust; returns
  // what it took.
  double take_free(size_t i, double units) {
    const double left = units_left_after(st_.idle[i], units);
    const double took = left == 0.0 ? std::max(0.0, st_.idle[i]) : units;
    st_.idle[i] = left;
    return took;
  }

  // Take the same share of every allowed free GPU in `cells` so that `need` (in units of
  // `per_unit`: training or inference H100e per GPU) is met as far as it can be.
  double take_pro_rata(const std::vector<int>& cells, double need, const std::vector<char>* allowed,
                       const std::vector<double>& per_unit, std::vector<double>& used) {
    double cap = 0;
    for (int c : cells)
      for (int k = range_begin_[static_cast<size_t>(c)]; k < range_end_[static_cast<size_t>(c)]; ++k) {
        const Pair& p = pairs_[static_cast<size_t>(k)];
        if (!allowed || (*allowed)[static_cast<size_t>(p.g)])
          cap += st_.idle[static_cast<size_t>(p.i)] * per_unit[static_cast<size_t>(p.g)];
      }
    if (cap <= 0 || need <= 0) return 0.0;
    const double share = std::min(1.0, need / cap);
    for (int c : cells)
      for (int k = range_begin_[static_cast<size_t>(c)]; k < range_end_[static_cast<size_t>(c)]; ++k) {
        const Pair& p = pairs_[static_cast<size_t>(k)];
        if (allowed && !(*allowed)[static_cast<size_t>(p.g)]) continue;
        const size_t i = static_cast<size_t>(p.i);
        const double units = take_free(i, st_.idle[i] * share);
        used[i] += units;
      }
    return share * cap;
  }

  // Out of line, so that the allocation passes it calls inline into it: inlined into `run`
  // once the step grew by a line, it left take_pro_rata and the training pass as calls (+2.2%
  // instructions per base run).
  [[gnu::noinline]] void serve_demand(int t, PeriodSummary& out) {
    // demand, use and the market's flows of the period start from nothing: every deployed GPU free
    clear_demand_accounts();
    // contracts in force move the seller's GPUs to the buyer before anyone serves demand
    transfer_contracts(t);
    for (const auto& flow : st_.contract_flows) out.contract_shortfall_h100e += flow.shortfall_h100e;
    collect_live();
    index_cell_ranges();
    // Steady demand (inference, other workloads) is read on the period's last day: the same
    // instant as the stocks that serve it, which include the period's deliveries. Read at the
    // first day, a quarter step would meet a quarter's older demand with a quarter's newer
    // supply, and a week, month and quarter step would tell different markets.
    const Date demand_day = cal_[t].last;
    double served = 0;
    // own capacity serves own demand: training, then inference, then other work
    serve_training(t, served);
    serve_inference(demand_day, served);
    serve_other(demand_day, served);

    // the market between firms: what is left unserved meets what sellers have left idle
    if (s_.market.enabled) served += clear_market(t, out);
    settle_contracts(t);
    pay_backstops(t);

    // aggregates
    for (int c : cells_) {
      const size_t ci = static_cast<size_t>(c);
      out.demand_training_h100e += st_.demand_training_h100e[ci];
      out.demand_inference_h100e += st_.demand_inference_h100e[ci];
      out.demand_other_h100e += st_.demand_other_h100e[ci];
      out.unserved_h100e += st_.unserved_h100e[ci];
    }
    out.served_h100e = served;
    tally_pairs(t, out);
    measure_mismatch(out);
    explain_idle(t);
  }

  void clear_demand_accounts() {
    for (auto* v : {&st_.demand_training_h100e, &st_.demand_inference_h100e, &st_.demand_other_h100e,
                    &st_.unserved_h100e})
      std::fill(v->begin(), v->end(), 0.0);
    // use (zeroed at the start of the step) and free GPUs live on pairs
    for (const Pair& p : pairs_) st_.idle[static_cast<size_t>(p.i)] = st_.deployed[static_cast<size_t>(p.i)];
    std::fill(unserved_inf_.begin(), unserved_inf_.end(), 0.0);
    std::fill(unserved_oth_.begin(), unserved_oth_.end(), 0.0);
    waiting_.clear();
    // the market's flows of the period (rented clusters are bought before the market clears)
    for (auto* v : {&st_.bought_h100e, &st_.sold_h100e, &st_.resale_revenue_usd, &st_.market_spend_usd,
                    &st_.market_matched_h100e, &st_.market_bids_h100e, &st_.market_unmet_h100e,
                    &st_.market_offers_h100e})
      std::fill(v->begin(), v->end(), 0.0);
  }

  // Each cell's run of pairs_ (sorted by index, so by cell): range_begin_, range_end_; worked
  // out again only when pairs were added or dropped since.
  void index_cell_ranges() {
    if (!ranges_stale_) return;
    ranges_stale_ = false;
    std::fill(range_begin_.begin(), range_begin_.end(), 0);
    std::fill(range_end_.begin(), range_end_.end(), 0);
    for (size_t k = 0; k < pairs_.size();) {
      const int c = pairs_[k].c;
      range_begin_[static_cast<size_t>(c)] = static_cast<int>(k);
      while (k < pairs_.size() && pairs_[k].c == c) ++k;
      range_end_[static_cast<size_t>(c)] = static_cast<int>(k);
    }
  }

  // Training: running projects first, then those ready to start, first come first served.
  // A run that finds no cluster waits (in waiting_, for the market); adds what it served to
  // `served`.
  void serve_training(int t, double& served) {
    const int R = p_.R;
    for (size_t k = 0; k < runs_.size(); ++k) {
      ProjectRun& pr = runs_[k];
      if (pr.ready > t) break;  // sorted by ready period
      ProjectOutcome& o = pr.out;
      if (o.end_period >= 0 && o.end_period <= t) continue;  // finished
      if (o.superseded) continue;
      // a program's run still waiting when the program's next run is ready is dropped
      if (o.start_period < 0 && pr.next_of_program >= 0 &&
          runs_[static_cast<size_t>(pr.next_of_program)].ready <= t) {
        o.superseded = true;
        o.superseded_period = t;
        continue;
      }
      const int f = o.firm;
      const double need = o.h100e;  // its cluster, while it runs
      if (o.start_period < 0) {
        // try to start: one cell with room for all of it, or enough across allowed cells
        const Room free = room_for(pr, [&](size_t i) { return st_.idle[i]; });
        const int best = free.best_cell;
        if (!free.holds(pr)) {
          // it waits: its demand counts, unserved, where the firm would run it (the market
          // may yet rent it a cluster, in clear_market), for the part of the period after its start
          waiting_.push_back(k);
          ++o.wait_periods;
          const int r = o.region >= 0 ? o.region : home_region(f, pr.spec.placement);
          o.region = r;
          const size_t c = static_cast<size_t>(cell(f, r));
          const double want = need * share_of_period(t, o.slipped_start, cal_.horizon_end());
          st_.demand_training_h100e[c] += want;
          st_.unserved_h100e[c] += want;
          continue;
        }
        start_run(pr, t);
        o.region = pr.spec.placement.contiguous ? best % R : (best >= 0 ? best % R : home_region(f, pr.spec.placement));
      }
      // running: in its cluster (its own or a rented one), or spread over the allowed cells,
      // for the part of the period between its start and its end
      const double want = need * share_of_period(t, o.actual_start, o.actual_end);
      double got = 0;
      int home = cell(f, o.region);
      if (pr.host >= 0) {
        // a rented cluster is bought on the market every period the run lasts
        got = rent(f, pr.host, o.region, want, pr.allowed, t, false);
        st_.market_bids_h100e[static_cast<size_t>(o.region)] += want;
        st_.market_unmet_h100e[static_cast<size_t>(o.region)] += units_left_after(want, got);
      } else if (pr.spec.placement.contiguous) {
        got = take_greedy(home, want, pr.allowed, st_.used_training);
      } else {
        scratch_cells_.clear();
        for (int r = 0; r < R; ++r)
          if (region_allowed(pr.spec.placement, r)) scratch_cells_.push_back(cell(f, r));
        got = take_pro_rata(scratch_cells_, want, &pr.allowed, train_h100e_, st_.used_training);
      }
      st_.demand_training_h100e[static_cast<size_t>(home)] += want;
      st_.unserved_h100e[static_cast<size_t>(home)] += units_left_after(want, got);
      served += got;
    }
  }

  // Inference: demand by region, served anywhere in the region's latency group (read on
  // `demand_day`); adds what it served to `served`.
  void serve_inference(Date demand_day, double& served) {
    // each service's demand by region, added up per cell: a firm's services share what it has
    // pro-rata, whatever order they are written in
    bool any = false;
    for (size_t k = 0; k < s_.inference.size(); ++k) {
      const InferenceService& sv = s_.inference[k];
      double total = service_h100e(sv, service_launch_factor(sv, launch_dates_[k], demand_day), demand_day);
      // with a market, the price of tokens follows the spot price of compute
      if (sv.price_follows_spot && s_.market.enabled && s_.market.reference() > 0)
        total *= std::pow(spot_ / s_.market.reference(), -sv.elasticity);
      if (total <= 0) continue;
      for (int r = 0; r < p_.R; ++r)
        st_.demand_inference_h100e[static_cast<size_t>(cell(sv.firm, r))] += total * sv.region_weight[static_cast<size_t>(r)];
      any = true;
    }
    if (!any) return;
    for (int f = 0; f < p_.F; ++f)
      for (const auto& group : p_.groups) {
        double want = 0;
        for (int r : group) want += st_.demand_inference_h100e[static_cast<size_t>(cell(f, r))];
        if (want <= 0) continue;
        scratch_cells_.clear();
        for (int r : group) scratch_cells_.push_back(cell(f, r));
        const double got = take_pro_rata(scratch_cells_, want, nullptr, infer_h100e_, st_.used_inference);
        served += got;
        const double short_share = units_left_after(want, got) / want;  // got can exceed want by rounding
        for (int r : group) {
          const size_t c = static_cast<size_t>(cell(f, r));
          st_.unserved_h100e[c] += st_.demand_inference_h100e[c] * short_share;
          unserved_inf_[c] += st_.demand_inference_h100e[c] * short_share;
        }
      }
  }

  // Other steady workloads, in their own region (read on `demand_day`); adds what it served to
  // `served`.
  void serve_other(Date demand_day, double& served) {
    const int R = p_.R;
    for (const OtherDemand& od : s_.other_demand) {
      const double total = other_h100e(od, demand_day);
      if (total <= 0) continue;
      for (int r = 0; r < R; ++r) {
        const double d = total * od.region_weight[static_cast<size_t>(r)];
        if (d <= 0) continue;
        const int c = cell(od.firm, r);
        scratch_cells_.assign(1, c);
        const double got = take_pro_rata(scratch_cells_, d, nullptr, train_h100e_, st_.used_other);
        served += got;
        st_.demand_other_h100e[static_cast<size_t>(c)] += d;
        st_.unserved_h100e[static_cast<size_t>(c)] += units_left_after(d, got);
        unserved_oth_[static_cast<size_t>(c)] += units_left_after(d, got);
      }
    }
  }

  // One pass over the pairs at the end of the period for what several accounts need: idle
  // capacity (the summary, the mismatch index by cell, firm, region and generation, each
  // firm's record) and deployed capacity (firm records; each generation's, for its price).
  void tally_pairs(int t, PeriodSummary& out) {
    FirmRecord* rec = records_->data() + static_cast<size_t>(t) * static_cast<size_t>(p_.F);
    b_full_.clear();
    b_firm_.assign(static_cast<size_t>(p_.F), 0.0);
    custom_idle_.assign(static_cast<size_t>(p_.F), 0.0);
    b_region_.assign(static_cast<size_t>(p_.R), 0.0);
    b_gen_.assign(static_cast<size_t>(p_.G + 1), 0.0);
    std::fill(gen_deployed_.begin(), gen_deployed_.end(), 0.0);
    for (const Pair& p : pairs_) {
      const size_t i = static_cast<size_t>(p.i), g = static_cast<size_t>(p.g);
      const double h = train_h100e_[g];
      const double idle = st_.idle[i] * h, deployed = st_.deployed[i] * h;
      out.idle_h100e += idle;
      FirmRecord& r = rec[p.f];
      r.deployed_h100e += deployed;
      r.idle_h100e += idle;
      gen_deployed_[g] += deployed;
      if (idle <= 0) continue;
      b_full_.push_back(idle);
      b_firm_[static_cast<size_t>(p.f)] += idle;
      if (custom_gen_[g]) custom_idle_[static_cast<size_t>(p.f)] += idle;
      b_region_[static_cast<size_t>(p.r)] += idle;
      b_gen_[g] += idle;
    }
  }

  // ---- investment rule ------------------------------------------------------------------------
  // Perceptions are updated every period from the period before; the multiplier is set when a
  // period starts a new year (and at the start), and holds for that year's capex.
  void invest(int t) {
    const int F = p_.F;
    if (t == 0) {
      st_.capex_multiplier.assign(static_cast<size_t>(F), 1.0);
      perceived_util_.assign(static_cast<size_t>(F), 0.0);
      perceived_price_.assign(static_cast<size_t>(F), s_.market.spot_initial);
      for (int f = 0; f < F; ++f)
        if (s_.firms[static_cast<size_t>(f)].investment)
          perceived_util_[static_cast<size_t>(f)] = s_.firms[static_cast<size_t>(f)].investment->target_utilization;
      return;
    }
    const bool new_year = p_.period_year[static_cast<size_t>(t)] != p_.period_year[static_cast<size_t>(t - 1)];
    for (int f = 0; f < F; ++f) {
      const Firm& firm = s_.firms[static_cast<size_t>(f)];
      if (!firm.investment) continue;
      const InvestmentRule& rule = *firm.investment;
      const FirmRecord& rec = (*records_)[static_cast<size_t>((t - 1) * F + f)];
      // first-order smoothing of what the firm sees
      const double a = lag_share(cal_[t - 1].days / 365.2425, years_of(rule.perception));
      const double used = rec.deployed_h100e > 0 ? (rec.deployed_h100e - rec.idle_h100e + rec.unserved_h100e) / rec.deployed_h100e
                                                 : rule.target_utilization;
      perceived_util_[static_cast<size_t>(f)] += (used - perceived_util_[static_cast<size_t>(f)]) * a;
      perceived_price_[static_cast<size_t>(f)] += (spot_ - perceived_price_[static_cast<size_t>(f)]) * a;
      if (!new_year) continue;
      Perception seen{perceived_util_[static_cast<size_t>(f)], perceived_price_[static_cast<size_t>(f)], 0.0, 0.0};
      for (const Pair& p : pairs_) {
        if (p.f != f) continue;
        const size_t i = static_cast<size_t>(p.i);
        const double h = train_h100e_[static_cast<size_t>(p.g)];
        seen.supply_line_h100e += (st_.on_order[i] + st_.backlog[i]) * h;
        seen.installed_h100e += st_.installed[i] * h;
      }
      st_.capex_multiplier[static_cast<size_t>(f)] =
          capex_multiplier(rule, seen, s_.market.enabled ? s_.market.reference() : 0.0);
    }
  }

  // ---- contracts, the market, prices ---------------------------------------------------------
  struct ContractRun {
    int first = 0, last = -1;   // periods in force (inclusive)
    int region = 0;
    int decision = -1;          // option decision period, -1 for a firm tranche
    int exercised = 1;          // -1 undecided, 0 lapsed, 1 in force
    double price = 0;           // $ per H100e-hour, fixed at signing
    // an IT-power deal with a value is priced per kW-hour in force, so that it pays its value
    // whatever GPUs fill the power (0: priced per H100e-hour); the kW delivered this period
    double usd_per_kw_hour = 0, delivered_kw = 0;
    std::vector<double> ramp;   // share of the volume in force in periods first.. (empty: all)
    bool warned_short = false;  // its shortfall has been reported
    std::vector<std::pair<int, double>> moved;  // (buyer pair index, GPUs) this period
  };

  void init_market() {
    const int F = p_.F, R = p_.R, G = p_.G;
    st_.contract_flows.assign(s_.contracts.size(), {});
    st_.backstop_paid_usd.assign(s_.backstops.size(), 0.0);
    for (auto* v : {&st_.contracted_in_h100e, &st_.contracted_out_h100e, &st_.bought_h100e, &st_.sold_h100e,
                    &st_.resale_revenue_usd, &st_.market_spend_usd, &st_.contract_paid_usd,
                    &st_.contract_received_usd, &st_.backstop_received_usd})
      v->assign(static_cast<size_t>(F), 0.0);
    st_.market_offers_h100e.assign(static_cast<size_t>(R * G), 0.0);
    st_.market_matched_h100e.assign(static_cast<size_t>(R * G), 0.0);
    st_.market_bids_h100e.assign(static_cast<size_t>(R), 0.0);
    st_.market_unmet_h100e.assign(static_cast<size_t>(R), 0.0);
    unserved_inf_.assign(static_cast<size_t>(p_.ncell), 0.0);
    unserved_oth_.assign(static_cast<size_t>(p_.ncell), 0.0);
    take_or_pay_idle_.assign(static_cast<size_t>(F), 0.0);
    sells_.clear();
    for (const Firm& firm : s_.firms) sells_.push_back(firm.sells_surplus ? 1 : 0);
    backstop_left_.clear();
    for (const Backstop& b : s_.backstops) backstop_left_.push_back(b.cap_usd);
    spot_ = s_.market.enabled ? s_.market.spot_initial : 0.0;
    term_ = spot_;
    init_prices();
    contracted_.assign(static_cast<size_t>(F * F), 0);
    for (const Contract& k : s_.contracts) contracted_[static_cast<size_t>(k.seller * F + k.buyer)] = 1;
    contract_runs_.clear();
    committed_.assign(static_cast<size_t>(p_.ncell * G), 0.0);
    committed_at_.clear();
    committed_cell_.assign(static_cast<size_t>(p_.ncell), 0);
    for (const Contract& k : s_.contracts) {
      ContractRun c;
      c.first = std::max(cal_.index_of(k.start), 0);
      c.last = std::min(cal_.index_of(k.end), p_.T - 1);
      c.region = k.region >= 0 ? k.region : s_.largest_region(k.seller);
      if (k.option_decision) {
        c.decision = std::max(cal_.index_of(*k.option_decision), 0);
        c.exercised = -1;
      }
      const ContractRamp ramp(k);
      if (ramp.days > 0)
        for (int t = c.first; t <= c.last; ++t)
          c.ramp.push_back(ramp.mean_share(static_cast<double>((cal_[t].start - k.start).days()),
                                           static_cast<double>((cal_[t].last - k.start).days() + 1)));
      c.price = k.price_usd_per_h100e_hour;
      if (c.price <= 0) {
        // derive the price from the total value: value / (H100e x hours of the term in force)
        const double hours = 24.0 * ramp.days_in_force(static_cast<double>((k.end - k.start).days() + 1));
        const double h100e = k.generation >= 0 ? k.gpus * train_h100e_[static_cast<size_t>(k.generation)]
                                               : k.it_mw * 1000.0 * best_h100e_per_kw(k.start);
        c.price = h100e > 0 && hours > 0 ? k.value_usd / (h100e * hours) : 0.0;
        if (k.generation < 0 && k.it_mw > 0 && hours > 0) c.usd_per_kw_hour = k.value_usd / (k.it_mw * 1000.0 * hours);
      }
      contract_runs_.push_back(c);
    }
  }

  // The best training H100e per kW among generations shipping by `d` (for IT-power volumes).
  double best_h100e_per_kw(Date d) const {
    double best = 0;
    for (const Generation& g : s_.generations)
      if (!(d < g.first_shipment) && g.custom_for < 0) best = std::max(best, g.train_h100e / g.it_kw_per_gpu);
    return best;
  }

  double hours(int t) const { return 24.0 * cal_[t].days; }

  // Move GPUs from one pair to the buyer's pair of the same generation in cell `to`; returns
  // how many moved (all the seller had when what it would keep is dust).
  double move_units(size_t from, int to_cell, int g, double units, ContractRun& run) {
    if (units <= 0) return 0.0;
    const size_t to = cg(to_cell, g);
    if (!pair_on_[to]) {
      mark_pair(to_cell, g);
      st_.idle[to] = st_.deployed[to];
    }
    units = take_free(from, units);
    st_.idle[to] += units;
    run.moved.emplace_back(static_cast<int>(to), units);
    return units;
  }

  // Before deployment: options reaching their decision are decided, on the buyer's shortfall
  // in the period before (its projected shortfall), and the GPUs of the generation a contract
  // in force names are committed in the seller's cell: they take power and ports first there,
  // so a seller does not strand what it has sold to run newer GPUs of its own.
  void commit_contracts(int t) {
    for (size_t i : committed_at_) committed_[i] = 0.0;
    committed_at_.clear();
    std::fill(committed_cell_.begin(), committed_cell_.end(), 0);
    for (size_t k = 0; k < s_.contracts.size(); ++k) {
      const Contract& c = s_.contracts[k];
      ContractRun& run = contract_runs_[k];
      if (run.exercised < 0 && t >= run.decision) {
        const double shortfall = t > 0 ? (*records_)[static_cast<size_t>((t - 1) * p_.F + c.buyer)].unserved_h100e : 0.0;
        run.exercised = shortfall >= c.option_shortfall_h100e && shortfall > 0 ? 1 : 0;
      }
      if (t < run.first || t > run.last || run.exercised != 1 || c.generation < 0) continue;
      const int seller = cell(c.seller, run.region);
      const size_t i = cg(seller, c.generation);
      if (committed_[i] == 0.0) committed_at_.push_back(i);
      committed_[i] += c.gpus * ramp_share(run, t);
      committed_cell_[static_cast<size_t>(seller)] = 1;
    }
  }

  // The share of a contract's volume in force in period t (its ramp).
  static double ramp_share(const ContractRun& run, int t) {
    return run.ramp.empty() ? 1.0 : run.ramp[static_cast<size_t>(t - run.first)];
  }

  void transfer_contracts(int t) {
    std::fill(st_.contracted_in_h100e.begin(), st_.contracted_in_h100e.end(), 0.0);
    std::fill(st_.contracted_out_h100e.begin(), st_.contracted_out_h100e.end(), 0.0);
    for (size_t k = 0; k < s_.contracts.size(); ++k) {
      const Contract& c = s_.contracts[k];
      ContractRun& run = contract_runs_[k];
      auto& flow = st_.contract_flows[k];
      flow = {};
      run.moved.clear();
      if (t < run.first || t > run.last || run.exercised != 1) continue;
      flow.in_force = true;
      const int seller = cell(c.seller, run.region), buyer = cell(c.buyer, run.region);
      double delivered = 0;
      const double share = ramp_share(run, t);
      if (c.generation >= 0) {
        const size_t i = cg(seller, c.generation);
        const double gpus = c.gpus * share;
        const double units =
            move_units(i, buyer, c.generation, pair_on_[i] ? std::min(std::max(0.0, st_.idle[i]), gpus) : 0.0, run);
        delivered = units * train_h100e_[static_cast<size_t>(c.generation)];
        flow.shortfall_h100e = (gpus - units) * train_h100e_[static_cast<size_t>(c.generation)];
      } else {
        const double in_force_kw = c.it_mw * 1000.0 * share;
        double kw = in_force_kw;
        for (int g : live_order_) {
          const size_t i = cg(seller, g);
          if (kw <= 0 || !pair_on_[i] || st_.idle[i] <= 0 || s_.generations[static_cast<size_t>(g)].custom_for >= 0) continue;
          const double per = s_.generations[static_cast<size_t>(g)].it_kw_per_gpu;
          const double units = move_units(i, buyer, g, std::min(st_.idle[i], kw / per), run);
          kw = left_after(kw, units * per);
          delivered += units * train_h100e_[static_cast<size_t>(g)];
        }
        flow.shortfall_h100e = kw > 1e-9 ? kw * best_h100e_per_kw(cal_[t].start) : 0.0;
        run.delivered_kw = in_force_kw - kw;
      }
      if (flow.shortfall_h100e > 1e-6 && !run.warned_short) {
        run.warned_short = true;
        warn_once(t, "contract_shortfall",
                  "seller " + s_.firms[static_cast<size_t>(c.seller)].id + " lacks the capacity of contract " +
                      c.name + ": it delivers " + short_number(delivered) + " of the " +
                      short_number(delivered + flow.shortfall_h100e) + " H100e in force (" +
                      share_text(delivered / (delivered + flow.shortfall_h100e)) +
                      "; contracts.csv has the shortfall of every period)");
      }
      flow.delivered_h100e = delivered;
      st_.contracted_in_h100e[static_cast<size_t>(c.buyer)] += delivered;
      st_.contracted_out_h100e[static_cast<size_t>(c.seller)] += delivered;
    }
  }

  // After everyone served demand: what the buyer used of each contract, and what it paid.
  void settle_contracts(int t) {
    std::fill(take_or_pay_idle_.begin(), take_or_pay_idle_.end(), 0.0);
    std::fill(st_.contract_paid_usd.begin(), st_.contract_paid_usd.end(), 0.0);
    std::fill(st_.contract_received_usd.begin(), st_.contract_received_usd.end(), 0.0);
    // GPUs moved into each buyer pair by all contracts, to share its idle among them (zero
    // everywhere between periods: only the entries set here are reset below)
    moved_total_.resize(static_cast<size_t>(p_.ncell * p_.G), 0.0);
    for (const ContractRun& run : contract_runs_)
      for (auto [i, units] : run.moved) moved_total_[static_cast<size_t>(i)] += units;
    for (size_t k = 0; k < s_.contracts.size(); ++k) {
      const Contract& c = s_.contracts[k];
      auto& flow = st_.contract_flows[k];
      if (!flow.in_force) continue;
      double idle = 0;
      for (auto [i, units] : contract_runs_[k].moved) {
        const size_t j = static_cast<size_t>(i);
        const double idle_units = std::min(units, std::max(0.0, st_.idle[j]) * units / moved_total_[j]);
        idle += idle_units * train_h100e_[j % static_cast<size_t>(p_.G)];
      }
      flow.used_h100e = std::max(0.0, flow.delivered_h100e - idle);
      // take-or-pay: the share paid whether used or not, the rest as used
      const double paid_h100e = c.take_or_pay * flow.delivered_h100e + (1 - c.take_or_pay) * flow.used_h100e;
      const ContractRun& run = contract_runs_[k];
      const double price = run.usd_per_kw_hour > 0 && flow.delivered_h100e > 0
                               ? run.usd_per_kw_hour * run.delivered_kw / flow.delivered_h100e
                               : run.price;
      flow.payment_usd = paid_h100e * hours(t) * price;
      st_.contract_paid_usd[static_cast<size_t>(c.buyer)] += flow.payment_usd;
      st_.contract_received_usd[static_cast<size_t>(c.seller)] += flow.payment_usd;
      take_or_pay_idle_[static_cast<size_t>(c.buyer)] += idle;
    }
    for (const ContractRun& run : contract_runs_)
      for (auto [i, units] : run.moved) moved_total_[static_cast<size_t>(i)] = 0.0;
  }

  // A market purchase of `h100e` training H100e of capacity for a period, for `usd` (at the
  // spot prices of the generations bought).
  void pay_market(int buyer, int seller, double h100e, double usd) {
    st_.bought_h100e[static_cast<size_t>(buyer)] += h100e;
    st_.sold_h100e[static_cast<size_t>(seller)] += h100e;
    st_.market_spend_usd[static_cast<size_t>(buyer)] += usd;
    st_.resale_revenue_usd[static_cast<size_t>(seller)] += usd;
  }

  bool contracted(int owner, int buyer) const {
    return contracted_[static_cast<size_t>(owner * p_.F + buyer)] != 0;
  }

  // Offers (sellers' idle GPUs) meet bids (unserved inference within a latency group, other
  // work within its region, waiting training runs that need a cluster). Shares are pro-rata.
  // Custom accelerators serve only their owner's contracted customers. Returns what it served.
  double clear_market(int t, PeriodSummary& out) {
    collect_offers();
    double served = 0;
    match_bids(t, served);
    settle_lots();
    rent_clusters(t, served);
    close_market(out);
    return served;
  }

  // What sellers offer: their idle GPUs after their own demand (and rented clusters, counted
  // as the runs took them), region by region, in pair order (firm, then generation), so that a
  // bid only visits what is for sale (offers_, offer_begin_); grouped into lots (lots_,
  // lot_begin_).
  void collect_offers() {
    const int R = p_.R, G = p_.G;
    offer_begin_.assign(static_cast<size_t>(R) + 1, 0);
    offers_.clear();
    for (int r = 0; r < R; ++r) {
      for (int f = 0; f < p_.F; ++f) {
        if (!sells_[static_cast<size_t>(f)]) continue;
        const size_t c = static_cast<size_t>(cell(f, r));
        for (int k = range_begin_[c]; k < range_end_[c]; ++k) {
          const Pair& p = pairs_[static_cast<size_t>(k)];
          const double x = st_.idle[static_cast<size_t>(p.i)];
          if (x <= 0) continue;
          st_.market_offers_h100e[static_cast<size_t>(r * G + p.g)] += x * train_h100e_[static_cast<size_t>(p.g)];
          offers_.push_back(Offer{f, p.g, p.i, s_.generations[static_cast<size_t>(p.g)].custom_for});
        }
      }
      offer_begin_[static_cast<size_t>(r) + 1] = static_cast<int>(offers_.size());
    }
    // Bids take the same share of every offer they may use, so the offers of one seller in one
    // region that the same bidders may use (merchant GPUs, or one owner's custom chips) move
    // together: a lot keeps what is left of them as one factor, and what inference and other
    // work took, until settle_lots.
    lots_.clear();
    lot_begin_.assign(static_cast<size_t>(R) + 1, 0);
    for (int r = 0; r < R; ++r) {
      const int end = offer_begin_[static_cast<size_t>(r) + 1];
      for (int k = offer_begin_[static_cast<size_t>(r)]; k < end;) {
        int stop = k;
        while (stop < end && offers_[static_cast<size_t>(stop)].f == offers_[static_cast<size_t>(k)].f) ++stop;
        // one seller's offers in this region, a lot per owner (merchant first)
        const auto by_owner = [](const Offer& x, const Offer& y) { return x.owner < y.owner; };
        if (!std::is_sorted(offers_.begin() + k, offers_.begin() + stop, by_owner))
          std::stable_sort(offers_.begin() + k, offers_.begin() + stop, by_owner);
        for (int q = k; q < stop;) {
          Lot lot;
          lot.f = offers_[static_cast<size_t>(q)].f;
          lot.r = r;
          lot.owner = offers_[static_cast<size_t>(q)].owner;
          lot.begin = q;
          for (; q < stop && offers_[static_cast<size_t>(q)].owner == lot.owner; ++q) {
            const Offer& o = offers_[static_cast<size_t>(q)];
            const double x = st_.idle[static_cast<size_t>(o.i)];
            lot.infer0 += x * infer_h100e_[static_cast<size_t>(o.g)];
            lot.train0 += x * train_h100e_[static_cast<size_t>(o.g)];
            lot.usd0 += x * train_h100e_[static_cast<size_t>(o.g)] * spot_g_[static_cast<size_t>(o.g)];
          }
          lot.end = q;
          lots_.push_back(lot);
        }
        k = stop;
      }
      lot_begin_[static_cast<size_t>(r) + 1] = static_cast<int>(lots_.size());
    }
  }

  // a firm's bid in one market (clear_bids): H100e of work it wants, may still buy, and got
  struct Bid {
    int b = -1;
    double want = 0, got = 0, may_buy = 0;
  };

  // Bids in one market (the regions `where`: a latency group's for inference, one region's for
  // other work) share its lots in proportion to what they still want, whatever the order in
  // which the firms are written. Custom accelerators, which only their owner's contracted
  // customers may use, go first: a bid that may use them leaves more merchant GPUs to the bids
  // that may not. A bid pays period t's spot for what it gets; `got` says what it got (H100e of
  // its work).
  void clear_bids(std::span<const int> where, std::span<Bid> bids, bool inference, int t) {
    for (const bool custom : {true, false}) {
      market_lots_.clear();
      for (int r : where)
        for (int k = lot_begin_[static_cast<size_t>(r)]; k < lot_begin_[static_cast<size_t>(r) + 1]; ++k)
          if ((lots_[static_cast<size_t>(k)].owner >= 0) == custom) market_lots_.push_back(&lots_[static_cast<size_t>(k)]);
      share_lots(bids, inference, t);
    }
  }

  // The bids share the lots market_lots_ in rounds: every bid asks every lot it may use for its
  // remaining want, spread over those lots by what they hold, and each lot gives every bid the
  // same share of what it was asked (all of it when it holds enough). A bid still short after a
  // round has emptied one of its lots, so the rounds end by the time every lot is empty.
  void share_lots(std::span<Bid> bids, bool inference, int t) {
    const size_t L = market_lots_.size(), B = bids.size();
    if (L == 0 || B == 0) return;
    const auto lot = [&](size_t j) -> Lot& { return *market_lots_[j]; };
    // which bid may use which lot: not the bidder's own, custom chips only with a contract
    may_use_.assign(B * L, 0);
    bool all_may = true;
    for (size_t x = 0; x < B; ++x)
      for (size_t j = 0; j < L; ++j) {
        const Lot& l = lot(j);
        may_use_[x * L + j] = l.f != bids[x].b && (l.owner < 0 || contracted(l.owner, bids[x].b));
        all_may = all_may && may_use_[x * L + j];
      }
    holds_.resize(L);
    for (size_t round = 0; round <= L; ++round) {
      // what each lot holds (H100e of the bids' work), what each bid may still buy, and what
      // is asked of each lot
      for (size_t j = 0; j < L; ++j) holds_[j] = lot(j).left * (inference ? lot(j).infer0 : lot(j).train0);
      asked_.assign(L, 0.0);
      bool asking = false;
      for (size_t x = 0; x < B; ++x) {
        Bid& bid = bids[x];
        const char* may = may_use_.data() + x * L;
        bid.may_buy = 0;
        if (units_left_after(bid.want, bid.got) == 0.0) continue;
        for (size_t j = 0; j < L; ++j)
          if (may[j]) bid.may_buy += holds_[j];
        if (bid.may_buy <= 0) continue;
        asking = true;
        const double rest = bid.want - bid.got;
        for (size_t j = 0; j < L; ++j)
          if (may[j]) asked_[j] += rest * holds_[j] / bid.may_buy;
      }
      if (!asking) break;
      // each lot gives every bid the same share of what it asked; took_: shares of the lots'
      // start
      took_.assign(L, 0.0);
      for (size_t x = 0; x < B; ++x) {
        Bid& bid = bids[x];
        if (bid.may_buy <= 0) continue;
        const char* may = may_use_.data() + x * L;
        const double rest = bid.want - bid.got;
        for (size_t j = 0; j < L; ++j) {
          if (!may[j] || holds_[j] <= 0) continue;
          const Lot& l = lot(j);
          const double share = rest * l.left / bid.may_buy * std::min(1.0, holds_[j] / asked_[j]);
          bid.got += share * (inference ? l.infer0 : l.train0);
          took_[j] += share;
          pay_market(bid.b, l.f, share * l.train0, share * l.usd0 * hours(t));
        }
      }
      for (size_t j = 0; j < L; ++j) {
        if (took_[j] <= 0) continue;
        Lot& l = lot(j);
        double took = took_[j];
        double left = left_after(l.left, took);
        if (left * l.train0 < detail::kDustUnits) {  // all of it, not all but dust
          took = l.left;
          left = 0.0;
        }
        (inference ? l.took_inference : l.took_other) += took;
        l.left = left;
      }
      // every bid got all it asked, or emptied every lot it may use, when all may use the same
      if (B == 1 || all_may) break;
    }
  }

  // Unserved work bids for what is offered: inference within each latency group, then other
  // work within its region; adds what the bids got to `served`.
  void match_bids(int t, double& served) {
    const int R = p_.R;
    // inference: within each latency group
    for (const auto& group : p_.groups) {
      bids_.clear();
      for (int b = 0; b < p_.F; ++b) {
        double want = 0;
        for (int r : group) want += unserved_inf_[static_cast<size_t>(cell(b, r))];
        if (want <= 0) continue;
        for (int r : group) st_.market_bids_h100e[static_cast<size_t>(r)] += unserved_inf_[static_cast<size_t>(cell(b, r))];
        bids_.push_back(Bid{b, want});
      }
      clear_bids(group, bids_, true, t);
      for (const Bid& x : bids_) {
        const double got = std::min(x.got, x.want);
        served += got;
        for (int r : group) {
          const size_t c = static_cast<size_t>(cell(x.b, r));
          const double part = unserved_inf_[c] * (got / x.want);
          st_.unserved_h100e[c] = units_left_after(st_.unserved_h100e[c], part);
          st_.market_unmet_h100e[static_cast<size_t>(r)] += units_left_after(unserved_inf_[c], part);
        }
      }
    }
    // other work: within its region
    for (int r = 0; r < R; ++r) {
      bids_.clear();
      for (int b = 0; b < p_.F; ++b) {
        const double want = unserved_oth_[static_cast<size_t>(cell(b, r))];
        if (want <= 0) continue;
        st_.market_bids_h100e[static_cast<size_t>(r)] += want;
        bids_.push_back(Bid{b, want});
      }
      clear_bids(std::span<const int>(&r, 1), bids_, false, t);
      for (const Bid& x : bids_) {
        const size_t c = static_cast<size_t>(cell(x.b, r));
        const double got = std::min(x.got, x.want);
        served += got;
        st_.unserved_h100e[c] = units_left_after(st_.unserved_h100e[c], got);
        st_.market_unmet_h100e[static_cast<size_t>(r)] += units_left_after(x.want, got);
      }
    }
  }

  // The offers as they are after the bids: what each GPU served, what is still free.
  void settle_lots() {
    const int G = p_.G;
    for (const Lot& l : lots_)
      for (int k = l.begin; k < l.end; ++k) {
        const Offer& o = offers_[static_cast<size_t>(k)];
        const size_t i = static_cast<size_t>(o.i);
        const double x = st_.idle[i];
        st_.used_inference[i] += x * l.took_inference;
        st_.used_other[i] += x * l.took_other;
        st_.market_matched_h100e[static_cast<size_t>(l.r * G + o.g)] +=
            x * (l.took_inference + l.took_other) * train_h100e_[static_cast<size_t>(o.g)];
        st_.idle[i] = x * l.left;
      }
  }

  // Training runs that found no cluster of their own rent one from a seller whose offers in an
  // allowed region hold all of it, and start there; adds what they got to `served`.
  // Of two sellers' clusters in regions r and br with the same room for firm f's run, whether
  // seller h's in r comes first: the region where f weighs more, then the seller, then the
  // region whose id sorts first; never the order in which the scenario writes them.
  bool prefers_host(int f, int h, int r, int bh, int br) const {
    const std::vector<double>& w = s_.firms[static_cast<size_t>(f)].region_weight;
    if (w[static_cast<size_t>(r)] != w[static_cast<size_t>(br)]) return w[static_cast<size_t>(r)] > w[static_cast<size_t>(br)];
    if (h != bh) return s_.firms[static_cast<size_t>(h)].id < s_.firms[static_cast<size_t>(bh)].id;
    return s_.prefers_region(f, r, br);
  }
  void rent_clusters(int t, double& served) {
    const int R = p_.R;
    for (size_t k : waiting_) {
      ProjectRun& pr = runs_[k];
      ProjectOutcome& o = pr.out;
      const int f = o.firm;
      const double need = o.h100e;  // the cluster it needs
      const double want = need * share_of_period(t, o.slipped_start, cal_.horizon_end());  // its work this period
      const int home_r = o.region;
      st_.market_bids_h100e[static_cast<size_t>(home_r)] += want;
      // the seller and region with the most room; alike (within 1e-9), see prefers_host
      int best = -1;
      double best_free = 0, most_free = 0;
      for (int r = 0; r < R; ++r) {
        if (!region_allowed(pr.spec.placement, r)) continue;
        const int end = offer_begin_[static_cast<size_t>(r) + 1];
        for (int k = offer_begin_[static_cast<size_t>(r)]; k < end;) {
          const int h = offers_[static_cast<size_t>(k)].f;
          double room = 0;
          for (; k < end && offers_[static_cast<size_t>(k)].f == h; ++k) {
            const Offer& o = offers_[static_cast<size_t>(k)];
            if (h == f || !pr.allowed[static_cast<size_t>(o.g)] || (o.owner >= 0 && !contracted(o.owner, f))) continue;
            room += std::max(0.0, st_.idle[static_cast<size_t>(o.i)]) * train_h100e_[static_cast<size_t>(o.g)];
          }
          if (room <= 0) continue;
          most_free = std::max(most_free, room);
          const bool tie = best >= 0 && std::abs(room - best_free) <= 1e-9 * best_free;
          if (tie ? prefers_host(f, h, r, best / R, best % R) : room > best_free) {
            best_free = room;
            best = cell(h, r);
          }
        }
      }
      if (best < 0 || most_free < need * (1 - 1e-12)) {
        st_.market_unmet_h100e[static_cast<size_t>(home_r)] += want;
        continue;
      }
      // start it now on the rented cluster
      --o.wait_periods;
      start_run(pr, t);
      pr.host = best / R;
      const int r = best % R;
      // its demand moves with it to the rented cluster's region, as what it runs this period
      const double runs = need * share_of_period(t, o.actual_start, o.actual_end);
      st_.demand_training_h100e[static_cast<size_t>(cell(f, home_r))] -= want;
      st_.unserved_h100e[static_cast<size_t>(cell(f, home_r))] =
          units_left_after(st_.unserved_h100e[static_cast<size_t>(cell(f, home_r))], want);
      st_.market_bids_h100e[static_cast<size_t>(home_r)] += runs - want;
      st_.demand_training_h100e[static_cast<size_t>(cell(f, r))] += runs;
      o.region = r;
      const double got = rent(f, pr.host, r, runs, pr.allowed, t, true);
      st_.unserved_h100e[static_cast<size_t>(cell(f, r))] += units_left_after(runs, got);
      st_.market_unmet_h100e[static_cast<size_t>(home_r)] += units_left_after(runs, got);
      served += got;
    }
  }

  // The market's totals for the summary.
  void close_market(PeriodSummary& out) {
    const int R = p_.R, G = p_.G;
    for (int r = 0; r < R; ++r) {
      // what is left of bids that were met up to rounding is not unmet demand (a residue of
      // 1e-10 H100e once named the wrong reason for idle offers)
      double& unmet = st_.market_unmet_h100e[static_cast<size_t>(r)];
      if (unmet <= 1e-9 * st_.market_bids_h100e[static_cast<size_t>(r)]) unmet = 0.0;
      out.market_unmet_h100e += unmet;
      for (int g = 0; g < G; ++g) out.market_matched_h100e += st_.market_matched_h100e[static_cast<size_t>(r * G + g)];
    }
  }


  // Unsold capacity of a backstopped seller is bought at the floor price, up to the cap.
  void pay_backstops(int t) {
    std::fill(st_.backstop_received_usd.begin(), st_.backstop_received_usd.end(), 0.0);
    for (size_t k = 0; k < s_.backstops.size(); ++k) {
      const Backstop& b = s_.backstops[k];
      st_.backstop_paid_usd[k] = 0;
      if (cal_[t].last < b.start || b.end < cal_[t].start || backstop_left_[k] <= 0) continue;
      double unsold = 0;
      for_firm_pairs(b.seller, [&](const Pair& p) {
        unsold += std::max(0.0, st_.idle[static_cast<size_t>(p.i)]) * train_h100e_[static_cast<size_t>(p.g)];
      });
      const double usd = std::min(backstop_left_[k], unsold * hours(t) * b.floor_usd_per_h100e_hour);
      backstop_left_[k] -= usd;
      st_.backstop_paid_usd[k] = usd;
      st_.backstop_received_usd[static_cast<size_t>(b.seller)] += usd;
    }
  }

  // Each generation's floor is its operating cost per H100e-hour (energy at the regions' mean
  // PUE plus other running cost), never below the market's floor nor above its cap.
  void init_prices() {
    const MarketSettings& m = s_.market;
    const size_t G = static_cast<size_t>(p_.G);
    double pue = 0;
    for (const Region& r : s_.regions) pue += r.pue;
    pue = s_.regions.empty() ? 1.0 : pue / static_cast<double>(s_.regions.size());
    floor_g_.assign(G, 0.0);
    gen_deployed_.assign(G, 0.0);
    perceived_u_.assign(G, m.target_utilization);
    spot_g_.assign(G, 0.0);
    term_g_.assign(G, 0.0);
    for (size_t g = 0; g < G; ++g) {
      floor_g_[g] = operating_floor_usd_per_h100e_hour(s_.generations[g], m, pue);
      spot_g_[g] = term_g_[g] = m.enabled ? std::clamp(m.spot_initial, floor_g_[g], m.spot_cap) : 0.0;
    }
  }

  // Each generation's spot moves with its market utilization u (matched over offered
  // capacity; 1 when none is offered while bids go unmet; no change without either):
  // spot x exp(sensitivity x (u - target) x years of the period), within [its floor, cap]:
  // the exact step of d ln(spot)/dt = sensitivity x (u - target), so a quarter moves the price
  // as three months at the same utilization do (the linear step 1 + ... once sent a quarter
  // without sales below zero, to the floor).
  // The index is the generations' spot weighted by deployed H100e (merchant GPUs only); a
  // generation not yet deployed anywhere is priced at the index. Term prices follow spot
  // with a first-order lag.
  void update_prices(int t, PeriodSummary& out) {
    out.spot_usd_per_h100e_hour = spot_;
    out.term_usd_per_h100e_hour = term_;
    st_.spot_usd_per_h100e_hour = spot_;
    st_.term_usd_per_h100e_hour = term_;
    st_.spot_by_gen = spot_g_;
    st_.term_by_gen = term_g_;
    if (!s_.market.enabled) return;
    const MarketSettings& m = s_.market;
    const int R = p_.R, G = p_.G;
    const double years = cal_[t].days / 365.2425;
    const double smoothing = lag_share(years, years_of(m.spot_smoothing));
    // gen_deployed_: deployed H100e by generation (tally_pairs)
    double unmet = 0;
    for (double u : st_.market_unmet_h100e) unmet += u;
    double weighted = 0, weight = 0;
    for (int g = 0; g < G; ++g) {
      const size_t gi = static_cast<size_t>(g);
      if (gen_deployed_[gi] <= 0) continue;
      double offers = 0, matched = 0;
      for (int r = 0; r < R; ++r) {
        offers += st_.market_offers_h100e[static_cast<size_t>(r * G + g)];
        matched += st_.market_matched_h100e[static_cast<size_t>(r * G + g)];
      }
      const bool merchant = s_.generations[gi].custom_for < 0;
      const double u = market_utilization(offers, matched, unmet, merchant);
      if (u >= 0) {
        perceived_u_[gi] += (u - perceived_u_[gi]) * smoothing;
        spot_g_[gi] = next_spot(spot_g_[gi], perceived_u_[gi], m, years, floor_g_[gi]);
      }
      if (merchant) {
        weighted += spot_g_[gi] * gen_deployed_[gi];
        weight += gen_deployed_[gi];
      }
    }
    if (weight > 0) spot_ = weighted / weight;
    const double a = lag_share(years, years_of(m.term_lag));
    for (int g = 0; g < G; ++g) {
      const size_t gi = static_cast<size_t>(g);
      if (gen_deployed_[gi] <= 0) spot_g_[gi] = std::clamp(spot_, floor_g_[gi], m.spot_cap);
      term_g_[gi] += (spot_g_[gi] - term_g_[gi]) * a;
    }
    term_ += (spot_ - term_) * a;
  }

  // Whether the capacity available to a project's firm this period could hold it, used or not.
  // A slipped project explains spare capacity only then: had it not slipped, a run that fits
  // nowhere would have waited all the same.
  bool could_hold(const ProjectRun& pr) const {
    return room_for(pr, [&](size_t i) {
             return std::max(0.0, st_.idle[i]) + st_.used_training[i] + st_.used_inference[i] + st_.used_other[i];
           }).holds(pr);
  }

  // Per firm: its balance and the causes of its idle capacity (see FirmRecord).
  // What each cause could explain of each firm's spare capacity: what a slipped project would
  // have used now (slipped_), idle on generations a waiting project may not use (too_old_), and
  // idle where a waiting run would fit if the stranded GPUs could run (incomplete_).
  void size_idle_causes(int t) {
    slipped_.assign(static_cast<size_t>(p_.F), 0.0);
    too_old_.assign(static_cast<size_t>(p_.F), 0.0);
    incomplete_.assign(static_cast<size_t>(p_.F), 0.0);
    for (const ProjectRun& pr : runs_) {
      const ProjectOutcome& o = pr.out;
      const bool running = o.start_period >= 0 && o.start_period <= t && t < o.end_period;
      if (o.slip_days > 0 && !running && !o.superseded && (o.start_period < 0 || o.start_period > t))
        if (const double share = share_of_period(t, o.planned_start, o.planned_end); share > 0 && could_hold(pr))
          slipped_[static_cast<size_t>(o.firm)] += o.h100e * share;
      if (o.start_period < 0 && pr.ready <= t && !o.superseded && o.wait_periods > 0) {
        double old = 0;
        for_firm_pairs(o.firm, [&](const Pair& p) {
          if (!pr.allowed[static_cast<size_t>(p.g)]) old += st_.idle[static_cast<size_t>(p.i)] * train_h100e_[static_cast<size_t>(p.g)];
        });
        too_old_[static_cast<size_t>(o.firm)] += std::min(old, o.h100e);
        // idle where the run would fit if the cell's stranded GPUs (of generations it may use)
        // had power, a building or a network: the cluster is incomplete
        double waiting_here = 0, free_all = 0, stranded_all = 0;
        for (int r = 0; r < p_.R; ++r) {
          if (!region_allowed(pr.spec.placement, r)) continue;
          const int c = cell(o.firm, r);
          const double free_h = free_h100e(c, pr.allowed);
          const double stranded_h = allowed_h100e(c, pr.allowed, [&](size_t i) { return st_.stranded[i]; });
          free_all += free_h;
          stranded_all += stranded_h;
          if (free_h < o.h100e && free_h + stranded_h >= o.h100e * (1 - 1e-12)) waiting_here = std::max(waiting_here, free_h);
        }
        if (!pr.spec.placement.contiguous && free_all < o.h100e && free_all + stranded_all >= o.h100e * (1 - 1e-12))
          waiting_here = free_all;
        incomplete_[static_cast<size_t>(o.firm)] += waiting_here;
      }
    }
  }

  // Idle older GPUs while training anywhere waits for newer ones: a generation transition, for
  // what of each firm's spare capacity is still unexplained (left_), in proportion to its idle
  // older GPUs; what it explains is taken off `left_all` and off `unserved_all`.
  void add_transition_elsewhere(int t, FirmRecord* rec, double& left_all, double& unserved_all) {
    old_gen_.assign(static_cast<size_t>(p_.G), 0);
    double waiting_newer = 0;
    for (const ProjectRun& pr : runs_) {
      const ProjectOutcome& o = pr.out;
      if (o.start_period >= 0 || pr.ready > t || o.superseded || o.wait_periods == 0) continue;
      bool excludes = false;
      for (int g = 0; g < p_.G; ++g)
        if (!pr.allowed[static_cast<size_t>(g)]) {
          old_gen_[static_cast<size_t>(g)] = 1;
          excludes = true;
        }
      if (excludes) waiting_newer += o.h100e;
    }
    if (waiting_newer > 0) {
      idle_old_.assign(static_cast<size_t>(p_.F), 0.0);
      double idle_old_all = 0;
      for (const Pair& p : pairs_)
        if (old_gen_[static_cast<size_t>(p.g)]) {
          const double h = std::max(0.0, st_.idle[static_cast<size_t>(p.i)]) * train_h100e_[static_cast<size_t>(p.g)];
          idle_old_[static_cast<size_t>(p.f)] += h;
          idle_old_all += h;
        }
      // what is already counted as the firm's own transition is not counted twice
      double counted = 0;
      for (int f = 0; f < p_.F; ++f) counted += rec[f].idle_generation_transition;
      const double open = std::max(0.0, waiting_newer - counted);
      for (int f = 0; f < p_.F && idle_old_all > 0; ++f) {
        FirmRecord& r = rec[f];
        const double extra = std::min({left_[static_cast<size_t>(f)],
                                       std::max(0.0, idle_old_[static_cast<size_t>(f)] - r.idle_generation_transition),
                                       open * idle_old_[static_cast<size_t>(f)] / idle_old_all});
        r.idle_generation_transition += extra;
        left_[static_cast<size_t>(f)] = units_left_after(left_[static_cast<size_t>(f)], extra);
        left_all = units_left_after(left_all, extra);
        unserved_all = units_left_after(unserved_all, extra);  // that demand is explained; it is not a mismatch as well
      }
    }
  }

  void explain_idle(int t) {
    FirmRecord* rec = records_->data() + static_cast<size_t>(t) * static_cast<size_t>(p_.F);
    // deployed and idle capacity are in place (tally_pairs)
    for (int c : cells_) rec[c / p_.R].unserved_h100e += st_.unserved_h100e[static_cast<size_t>(c)];
    for (int f = 0; f < p_.F; ++f) {
      rec[f].sold_h100e = st_.sold_h100e[static_cast<size_t>(f)];
      rec[f].bought_h100e = st_.bought_h100e[static_cast<size_t>(f)];
      rec[f].contracted_in_h100e = st_.contracted_in_h100e[static_cast<size_t>(f)];
      rec[f].contracted_out_h100e = st_.contracted_out_h100e[static_cast<size_t>(f)];
    }
    // what each cause could explain, per firm
    size_idle_causes(t);
    left_.assign(static_cast<size_t>(p_.F), 0.0);
    double unserved_all = 0, left_all = 0;
    for (int f = 0; f < p_.F; ++f) {
      FirmRecord& r = rec[f];
      double left = r.spare_h100e();
      const auto take = [&left](double explained) { return take_explained(left, explained); };
      r.idle_slipped_project = take(slipped_[static_cast<size_t>(f)]);
      r.idle_take_or_pay = take(take_or_pay_idle_[static_cast<size_t>(f)]);
      r.idle_generation_transition = take(too_old_[static_cast<size_t>(f)]);
      r.idle_stranded = take(incomplete_[static_cast<size_t>(f)]);
      // idle here while the same firm leaves demand unserved: it could not reach it
      r.idle_region_mismatch =
          take(units_left_after(r.unserved_h100e, r.idle_generation_transition + r.idle_stranded));
      left_[static_cast<size_t>(f)] = left;
      left_all += left;
      unserved_all += r.unserved_h100e;
    }
    // idle older GPUs at any firm while training anywhere waits for newer ones
    add_transition_elsewhere(t, rec, left_all, unserved_all);
    // what the market sold of the rest: firms short of capacity bought it
    left_all = 0;
    for (int f = 0; f < p_.F; ++f) {
      double& left = left_[static_cast<size_t>(f)];
      rec[f].idle_sold_to_short_firms = take_explained(left, rec[f].sold_h100e);
      left_all += left;
    }
    // idle here while other firms' demand stays unserved (the market could not bring them
    // together): also a mismatch, shared among the firms with idle capacity in proportion to
    // it. On custom accelerators, which only their owner and its contracted customers may use
    // (market.csv's `custom_accelerator`), in proportion to the firm's idle capacity on them;
    // the rest another region or latency group, or no cluster big enough.
    for (int f = 0; f < p_.F; ++f) {
      FirmRecord& r = rec[f];
      double left = left_[static_cast<size_t>(f)];
      const double others = std::max(0.0, unserved_all - r.unserved_h100e);
      const double share = left_all > 0 ? std::min(left, others * left / left_all) : 0.0;
      const double custom =
          r.idle_h100e > 0 ? share * std::min(1.0, custom_idle_[static_cast<size_t>(f)] / r.idle_h100e) : 0.0;
      r.idle_custom_accelerator = custom;
      r.idle_region_mismatch += share - custom;
      left -= share;
      r.idle_weak_demand = std::max(0.0, left);
    }
  }

  // A cause takes what it explains of what is still unexplained (`left`, which it lowers) and
  // returns it; a remainder that is dust goes with it.
  static double take_explained(double& left, double explained) {
    const double x = std::min(left, explained), rest = units_left_after(left, x);
    const double took = rest == 0.0 ? left : x;
    left = rest;
    return took;
  }

  // Mismatch of balances: over firm x region x generation (idle, +) and firm x region
  // (unserved, -), and the same with cells merged by firm, by region and by generation
  // (unserved demand, which has no generation, is one cell of its own there).
  // the idle parts are in place (tally_pairs); unserved demand is the other side
  void measure_mismatch(PeriodSummary& out) {
    for (int c : cells_) {
      const double u = st_.unserved_h100e[static_cast<size_t>(c)];
      if (u <= 0) continue;
      b_full_.push_back(-u);
      b_firm_[static_cast<size_t>(c / p_.R)] -= u;
      b_region_[static_cast<size_t>(c % p_.R)] -= u;
      b_gen_[static_cast<size_t>(p_.G)] -= u;
    }
    out.mismatch_index = mismatch_index(b_full_);
    out.mismatch_firms = mismatch_index(b_firm_);
    out.mismatch_regions = mismatch_index(b_region_);
    out.mismatch_generations = mismatch_index(b_gen_);
  }

  // Where a firm's waiting project counts: its allowed region where the firm weighs most.
  int home_region(int f, const Placement& pl) const {
    int best = -1;
    for (int r = 0; r < p_.R; ++r)
      if (region_allowed(pl, r) && (best < 0 || s_.prefers_region(f, r, best))) best = r;
    return best < 0 ? 0 : best;
  }

  // Aggregates for summary.csv, and the anomalies check (STYLE §5: recorded, not thrown).
  void summarize(int t, PeriodSummary& out) {
    for (int c : cells_) {
      const size_t ci = static_cast<size_t>(c);
      out.energized_mw += st_.energized_mw[ci];
      out.grid_queue_mw += st_.grid_queue_mw[ci];
      out.it_built_mw += st_.it_built_mw[ci];
      out.usable_it_mw += st_.usable_it_mw[ci];
    }
    bool bounds_ok = true;
    double installed = 0, installed_h = 0, deployed = 0, deployed_h = 0, stranded = 0, stranded_h = 0;
    double by_binding[4] = {0, 0, 0, 0};  // stranded GPUs by Binding (none, power, building, network)
    double ordered = 0, delivered = 0, retired = 0, rolled = 0, backlog = 0, on_order = 0;
    for (const auto* list : {&pairs_, &dropped_})
      for (const Pair& p : *list) {
        const size_t i = static_cast<size_t>(p.i);
        const double h = train_h100e_[static_cast<size_t>(p.g)];
        installed += st_.installed[i];
        installed_h += st_.installed[i] * h;
        deployed += st_.deployed[i];
        deployed_h += st_.deployed[i] * h;
        stranded += st_.stranded[i];
        stranded_h += st_.stranded[i] * h;
        by_binding[static_cast<size_t>(st_.stranded_by[i])] += st_.stranded[i];
        ordered += st_.ordered[i];
        delivered += st_.delivered[i];
        retired += st_.retired[i];
        rolled += st_.rolled_over[i];
        backlog += st_.backlog[i];
        on_order += st_.on_order[i];
        bounds_ok = bounds_ok && st_.installed[i] >= 0 && st_.backlog[i] >= 0 &&
                    st_.deployed[i] <= st_.installed[i] * (1 + 1e-12) + 1e-9;
      }
    out.installed_gpus = installed;
    out.installed_h100e = installed_h;
    out.deployed_gpus = deployed;
    out.deployed_h100e = deployed_h;
    out.stranded_gpus = stranded;
    out.stranded_h100e = stranded_h;
    out.stranded_power_gpus = by_binding[static_cast<size_t>(Binding::power)];
    out.stranded_building_gpus = by_binding[static_cast<size_t>(Binding::building)];
    out.stranded_network_gpus = by_binding[static_cast<size_t>(Binding::network)];
    out.ordered_gpus = ordered;
    out.delivered_gpus = delivered;
    out.retired_gpus = retired;
    out.rolled_over_gpus = rolled;
    out.backlog_gpus = backlog;
    out.on_order_gpus = on_order;
    if (!bounds_ok) warn_once(t, "invariant", "a stock left its bounds in period " + std::to_string(t));
  }

  const Scenario& s_;
  const Calendar& cal_;
  Plan p_;
  State st_;
  std::vector<double> want_, need_, scale_;
  std::vector<std::pair<int, double>> mix_;
  std::vector<int> cells_;                 // cells a firm can use
  std::vector<char> live_;                 // (G) generation has stock or orders
  std::vector<int> live_gens_, live_order_;
  std::vector<char> pair_on_;              // (C x G) pair is in pairs_
  struct Pair {
    int i, c, g;  // index cg(c, g), cell, generation
    int f, r;     // the cell's firm and region
  };
  std::vector<Pair> pairs_, dropped_;      // active pairs; pairs dropped this period
  std::vector<double> train_h100e_, infer_h100e_;  // (G)
  std::vector<ProjectRun> runs_;
  std::vector<std::vector<Date>> launch_dates_;  // per service, after slips
  std::vector<int> range_begin_, range_end_;  // (C) each cell's run of pairs_
  std::vector<std::uint64_t> rank_bits_;   // a cell's generations as bits by deployment rank
  std::vector<double> b_full_, b_firm_, b_region_, b_gen_;  // balances for the mismatch index
  std::vector<FirmRecord>* records_ = nullptr;  // the result's (T x F) firm records
  std::vector<double> slipped_, too_old_, incomplete_, left_, idle_old_;
  std::vector<char> old_gen_;
  std::vector<char> custom_gen_;   // (G) custom accelerators: only their owner and its customers use them
  std::vector<double> custom_idle_;  // (F) idle H100e on custom accelerators, after the market (tally_pairs)
  std::vector<ContractRun> contract_runs_;
  std::vector<double> committed_;       ///< (C x G) GPUs contracts in force hold in the seller's cell
  std::vector<size_t> committed_at_;    ///< where committed_ is not zero
  std::vector<char> committed_cell_;    ///< (C) cells with a commitment this period
  std::vector<char> contracted_;           // (F x F) seller has a contract with buyer
  std::vector<double> unserved_inf_, unserved_oth_;  // (C) unserved inference and other work
  std::vector<size_t> waiting_;            // training runs that found no cluster of their own
  std::vector<double> take_or_pay_idle_;   // (F) idle capacity that came from contracts
  std::vector<double> moved_total_;        // (C x G) GPUs moved in by contracts
  std::vector<double> backstop_left_;      // (nbackstop) what each backstop can still pay
  // the market's offers this period, grouped by region (offer_begin_: R + 1 bounds)
  struct Offer {
    int f, g, i, owner;  ///< seller, generation, state index, owner of a custom accelerator (-1)
  };
  std::vector<Offer> offers_;
  std::vector<int> offer_begin_;
  // a seller's offers in a region that the same bidders may use (see clear_market)
  struct Lot {
    int f = -1, r = -1, owner = -1, begin = 0, end = 0;  ///< seller, region, custom owner (-1: merchant), offers_[begin, end)
    double infer0 = 0, train0 = 0, usd0 = 0;      ///< at the start: inference and training H100e, $ per hour
    double left = 1, took_inference = 0, took_other = 0;  ///< shares of the start
  };
  std::vector<Lot> lots_;
  std::vector<Bid> bids_;
  std::vector<Lot*> market_lots_;         ///< clear_bids: the lots of the market (in lots_)
  std::vector<double> holds_, asked_, took_;  ///< clear_bids: per lot, holds and asked (H100e), taken (share)
  std::vector<char> may_use_;             ///< clear_bids: (bids x lots) the bid may use the lot
  std::vector<char> sells_;  ///< per firm: offers its idle capacity
  std::vector<int> lot_begin_;  ///< per region, into lots_ (R + 1)
  double spot_ = 0, term_ = 0;                     ///< the spot index and its term price
  std::vector<double> spot_g_, term_g_, floor_g_;  ///< per generation, $ per H100e-hour
  std::vector<double> gen_deployed_;               ///< per generation, scratch (H100e)
  std::vector<double> perceived_u_;                ///< per generation, smoothed market utilization
  std::vector<double> perceived_util_, perceived_price_;  // (F) the investment rule's perceptions
  std::vector<int> scratch_cells_;
  bool pairs_sorted_ = true, live_changed_ = true;
  bool ranges_stale_ = true;               // range_begin_, range_end_ to be worked out again
  size_t sorted_upto_ = 0;                 // pairs_[0, sorted_upto_) is sorted
  std::vector<double> share_;              // (G) share of each backlog shipped this period
  std::vector<int> cell_order_;            // (C x G) each cell's generations in deployment order
  std::vector<int> cell_order_len_;        // (C) how many; -1 when the cell's pairs changed
  int now_ = 0;  // the period being stepped (0 during init)
  detail::EventQueue power_q_, shell_q_;
  // explicit orders (slices of them), by the period they are placed
  struct Explicit {
    int period, firm, region, gen;
    double units;
    int due, port_due;
  };
  std::vector<Explicit> explicit_;
  size_t next_explicit_ = 0;
  detail::DenseRing gpu_due_, retire_, port_due_;
  std::vector<Warning> warnings_;
  std::set<std::string> warned_;
};

}  // namespace

std::string binding_upstream_name(const Scenario& s, int code) {
  if (code == -1) return "none";
  if (code == -2) return "production";
  return s.nodes[static_cast<size_t>(code)].id;
}

int RunResult::peak_stranded_period() const {
  int best = -1;
  double most = 0;
  for (const PeriodSummary& p : periods)
    if (p.stranded_gpus > most) {
      most = p.stranded_gpus;
      best = p.period;
    }
  return best;
}

std::string RunResult::brief(const Scenario& s) const {
  const PeriodSummary& last = periods.back();
  char buf[512];
  std::snprintf(buf, sizeof buf, "%s: %s to %s (%d %ss); final installed %.3g H100e, deployed %.3g H100e",
                s.name.c_str(), to_iso(calendar.start()).c_str(),
                to_iso(calendar[calendar.size() - 1].last).c_str(), calendar.size(),
                to_string(calendar.step()).c_str(), last.installed_h100e, last.deployed_h100e);
  return buf;
}

std::vector<UnspentCapex> unspent_capex(const Scenario& s, const Calendar& cal) {
  std::vector<UnspentCapex> out;
  const int T = cal.size();
  if (T == 0) return out;
  for (size_t f = 0; f < s.firms.size(); ++f) {
    const Firm& firm = s.firms[f];
    if (firm.capex_usd.empty()) continue;
    // spending starts in the first period that ends on or after capex_start (as spread_budgets)
    int first = 0;
    while (first < T && firm.capex_start && cal[first].last < *firm.capex_start) ++first;
    const int first_year = first < T ? static_cast<int>(cal[first].start.year()) : static_cast<int>(cal[T - 1].last.year()) + 1;
    const int last_year = cal[T - 1].last.year();
    for (const auto& [year, usd] : firm.capex_usd)
      if (year < first_year || year > last_year) out.push_back({static_cast<int>(f), year, usd, first_year, last_year});
  }
  return out;
}

std::string describe_unspent_capex(const Scenario& s, const std::vector<UnspentCapex>& unspent) {
  constexpr size_t kFirmsShown = 3;
  std::string text = "capex that no period spends: ";
  size_t firms = 0;
  for (size_t k = 0; k < unspent.size();) {
    const UnspentCapex& u = unspent[k];
    size_t end = k;
    while (end < unspent.size() && unspent[end].firm == u.firm) ++end;
    if (++firms <= kFirmsShown) {
      if (firms > 1) text += "; ";
      text += s.firms[static_cast<size_t>(u.firm)].id + " ";
      // runs of consecutive years as one range with their sum: `2025-2029 ($796B)`
      for (size_t j = k; j < end;) {
        size_t last = j;
        double usd = unspent[j].usd;
        while (last + 1 < end && unspent[last + 1].year == unspent[last].year + 1) usd += unspent[++last].usd;
        if (j > k) text += ", ";
        text += std::to_string(unspent[j].year);
        if (last > j) text.append(1, '-').append(std::to_string(unspent[last].year));
        text += " ($" + significant_number(usd) + ")";
        j = last + 1;
      }
      text += u.first_year <= u.last_year
                  ? ", outside " + std::to_string(u.first_year) + "-" + std::to_string(u.last_year)
                  : ", as its capex_start is after the end";
    }
    k = end;
  }
  if (firms > kFirmsShown) text += "; and " + std::to_string(firms - kFirmsShown) + " more firms";
  return text +
         " (a year's capex is spent in the periods it overlaps, from the firm's capex_start, or the start, to the end)";
}

RunResult simulate(const Scenario& s, const PeriodObserver& observer) {
  Calendar cal(s.start, s.end, s.step);
  Engine engine(s, cal);
  return engine.run(observer);
}

}  // namespace gpumm
