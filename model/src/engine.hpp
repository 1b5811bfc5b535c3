#pragma once
// The engine of a run (internal to the library; `simulate` in simulate.hpp is its interface):
// the plan of a run (what depends only on the scenario and calendar) and the engine that steps
// it. The engine's step reads like a table of contents (simulate.cpp); its parts live with
// their concern: the supply buildout in engine_supply.cpp, demand served inside firms in
// engine_demand.cpp, the investment rule, contracts, the market and prices in
// engine_market.cpp, and the period's accounts (why capacity is spare, the mismatch, the
// summary) in engine_accounts.cpp. Small helpers the hot loops call stay here, inline.
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

namespace gpumm::detail {

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

  RunResult run(const PeriodObserver& observer);

 private:
  size_t cg(int c, int g) const { return static_cast<size_t>(c * p_.G + g); }
  int cell(int f, int r) const { return f * p_.R + r; }

  void init();

  // Slices of an order: one per calendar step from its date until `over` has passed, each
  // with its share of the units by days.
  std::vector<std::pair<Date, double>> order_slices(const GpuOrder& o) const;

  // Place a slice of an order; false when it falls due before the start (the run would have
  // had it delivered already).
  bool place_explicit(int f, const GpuOrder& o, Date date, double units);

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
  void collect_live();
  // Drop pairs left with nothing installed, waiting or on order, and that contracts moved
  // nothing into this period (a buyer's pair comes back every period its contract is in force:
  // kept, it does not make the pairs be sorted and indexed again each period); their flows of
  // this period are zeroed at the start of the next.
  void drop_empty_pairs();
  void collect_cells();

  void warn_once(int t, const std::string& code, const std::string& message) {
    if (warned_.insert(code + message).second) warnings_.push_back({t, code, message});
  }

  // ---- the step (simulate.cpp) ---------------------------------------------------------------
  void step(int t, PeriodSummary& out);

  // ---- the supply buildout (engine_supply.cpp) ----------------------------------------------
  void retire(int t);
  void place_explicit_orders(int t);
  void spend_capex(int t, PeriodSummary& out);
  void advance_power(int t);
  void produce_and_deliver(int t, PeriodSummary& out);

  // Backlog of a generation whose production has ended for good can never be delivered: the
  // buyer re-orders the same value of what its family ships now (the successor). Orders are
  // never lost: the old units count as rolled over, the new ones as ordered.
  // Returns whether it placed any order.
  // (want_: each generation's backlog, so only a period with ended backlog visits the pairs)
  bool roll_over_ended(int t);
  void deliver_ports(int t);
  void deploy(int /*t*/);

  // ---- demand (engine_demand.cpp) -----------------------------------------------------------
  // A training project as it runs: its spec, what it needs, and what happened to it.
  struct ProjectRun {
    Project spec;
    std::vector<char> allowed;  // (G) generations it may run on
    int ready = 0;              // first period it may start (after its slip)
    int next_of_program = -1;   // index in runs_ of the program's next run
    int host = -1;              // firm whose cluster it rents (-1: its own)
    ProjectOutcome out;
  };

