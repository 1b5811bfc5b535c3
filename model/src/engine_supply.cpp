// The engine's supply buildout (DESIGN §3): retirement, capex and orders, power and shells,
// production and deliveries, ports, and the deployment of each cell.
#include "engine.hpp"

namespace gpumm::detail {

void Engine::retire(int t) {
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

void Engine::place_explicit_orders(int t) {
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

void Engine::spend_capex(int t, PeriodSummary& out) {
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

void Engine::advance_power(int t) {
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

void Engine::produce_and_deliver(int t, PeriodSummary& out) {
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

bool Engine::roll_over_ended(int t) {
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

void Engine::deliver_ports(int t) {
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

void Engine::deploy(int /*t*/) {
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

}  // namespace gpumm::detail
