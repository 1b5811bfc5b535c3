// Loading and validating scenarios: the sections of a composed document (scenario_extends.cpp
// composes it, yaml_document.cpp reads and parses its files) into a Scenario. With those, the
// templates of studies, scenario_writer.cpp and scenario_changes.cpp, the only places that see YAML.
// Reading never stops at the first problem: every problem goes to `Diagnostics` and the
// ScenarioError thrown at the end lists them all, each with file:line:col and key path.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <optional>
#include <set>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "gpumm/scenario.hpp"
#include "scenario_template.hpp"
#include "yaml_hints.hpp"
#include "yaml_reader.hpp"

namespace gpumm {

using detail::Diagnostics;
using detail::MapReader;
using detail::list_expected;
using detail::not_one_of;
using detail::year_key;
using detail::year_span;

std::string to_string(Stage s) {
  switch (s) {
    case Stage::announced: return "announced";
    case Stage::permitted: return "permitted";
    case Stage::under_construction: return "under_construction";
    case Stage::operational: return "operational";
  }
  return "announced";
}

bool parse_stage(std::string_view text, Stage& out) {
  if (text == "announced") out = Stage::announced;
  else if (text == "permitted") out = Stage::permitted;
  else if (text == "under_construction") out = Stage::under_construction;
  else if (text == "operational") out = Stage::operational;
  else return false;
  return true;
}

double StageProbabilities::of(Stage s) const {
  switch (s) {
    case Stage::announced: return announced_share;
    case Stage::permitted: return permitted_share;
    case Stage::under_construction: return under_construction_share;
    case Stage::operational: return operational_share;
  }
  return 1.0;
}

std::optional<int> detail::year_key(std::string_view key) {
  const Parsed<double> y = parse_number(key);
  if (!y.ok() || y.value != std::floor(y.value) || y.value < 1900 || y.value > 2999) return std::nullopt;
  return static_cast<int>(y.value);
}

std::optional<std::pair<int, int>> detail::year_span(const std::vector<std::string>& keys) {
  std::optional<std::pair<int, int>> span;
  for (const std::string& k : keys) {
    const std::optional<int> y = year_key(k);
    if (!y) return std::nullopt;
    span = span ? std::pair{std::min(span->first, *y), std::max(span->second, *y)} : std::pair{*y, *y};
  }
  return span;
}

namespace {

const std::vector<std::string> kSteps = {"week", "month", "quarter"};  // parse_step's words

// A sum for a message: 0.9 rather than 0.8999999999999999.
std::string rounded(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", x);
  return buf;
}

bool id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

bool valid_id(const std::string& s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), id_char);
}

std::string index_path(const std::string& path, std::size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

// The paths of the entries of a list of named entries (contracts, projects) by their names, as
// study parameters and `gpumm diff` name them (`contracts[openai_oracle]`): an index means
// little once `extends` has merged lists. By its index an entry whose name is missing, not an
// id, or not unique.
std::vector<std::string> entry_paths(const std::string& path, const YAML::Node& list) {
  std::vector<std::string> names(list.size());
  std::map<std::string, int> count;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const YAML::Node entry = list[i];
    if (!entry.IsMap()) continue;
    const YAML::Node n = entry["name"];
    if (n.IsDefined() && n.IsScalar() && valid_id(n.Scalar())) ++count[names[i] = n.Scalar()];
  }
  std::vector<std::string> paths;
  for (std::size_t i = 0; i < list.size(); ++i)
    paths.push_back(names[i].empty() || count[names[i]] > 1 ? index_path(path, i) : path + "[" + names[i] + "]");
  return paths;
}

class Loader {
 public:
  Loader(Diagnostics& d, const YAML::Node& root) : d_(d), root_(root) {}

  Scenario load() {
    MapReader top(d_, root_, "");
    if (!top.valid()) return s_;
    // `extends` was read (and removed) when the document was composed; a key of this level
    // for the did-you-mean and the list of keys of an unknown one
    top.get("extends");

    load_time(top);
    top.text("description", s_.description);
    load_settings(top);

    // ids first, so references can be checked whatever the order of sections
    YAML::Node nodes = top.get("upstream");
    YAML::Node gens = top.get("generations");
    YAML::Node regions = top.get("regions");
    YAML::Node firms = top.get("firms");
    collect_ids(nodes, "upstream", node_ids_);
    collect_ids(gens, "generations", gen_ids_);
    collect_ids(regions, "regions", region_ids_);
    collect_ids(firms, "firms", firm_ids_);
    if (!gens.IsDefined()) top.missing("generations", "at least one GPU generation");
    if (!regions.IsDefined()) top.missing("regions", "at least one region");
    if (!firms.IsDefined()) top.missing("firms", "at least one firm");

    load_nodes(nodes);
    load_generations(gens);
    load_regions(regions);
    load_firms(firms);
    for (const char* section : kLaterSections) load_section(section, top);
    top.finish();
    return std::move(s_);
  }

  /// The sections read after the firms, in the order of a load; each can be reloaded alone.
  static constexpr const char* kLaterSections[] = {"projects",  "programs",  "inference", "other_demand",
                                                   "diagnosis", "contracts", "backstops", "market"};

  /// Read section `name` (one of kLaterSections) afresh, dropping what it held.
  void load_section(const std::string& name, MapReader& top) {
    const YAML::Node node = top.get(name);
    if (name == "projects") {
      s_.projects.clear();
      load_projects(node);
    } else if (name == "programs") {
      s_.programs.clear();
      load_programs(node);
    } else if (name == "inference") {
      s_.inference.clear();
      load_inference(node);
    } else if (name == "other_demand") {
      s_.other_demand.clear();
      load_other(node);
    } else if (name == "diagnosis") {
      s_.diagnosis = DiagnosisSettings{};
      load_diagnosis(node);
    } else if (name == "contracts") {
      s_.contracts.clear();
      load_contracts(node);
    } else if (name == "backstops") {
      s_.backstops.clear();
      load_backstops(node);
    } else if (name == "market") {
      s_.market = MarketSettings{};
      load_market(node);
    } else {
      throw std::logic_error("reload: cannot reload " + name);
    }
  }

  // The entry of `list` with this id, loaded again by `load`.
  template <class T, class F>
  static void replace_entry(std::vector<T>& list, const std::string& id, F load) {
    auto it = std::find_if(list.begin(), list.end(), [&](const T& x) { return x.id == id; });
    if (it == list.end()) throw std::logic_error("reload: no entry " + id);
    *it = load();
  }

