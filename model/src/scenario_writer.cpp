// `scenario.resolved.yaml`: the scenario after defaults, in the same schema the loader reads,
// with every number written so that it parses back to the same double.
#include <yaml-cpp/yaml.h>

#include "gpumm/scenario.hpp"

namespace gpumm {

namespace {

std::string region_id(const Scenario& s, int r) { return s.regions[static_cast<size_t>(r)].id; }

void emit_cap(YAML::Emitter& e, const char* key, double x) {
  if (x != kUnlimited) e << YAML::Key << key << YAML::Value << format_number(x);
}

void emit_capacity(YAML::Emitter& e, const UpstreamNode& u) {
  e << YAML::Key << "capacity_per_year" << YAML::Value << format_number(u.capacity_per_year);
  emit_cap(e, "max_growth_per_year", u.max_growth_per_year);
  if (u.expansions.empty()) return;
  e << YAML::Key << "expansions" << YAML::Value << YAML::BeginSeq;
  for (const auto& x : u.expansions)
    e << YAML::Flow << YAML::BeginMap << YAML::Key << "commit" << YAML::Value << to_iso(x.commit)
      << YAML::Key << "add_per_year" << YAML::Value << format_number(x.add_per_year)
      << YAML::Key << "lag" << YAML::Value << to_string(x.lag) << YAML::EndMap;
  e << YAML::EndSeq;
}

const char* distribution_name(Delay::Distribution d) {
  switch (d) {
    case Delay::Distribution::fixed: return "fixed";
    case Delay::Distribution::uniform: return "uniform";
    case Delay::Distribution::exponential: return "exponential";
  }
  return "exponential";
}

// a growth as written: one number, or the numbers by year
void emit_growth(YAML::Emitter& e, const char* key, const GrowthPath& g) {
  e << YAML::Key << key << YAML::Value;
  if (!g.varies()) {
    e << format_number(g.constant);
    return;
  }
  e << YAML::Flow << YAML::BeginMap;
  for (auto& [y, x] : g.by_year) e << YAML::Key << std::to_string(y) << YAML::Value << format_number(x);
  e << YAML::EndMap;
}

void emit_delay(YAML::Emitter& e, const Delay& d) {
  if (d.probability <= 0) return;
  e << YAML::Key << "delay" << YAML::Value << YAML::Flow << YAML::BeginMap
    << YAML::Key << "probability" << YAML::Value << format_number(d.probability)
    << YAML::Key << "distribution" << YAML::Value << distribution_name(d.distribution)
    << YAML::Key << "mean" << YAML::Value << to_string(d.mean) << YAML::EndMap;
}

void emit_placement(YAML::Emitter& e, const Scenario& s, const Placement& p) {
  if (p.min_generation >= 0)
    e << YAML::Key << "min_generation" << YAML::Value << s.generations[static_cast<size_t>(p.min_generation)].id;
  if (!p.regions.empty()) {
    e << YAML::Key << "regions" << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (int r : p.regions) e << region_id(s, r);
    e << YAML::EndSeq;
  }
  e << YAML::Key << "contiguous" << YAML::Value << (p.contiguous ? "true" : "false");
}

void emit_weights(YAML::Emitter& e, const Scenario& s, const std::vector<double>& w) {
  e << YAML::Key << "regions" << YAML::Value << YAML::Flow << YAML::BeginMap;
  for (int r = 0; r < s.nregion(); ++r)
    if (w[static_cast<size_t>(r)] > 0) e << YAML::Key << region_id(s, r) << YAML::Value << format_number(w[static_cast<size_t>(r)]);
  e << YAML::EndMap;
}

std::string flop_text(double x) { return format_number(x) + " FLOP"; }

void emit_demand(YAML::Emitter& e, const Scenario& s) {
  if (!s.projects.empty()) {
    e << YAML::Key << "projects" << YAML::Value << YAML::BeginSeq;
    for (const Project& p : s.projects) {
      e << YAML::BeginMap;
      e << YAML::Key << "name" << YAML::Value << p.name;
      e << YAML::Key << "firm" << YAML::Value << s.firms[static_cast<size_t>(p.firm)].id;
      e << YAML::Key << "start" << YAML::Value << to_iso(p.start);
      e << YAML::Key << "duration" << YAML::Value << to_string(p.duration);
      if (p.gpu_generation >= 0)
        e << YAML::Key << "gpus" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key << "generation"
          << YAML::Value << s.generations[static_cast<size_t>(p.gpu_generation)].id << YAML::Key << "count"
          << YAML::Value << format_number(p.gpu_count) << YAML::EndMap;
      else
        e << YAML::Key << "size" << YAML::Value << flop_text(p.flop);
      e << YAML::Key << "mfu" << YAML::Value << format_number(p.mfu);
      emit_placement(e, s, p.placement);
      emit_delay(e, p.delay);
      e << YAML::EndMap;
    }
    e << YAML::EndSeq;
  }
  if (!s.programs.empty()) {
    e << YAML::Key << "programs" << YAML::Value << YAML::BeginMap;
    for (const Program& p : s.programs) {
      e << YAML::Key << p.id << YAML::Value << YAML::BeginMap;
      e << YAML::Key << "firm" << YAML::Value << s.firms[static_cast<size_t>(p.firm)].id;
      e << YAML::Key << "first_run" << YAML::Value << to_iso(p.first_run);
      e << YAML::Key << "cadence" << YAML::Value << to_string(p.cadence);
      if (p.until) e << YAML::Key << "until" << YAML::Value << to_iso(*p.until);
      e << YAML::Key << "size" << YAML::Value << flop_text(p.flop);
      emit_growth(e, "growth_per_year", p.growth_per_year);
      e << YAML::Key << "duration" << YAML::Value << to_string(p.duration);
      emit_growth(e, "duration_growth_per_year", p.duration_growth_per_year);
      if (p.max_duration) e << YAML::Key << "max_duration" << YAML::Value << to_string(*p.max_duration);
      e << YAML::Key << "jitter" << YAML::Value << to_string(p.jitter);
      e << YAML::Key << "mfu" << YAML::Value << format_number(p.mfu);
      emit_placement(e, s, p.placement);
      emit_delay(e, p.delay);
      e << YAML::EndMap;
    }
    e << YAML::EndMap;
  }
  if (!s.inference.empty()) {
    e << YAML::Key << "inference" << YAML::Value << YAML::BeginMap;
    for (const InferenceService& sv : s.inference) {
      e << YAML::Key << sv.id << YAML::Value << YAML::BeginMap;
      e << YAML::Key << "firm" << YAML::Value << s.firms[static_cast<size_t>(sv.firm)].id;
      emit_weights(e, s, sv.region_weight);
      e << YAML::Key << "users" << YAML::Value << YAML::Flow << YAML::BeginMap
        << YAML::Key << "saturation" << YAML::Value << format_number(sv.users_saturation)
        << YAML::Key << "midpoint" << YAML::Value << to_iso(sv.users_midpoint)
        << YAML::Key << "steepness_per_year" << YAML::Value << format_number(sv.users_steepness_per_year) << YAML::EndMap;
      e << YAML::Key << "tokens_per_user" << YAML::Value << YAML::Flow << YAML::BeginMap
        << YAML::Key << "per_day" << YAML::Value << format_number(sv.tokens_per_user_per_day)
        << YAML::Key << "at" << YAML::Value << to_iso(sv.tokens_at);
      emit_growth(e, "growth_per_year", sv.tokens_growth_per_year);
      if (sv.tokens_growth_until) e << YAML::Key << "growth_until" << YAML::Value << to_iso(*sv.tokens_growth_until);
      e << YAML::EndMap;
      e << YAML::Key << "throughput" << YAML::Value << YAML::Flow << YAML::BeginMap
        << YAML::Key << "tokens_per_h100e_second" << YAML::Value << format_number(sv.tokens_per_h100e_second)
        << YAML::Key << "at" << YAML::Value << to_iso(sv.throughput_at);
      emit_growth(e, "gain_per_year", sv.throughput_gain_per_year);
      e << YAML::EndMap;
      if (!sv.price_usd_per_mtok.empty() || sv.elasticity != 0) {
        e << YAML::Key << "price" << YAML::Value << YAML::BeginMap;
        if (sv.price_follows_spot) e << YAML::Key << "follows_spot" << YAML::Value << "true";
        e << YAML::Key << "per_mtok" << YAML::Value << YAML::Flow << YAML::BeginMap;
        for (auto& [y, usd] : sv.price_usd_per_mtok) e << YAML::Key << std::to_string(y) << YAML::Value << format_money_usd(usd);
        e << YAML::EndMap;
        if (sv.reference_usd_per_mtok > 0) e << YAML::Key << "reference" << YAML::Value << format_money_usd(sv.reference_usd_per_mtok);
        e << YAML::Key << "elasticity" << YAML::Value << format_number(sv.elasticity);
        e << YAML::EndMap;
      }
      e << YAML::Key << "peak_to_average" << YAML::Value << format_number(sv.peak_to_average);
      if (!sv.launches.empty()) {
        e << YAML::Key << "launches" << YAML::Value << YAML::BeginSeq;
        for (const Launch& l : sv.launches) {
          e << YAML::Flow << YAML::BeginMap << YAML::Key << "date" << YAML::Value << to_iso(l.date)
            << YAML::Key << "multiplier" << YAML::Value << format_number(l.multiplier)
            << YAML::Key << "ramp" << YAML::Value << to_string(l.ramp);
          emit_delay(e, l.delay);
          e << YAML::EndMap;
        }
        e << YAML::EndSeq;
      }
      e << YAML::EndMap;
    }
    e << YAML::EndMap;
  }
  if (!s.other_demand.empty()) {
    e << YAML::Key << "other_demand" << YAML::Value << YAML::BeginMap;
    for (const OtherDemand& o : s.other_demand) {
      e << YAML::Key << o.id << YAML::Value << YAML::BeginMap;
      e << YAML::Key << "firm" << YAML::Value << s.firms[static_cast<size_t>(o.firm)].id;
      emit_weights(e, s, o.region_weight);
      e << YAML::Key << "h100e" << YAML::Value << YAML::Flow << YAML::BeginMap;
      for (auto& [y, h] : o.h100e_by_year) e << YAML::Key << std::to_string(y) << YAML::Value << format_number(h);
      e << YAML::EndMap << YAML::EndMap;
    }
    e << YAML::EndMap;
  }
}

void emit_market(YAML::Emitter& e, const Scenario& s) {
  const auto firm = [&](int f) { return s.firms[static_cast<size_t>(f)].id; };
  if (!s.contracts.empty()) {
    e << YAML::Key << "contracts" << YAML::Value << YAML::BeginSeq;
    for (const Contract& c : s.contracts) {
      e << YAML::Flow << YAML::BeginMap;
      e << YAML::Key << "name" << YAML::Value << c.name;
      e << YAML::Key << "seller" << YAML::Value << firm(c.seller);
      e << YAML::Key << "buyer" << YAML::Value << firm(c.buyer);
      if (c.region >= 0) e << YAML::Key << "region" << YAML::Value << region_id(s, c.region);
      e << YAML::Key << "start" << YAML::Value << to_iso(c.start);
      e << YAML::Key << "end" << YAML::Value << to_iso(c.end);
      e << YAML::Key << "volume" << YAML::Value << YAML::Flow << YAML::BeginMap;
      if (c.generation >= 0)
        e << YAML::Key << "gpus" << YAML::Value << format_number(c.gpus) << YAML::Key << "generation"
          << YAML::Value << s.generations[static_cast<size_t>(c.generation)].id;
      else
        e << YAML::Key << "it_power" << YAML::Value << format_power_mw(c.it_mw);
      e << YAML::EndMap;
      if (c.price_usd_per_h100e_hour > 0) e << YAML::Key << "price" << YAML::Value << format_money_usd(c.price_usd_per_h100e_hour);
      else e << YAML::Key << "value" << YAML::Value << format_money_usd(c.value_usd);
      e << YAML::Key << "take_or_pay" << YAML::Value << format_number(c.take_or_pay);
      if (c.ramp.count > 0) e << YAML::Key << "ramp" << YAML::Value << to_string(c.ramp);
      if (c.option_decision)
        e << YAML::Key << "option" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key << "decision"
          << YAML::Value << to_iso(*c.option_decision) << YAML::Key << "shortfall_h100e" << YAML::Value
          << format_number(c.option_shortfall_h100e) << YAML::EndMap;
      e << YAML::EndMap;
    }
    e << YAML::EndSeq;
  }
  if (!s.backstops.empty()) {
    e << YAML::Key << "backstops" << YAML::Value << YAML::BeginSeq;
    for (const Backstop& b : s.backstops)
      e << YAML::Flow << YAML::BeginMap << YAML::Key << "provider" << YAML::Value << b.provider
        << YAML::Key << "seller" << YAML::Value << firm(b.seller) << YAML::Key << "start" << YAML::Value
        << to_iso(b.start) << YAML::Key << "end" << YAML::Value << to_iso(b.end) << YAML::Key << "floor"
        << YAML::Value << format_money_usd(b.floor_usd_per_h100e_hour) << YAML::Key << "cap" << YAML::Value
        << format_money_usd(b.cap_usd) << YAML::EndMap;
    e << YAML::EndSeq;
  }
  if (s.market.enabled) {
    const MarketSettings& m = s.market;
    e << YAML::Key << "market" << YAML::Value << YAML::BeginMap;
    e << YAML::Key << "spot" << YAML::Value << YAML::Flow << YAML::BeginMap
      << YAML::Key << "initial" << YAML::Value << format_money_usd(m.spot_initial)
      << YAML::Key << "reference" << YAML::Value << format_money_usd(m.reference())
      << YAML::Key << "floor" << YAML::Value << format_money_usd(m.spot_floor)
      << YAML::Key << "cap" << YAML::Value << format_money_usd(m.spot_cap)
      << YAML::Key << "target_utilization" << YAML::Value << format_number(m.target_utilization)
      << YAML::Key << "sensitivity_per_year" << YAML::Value << format_number(m.sensitivity_per_year)
      << YAML::Key << "smoothing" << YAML::Value << to_string(m.spot_smoothing) << YAML::EndMap;
    e << YAML::Key << "operating_cost" << YAML::Value << YAML::Flow << YAML::BeginMap
      << YAML::Key << "electricity_per_kwh" << YAML::Value << format_money_usd(m.electricity_usd_per_kwh)
      << YAML::Key << "other_per_gpu_hour" << YAML::Value << format_money_usd(m.other_opex_usd_per_gpu_hour)
      << YAML::EndMap;
    e << YAML::Key << "term" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key << "lag" << YAML::Value
      << to_string(m.term_lag) << YAML::EndMap;
    e << YAML::EndMap;
  }
}

}  // namespace

std::string write_resolved_yaml(const Scenario& s, const std::string& tool_version) {
  YAML::Emitter e;
  e << YAML::Comment("gpumm " + tool_version +
                     ": the scenario after defaults; `gpumm run` on this file reproduces the run");
  e << YAML::BeginMap;
  e << YAML::Key << "name" << YAML::Value << s.name;
  if (!s.description.empty()) e << YAML::Key << "description" << YAML::Value << s.description;
  e << YAML::Key << "start" << YAML::Value << to_iso(s.start);
  e << YAML::Key << "end" << YAML::Value << to_iso(s.end);
  e << YAML::Key << "step" << YAML::Value << to_string(s.step);
  if (s.calibrated_step) e << YAML::Key << "calibrated_step" << YAML::Value << to_string(*s.calibrated_step);
  e << YAML::Key << "seed" << YAML::Value << std::to_string(s.seed);
  e << YAML::Key << "pipeline" << YAML::Value
    << (s.pipeline == PipelineMode::expected ? "expected" : "sampled");

  e << YAML::Key << "stages" << YAML::Value << YAML::Flow << YAML::BeginMap;
  e << YAML::Key << "announced" << YAML::Value << format_number(s.stages.announced_share);
  e << YAML::Key << "permitted" << YAML::Value << format_number(s.stages.permitted_share);
  e << YAML::Key << "under_construction" << YAML::Value
    << format_number(s.stages.under_construction_share);
  e << YAML::Key << "operational" << YAML::Value << format_number(s.stages.operational_share);
  e << YAML::EndMap;

  e << YAML::Key << "costs" << YAML::Value << YAML::Flow << YAML::BeginMap;
  e << YAML::Key << "facility_per_mw" << YAML::Value << format_money_usd(s.costs.facility_usd_per_mw);
  e << YAML::Key << "port" << YAML::Value << format_money_usd(s.costs.port_usd);
  e << YAML::EndMap;

  e << YAML::Key << "network" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "lead_time" << YAML::Value << to_string(s.network.lead_time);
  if (s.network.supply) {
    e << YAML::Key << "supply" << YAML::Value << YAML::BeginMap;
    emit_capacity(e, *s.network.supply);
    e << YAML::EndMap;
  }
  e << YAML::EndMap;

  if (!s.nodes.empty()) {
    e << YAML::Key << "upstream" << YAML::Value << YAML::BeginMap;
    for (const UpstreamNode& u : s.nodes) {
      e << YAML::Key << u.id << YAML::Value << YAML::BeginMap;
      e << YAML::Key << "unit" << YAML::Value << u.unit;
      emit_capacity(e, u);
      e << YAML::EndMap;
    }
    e << YAML::EndMap;
  }

  e << YAML::Key << "generations" << YAML::Value << YAML::BeginMap;
  for (const Generation& g : s.generations) {
    e << YAML::Key << g.id << YAML::Value << YAML::BeginMap;
    e << YAML::Key << "family" << YAML::Value << g.family;
    if (g.custom_for >= 0)
      e << YAML::Key << "custom_for" << YAML::Value << s.firms[static_cast<size_t>(g.custom_for)].id;
    e << YAML::Key << "train_h100e" << YAML::Value << format_number(g.train_h100e);
    e << YAML::Key << "infer_h100e" << YAML::Value << format_number(g.infer_h100e);
    e << YAML::Key << "it_power" << YAML::Value << format_number(g.it_kw_per_gpu) + " kW";
    e << YAML::Key << "ports_per_gpu" << YAML::Value << format_number(g.ports_per_gpu);
    e << YAML::Key << "lead_time" << YAML::Value << to_string(g.lead_time);
    e << YAML::Key << "useful_life" << YAML::Value << to_string(g.useful_life);
    e << YAML::Key << "price" << YAML::Value << format_money_usd(g.price_usd);
    e << YAML::Key << "first_shipment" << YAML::Value << to_iso(g.first_shipment);
    e << YAML::Key << "ramp" << YAML::Value << to_string(g.ramp);
    e << YAML::Key << "peak_units_per_year" << YAML::Value << format_number(g.peak_units_per_year);
    if (g.end_of_production)
      e << YAML::Key << "end_of_production" << YAML::Value << to_iso(*g.end_of_production);
    e << YAML::Key << "ramp_down" << YAML::Value << to_string(g.ramp_down);
    if (!g.uses.empty()) {
      e << YAML::Key << "uses" << YAML::Value << YAML::Flow << YAML::BeginMap;
      for (const auto& u : g.uses)
        e << YAML::Key << s.nodes[static_cast<size_t>(u.node)].id << YAML::Value
          << format_number(u.per_gpu);
      e << YAML::EndMap;
    }
    e << YAML::EndMap;
  }
  e << YAML::EndMap;

  e << YAML::Key << "regions" << YAML::Value << YAML::BeginMap;
  for (const Region& r : s.regions) {
    e << YAML::Key << r.id << YAML::Value << YAML::Flow << YAML::BeginMap;
    e << YAML::Key << "latency_group" << YAML::Value << r.latency_group;
    e << YAML::Key << "pue" << YAML::Value << format_number(r.pue);
    if (r.interconnect_cap_mw_per_year != kUnlimited)
      e << YAML::Key << "interconnect_cap" << YAML::Value
        << format_power_mw_per_year(r.interconnect_cap_mw_per_year);
    if (!r.excluded_generations.empty()) {
      e << YAML::Key << "excludes" << YAML::Value << YAML::Flow << YAML::BeginSeq;
      for (int g : r.excluded_generations) e << s.generations[static_cast<size_t>(g)].id;
      e << YAML::EndSeq;
    }
    e << YAML::EndMap;
  }
  e << YAML::EndMap;

  e << YAML::Key << "firms" << YAML::Value << YAML::BeginMap;
  for (const Firm& f : s.firms) {
    e << YAML::Key << f.id << YAML::Value << YAML::BeginMap;
    e << YAML::Key << "regions" << YAML::Value << YAML::Flow << YAML::BeginMap;
    for (int r = 0; r < s.nregion(); ++r)
      if (f.region_weight[static_cast<size_t>(r)] > 0)
        e << YAML::Key << region_id(s, r) << YAML::Value << format_number(f.region_weight[static_cast<size_t>(r)]);
    e << YAML::EndMap;
    e << YAML::Key << "power_at_start" << YAML::Value << YAML::Flow << YAML::BeginMap;
    for (int r = 0; r < s.nregion(); ++r)
      if (f.power_at_start_mw[static_cast<size_t>(r)] > 0)
        e << YAML::Key << region_id(s, r) << YAML::Value << format_power_mw(f.power_at_start_mw[static_cast<size_t>(r)]);
    e << YAML::EndMap;
    e << YAML::Key << "fleet_at_start" << YAML::Value << YAML::Flow << YAML::BeginMap;
    for (int g = 0; g < s.ngeneration(); ++g)
      if (f.fleet_at_start[static_cast<size_t>(g)] > 0)
        e << YAML::Key << s.generations[static_cast<size_t>(g)].id << YAML::Value
          << format_number(f.fleet_at_start[static_cast<size_t>(g)]);
    e << YAML::EndMap;
    if (!f.family_mix.empty()) {
      e << YAML::Key << "family_mix" << YAML::Value << YAML::Flow << YAML::BeginMap;
      for (auto& [fam, share] : f.family_mix) e << YAML::Key << fam << YAML::Value << format_number(share);
      e << YAML::EndMap;
    }
    if (!f.capex_usd.empty()) {
      e << YAML::Key << "capex" << YAML::Value << YAML::Flow << YAML::BeginMap;
      for (auto& [year, usd] : f.capex_usd)
        e << YAML::Key << std::to_string(year) << YAML::Value << format_money_usd(usd);
      e << YAML::EndMap;
    }
    if (f.capex_start) e << YAML::Key << "capex_start" << YAML::Value << to_iso(*f.capex_start);
    e << YAML::Key << "capex_split" << YAML::Value << YAML::Flow << YAML::BeginMap
      << YAML::Key << "gpus" << YAML::Value << format_number(f.capex_split.gpus_share)
      << YAML::Key << "facilities" << YAML::Value << format_number(f.capex_split.facilities_share)
      << YAML::Key << "network" << YAML::Value << format_number(f.capex_split.network_share)
      << YAML::EndMap;
    if (f.sells_surplus) e << YAML::Key << "sells_surplus" << YAML::Value << "true";
    if (f.investment) {
      const InvestmentRule& r = *f.investment;
      e << YAML::Key << "investment" << YAML::Value << YAML::Flow << YAML::BeginMap
        << YAML::Key << "target_utilization" << YAML::Value << format_number(r.target_utilization)
        << YAML::Key << "utilization_weight" << YAML::Value << format_number(r.utilization_weight)
        << YAML::Key << "price_weight" << YAML::Value << format_number(r.price_weight)
        << YAML::Key << "perception" << YAML::Value << to_string(r.perception)
        << YAML::Key << "supply_line" << YAML::Value << (r.supply_line ? "true" : "false")
        << YAML::Key << "supply_line_weight" << YAML::Value << format_number(r.supply_line_weight)
        << YAML::Key << "normal_supply_line" << YAML::Value << format_number(r.normal_supply_line)
        << YAML::Key << "bounds" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key << "min"
        << YAML::Value << format_number(r.min_multiplier) << YAML::Key << "max" << YAML::Value
        << format_number(r.max_multiplier) << YAML::EndMap << YAML::EndMap;
    }
    e << YAML::Key << "build_lead_time" << YAML::Value << to_string(f.build_lead_time);
    e << YAML::Key << "build_time" << YAML::Value << to_string(f.build_time);
    if (!f.orders.empty()) {
      e << YAML::Key << "orders" << YAML::Value << YAML::BeginSeq;
      for (const GpuOrder& o : f.orders) {
        e << YAML::Flow << YAML::BeginMap;
        e << YAML::Key << "generation" << YAML::Value << s.generations[static_cast<size_t>(o.generation)].id;
        e << YAML::Key << "units" << YAML::Value << format_number(o.units);
        e << YAML::Key << "date" << YAML::Value << to_iso(o.date);
        if (o.region >= 0) e << YAML::Key << "region" << YAML::Value << region_id(s, o.region);
        if (o.over.count > 0) e << YAML::Key << "over" << YAML::Value << to_string(o.over);
        e << YAML::EndMap;
      }
      e << YAML::EndSeq;
    }
    if (!f.builds.empty()) {
      e << YAML::Key << "builds" << YAML::Value << YAML::BeginSeq;
      for (const Build& b : f.builds) {
        e << YAML::Flow << YAML::BeginMap;
        if (b.region >= 0) e << YAML::Key << "region" << YAML::Value << region_id(s, b.region);
        e << YAML::Key << "power" << YAML::Value << format_power_mw(b.power_mw);
        e << YAML::Key << "commit" << YAML::Value << to_iso(b.commit);
        e << YAML::Key << "lead_time" << YAML::Value << to_string(b.lead_time);
        e << YAML::Key << "build_time" << YAML::Value << to_string(b.build_time);
        e << YAML::Key << "stage" << YAML::Value << to_string(b.stage);
        e << YAML::Key << "grid" << YAML::Value << (b.grid ? "true" : "false");
        e << YAML::EndMap;
      }
      e << YAML::EndSeq;
    }
    e << YAML::EndMap;
  }
  e << YAML::EndMap;
  emit_demand(e, s);
  emit_market(e, s);
  {
    const DiagnosisSettings d = resolve_defaults(s.diagnosis, s.step);
    e << YAML::Key << "diagnosis" << YAML::Value << YAML::Flow << YAML::BeginMap
      << YAML::Key << "method" << YAML::Value << (d.method == DiagnosisSettings::Method::hp ? "hp" : "moving_average")
      << YAML::Key << "lambda" << YAML::Value << format_number(d.lambda)
      << YAML::Key << "window" << YAML::Value << std::to_string(d.window)
      << YAML::Key << "threshold" << YAML::Value << format_number(d.threshold)
      << YAML::Key << "persistence" << YAML::Value << std::to_string(d.persistence)
      << YAML::Key << "utilization" << YAML::Value << format_number(d.utilization) << YAML::EndMap;
  }
  e << YAML::EndMap;
  return std::string(e.c_str()) + "\n";
}

}  // namespace gpumm
