// The engine's accounts of a period (DESIGN §6): why each firm's capacity is spare, the
// mismatch index and the summary.
#include "engine.hpp"

namespace gpumm::detail {

void Engine::size_idle_causes(int t) {
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

void Engine::add_transition_elsewhere(int t, FirmRecord* rec, double& left_all, double& unserved_all) {
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

void Engine::explain_idle(int t) {
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

void Engine::measure_mismatch(PeriodSummary& out) {
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

void Engine::summarize(int t, PeriodSummary& out) {
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

}  // namespace gpumm::detail