  /// The document's `units` into a copy of `base`, a scenario loaded from the same document
  /// before some of its numbers changed: `firms.<id>` reloads one firm (`firms.<id>.capex` its
  /// budget), `regions.<id>`, `programs.<id>`, `inference.<id>` or `other_demand.<id>` one
  /// entry, a section name the whole section; everything else is taken from `base`. Only for
  /// sections that no other section reads numbers from (studies' fast path).
  Scenario reload(const Scenario& base, const std::vector<std::string>& units) {
    s_ = base;
    MapReader top(d_, root_, "");
    if (!top.valid()) return s_;
    collect_ids(top.get("upstream"), "upstream", node_ids_);
    collect_ids(top.get("generations"), "generations", gen_ids_);
    collect_ids(top.get("regions"), "regions", region_ids_);
    const YAML::Node firms = top.get("firms");
    collect_ids(firms, "firms", firm_ids_);
    for (const std::string& u : units) {
      if (u.rfind("firms.", 0) == 0) {
        // `firms.<id>`: the whole firm; `firms.<id>.capex`: its capex budget only
        const size_t dot = u.find('.', 6);
        const std::string id = u.substr(6, dot == std::string::npos ? std::string::npos : dot - 6);
        const int f = firm_index(id);
        if (f < 0) throw std::logic_error("reload: no firm " + id);
        Firm& firm = s_.firms[static_cast<size_t>(f)];
        if (dot == std::string::npos) {
          firm = load_firm(id, firms[id], f);
        } else {
          MapReader m(d_, firms[id], "firms." + id);
          load_capex(m, firm);
        }
        check_capex_prices(firm, firms);
      } else if (const size_t dot = u.find('.'); dot != std::string::npos) {
        // `regions.<id>`, `programs.<id>`, `inference.<id>`, `other_demand.<id>`: that one entry
        const std::string section = u.substr(0, dot), id = u.substr(dot + 1);
        const YAML::Node node = top.get(section)[id];
        if (section == "regions") replace_entry(s_.regions, id, [&] { return load_region(id, node); });
        else if (section == "programs") replace_entry(s_.programs, id, [&] { return load_program(id, node); });
        else if (section == "inference") replace_entry(s_.inference, id, [&] { return load_service(id, node); });
        else if (section == "other_demand") replace_entry(s_.other_demand, id, [&] { return load_workload(id, node); });
        else throw std::logic_error("reload: cannot reload " + u);
      } else {
        load_section(u, top);
      }
    }
    return std::move(s_);
  }

 private:
  // ---- time and global settings -------------------------------------------------------------
  void load_time(MapReader& top) {
    top.text("name", s_.name);
    if (!s_.name.empty() && !valid_id(s_.name))
      d_.error(top.get("name"), "name",
               "`" + s_.name + "`: use letters, digits, `_` or `-` (it names the output folder)");
    bool have_start = date(top, "start", s_.start, true);
    bool have_end = date(top, "end", s_.end, true);
    std::string step;
    if (top.text("step", step) && !parse_step(step, s_.step))
      d_.error(top.get("step"), "step", not_one_of(step, kSteps));
    std::string calibrated;
    if (top.text("calibrated_step", calibrated)) {
      Step x = Step::month;
      if (parse_step(calibrated, x)) s_.calibrated_step = x;
      else d_.error(top.get("calibrated_step"), "calibrated_step", not_one_of(calibrated, kSteps));
    }
    if (have_start && have_end) {
      if (s_.end < s_.start)
        d_.error(top.get("end"), "end",
                 to_iso(s_.end) + " is before start " + to_iso(s_.start) + set_elsewhere(top.get("start"), top.get("end")));
      else if ((s_.end - s_.start).days() > 100 * 366)
        d_.error(top.get("end"), "end", "horizon longer than 100 years");
    }
    if (have_start && s_.step == Step::month && s_.start.day() != 1)
      d_.error(top.get("start"), "start",
               to_iso(s_.start) + ": a monthly calendar starts on the first of a month (e.g. `" +
                   to_iso(Date(s_.start.year(), s_.start.month(), 1)) + "`)");
    if (have_start && s_.step == Step::quarter &&
        (s_.start.day() != 1 || (s_.start.month() - 1) % 3 != 0))
      d_.error(top.get("start"), "start",
               to_iso(s_.start) + ": a quarterly calendar starts on the first day of a quarter "
                                  "(e.g. `" + std::to_string(s_.start.year()) + "-Q1`)");
    double seed = 1;
    if (top.whole_number("seed", seed, false, 0, static_cast<double>(kMaxSeed))) s_.seed = static_cast<std::uint64_t>(seed);
  }

  void load_settings(MapReader& top) {
    top.choice("pipeline", s_.pipeline, {{"expected", PipelineMode::expected}, {"sampled", PipelineMode::sampled}});
    if (YAML::Node n = top.get("stages"); n.IsDefined()) {
      MapReader m(d_, n, "stages");
      m.share("announced", s_.stages.announced_share);
      m.share("permitted", s_.stages.permitted_share);
      m.share("under_construction", s_.stages.under_construction_share);
      m.share("operational", s_.stages.operational_share);
      m.finish();
    }
    if (YAML::Node n = top.get("costs"); n.IsDefined()) {
      MapReader m(d_, n, "costs");
      money(m, "facility_per_mw", s_.costs.facility_usd_per_mw, false, true);
      money(m, "port", s_.costs.port_usd, false, false);
      m.finish();
    }
    if (YAML::Node n = top.get("network"); n.IsDefined()) {
      MapReader m(d_, n, "network");
      duration(m, "lead_time", s_.network.lead_time, false);
      if (YAML::Node sup = m.get("supply"); sup.IsDefined()) {
        MapReader sm(d_, sup, "network.supply");
        UpstreamNode u;
        u.id = "network";
        u.unit = "ports";
        load_capacity(sm, u);
        sm.finish();
        s_.network.supply = u;
      }
      m.finish();
    }
  }

  // ---- ids and references -------------------------------------------------------------------
  void collect_ids(const YAML::Node& n, const std::string& section, std::vector<std::string>& ids) {
    if (!n.IsDefined()) return;
    if (!n.IsMap()) {
      d_.error(n, section, "expected a map from id to definition");
      unreadable_.push_back(section);
      return;
    }
    for (auto it = n.begin(); it != n.end(); ++it) {
      const std::string id = it->first.IsScalar() ? it->first.Scalar() : "";
      if (check_id(it->first, section) && std::find(ids.begin(), ids.end(), id) != ids.end())
        d_.error(it->first, section + "." + id, "duplicate id");
      ids.push_back(id);
    }
  }