  void init_demand();

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
                     MarketTake* market = nullptr);

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
  double take_pro_rata(std::span<const int> cells, double need, const std::vector<char>* allowed,
                       const std::vector<double>& per_unit, std::vector<double>& used);

  // The period's demand: contracts move capacity, own capacity serves own demand (training,
  // then inference, then other), the market serves what is left, and use is tallied. (In a
  // file of its own, as all the step's passes are, it stays a call of the step: folded into
  // it once, it left its own allocation passes as calls, +2.2% instructions per base run.)
  void serve_demand(int t, PeriodSummary& out);
  void clear_demand_accounts();

  // Each cell's run of pairs_ (sorted by index, so by cell): range_begin_, range_end_; worked
  // out again only when pairs were added or dropped since.
  void index_cell_ranges();

  // Training: running projects first, then those ready to start, first come first served.
  // A run that finds no cluster waits (in waiting_, for the market); adds what it served to
  // `served`.
  void serve_training(int t, double& served);

  // Inference: demand by region, served anywhere in the region's latency group (read on
  // `demand_day`); adds what it served to `served`.
  void serve_inference(Date demand_day, double& served);

  // Other steady workloads, in their own region (read on `demand_day`); adds what it served to
  // `served`.
  void serve_other(Date demand_day, double& served);

  // One pass over the pairs at the end of the period for what several accounts need: idle
  // capacity (the summary, the mismatch index by cell, firm, region and generation, each
  // firm's record) and deployed capacity (firm records; each generation's, for its price).
  void tally_pairs(int t, PeriodSummary& out);

  // ---- investment rule (engine_market.cpp) ---------------------------------------------------
  // Perceptions are updated every period from the period before; the multiplier is set when a
  // period starts a new year (and at the start), and holds for that year's capex.
  void invest(int t);

  // ---- contracts, the market, prices (engine_market.cpp) -------------------------------------
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

  void init_market();

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
  double move_units(size_t from, int to_cell, int g, double units, ContractRun& run);

  // Before deployment: options reaching their decision are decided, on the buyer's shortfall
  // in the period before (its projected shortfall), and the GPUs of the generation a contract
  // in force names are committed in the seller's cell: they take power and ports first there,
  // so a seller does not strand what it has sold to run newer GPUs of its own.
  void commit_contracts(int t);

  // The share of a contract's volume in force in period t (its ramp).
  static double ramp_share(const ContractRun& run, int t) {
    return run.ramp.empty() ? 1.0 : run.ramp[static_cast<size_t>(t - run.first)];
  }

  void transfer_contracts(int t);

  // After everyone served demand: what the buyer used of each contract, and what it paid.
  void settle_contracts(int t);

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
  double clear_market(int t, PeriodSummary& out);

  // What sellers offer: their idle GPUs after their own demand (and rented clusters, counted
  // as the runs took them), region by region, in pair order (firm, then generation), so that a
  // bid only visits what is for sale (offers_, offer_begin_); grouped into lots (lots_,
  // lot_begin_).
  void collect_offers();

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
  void clear_bids(std::span<const int> where, std::span<Bid> bids, bool inference, int t);

  // The bids share the lots market_lots_ in rounds: every bid asks every lot it may use for its
  // remaining want, spread over those lots by what they hold, and each lot gives every bid the
  // same share of what it was asked (all of it when it holds enough). A bid still short after a
  // round has emptied one of its lots, so the rounds end by the time every lot is empty.
  void share_lots(std::span<Bid> bids, bool inference, int t);

  // Unserved work bids for what is offered: inference within each latency group, then other
  // work within its region; adds what the bids got to `served`.
  void match_bids(int t, double& served);

  // The offers as they are after the bids: what each GPU served, what is still free.
  void settle_lots();

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
  void rent_clusters(int t, double& served);

  // The market's totals for the summary.
  void close_market(PeriodSummary& out);

  // Unsold capacity of a backstopped seller is bought at the floor price, up to the cap.
  void pay_backstops(int t);

  // Each generation's floor is its operating cost per H100e-hour (energy at the regions' mean
  // PUE plus other running cost), never below the market's floor nor above its cap.
  void init_prices();

  // Each generation's spot moves with its market utilization u (matched over offered
  // capacity; 1 when none is offered while bids go unmet; no change without either):
  // spot x exp(sensitivity x (u - target) x years of the period), within [its floor, cap]:
  // the exact step of d ln(spot)/dt = sensitivity x (u - target), so a quarter moves the price
  // as three months at the same utilization do (the linear step 1 + ... once sent a quarter
  // without sales below zero, to the floor).
  // The index is the generations' spot weighted by deployed H100e (merchant GPUs only); a
  // generation not yet deployed anywhere is priced at the index. Term prices follow spot
  // with a first-order lag.
  void update_prices(int t, PeriodSummary& out);

  // ---- the period's accounts (engine_accounts.cpp) -------------------------------------------
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
  void size_idle_causes(int t);

  // Idle older GPUs while training anywhere waits for newer ones: a generation transition, for
  // what of each firm's spare capacity is still unexplained (left_), in proportion to its idle
  // older GPUs; what it explains is taken off `left_all` and off `unserved_all`.
  void add_transition_elsewhere(int t, FirmRecord* rec, double& left_all, double& unserved_all);
  void explain_idle(int t);

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
  void measure_mismatch(PeriodSummary& out);

  // Where a firm's waiting project counts: its allowed region where the firm weighs most.
  int home_region(int f, const Placement& pl) const {
    int best = -1;
    for (int r = 0; r < p_.R; ++r)
      if (region_allowed(pl, r) && (best < 0 || s_.prefers_region(f, r, best))) best = r;
    return best < 0 ? 0 : best;
  }

  // Aggregates for summary.csv, and the anomalies check (STYLE §5: recorded, not thrown).
  void summarize(int t, PeriodSummary& out);

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

}  // namespace gpumm::detail
