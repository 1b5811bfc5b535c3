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
  e << YAML::EndMap;
  return std::string(e.c_str()) + "\n";
}

}  // namespace gpumm
