// The engine's investment rule, contracts, market between firms and prices (DESIGN §5).
#include "engine.hpp"

namespace gpumm::detail {

void Engine::invest(int t) {
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

void Engine::init_market() {
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

double Engine::move_units(size_t from, int to_cell, int g, double units, ContractRun& run) {
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

void Engine::commit_contracts(int t) {
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

void Engine::transfer_contracts(int t) {
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

void Engine::settle_contracts(int t) {
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

double Engine::clear_market(int t, PeriodSummary& out) {
  collect_offers();
  double served = 0;
  match_bids(t, served);
  settle_lots();
  rent_clusters(t, served);
  close_market(out);
  return served;
}

void Engine::collect_offers() {
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

void Engine::clear_bids(std::span<const int> where, std::span<Bid> bids, bool inference, int t) {
  for (const bool custom : {true, false}) {
    market_lots_.clear();
    for (int r : where)
      for (int k = lot_begin_[static_cast<size_t>(r)]; k < lot_begin_[static_cast<size_t>(r) + 1]; ++k)
        if ((lots_[static_cast<size_t>(k)].owner >= 0) == custom) market_lots_.push_back(&lots_[static_cast<size_t>(k)]);
    share_lots(bids, inference, t);
  }
}

void Engine::share_lots(std::span<Bid> bids, bool inference, int t) {
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

void Engine::match_bids(int t, double& served) {
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

void Engine::settle_lots() {
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

void Engine::rent_clusters(int t, double& served) {
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

void Engine::close_market(PeriodSummary& out) {
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

void Engine::pay_backstops(int t) {
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

void Engine::init_prices() {
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

void Engine::update_prices(int t, PeriodSummary& out) {
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

}  // namespace gpumm::detail
