// The engine's demand (DESIGN §4): training projects, inference and other work, served by
// each firm's own capacity first, then by contracts and the market.
#include "engine.hpp"

namespace gpumm::detail {

void Engine::init_demand() {
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

double Engine::take_greedy(int c, double need, const std::vector<char>& allowed, std::vector<double>& used,
                           MarketTake* market) {
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

double Engine::take_pro_rata(std::span<const int> cells, double need, const std::vector<char>* allowed,
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

void Engine::serve_demand(int t, PeriodSummary& out) {
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

void Engine::clear_demand_accounts() {
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

void Engine::index_cell_ranges() {
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

void Engine::serve_training(int t, double& served) {
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

void Engine::serve_inference(Date demand_day, double& served) {
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

void Engine::serve_other(Date demand_day, double& served) {
  const int R = p_.R;
  for (const OtherDemand& od : s_.other_demand) {
    const double total = other_h100e(od, demand_day);
    if (total <= 0) continue;
    for (int r = 0; r < R; ++r) {
      const double d = total * od.region_weight[static_cast<size_t>(r)];
      if (d <= 0) continue;
      const int c = cell(od.firm, r);
      const double got = take_pro_rata(std::span<const int>(&c, 1), d, nullptr, train_h100e_, st_.used_other);
      served += got;
      st_.demand_other_h100e[static_cast<size_t>(c)] += d;
      st_.unserved_h100e[static_cast<size_t>(c)] += units_left_after(d, got);
      unserved_oth_[static_cast<size_t>(c)] += units_left_after(d, got);
    }
  }
}

void Engine::tally_pairs(int t, PeriodSummary& out) {
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

}  // namespace gpumm::detail