  // Whether `key`, the key of an entry of `section`, is an id (it names the entry in paths,
  // columns and folders); tells what is wrong with it otherwise.
  bool check_id(const YAML::Node& key, const std::string& section) {
    if (!key.IsScalar()) {
      d_.error(key, section, "an id is a word of letters, digits, `_` or `-`, not a list or a map");
      return false;
    }
    const std::string& id = key.Scalar();
    if (id.empty()) {
      d_.error(key, section, "an empty id: ids use letters, digits, `_` or `-`");
      return false;
    }
    if (id.size() > 64) {
      d_.error(key, section,
               "`" + id.substr(0, 24) + "...`: an id has at most 64 characters, this one " + std::to_string(id.size()));
      return false;
    }
    if (valid_id(id)) return true;
    // the id it was likely meant to be: what refers to it by that name is told here, once
    // (a character of several UTF-8 bytes becomes one `_`)
    std::string meant;
    for (char c : id)
      if (id_char(c)) meant += c;
      else if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) meant += '_';
    std::string msg = "`" + id + "`: ids use letters, digits, `_` or `-`";
    if (valid_id(meant)) {
      msg += " (such as `" + meant + "`)";
      meant_.insert(section + "." + meant);
    }
    d_.error(key, section, msg);
    return false;
  }

  // Resolve a reference; records "unknown X" with a suggestion. Returns -1 when unknown.
  int ref(const YAML::Node& n, const std::string& path, const std::string& name,
          const std::vector<std::string>& ids, const char* what) {
    auto it = std::find(ids.begin(), ids.end(), name);
    if (it != ids.end()) return static_cast<int>(it - ids.begin());
    std::string msg = "unknown " + std::string(what) + " `" + name + "`";
    // the section that defines such names, where a scenario that extends this one may have
    // removed it
    const std::string section = std::string(what) == "upstream node" ? "upstream" : std::string(what) + "s";
    // a section that is no map of ids is told once, not again at every name it would define
    if (std::find(unreadable_.begin(), unreadable_.end(), section) != unreadable_.end()) {
      ++untold_;
      return -1;
    }
    if (const auto* removed = d_.removal_of(section + "." + name)) {
      msg += ": " + removed->file + ":" + std::to_string(removed->mark.line + 1) + ":" +
             std::to_string(removed->mark.column + 1) + " removes it (`" + name +
             ": null`): remove or change what refers to it in that file too";
      d_.error(n, path, msg);
      return -1;
    }
    // a name an invalid id was meant to be: told once, at that id
    if (meant_.count(section + "." + name)) {
      ++untold_;
      return -1;
    }
    std::vector<std::string> valid;
    std::copy_if(ids.begin(), ids.end(), std::back_inserter(valid), valid_id);
    std::string guess = detail::did_you_mean(name, valid);
    if (!guess.empty()) msg += "; did you mean `" + guess + "`?";
    else if (!valid.empty()) msg += " (defined: " + join(valid) + ")";
    d_.error(n, path, msg);
    return -1;
  }

  int ref_key(MapReader& m, std::string_view key, const std::vector<std::string>& ids,
              const char* what, bool required) {
    std::string name;
    if (!m.text(key, name, required)) return -1;
    return ref(m.get(key), m.child_path(key), name, ids, what);
  }

  // " (set at file:line:column)" when `other`, a value a check compares `here` with, comes from
  // another file than `here` (a case that moved one of two dates): "" otherwise
  std::string set_elsewhere(const YAML::Node& other, const YAML::Node& here) const {
    const std::string& file = d_.file_of(other);
    if (file == d_.file_of(here)) return "";
    return " (set at " + file + ":" + std::to_string(other.Mark().line + 1) + ":" +
           std::to_string(other.Mark().column + 1) + ")";
  }

  static std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (std::size_t i = 0; i < v.size() && i < 12; ++i) s += (i ? ", " : "") + v[i];
    if (v.size() > 12) s += ", ...";
    return s;
  }

  // ---- typed helpers ------------------------------------------------------------------------
  bool date(MapReader& m, std::string_view key, Date& out, bool required) {
    return m.quantity(key, out, &parse_date, required);
  }

  bool money(MapReader& m, std::string_view key, double& out, bool required, bool positive,
             Parsed<double> (*parse)(std::string_view) = &parse_money_usd) {
    if (!m.quantity(key, out, parse, required)) return false;
    if (out < 0 || (positive && out == 0)) {
      d_.error(m.get(key), m.child_path(key), positive ? "must be > 0" : "must be >= 0");
      return false;
    }
    if (out > 1e14) {
      d_.error(m.get(key), m.child_path(key), "must be at most $100T (about the world's output in a year)");
      return false;
    }
    return true;
  }
  // Exactly one of the keys `a` and `b` in the map; where a scenario that extends another
  // writes one beside the other its base wrote, the message says how to replace it.
  // (`a_with`: a key that goes with `a` and goes away with it, as `generation` with `gpus`)
  void one_of(MapReader& m, std::string_view a, std::string_view b, const std::string& message,
              std::string_view a_with = {}) {
    const bool has_a = m.has(a), has_b = m.has(b);
    if (has_a != has_b) return;
    std::string hint;
    if (has_a) {
      const std::string& file_a = d_.file_of(m.get(a));
      const std::string& file_b = d_.file_of(m.get(b));
      if (file_a != file_b) {
        // the key written last is the one from the file that merged into this map last
        std::string_view added = a, kept = b;
        if (const auto* o = d_.last_override(m.node()); o && o->file == file_b) std::swap(added, kept);
        std::string nulls = std::string(kept) + ": null";
        if (kept == a && !a_with.empty() && m.has(a_with)) nulls += ", " + std::string(a_with) + ": null";
        hint = "; to replace the base's `" + std::string(kept) + "` with `" + std::string(added) + "`, write `" +
               nulls + "` beside it";
      }
    }
    d_.error(m.node(), m.path(), message + hint);
  }

  // A price per hour, kWh or million tokens (`$2.10`)
  bool price(MapReader& m, std::string_view key, double& out, bool required, bool positive) {
    return money(m, key, out, required, positive, &parse_price_usd);
  }

  // A compute budget of a training run (`size`): > 0 and at most 1e36 FLOP, a billion times
  // the largest runs of 2025.
  void flop(MapReader& m, double& out, bool required) {
    if (!m.quantity("size", out, &parse_flop, required)) return;
    if (out <= 0) d_.error(m.get("size"), m.child_path("size"), "must be > 0");
    else if (out > 1e36) d_.error(m.get("size"), m.child_path("size"), "must be at most 1e36 FLOP");
  }

  static constexpr double kMaxPowerMw = 1e7;
  bool power(MapReader& m, std::string_view key, double& out, bool required) {
    if (!m.quantity(key, out, &parse_power_mw, required)) return false;
    if (out < 0) {
      d_.error(m.get(key), m.child_path(key), "must be >= 0");
      return false;
    }
    if (out > kMaxPowerMw) {
      d_.error(m.get(key), m.child_path(key),
               "must be at most 10,000 GW (more than the world's generating capacity, about 9,000 GW)");
      return false;
    }
    return true;
  }

  bool duration(MapReader& m, std::string_view key, Duration& out, bool required,
                bool positive = false) {
    if (!m.quantity(key, out, &parse_duration, required)) return false;
    if (positive && out.count == 0) {
      d_.error(m.get(key), m.child_path(key), "must be > 0");
      return false;
    }
    return true;
  }

  // ---- sections -----------------------------------------------------------------------------
  void load_nodes(const YAML::Node& section) {
    if (!section.IsDefined() || !section.IsMap()) return;
    for (auto it = section.begin(); it != section.end(); ++it) {
      UpstreamNode u;
      u.id = it->first.Scalar();
      MapReader m(d_, it->second, "upstream." + u.id);
      m.text("unit", u.unit);
      load_capacity(m, u);
      m.finish();
      s_.nodes.push_back(std::move(u));
    }
  }

  // capacity_per_year, max_growth_per_year and expansions: shared by upstream nodes and the
  // network's port supply
  void load_capacity(MapReader& m, UpstreamNode& u) {
    m.number("capacity_per_year", u.capacity_per_year, true, 0.0);
    m.number("max_growth_per_year", u.max_growth_per_year, false, 0.0);
    YAML::Node ex = m.get("expansions");
    if (!ex.IsDefined()) return;
    if (!ex.IsSequence()) {
      d_.error(ex, m.child_path("expansions"), list_expected(ex, "expansions"));
      return;
    }
    for (std::size_t i = 0; i < ex.size(); ++i) {
      MapReader e(d_, ex[i], index_path(m.child_path("expansions"), i));
      UpstreamNode::Expansion x;
      date(e, "commit", x.commit, true);
      e.number("add_per_year", x.add_per_year, true, 0.0);
      duration(e, "lag", x.lag, false);
      e.finish();
      u.expansions.push_back(x);
    }
  }

  void load_generations(const YAML::Node& section) {
    if (!section.IsDefined() || !section.IsMap()) return;
    if (section.size() == 0) d_.error(section, "generations", "define at least one generation");
    for (auto it = section.begin(); it != section.end(); ++it) {
      Generation g;
      g.id = it->first.Scalar();
      std::string path = "generations." + g.id;
      MapReader m(d_, it->second, path);
      if (!m.text("family", g.family)) g.family = g.id;
      if (m.has("custom_for")) g.custom_for = ref_key(m, "custom_for", firm_ids_, "firm", false);
      m.number("train_h100e", g.train_h100e, false, 0.0, 1000.0);
      m.number("infer_h100e", g.infer_h100e, false, 0.0, 1000.0);
      double kw_mw = 0;
      if (m.quantity("it_power", kw_mw, &parse_power_mw, true)) {
        if (kw_mw <= 0 || kw_mw > 1.0)  // 1 MW per unit is not a GPU
          d_.error(m.get("it_power"), m.child_path("it_power"),
                   "IT power per unit must be > 0 and at most 1 MW (e.g. `1.45 kW`)");
        else g.it_kw_per_gpu = kw_mw * 1000.0;
      }
      m.number("ports_per_gpu", g.ports_per_gpu, false, 0.0, 64.0);
      duration(m, "lead_time", g.lead_time, false);
      duration(m, "useful_life", g.useful_life, false, true);
      money(m, "price", g.price_usd, false, false);
      const bool have_first = date(m, "first_shipment", g.first_shipment, true);
      duration(m, "ramp", g.ramp, false);
      m.number("peak_units_per_year", g.peak_units_per_year, true, 0.0, 1e9);
      Date eop;
      if (date(m, "end_of_production", eop, false)) {
        g.end_of_production = eop;
        if (have_first && eop < g.first_shipment) {
          const YAML::Node end = m.get("end_of_production");
          d_.error(end, m.child_path("end_of_production"),
                   to_iso(eop) + " is before first_shipment " + to_iso(g.first_shipment) +
                       set_elsewhere(m.get("first_shipment"), end));
        }
      }
      duration(m, "ramp_down", g.ramp_down, false);
      if (YAML::Node u = m.get("uses"); u.IsDefined()) {
        MapReader um(d_, u, m.child_path("uses"));
        for (auto& [name, val] : um.entries()) {
          Generation::NodeUse use;
          use.node = ref(val, um.child_path(name), name, node_ids_, "upstream node");
          double x = 0;
          um.number(name, x, false, 0.0);
          use.per_gpu = x;
          if (use.node >= 0) g.uses.push_back(use);
        }
        um.finish();
      }
      m.finish();
      s_.generations.push_back(std::move(g));
    }
  }

  void load_regions(const YAML::Node& section) {
    if (!section.IsDefined() || !section.IsMap()) return;
    if (section.size() == 0) d_.error(section, "regions", "define at least one region");
    for (auto it = section.begin(); it != section.end(); ++it)
      s_.regions.push_back(load_region(it->first.Scalar(), it->second));
  }

  Region load_region(const std::string& id, const YAML::Node& node) {
    Region r;
    r.id = id;
    MapReader m(d_, node, "regions." + r.id);
    if (!m.text("latency_group", r.latency_group)) r.latency_group = r.id;
    m.number("pue", r.pue, false, 1.0, 3.0);
    if (m.quantity("interconnect_cap", r.interconnect_cap_mw_per_year, &parse_power_mw_per_year)) {
      if (r.interconnect_cap_mw_per_year < 0)
        d_.error(m.get("interconnect_cap"), m.child_path("interconnect_cap"), "must be >= 0");
      else if (r.interconnect_cap_mw_per_year > kMaxPowerMw && r.interconnect_cap_mw_per_year != kUnlimited)
        d_.error(m.get("interconnect_cap"), m.child_path("interconnect_cap"), "must be at most 10,000 GW/y");
    }
    if (YAML::Node ex = m.get("excludes"); ex.IsDefined()) {
      if (!ex.IsSequence()) d_.error(ex, m.child_path("excludes"), list_expected(ex, "generations"));
      else
        for (std::size_t i = 0; i < ex.size(); ++i) {
          std::string name;
          std::string p = index_path(m.child_path("excludes"), i);
          if (detail::scalar(d_, ex[i], p, name)) {
            int g = ref(ex[i], p, name, gen_ids_, "generation");
            if (g >= 0) r.excluded_generations.push_back(g);
          }
        }
    }
    m.finish();
    return r;
  }

  bool excluded(int region, int gen) const {
    if (region < 0 || region >= s_.nregion() || gen < 0) return false;
    const auto& ex = s_.regions[static_cast<size_t>(region)].excluded_generations;
    return std::find(ex.begin(), ex.end(), gen) != ex.end();
  }

  // A map from region id to a value read by `read` (weights, power).
  template <class F>
  std::vector<double> per_region(MapReader& m, std::string_view key, F read) {
    std::vector<double> out(region_ids_.size(), 0.0);
    YAML::Node n = m.get(key);
    if (!n.IsDefined()) return out;
    MapReader rm(d_, n, m.child_path(key));
    for (auto& [name, val] : rm.entries()) {
      int r = ref(val, rm.child_path(name), name, region_ids_, "region");
      double x = 0;
      if (read(rm, name, x) && r >= 0) out[static_cast<size_t>(r)] = x;
      rm.get(name);
    }
    rm.finish();
    return out;
  }

  void load_firms(const YAML::Node& section) {
    if (!section.IsDefined() || !section.IsMap()) return;
    if (section.size() == 0) d_.error(section, "firms", "define at least one firm");
    for (auto it = section.begin(); it != section.end(); ++it)
      s_.firms.push_back(load_firm(it->first.Scalar(), it->second, s_.nfirm()));
    // checks that need every firm and generation
    for (std::size_t i = 0; i < s_.firms.size(); ++i) check_capex_prices(s_.firms[i], section);
  }

  // A firm's capex budget by year (`firms.<id>.capex`).
  void load_capex(MapReader& m, Firm& f) {
    f.capex_usd.clear();
    YAML::Node n = m.get("capex");
    if (!n.IsDefined()) return;
    MapReader cm(d_, n, m.child_path("capex"));
    for (auto& [name, val] : cm.entries()) {
      const std::optional<int> y = year_key(name);
      if (!y) {
        d_.error(val, cm.child_path(name), "capex is keyed by year (e.g. `2026: $135B`)");
        cm.get(name);
        continue;
      }
      double usd = 0;
      if (money(cm, name, usd, false, false)) f.capex_usd[*y] = usd;
    }
    cm.finish();
  }

  // One firm (`firms.<id>`), the firm_index-th.
  Firm load_firm(const std::string& id, const YAML::Node& node, int firm_index) {
    Firm f;
    f.id = id;
    MapReader m(d_, node, "firms." + f.id);

    // region weights: required, positive, sum to 1
    if (!m.has("regions")) m.missing("regions", "where the firm builds, e.g. `{us_east: 1.0}`");
    f.region_weight = region_weights(m);
    f.power_at_start_mw = per_region(m, "power_at_start", [this](MapReader& rm, const std::string& k, double& x) {
      return power(rm, k, x, false);
    });

    // initial fleet by generation
    f.fleet_at_start.assign(gen_ids_.size(), 0.0);
    if (YAML::Node n = m.get("fleet_at_start"); n.IsDefined()) {
      MapReader fm(d_, n, m.child_path("fleet_at_start"));
      for (auto& [name, val] : fm.entries()) {
        int g = ref(val, fm.child_path(name), name, gen_ids_, "generation");
        double x = 0;
        if (fm.number(name, x, false, 0.0, 1e9) && g >= 0) f.fleet_at_start[static_cast<size_t>(g)] = x;
      }
      fm.finish();
    }

    // capex budget by year and its split
    load_capex(m, f);
    Date capex_start;
    if (date(m, "capex_start", capex_start, false)) f.capex_start = capex_start;
    if (YAML::Node n = m.get("capex_split"); n.IsDefined()) {
      MapReader sm(d_, n, m.child_path("capex_split"));
      sm.share("gpus", f.capex_split.gpus_share);
      sm.share("facilities", f.capex_split.facilities_share);
      sm.share("network", f.capex_split.network_share);
      sm.finish();
      double sum = f.capex_split.gpus_share + f.capex_split.facilities_share +
                   f.capex_split.network_share;
      if (sum > 1.0 + 1e-9)
        d_.error(n, m.child_path("capex_split"),
                 "shares sum to " + rounded(sum) + "; they must sum to at most 1");
    }
    if (YAML::Node n = m.get("family_mix"); n.IsDefined()) {
      MapReader fm(d_, n, m.child_path("family_mix"));
      const size_t problems = problems_so_far();
      double sum = 0;
      for (auto& [name, val] : fm.entries()) {
        double x = 0;
        if (!fm.share(name, x)) continue;
        if (!family_exists(name)) {
          std::vector<std::string> families;
          for (const Generation& g : s_.generations)
            if (std::find(families.begin(), families.end(), g.family) == families.end()) families.push_back(g.family);
          const std::string near = detail::did_you_mean(name, families);
          d_.error(val, fm.child_path(name),
                   "no generation has family `" + name + "`" + (near.empty() ? "" : "; did you mean `" + near + "`?"));
          continue;
        }
        f.family_mix.emplace_back(name, x);
        sum += x;
      }
      fm.finish();
      // (a share refused is its own problem: the sum without it would be a second one)
      if (problems_so_far() == problems && std::abs(sum - 1.0) > 1e-6)
        d_.error(n, m.child_path("family_mix"), "shares sum to " + rounded(sum) + kept_from_base(n) + "; they must sum to 1");
    } else if (!f.capex_usd.empty()) {
      if (family_exists("nvidia")) f.family_mix.emplace_back("nvidia", 1.0);
      else
        m.missing("family_mix", "which GPU families the capex buys, e.g. `{nvidia: 1.0}`");
    }
    m.boolean("sells_surplus", f.sells_surplus);
    if (YAML::Node inv = m.get("investment"); inv.IsDefined()) {
      MapReader im(d_, inv, m.child_path("investment"));
      InvestmentRule rule;
      im.share("target_utilization", rule.target_utilization);
      im.number("utilization_weight", rule.utilization_weight, false, 0.0, 100.0);
      im.number("price_weight", rule.price_weight, false, 0.0, 100.0);
      duration(im, "perception", rule.perception, false, true);
      im.boolean("supply_line", rule.supply_line);
      im.number("supply_line_weight", rule.supply_line_weight, false, 0.0, 100.0);
      im.number("normal_supply_line", rule.normal_supply_line, false, 0.0, 100.0);
      if (YAML::Node b = im.get("bounds"); b.IsDefined()) {
        MapReader bm(d_, b, im.child_path("bounds"));
        bm.number("min", rule.min_multiplier, false, 0.0, 100.0);
        bm.number("max", rule.max_multiplier, false, 0.0, 100.0);
        bm.finish();
        if (rule.min_multiplier > rule.max_multiplier)
          d_.error(b, im.child_path("bounds"), "min " + format_number(rule.min_multiplier) + " is above max " +
                                                   format_number(rule.max_multiplier));
      }
      im.finish();
      f.investment = rule;
    }
    duration(m, "build_lead_time", f.build_lead_time, false);
    duration(m, "build_time", f.build_time, false);

    load_orders(m, f, firm_index);
    load_builds(m, f);
    m.finish();
    return f;
  }

  bool family_exists(const std::string& fam) const {
    for (const Generation& g : s_.generations)
      if (g.family == fam) return true;
    return false;
  }

  void check_capex_prices(const Firm& f, const YAML::Node& section) {
    if (f.capex_usd.empty() || f.capex_split.gpus_share == 0) return;
    for (auto& [fam, share] : f.family_mix) {
      for (const Generation& g : s_.generations)
        if (g.family == fam && g.price_usd <= 0 &&
            (g.custom_for < 0 || g.custom_for == firm_index(f.id))) {
          d_.error(section[f.id], "firms." + f.id + ".capex",
                   "buys family `" + fam + "` but generations." + g.id +
                       ".price is not set; give its unit price (e.g. `price: $30000`)");
          return;
        }
    }
  }

  int firm_index(const std::string& id) const {
    auto it = std::find(firm_ids_.begin(), firm_ids_.end(), id);
    return it == firm_ids_.end() ? -1 : static_cast<int>(it - firm_ids_.begin());
  }

  void load_orders(MapReader& m, Firm& f, int firm) {
    YAML::Node list = m.get("orders");
    if (!list.IsDefined()) return;
    if (!list.IsSequence()) {
      d_.error(list, m.child_path("orders"), list_expected(list, "orders"));
      return;
    }
    for (std::size_t i = 0; i < list.size(); ++i) {
      MapReader o(d_, list[i], index_path(m.child_path("orders"), i));
      GpuOrder ord;
      ord.generation = ref_key(o, "generation", gen_ids_, "generation", true);
      o.number("units", ord.units, true, 0.0, 1e9);
      date(o, "date", ord.date, true);
      if (o.has("region")) ord.region = ref_key(o, "region", region_ids_, "region", false);
      duration(o, "over", ord.over, false);
      if (ord.generation >= 0 && ord.generation < s_.ngeneration()) {
        const Generation& g = s_.generations[static_cast<size_t>(ord.generation)];
        if (g.custom_for >= 0 && g.custom_for != firm)
          d_.error(o.get("generation"), o.child_path("generation"),
                   "`" + g.id + "` is a custom accelerator of " + firm_ids_[static_cast<size_t>(g.custom_for)] +
                       "; only its owner can order it");
        if (excluded(ord.region, ord.generation))
          d_.error(o.get("region"), o.child_path("region"),
                   "region `" + s_.regions[static_cast<size_t>(ord.region)].id + "` excludes `" + g.id +
                       "` (export controls)");
      }
      o.finish();
      f.orders.push_back(ord);
    }
  }

  void load_builds(MapReader& m, Firm& f) {
    YAML::Node list = m.get("builds");
    if (!list.IsDefined()) return;
    if (!list.IsSequence()) {
      d_.error(list, m.child_path("builds"), list_expected(list, "builds"));
      return;
    }
    for (std::size_t i = 0; i < list.size(); ++i) {
      MapReader b(d_, list[i], index_path(m.child_path("builds"), i));
      Build bl;
      bl.lead_time = f.build_lead_time;
      bl.build_time = f.build_time;
      if (b.has("region")) bl.region = ref_key(b, "region", region_ids_, "region", false);
      if (power(b, "power", bl.power_mw, true) && bl.power_mw == 0)
        d_.error(b.get("power"), b.child_path("power"), "must be > 0");
      date(b, "commit", bl.commit, true);
      duration(b, "lead_time", bl.lead_time, false);
      duration(b, "build_time", bl.build_time, false);
      std::string stage;
      if (b.text("stage", stage) && !parse_stage(stage, bl.stage))
        d_.error(b.get("stage"), b.child_path("stage"),
                 not_one_of(stage, {"announced", "permitted", "under_construction", "operational"}));
      b.boolean("grid", bl.grid);
      b.finish();
      f.builds.push_back(bl);
    }
  }

  // ---- demand -------------------------------------------------------------------------------
  void load_delay(MapReader& m, Delay& d) {
    YAML::Node n = m.get("delay");
    if (!n.IsDefined()) return;
    MapReader dm(d_, n, m.child_path("delay"));
    dm.share("probability", d.probability, true);
    dm.choice("distribution", d.distribution,
              {{"fixed", Delay::Distribution::fixed},
               {"uniform", Delay::Distribution::uniform},
               {"exponential", Delay::Distribution::exponential}});
    duration(dm, "mean", d.mean, true);
    dm.finish();
  }

  // min_generation, regions, contiguous
  void load_placement(MapReader& m, Placement& p) {
    if (m.has("min_generation")) p.min_generation = ref_key(m, "min_generation", gen_ids_, "generation", false);
    YAML::Node rs = m.get("regions");
    if (rs.IsDefined()) {
      if (!rs.IsSequence()) d_.error(rs, m.child_path("regions"), list_expected(rs, "regions"));
      else
        for (std::size_t i = 0; i < rs.size(); ++i) {
          std::string name;
          const std::string path = index_path(m.child_path("regions"), i);
          if (detail::scalar(d_, rs[i], path, name)) {
            const int r = ref(rs[i], path, name, region_ids_, "region");
            if (r >= 0) p.regions.push_back(r);
          }
        }
    }
    m.boolean("contiguous", p.contiguous);
  }

  // FLOP size: `size: 3e25 FLOP` or `gpus: {generation: h100, count: 100000}`
  void load_size(MapReader& m, Project& p, bool allow_gpus) {
    const bool has_size = m.has("size"), has_gpus = allow_gpus && m.has("gpus");
    if (has_size && has_gpus) {
      m.get("size");  // a known key, wrongly beside `gpus`: one problem, not also "unknown key"
      d_.error(m.get("gpus"), m.child_path("gpus"), "give either `size` (FLOP) or `gpus`, not both");
    }
    if (has_gpus) {
      MapReader g(d_, m.get("gpus"), m.child_path("gpus"));
      p.gpu_generation = ref_key(g, "generation", gen_ids_, "generation", true);
      g.number("count", p.gpu_count, true, 0.0, 1e9);
      g.finish();
    } else {
      flop(m, p.flop, !has_gpus);
    }
    m.number("mfu", p.mfu, false, 0.01, 1.0);
  }

  int firm_ref(MapReader& m) { return ref_key(m, "firm", firm_ids_, "firm", true); }

  void load_projects(const YAML::Node& list) {
    if (!list.IsDefined()) return;
    if (!list.IsSequence()) {
      d_.error(list, "projects", list_expected(list, "projects"));
      return;
    }
    std::map<std::string, int> seen;
    const std::vector<std::string> paths = entry_paths("projects", list);
    for (std::size_t i = 0; i < list.size(); ++i) {
      MapReader m(d_, list[i], paths[i]);
      Project p;
      if (m.text("name", p.name, true) && !seen.emplace(p.name, static_cast<int>(i)).second)
        d_.error(m.get("name"), m.child_path("name"), "duplicate project name `" + p.name + "`");
      p.firm = firm_ref(m);
      date(m, "start", p.start, true);
      duration(m, "duration", p.duration, true, true);
      load_size(m, p, true);
      load_placement(m, p.placement);
      load_delay(m, p.delay);
      m.finish();
      s_.projects.push_back(std::move(p));
    }
  }

  // A section that maps ids to definitions, each entry read by `load`.
  template <class T, class F>
  void load_entries(const YAML::Node& section, const char* name, const char* what, std::vector<T>& into, F load) {
    if (!section.IsDefined()) return;
    if (!section.IsMap()) {
      d_.error(section, name, std::string("expected a map from ") + what + " id to definition");
      return;
    }
    for (auto it = section.begin(); it != section.end(); ++it) {
      // an entry whose key names nothing is told once, at its key
      if (!check_id(it->first, name) && (!it->first.IsScalar() || it->first.Scalar().empty())) continue;
      into.push_back(load(it->first.Scalar(), it->second));
    }
  }

  void load_programs(const YAML::Node& section) {
    load_entries(section, "programs", "program", s_.programs,
                 [this](const std::string& id, const YAML::Node& n) { return load_program(id, n); });
  }

  Program load_program(const std::string& id, const YAML::Node& node) {
    Program p;
    p.id = id;
    MapReader m(d_, node, "programs." + p.id);
    p.firm = firm_ref(m);
    date(m, "first_run", p.first_run, true);
    duration(m, "cadence", p.cadence, true, true);
    Date until;
    if (date(m, "until", until, false)) p.until = until;
    flop(m, p.flop, true);
    growth(m, "growth_per_year", p.growth_per_year, 0.01, 100.0);
    growth_from(m, "growth_per_year", p.growth_per_year, p.first_run, "the first run");
    duration(m, "duration", p.duration, true, true);
    growth(m, "duration_growth_per_year", p.duration_growth_per_year, 0.01, 10.0);
    growth_from(m, "duration_growth_per_year", p.duration_growth_per_year, p.first_run, "the first run");
    Duration maxd;
    if (duration(m, "max_duration", maxd, false, true)) p.max_duration = maxd;
    duration(m, "jitter", p.jitter, false);
    m.number("mfu", p.mfu, false, 0.01, 1.0);
    load_placement(m, p.placement);
    load_delay(m, p.delay);
    m.finish();
    return p;
  }

  // A growth that is one number, or `{year: number}` for one that changes by year; every number
  // within [min, max].
  void growth(MapReader& m, std::string_view key, GrowthPath& out, double min, double max) {
    const YAML::Node n = m.get(key);
    if (!n.IsDefined() || !n.IsMap()) {
      m.number(key, out.constant, false, min, max);
      return;
    }
    if (n.size() == 0) {
      d_.error(n, m.child_path(key), "no year given: a number for every year, or the numbers by year from which they hold, e.g. `{2024: 3, 2029: 1.5}`");
      m.get(key);
      return;
    }
    out.by_year = by_year(m, key, [min, max](MapReader& ym, const std::string& k, double& x) {
      return ym.number(k, x, false, min, max);
    });
  }

  // A growth by year must give the number of the first year it is read in (`from`, when that
  // date was read): a case that writes `{2028: 1.5}` over its base's 3 replaces the 3 whole and
  // would read 1.5 in the years before 2028 too.
  void growth_from(MapReader& m, std::string_view key, const GrowthPath& g, Date from, const std::string& what) {
    if (!g.varies() || from.is_special() || g.by_year.begin()->first <= from.year()) return;
    const int first = g.by_year.begin()->first;
    d_.error(m.get(key), m.child_path(key),
             "the first year given, " + std::to_string(first) + ", is after " + what + " (" + to_iso(from) +
                 "): give the number from " + std::to_string(from.year()) + " on too, e.g. `{" +
                 std::to_string(from.year()) + ": ..., " + std::to_string(first) + ": " +
                 format_number(g.by_year.begin()->second) + "}` (a growth by year replaces a single number whole)");
  }

  // A service's growth from its `at` date, which is read back to the run's start and on to its end
  void growth_at(MapReader& m, std::string_view key, GrowthPath& g, Date at, double min, double max) {
    growth(m, key, g, min, max);
    const bool at_first = !at.is_special() && (s_.start.is_special() || at < s_.start);
    growth_from(m, key, g, at_first ? at : s_.start, at_first ? "`at`" : "the start");
  }

  // a map from year to a value read by `read`
  template <class F>
  std::map<int, double> by_year(MapReader& m, std::string_view key, F read) {
    std::map<int, double> out;
    YAML::Node n = m.get(key);
    if (!n.IsDefined()) return out;
    MapReader ym(d_, n, m.child_path(key));
    for (auto& [name, val] : ym.entries()) {
      const std::optional<int> y = year_key(name);
      if (!y) {
        d_.error(val, ym.child_path(name), "keyed by year (e.g. `2026: ...`)");
        ym.get(name);
        continue;
      }
      double x = 0;
      if (read(ym, name, x)) out[*y] = x;
    }
    ym.finish();
    return out;
  }

  std::vector<double> weights_or_firm(MapReader& m, int firm) {
    if (!m.has("regions"))
      return firm >= 0 && firm < s_.nfirm() ? s_.firms[static_cast<size_t>(firm)].region_weight
                                            : std::vector<double>(region_ids_.size(), 0.0);
    return region_weights(m);
  }

  // The weights of `regions` (a firm's, a service's or a workload's), which must sum to 1; the
  // sum is checked only when every weight was read (a weight refused, or a region misspelt,
  // is its own problem, and the sum without it would be a second one).
  std::vector<double> region_weights(MapReader& m) {
    const size_t problems = problems_so_far();
    std::vector<double> w = per_region(m, "regions", [](MapReader& rm, const std::string& k, double& x) {
      return rm.share(k, x);
    });
    double sum = 0;
    for (double x : w) sum += x;
    if (m.has("regions") && problems_so_far() == problems && std::abs(sum - 1.0) > 1e-6)
      d_.error(m.get("regions"), m.child_path("regions"),
               "region weights sum to " + rounded(sum) + kept_from_base(m.get("regions")) + "; they must sum to 1");
    return w;
  }

  // Where a scenario that extends another changed the map `n` of shares, the shares its base
  // wrote and it kept, which count in the sum (`, with `amd: 0.15` kept from base.yaml (a key
  // set to `null` drops it)`); "" otherwise.
  std::string kept_from_base(const YAML::Node& n) const {
    const auto* changed = d_.last_override(n);
    if (!changed) return "";
    std::string kept, from;
    for (auto it = n.begin(); it != n.end(); ++it) {
      const std::string& file = d_.file_of(it->second);
      if (file == changed->file || !it->first.IsScalar() || !it->second.IsScalar()) continue;
      kept += (kept.empty() ? "" : ", ") + it->first.Scalar() + ": " + it->second.Scalar();
      from = std::filesystem::path(file).filename().string();
    }
    return kept.empty() ? "" : ", with `" + kept + "` kept from " + from + " (a key set to `null` drops it)";
  }

  void load_inference(const YAML::Node& section) {
    load_entries(section, "inference", "service", s_.inference,
                 [this](const std::string& id, const YAML::Node& n) { return load_service(id, n); });
  }

  InferenceService load_service(const std::string& id, const YAML::Node& node) {
    InferenceService sv;
    sv.id = id;
    MapReader m(d_, node, "inference." + sv.id);
    sv.firm = firm_ref(m);
    sv.region_weight = weights_or_firm(m, sv.firm);
    if (YAML::Node u = m.get("users"); u.IsDefined()) {
      MapReader um(d_, u, m.child_path("users"));
      um.number("saturation", sv.users_saturation, true, 0.0, 1e11);
      date(um, "midpoint", sv.users_midpoint, true);
      um.number("steepness_per_year", sv.users_steepness_per_year, true, 0.0, 100.0);
      um.finish();
    } else {
      m.missing("users", "adoption: {saturation, midpoint, steepness_per_year}");
    }
    if (YAML::Node u = m.get("tokens_per_user"); u.IsDefined()) {
      MapReader tm(d_, u, m.child_path("tokens_per_user"));
      tm.number("per_day", sv.tokens_per_user_per_day, true, 0.0, 1e12);
      date(tm, "at", sv.tokens_at, true);
      growth_at(tm, "growth_per_year", sv.tokens_growth_per_year, sv.tokens_at, -0.99, 100.0);
      Date until;
      if (date(tm, "growth_until", until, false)) sv.tokens_growth_until = until;
      tm.finish();
    } else {
      m.missing("tokens_per_user", "{per_day, at, growth_per_year}");
    }
    if (YAML::Node u = m.get("throughput"); u.IsDefined()) {
      MapReader tm(d_, u, m.child_path("throughput"));
      tm.number("tokens_per_h100e_second", sv.tokens_per_h100e_second, true, 1e-6, 1e9);
      date(tm, "at", sv.throughput_at, true);
      growth_at(tm, "gain_per_year", sv.throughput_gain_per_year, sv.throughput_at, -0.99, 100.0);
      tm.finish();
    } else {
      m.missing("throughput", "{tokens_per_h100e_second, at, gain_per_year}");
    }
    if (YAML::Node u = m.get("price"); u.IsDefined()) {
      MapReader pm(d_, u, m.child_path("price"));
      sv.price_usd_per_mtok = by_year(pm, "per_mtok", [this](MapReader& ym, const std::string& k, double& x) {
        return price(ym, k, x, false, true);
      });
      pm.boolean("follows_spot", sv.price_follows_spot);
      price(pm, "reference", sv.reference_usd_per_mtok, !sv.price_follows_spot, true);
      pm.number("elasticity", sv.elasticity, true, 0.0, 10.0);
      pm.finish();
    }
    m.number("peak_to_average", sv.peak_to_average, false, 1.0, 10.0);
    if (YAML::Node ls = m.get("launches"); ls.IsDefined()) {
      if (!ls.IsSequence()) d_.error(ls, m.child_path("launches"), list_expected(ls, "launches"));
      else
        for (std::size_t i = 0; i < ls.size(); ++i) {
          MapReader lm(d_, ls[i], index_path(m.child_path("launches"), i));
          Launch l;
          date(lm, "date", l.date, true);
          lm.number("multiplier", l.multiplier, true, 0.0, 1000.0);
          duration(lm, "ramp", l.ramp, false);
          load_delay(lm, l.delay);
          lm.finish();
          sv.launches.push_back(l);
        }
    }
    m.finish();
    return sv;
  }

  void load_other(const YAML::Node& section) {
    load_entries(section, "other_demand", "workload", s_.other_demand,
                 [this](const std::string& id, const YAML::Node& n) { return load_workload(id, n); });
  }

  OtherDemand load_workload(const std::string& id, const YAML::Node& node) {
    OtherDemand o;
    o.id = id;
    MapReader m(d_, node, "other_demand." + o.id);
    o.firm = firm_ref(m);
    o.region_weight = weights_or_firm(m, o.firm);
    if (!m.has("h100e")) m.missing("h100e", "H100e by year, e.g. `{2025: 200000}`");
    o.h100e_by_year = by_year(m, "h100e", [](MapReader& ym, const std::string& k, double& x) {
      return ym.number(k, x, false, 0.0, 1e12);
    });
    m.finish();
    return o;
  }

  void load_contracts(const YAML::Node& list) {
    if (!list.IsDefined()) return;
    if (!list.IsSequence()) {
      d_.error(list, "contracts", list_expected(list, "contracts"));
      return;
    }
    std::map<std::string, int> seen;
    const std::vector<std::string> paths = entry_paths("contracts", list);
    for (std::size_t i = 0; i < list.size(); ++i) {
      MapReader m(d_, list[i], paths[i]);
      Contract c;
      if (m.text("name", c.name, true) && !seen.emplace(c.name, 1).second)
        d_.error(m.get("name"), m.child_path("name"), "duplicate contract name `" + c.name + "`");
      c.seller = ref_key(m, "seller", firm_ids_, "firm", true);
      c.buyer = ref_key(m, "buyer", firm_ids_, "firm", true);
      if (c.seller >= 0 && c.seller == c.buyer)
        d_.error(m.get("buyer"), m.child_path("buyer"), "a firm cannot contract with itself");
      if (m.has("region")) c.region = ref_key(m, "region", region_ids_, "region", false);
      const bool have_start = date(m, "start", c.start, true);
      const bool have_end = date(m, "end", c.end, true);
      if (have_end && have_start && c.end < c.start)
        d_.error(m.get("end"), m.child_path("end"),
                 to_iso(c.end) + " is before start " + to_iso(c.start) + set_elsewhere(m.get("start"), m.get("end")));
      const bool have_term = have_start && have_end && !(c.end < c.start);
      if (YAML::Node v = m.get("volume"); v.IsDefined()) {
        MapReader vm(d_, v, m.child_path("volume"));
        const bool gpus = vm.has("gpus"), power = vm.has("it_power");
        one_of(vm, "gpus", "it_power", "give either `gpus` (with `generation`) or `it_power`", "generation");
        if (gpus) {
          vm.number("gpus", c.gpus, true, 0.0, 1e9);
          c.generation = ref_key(vm, "generation", gen_ids_, "generation", true);
        }
        if (power) this->power(vm, "it_power", c.it_mw, true);
        vm.finish();
      } else {
        m.missing("volume", "`{gpus: N, generation: G}` or `{it_power: 200 MW}`");
      }
      const bool priced = m.has("price"), valued = m.has("value");
      one_of(m, "price", "value", "give either `price` ($ per H100e-hour) or `value` (total $)");
      if (priced) price(m, "price", c.price_usd_per_h100e_hour, true, true);
      if (valued) money(m, "value", c.value_usd, true, true);
      m.share("take_or_pay", c.take_or_pay);
      if (duration(m, "ramp", c.ramp, false) && have_term &&
          c.end < Calendar::add(c.start, c.ramp) - boost::gregorian::days(1))
        d_.error(m.get("ramp"), m.child_path("ramp"),
                 "a ramp of " + to_string(c.ramp) + " is longer than the contract's term (" + to_iso(c.start) +
                     " to " + to_iso(c.end) + "): the volume would never be all in force");
      if (YAML::Node o = m.get("option"); o.IsDefined()) {
        MapReader om(d_, o, m.child_path("option"));
        Date decision;
        if (date(om, "decision", decision, true)) {
          c.option_decision = decision;
          if (have_start && c.start < decision)
            d_.error(om.get("decision"), om.child_path("decision"), "an option is decided on or before its start " + to_iso(c.start));
        }
        om.number("shortfall_h100e", c.option_shortfall_h100e, false, 0.0, 1e12);
        om.finish();
      }
      m.finish();
      s_.contracts.push_back(c);
    }
  }

  void load_backstops(const YAML::Node& list) {
    if (!list.IsDefined()) return;
    if (!list.IsSequence()) {
      d_.error(list, "backstops", list_expected(list, "backstops"));
      return;
    }
    for (std::size_t i = 0; i < list.size(); ++i) {
      MapReader m(d_, list[i], index_path("backstops", i));
      Backstop b;
      m.text("provider", b.provider, true);
      b.seller = ref_key(m, "seller", firm_ids_, "firm", true);
      const bool have_start = date(m, "start", b.start, true);
      if (date(m, "end", b.end, true) && have_start && b.end < b.start)
        d_.error(m.get("end"), m.child_path("end"),
                 to_iso(b.end) + " is before start " + to_iso(b.start) + set_elsewhere(m.get("start"), m.get("end")));
      price(m, "floor", b.floor_usd_per_h100e_hour, true, true);
      money(m, "cap", b.cap_usd, true, true);
      m.finish();
      s_.backstops.push_back(b);
    }
  }

  void load_market(const YAML::Node& n) {
    if (!n.IsDefined()) return;
    MarketSettings& mk = s_.market;
    mk.enabled = true;
    MapReader m(d_, n, "market");
    if (YAML::Node sp = m.get("spot"); sp.IsDefined()) {
      MapReader sm(d_, sp, "market.spot");
      price(sm, "initial", mk.spot_initial, false, true);
      price(sm, "reference", mk.spot_reference, false, true);
      price(sm, "floor", mk.spot_floor, false, true);
      price(sm, "cap", mk.spot_cap, false, true);
      sm.share("target_utilization", mk.target_utilization);
      sm.number("sensitivity_per_year", mk.sensitivity_per_year, false, 0.0, 100.0);
      duration(sm, "smoothing", mk.spot_smoothing, false);
      sm.finish();
      if (mk.spot_floor > mk.spot_cap)
        d_.error(sp, "market.spot", "floor " + format_money_usd(mk.spot_floor) + " is above cap " + format_money_usd(mk.spot_cap));
      else if (mk.spot_initial < mk.spot_floor || mk.spot_initial > mk.spot_cap)
        d_.error(sp, "market.spot", "initial price must lie between floor and cap");
    }
    if (YAML::Node oc = m.get("operating_cost"); oc.IsDefined()) {
      MapReader om(d_, oc, "market.operating_cost");
      price(om, "electricity_per_kwh", mk.electricity_usd_per_kwh, false, false);
      price(om, "other_per_gpu_hour", mk.other_opex_usd_per_gpu_hour, false, false);
      om.finish();
    }
    if (YAML::Node tm = m.get("term"); tm.IsDefined()) {
      MapReader t(d_, tm, "market.term");
      duration(t, "lag", mk.term_lag, false);
      t.finish();
    }
    m.finish();
  }

  void load_diagnosis(const YAML::Node& n) {
    if (!n.IsDefined()) return;
    MapReader m(d_, n, "diagnosis");
    DiagnosisSettings& ds = s_.diagnosis;
    m.choice("method", ds.method,
             {{"hp", DiagnosisSettings::Method::hp}, {"moving_average", DiagnosisSettings::Method::moving_average}});
    m.number("lambda", ds.lambda, false, 0.0, 1e12);
    double window = 0;
    if (m.number("window", window, false, 1.0, 1000.0)) {
      if (window != std::floor(window) || static_cast<int>(window) % 2 == 0)
        d_.error(m.get("window"), "diagnosis.window", "must be an odd whole number of periods");
      else ds.window = static_cast<int>(window);
    }
    m.number("threshold", ds.threshold, false, 0.0, 10.0);
    double persistence = 0;
    if (m.number("persistence", persistence, false, 1.0, 10000.0)) {
      if (persistence != std::floor(persistence))
        d_.error(m.get("persistence"), "diagnosis.persistence", "must be a whole number of periods");
      else ds.persistence = static_cast<int>(persistence);
    }
    m.share("utilization", ds.utilization);
    m.finish();
  }

  Diagnostics& d_;
  YAML::Node root_;
  Scenario s_;
  std::vector<std::string> node_ids_, gen_ids_, region_ids_, firm_ids_;
  std::vector<std::string> unreadable_;  ///< id sections that are no map (told by collect_ids)
  std::set<std::string> meant_;          ///< `section.id` an invalid id was likely meant to be
  std::size_t untold_ = 0;               ///< references to their names, a problem told there

  // Problems so far, with the untold ones: a check of a sum runs only if none came while its
  // parts were read (the sum without a part refused would be a second problem).
  std::size_t problems_so_far() const { return d_.list.size() + untold_; }
};

}  // namespace

