#include "gpumm/simulate.hpp"

#include "engine.hpp"

namespace gpumm {

namespace detail {

RunResult Engine::run(const PeriodObserver& observer) {
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
  // nor is a plan that ends before the horizon, but the firm then buys nothing, which a horizon
  // extended past a plan would otherwise show as a collapse of supply with no word of why
  if (const std::vector<MissingCapex> missing = missing_capex(s_, cal_); !missing.empty())
    warn_once(0, "capex_missing", describe_missing_capex(s_, missing));
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

void Engine::init() {
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

std::vector<std::pair<Date, double>> Engine::order_slices(const GpuOrder& o) const {
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

bool Engine::place_explicit(int f, const GpuOrder& o, Date date, double units) {
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

void Engine::collect_live() {
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

void Engine::drop_empty_pairs() {
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

void Engine::collect_cells() {
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

void Engine::step(int t, PeriodSummary& out) {
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

}  // namespace detail

double PeriodSummary::relative_balance() const {
  const double demand = demand_h100e();
  if (demand > 0) return balance_h100e() / demand;
  return balance_h100e() >= detail::kDustUnits ? 1.0 : 0.0;
}

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

namespace {
// "f1 2023-2024 ($3B), 2027 ($5B), outside 2025-2026; f2 ...; and 2 more firms": the years of
// the first few firms in `v` (sorted by firm, then year), runs of consecutive years as one range
// followed by `range_note(first, last)` (indices into v), each firm's by `firm_note(its first)`.
template <class Entry, class RangeNote, class FirmNote>
std::string years_by_firm(const Scenario& s, const std::vector<Entry>& v, RangeNote range_note, FirmNote firm_note) {
  constexpr size_t kFirmsShown = 3;
  std::string text;
  size_t firms = 0;
  for (size_t k = 0; k < v.size();) {
    size_t end = k;
    while (end < v.size() && v[end].firm == v[k].firm) ++end;
    if (++firms <= kFirmsShown) {
      if (firms > 1) text += "; ";
      text += s.firms[static_cast<size_t>(v[k].firm)].id + " ";
      for (size_t j = k; j < end;) {
        size_t last = j;
        while (last + 1 < end && v[last + 1].year == v[last].year + 1) ++last;
        if (j > k) text += ", ";
        text += std::to_string(v[j].year);
        if (last > j) text.append(1, '-').append(std::to_string(v[last].year));
        text += range_note(j, last);
        j = last + 1;
      }
      text += firm_note(v[k]);
    }
    k = end;
  }
  if (firms > kFirmsShown) text += "; and " + std::to_string(firms - kFirmsShown) + " more firms";
  return text;
}
}  // namespace

std::string describe_unspent_capex(const Scenario& s, const std::vector<UnspentCapex>& unspent) {
  // each range with its sum: `2025-2029 ($796B)`
  const auto sum = [&](size_t first, size_t last) {
    double usd = 0;
    for (size_t j = first; j <= last; ++j) usd += unspent[j].usd;
    return " ($" + significant_number(usd) + ")";
  };
  const auto outside = [](const UnspentCapex& u) {
    return u.first_year <= u.last_year ? ", outside " + std::to_string(u.first_year) + "-" + std::to_string(u.last_year)
                                       : std::string(", as its capex_start is after the end");
  };
  return "capex that no period spends: " + years_by_firm(s, unspent, sum, outside) +
         " (a year's capex is spent in the periods it overlaps, from the firm's capex_start, or the start, to the end)";
}

std::vector<MissingCapex> missing_capex(const Scenario& s, const Calendar& cal) {
  std::vector<MissingCapex> out;
  const int T = cal.size();
  if (T == 0) return out;
  const int last_year = cal[T - 1].last.year();
  for (size_t f = 0; f < s.firms.size(); ++f) {
    const Firm& firm = s.firms[f];
    if (firm.capex_usd.empty()) continue;
    // from the first year given (or the first the run spends, if later) to the end
    int first = 0;
    while (first < T && firm.capex_start && cal[first].last < *firm.capex_start) ++first;
    if (first == T) continue;
    const int from = std::max(firm.capex_usd.begin()->first, static_cast<int>(cal[first].start.year()));
    for (int year = from + 1; year <= last_year; ++year)
      if (!firm.capex_usd.contains(year)) out.push_back({static_cast<int>(f), year});
  }
  return out;
}

std::string describe_missing_capex(const Scenario& s, const std::vector<MissingCapex>& missing) {
  const auto none = [](auto&&...) { return std::string(); };
  return "years of the run without capex, which spend nothing: " + years_by_firm(s, missing, none, none) +
         " (after a firm's first year of capex, a year it does not give is $0: give it, or $0 where none is meant)";
}

RunResult simulate(const Scenario& s, const PeriodObserver& observer) {
  Calendar cal(s.start, s.end, s.step);
  detail::Engine engine(s, cal);
  return engine.run(observer);
}

}  // namespace gpumm