/// The scenario of a composed document; its problems go to `d`.
Scenario detail::load_sections(const YAML::Node& root, Diagnostics& d) { return Loader(d, root).load(); }

Scenario detail::reload_sections(const YAML::Node& root, const Scenario& base, const std::vector<std::string>& units,
                                 Diagnostics& d) {
  return Loader(d, root).reload(base, units);
}

std::span<const char* const> detail::later_sections() { return Loader::kLaterSections; }

Scenario load_scenario_text(const std::string& text, const std::string& file_name,
                            const LoadLimits& limits) {
  Diagnostics d;
  d.file = file_name;
  std::vector<std::string> chain{std::filesystem::path(file_name).lexically_normal().string()};
  YAML::Node root = detail::compose(text, file_name, limits, chain, d);
  // a document that could not be read or composed stops here; problems of the merge (an entry
  // to remove that is not there, a misspelt entry left out) leave one to check for the rest
  if (!root.IsDefined()) throw ScenarioError(d.list);
  Scenario s = detail::load_sections(root, d);
  d.explain_new_entries();
  s.source_file = file_name;
  if (s.name.empty()) s.name = std::filesystem::path(file_name).stem().string();
  if (!valid_id(s.name)) s.name = "scenario";
  if (!d.list.empty()) throw ScenarioError(d.list);
  return s;
}

Scenario load_scenario_file(const std::string& path, const LoadLimits& limits) {
  return load_scenario_text(detail::read_file_or_throw(path, limits.max_file_bytes), path, limits);
}

}  // namespace gpumm
