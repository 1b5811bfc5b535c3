// Loading and validating scenarios. The only place (with scenario_writer.cpp and
// scenario_changes.cpp) that sees YAML.
// Reading never stops at the first problem: every problem goes to `Diagnostics` and the
// ScenarioError thrown at the end lists them all, each with file:line:col and key path.
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>
#include <sstream>
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

namespace {

const std::vector<std::string> kSteps = {"week", "month", "quarter"};  // parse_step's words

// A key of a map by year (`capex`, per-year series): a whole number from 1900 to 2999.
std::optional<int> year_key(std::string_view key) {
  const Parsed<double> y = parse_number(key);
  if (!y.ok() || y.value != std::floor(y.value) || y.value < 1900 || y.value > 2999) return std::nullopt;
  return static_cast<int>(y.value);
}

// The first and last year of keys that are all years (none when one is not).
std::optional<std::pair<int, int>> year_span(const std::vector<std::string>& keys) {
  std::optional<std::pair<int, int>> span;
  for (const std::string& k : keys) {
    const std::optional<int> y = year_key(k);
    if (!y) return std::nullopt;
    span = span ? std::pair{std::min(span->first, *y), std::max(span->second, *y)} : std::pair{*y, *y};
  }
  return span;
}

// Counts nodes as the parser emits them, expanding aliases by the size of what they point at,
// so that an alias bomb is refused before anything is built in memory.
class SizeGuard : public YAML::EventHandler {
 public:
  SizeGuard(const LoadLimits& limits, std::string_view text, std::string kind)
      : limits_(limits), text_(text), kind_(std::move(kind)) {}
  struct TooLarge {
    YAML::Mark mark;
    std::string message;
  };
  int documents = 0;

  // A second document must start with `---`. yaml-cpp 0.7 starts one without consuming a
  // token it cannot place (a `,` after the root, say) and would do so forever (its LoadAll
  // never returns on the text ","): that is reported as the stray character it is.
  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents == 1) return;
    const auto at = static_cast<size_t>(std::max(mark.pos, 0));
    if (text_.substr(at, 3) == "---") throw TooLarge{mark, "a " + kind_ + " file holds one YAML document"};
    std::string c = at < text_.size() ? std::string(1, text_[at]) : std::string("end of file");
    if (at < text_.size() && !std::isprint(static_cast<unsigned char>(text_[at]))) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(static_cast<unsigned char>(text_[at])));
      c = buf;
    }
    throw TooLarge{mark, "invalid YAML: unexpected '" + c + "'" + detail::margin_hint(text_, mark)};
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override { leaf(mark, anchor); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    // `a: &a [x, *a]`: yaml-cpp would build a value that holds itself, which no reader of it
    // could walk to its end
    for (const Open& o : stack_)
      if (o.anchor == anchor)
        throw TooLarge{mark, "invalid YAML: this alias stands inside the value of its own anchor: a value cannot hold itself"};
    auto it = sizes_.find(anchor);
    add(mark, it == sizes_.end() ? 1 : it->second);
  }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                const std::string&) override {
    leaf(mark, anchor);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(mark, anchor);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(mark, anchor);
  }
  void OnMapEnd() override { close(); }

 private:
  void add(const YAML::Mark& mark, std::uint64_t n) {
    total_ += n;
    if (total_ > limits_.max_nodes)
      throw TooLarge{mark, "document too large: more than " + std::to_string(limits_.max_nodes) +
                               " values once aliases are expanded (an alias bomb?)"};
  }
  void leaf(const YAML::Mark& mark, YAML::anchor_t anchor) {
    add(mark, 1);
    if (anchor) sizes_[anchor] = 1;
  }
  void open(const YAML::Mark& mark, YAML::anchor_t anchor) {
    add(mark, 1);
    stack_.push_back({anchor, total_});
    if (static_cast<int>(stack_.size()) > limits_.max_depth)
      throw TooLarge{mark, "nesting deeper than " + std::to_string(limits_.max_depth) + " levels"};
  }
  void close() {
    Open o = stack_.back();
    stack_.pop_back();
    if (o.anchor) sizes_[o.anchor] = total_ - o.start + 1;
  }
  struct Open {
    YAML::anchor_t anchor;
    std::uint64_t start;
  };
  const LoadLimits& limits_;
  std::string_view text_;
  std::string kind_;
  std::uint64_t total_ = 0;
  std::vector<Open> stack_;
  std::map<YAML::anchor_t, std::uint64_t> sizes_;
};

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
    m.number("growth_per_year", p.growth_per_year, false, 0.01, 100.0);
    duration(m, "duration", p.duration, true, true);
    m.number("duration_growth_per_year", p.duration_growth_per_year, false, 0.01, 10.0);
    Duration maxd;
    if (duration(m, "max_duration", maxd, false, true)) p.max_duration = maxd;
    duration(m, "jitter", p.jitter, false);
    m.number("mfu", p.mfu, false, 0.01, 1.0);
    load_placement(m, p.placement);
    load_delay(m, p.delay);
    m.finish();
    return p;
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
      tm.number("growth_per_year", sv.tokens_growth_per_year, false, -0.99, 100.0);
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
      tm.number("gain_per_year", sv.throughput_gain_per_year, false, -0.99, 100.0);
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

namespace {
// The names of the regular files in `dir` (the first 10,000 it lists), sorted: the same
// guesses and lists whatever order the folder lists them in.
std::vector<std::string> file_names(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end && names.size() < 10000; it.increment(ec))
    if (it->is_regular_file(ec)) names.push_back(it->path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// "no such file", with the name written with `.yaml` when that is a file (`inputs/base`), or else
// the closest name among the files of its folder (`base.yml`: did you mean `base.yaml`?).
std::string no_such_file(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path p(path);
  std::error_code ec;
  for (const char* ext : {".yaml", ".yml"})
    if (fs::is_regular_file(path + ext, ec)) return "no such file; did you mean `" + path + ext + "`?";
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  const std::string guess = detail::did_you_mean(p.filename().string(), file_names(dir));
  if (guess.empty()) return "no such file";
  return "no such file; did you mean `" + (p.has_parent_path() ? (dir / guess).string() : guess) + "`?";
}

// "; the scenario of this output is `DIR/scenario.resolved.yaml`" when `dir` is a gpumm
// output folder, "" otherwise: what to give instead of the folder or one of its tables.
std::string output_scenario(const std::filesystem::path& dir) {
  std::error_code ec;
  const std::filesystem::path resolved = dir / "scenario.resolved.yaml";
  return std::filesystem::is_regular_file(resolved, ec) ? "; the scenario of this output is `" + resolved.string() + "`"
                                                         : "";
}

// A folder given where a file is read: what to give instead. The scenario of a gpumm output
// folder (its scenario.resolved.yaml), or the YAML files the folder holds.
std::string a_folder(const std::string& path) {
  namespace fs = std::filesystem;
  if (std::string scenario = output_scenario(path); !scenario.empty()) return "a folder, not a YAML file" + scenario;
  std::vector<std::string> names;
  for (const std::string& name : file_names(path))
    if (name.ends_with(".yaml") || name.ends_with(".yml")) names.push_back((fs::path(path) / name).string());
  if (names.empty()) return "a folder, not a YAML file";
  std::string msg = "a folder, not a YAML file; it holds ";
  for (size_t k = 0; k < names.size() && k < 4; ++k) msg += (k > 0 ? ", `" : "`") + names[k] + "`";
  if (names.size() > 4) msg += " and " + std::to_string(names.size() - 4) + " more";
  return msg;
}

// A table (an output's CSV, or a spreadsheet) given where a scenario or study is read: what
// to give instead ("" for any other file). Told by its name: parsed as YAML, a table only
// reads as "expected a map of keys" at 1:1.
std::string a_table(const std::string& path) {
  namespace fs = std::filesystem;
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ext != ".csv" && ext != ".tsv" && ext != ".xlsx" && ext != ".xls" && ext != ".ods") return "";
  const std::string msg = "a table (" + ext.substr(1) + "), not a YAML file";
  if (std::string scenario = output_scenario(fs::path(path).parent_path()); !scenario.empty()) return msg + scenario;
  return msg + ": gpumm reads scenarios and studies written in YAML";
}
}  // namespace

std::string detail::read_file(const std::string& path, std::size_t max_bytes, std::string& text) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return a_folder(path);
  if (!std::filesystem::is_regular_file(path, ec))
    return std::filesystem::exists(path, ec) ? "not a regular file" : no_such_file(path);
  if (std::string why = a_table(path); !why.empty()) return why;
  const auto size = std::filesystem::file_size(path, ec);
  if (!ec && size > max_bytes)
    return "file too large (" + std::to_string(size) + " bytes; the limit is " + std::to_string(max_bytes) + ")";
  std::ifstream in(path, std::ios::binary);
  if (!in) return "cannot read the file";
  std::ostringstream ss;
  ss << in.rdbuf();
  text = ss.str();
  return "";
}

std::string detail::read_file_or_throw(const std::string& path, std::size_t max_bytes) {
  std::string text;
  if (std::string why = read_file(path, max_bytes, text); !why.empty()) {
    Diagnostic d;
    d.file = path;
    d.message = std::move(why);
    throw ScenarioError({d});
  }
  return text;
}

namespace {

// The text of a file as YAML reads it, in UTF-8 without a byte order mark (YAML 1.2, 5.2: a
// file is UTF-32 or UTF-16 in either byte order, told by a byte order mark or by the zero
// bytes of a first ASCII character, or else UTF-8), so that a scenario saved as UTF-16
// (Windows' "Unicode") loads, and the places yaml-cpp reports (counted in the UTF-8 it reads,
// after the mark) are places in `text`. False when `raw` is already that: UTF-8 without a mark.
bool as_utf8(const std::string& raw, std::string& text) {
  const auto byte = [&](size_t k) -> int { return k < raw.size() ? static_cast<unsigned char>(raw[k]) : -1; };
  size_t width = 2, k = 0;
  bool big_endian = false;
  if (byte(0) == 0xEF && byte(1) == 0xBB && byte(2) == 0xBF) {
    text.assign(raw, 3);
    return true;
  } else if (byte(0) == 0 && byte(1) == 0 && byte(2) == 0xFE && byte(3) == 0xFF) {
    width = 4, big_endian = true, k = 4;
  } else if (byte(0) == 0 && byte(1) == 0 && byte(2) == 0 && byte(3) > 0) {
    width = 4, big_endian = true;
  } else if (byte(0) == 0xFF && byte(1) == 0xFE && byte(2) == 0 && byte(3) == 0) {
    width = 4, k = 4;
  } else if (byte(0) > 0 && byte(1) == 0 && byte(2) == 0 && byte(3) == 0) {
    width = 4;
  } else if (byte(0) == 0xFE && byte(1) == 0xFF) {
    big_endian = true, k = 2;
  } else if (byte(0) == 0 && byte(1) > 0) {
    big_endian = true;
  } else if (byte(0) == 0xFF && byte(1) == 0xFE) {
    k = 2;
  } else if (!(byte(0) > 0 && byte(1) == 0)) {
    return false;
  }
  const auto unit = [&](size_t at) {
    std::uint32_t u = 0;
    for (size_t b = 0; b < width; ++b)
      u |= static_cast<std::uint32_t>(byte(at + b)) << (8 * (big_endian ? width - 1 - b : b));
    return u;
  };
  text.clear();
  text.reserve(raw.size() / width);
  for (; k + width <= raw.size(); k += width) {
    std::uint32_t c = unit(k);
    if (width == 2 && c >= 0xD800 && c < 0xDC00 && k + 2 * width <= raw.size()) {  // a surrogate pair
      const std::uint32_t low = unit(k + width);
      if (low >= 0xDC00 && low < 0xE000) {
        c = 0x10000 + ((c - 0xD800) << 10) + (low - 0xDC00);
        k += width;
      }
    }
    if ((c >= 0xD800 && c < 0xE000) || c > 0x10FFFF) c = 0xFFFD;  // no character: the replacement
    if (c < 0x80) {
      text += static_cast<char>(c);
    } else if (c < 0x800) {
      text += static_cast<char>(0xC0 | (c >> 6));
      text += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
      text += static_cast<char>(0xE0 | (c >> 12));
      text += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      text += static_cast<char>(0x80 | (c & 0x3F));
    } else {
      text += static_cast<char>(0xF0 | (c >> 18));
      text += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
      text += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      text += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return true;
}

// Where UTF-8 `text` holds a byte that YAML text cannot (a NUL or another control character
// than tab, line feed and carriage return): a file of another kind (a program, a workbook),
// which yaml-cpp would report as some escape or token it met by chance. Null when none.
YAML::Mark control_byte(const std::string& text) {
  YAML::Mark at;
  for (size_t k = 0; k < text.size(); ++k) {
    const auto b = static_cast<unsigned char>(text[k]);
    if (b == '\n') {
      ++at.line;
      at.column = 0;
      continue;
    }
    if ((b < 0x20 && b != '\t' && b != '\r') || b == 0x7f) {
      at.pos = static_cast<int>(k);
      return at;
    }
    ++at.column;
  }
  return YAML::Mark::null_mark();
}

}  // namespace

YAML::Node detail::parse_document(const std::string& raw, const std::string& file, const LoadLimits& limits,
                                  Diagnostics& d, const std::string& kind, const std::string& empty_message) {
  if (raw.size() > limits.max_file_bytes) {
    d.error_in(file, YAML::Mark::null_mark(), "",
               "file too large (" + std::to_string(raw.size()) + " bytes; the limit is " +
                   std::to_string(limits.max_file_bytes) + ")");
    return YAML::Node(YAML::NodeType::Undefined);
  }
  std::string converted;
  const std::string& text = as_utf8(raw, converted) ? converted : raw;
  d.texts.emplace_back(file, text);
  if (const YAML::Mark at = control_byte(text); !at.is_null()) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02x", static_cast<unsigned char>(text[static_cast<size_t>(at.pos)]));
    d.error_in(file, at, "",
               std::string("not a text file: control character ") + hex + ", which YAML text cannot hold (a " +
                   kind + " is a YAML text file: is this the file you meant?)");
    return YAML::Node(YAML::NodeType::Undefined);
  }
  // a tree parsed from `text`, unless a quoted value in it runs on past where it should end
  const auto checked = [&](YAML::Node root) {
    if (const auto problem = unclosed_quote(text, root)) {
      d.error_in(file, problem->mark, problem->path, problem->message);
      return YAML::Node(YAML::NodeType::Undefined);
    }
    return root;
  };
  // One parse for the common document, a block map without aliases (no `*`) and without
  // document markers: nothing expands, so its size and depth can be checked on the tree.
  // Anything unusual (aliases, `---` or `...`, a flow or non-map root, an error, a limit
  // reached) takes the guarded path below, which says precisely what is wrong. (Not LoadAll:
  // yaml-cpp 0.7's never returns on a stray `,` after the root.)
  const auto marker = [&](const char* m) {
    return text.compare(0, 3, m) == 0 || text.find(std::string("\n") + m) != std::string::npos;
  };
  if (text.find('*') == std::string::npos && !marker("---") && !marker("...")) {
    try {
      std::vector<YAML::Node> docs{YAML::Load(text)};
      // (a root indented from the left margin ends at the first line indented less, where
      // yaml-cpp's Load stops without a word: the guarded path reads on and says so)
      if (!docs.front().IsMap() || docs.front().Style() == YAML::EmitterStyle::Flow || docs.front().Mark().column > 0)
        docs.clear();
      std::uint64_t nodes = 0;
      int deepest = 0;
      const auto walk = [&](const auto& self, const YAML::Node& n, int depth) -> void {
        ++nodes;
        if (n.IsMap() || n.IsSequence()) deepest = std::max(deepest, depth);
        if (nodes > limits.max_nodes || deepest > limits.max_depth) return;
        if (n.IsMap())
          for (auto it = n.begin(); it != n.end(); ++it) {
            const auto entry = *it;  // (each `it->` makes a pair of node handles)
            self(self, entry.first, depth + 1);
            self(self, entry.second, depth + 1);
          }
        else if (n.IsSequence())
          for (auto it = n.begin(); it != n.end(); ++it) self(self, *it, depth + 1);
      };
      if (docs.size() == 1) {
        walk(walk, docs.front(), 1);
        if (nodes <= limits.max_nodes && deepest <= limits.max_depth) return checked(docs.front());
      }
    } catch (const YAML::Exception&) {
      // reported below
    }
  }
  try {
    std::istringstream in(text);
    YAML::Parser parser(in);
    SizeGuard guard(limits, text, kind);
    while (parser.HandleNextDocument(guard)) {
    }
    if (guard.documents == 0) {
      d.error_in(file, YAML::Mark::null_mark(), "", empty_message);
      return YAML::Node(YAML::NodeType::Undefined);
    }
  } catch (const SizeGuard::TooLarge& e) {
    d.error_in(file, e.mark, "", e.message);
    return YAML::Node(YAML::NodeType::Undefined);
  } catch (const YAML::Exception& e) {
    d.error_in(file, e.mark, "", syntax_message(text, e));
    return YAML::Node(YAML::NodeType::Undefined);
  }
  try {
    return checked(YAML::Load(text));
  } catch (const YAML::Exception& e) {
    d.error_in(file, e.mark, "", syntax_message(text, e));
    return YAML::Node(YAML::NodeType::Undefined);
  }
}

namespace {

// Remember which file every node of `n` came from, for messages after a merge.
void register_origin(const YAML::Node& n, const std::string& file, Diagnostics& d) {
  d.origins.emplace_back(n, file);
  if (n.IsMap())
    for (auto it = n.begin(); it != n.end(); ++it) {
      d.origins.emplace_back(it->first, file);
      register_origin(it->second, file, d);
    }
  else if (n.IsSequence())
    for (auto it = n.begin(); it != n.end(); ++it) register_origin(*it, file, d);
}

void merge_into(YAML::Node base, const YAML::Node& over, const std::string& file, const std::string& path,
                Diagnostics& d);

// An entry `name` that an extending file adds beside `siblings` (the names of the base's
// entries) but whose name is close to one of theirs may be a misspelt change: remembered, so
// that if it fails as a new entry, its problems say so (Diagnostics::explain_new_entries).
void note_new_entry(const std::string& name, const YAML::Node& entry, const YAML::Mark& mark,
                    const std::vector<std::string>& siblings, const std::string& file, const std::string& path,
                    Diagnostics& d) {
  if (!entry.IsMap()) return;
  if (std::string near = detail::did_you_mean(name, siblings); !near.empty())
    d.new_entries.push_back({path, file, mark, name, std::move(near)});
}

// Merge the named list `over` into the named list `base` (the value of `key` in `parent`): an
// entry whose name is in `base` merges into that entry, `{name: x, remove: true}` removes x,
// any other entry is added at the end; an entry without a name, or a name over writes twice,
// is an error.
void merge_named_list(YAML::Node parent, const YAML::Node& key, YAML::Node base, const YAML::Node& over,
                      const std::string& file, const std::string& path, Diagnostics& d) {
  std::vector<YAML::Node> entries;  // base's entries, then those added
  std::vector<char> removed;
  for (auto it = base.begin(); it != base.end(); ++it) {
    YAML::Node e(YAML::NodeType::Undefined);
    e.reset(*it);
    entries.push_back(e);
    removed.push_back(0);
  }
  std::map<std::string, int> first_line;  // over's entries: each changes an entry once
  size_t index = 0;
  for (auto it = over.begin(); it != over.end(); ++it, ++index) {
    const YAML::Node& o = *it;
    const std::string name = detail::entry_name(o);
    if (name.empty()) {
      d.error_in(file, o.Mark(), path + "[" + std::to_string(index) + "]",
                 std::string(o.IsMap() ? "missing required key `name`" : "expected an entry with a `name`") +
                     " (a scenario that extends another changes and adds the entries of `" + path + "` by name)");
      continue;
    }
    const std::string at = path + "[" + name + "]";
    if (const auto [first, inserted] = first_line.emplace(name, o.Mark().line + 1); !inserted) {
      d.error_in(file, o["name"].Mark(), at,
                 "`" + name + "` is written twice in this list (first at line " + std::to_string(first->second) +
                     "): change an entry in one place");
      continue;
    }
    size_t k = 0;
    while (k < entries.size() && (removed[k] || detail::entry_name(entries[k]) != name)) ++k;
    if (const YAML::Node r = o["remove"]; r) {
      if (!r.IsScalar() || r.Scalar() != "true" || o.size() != 2)
        d.error_in(file, r.Mark(), at + ".remove", "expected `remove: true` beside the entry's name and nothing else (it removes the entry)");
      else if (k == entries.size()) {
        std::vector<std::string> names;
        for (size_t j = 0; j < entries.size(); ++j)
          if (!removed[j]) names.push_back(detail::entry_name(entries[j]));
        const std::string guess = detail::did_you_mean(name, names);
        d.error_in(file, o["name"].Mark(), at,
                   "no entry named `" + name + "` in `" + path + "` to remove" + (guess.empty() ? "" : "; did you mean `" + guess + "`?"));
      }
      else
        removed[k] = 1;
      continue;
    }
    if (k < entries.size()) {
      // a problem of the entry as a whole is located where this file changed it
      d.overrides.push_back({entries[k], o, file});
      merge_into(entries[k], o, file, at, d);
    } else {
      std::vector<std::string> siblings;
      for (size_t j = 0; j < entries.size(); ++j)
        if (!removed[j]) siblings.push_back(detail::entry_name(entries[j]));
      note_new_entry(name, o, o.Mark(), siblings, file, at, d);
      entries.push_back(o);
      removed.push_back(0);
    }
  }
  YAML::Node merged(YAML::NodeType::Sequence);
  for (size_t k = 0; k < entries.size(); ++k)
    if (!removed[k]) merged.push_back(entries[k]);
  parent.remove(key.Scalar());
  parent.force_insert(key, merged);
}

// Merge `over` into `base`: maps merge key by key, `null` deletes a key, lists of named entries
// merge by name (merge_named_list), anything else (other lists, scalars, a map over a non-map)
// replaces. `file` is over's, `path` where base is in the document, for messages.
void merge_into(YAML::Node base, const YAML::Node& over, const std::string& file, const std::string& path,
                Diagnostics& d) {
  // what the merge would hide: a key written twice (the last would win) and what a comma split
  // off a number (its null would remove a key); the reader of the merged map reports the latter
  std::map<std::string, int> first_line;
  YAML::Node before_key(YAML::NodeType::Undefined), before_value(YAML::NodeType::Undefined);
  for (auto it = over.begin(); it != over.end(); ++it) {
    const std::string key = it->first.Scalar();
    const YAML::Node value = it->second;
    const std::string at = path.empty() ? key : path + "." + key;
    const bool split = detail::split_off(before_key, before_value, it->first, value);
    before_key.reset(it->first);
    before_value.reset(value);
    if (split) {
      base.force_insert(it->first, value);  // after the number it split, as written
      continue;
    }
    if (const auto [first, inserted] = first_line.emplace(key, it->first.Mark().line + 1); !inserted) {
      d.error_in(file, it->first.Mark(), at, detail::duplicate_key(first->second));
      continue;
    }
    // rebind the handle: `existing = b->second` would give it memory of its own, and what
    // is merged into it would then belong to that memory, not to the document's, and be freed
    // with the last handle of the extending file while the document still points to it
    YAML::Node existing(YAML::NodeType::Undefined);
    YAML::Node existing_key(YAML::NodeType::Undefined);
    for (auto b = base.begin(); b != base.end(); ++b)
      if (b->first.IsScalar() && b->first.Scalar() == key) {
        existing.reset(b->second);
        existing_key.reset(b->first);
      }
    const YAML::Mark k = it->first.Mark();
    if (value.IsNull() && value.Mark().pos == k.pos) {
      // a last line without `:` (`seed 7`, `seed`) is a key set to null to yaml-cpp, its null
      // marked where the key is: no removal was written
      const size_t space = key.find(' ');
      d.error_in(file, k, at,
                 "`" + key + "` is not `key: value`" +
                     (space == std::string::npos ? ": are its `:` and value missing? (`" + key + ": null` removes it)"
                                                 : "; did you mean `" + key.substr(0, space) + ":" + key.substr(space) + "`?"));
    } else if (value.IsNull()) {
      static const std::set<std::string> kEntrySections = {"generations", "regions",   "firms",       "upstream",
                                                            "programs",    "inference", "other_demand"};
      if (!existing.IsDefined() && kEntrySections.count(path)) {
        // an id of a section of entries (`firms: {amazonx: null}`): no reader of known keys
        // comes by these, so it is told here, with the ids there are
        std::vector<std::string> ids;
        for (auto b = base.begin(); b != base.end(); ++b)
          if (b->first.IsScalar()) ids.push_back(b->first.Scalar());
        const std::string guess = detail::did_you_mean(key, ids);
        d.error_in(file, k, at,
                   "`" + key + ": null` removes nothing (the scenario it extends has no `" + key + "` in `" + path + "`)" +
                       (guess.empty() ? "" : "; did you mean `" + guess + "`?"));
      } else {
        (existing.IsDefined() ? d.removals : d.removed_nothing).push_back({at, file, k});
      }
      base.remove(key);
    } else if (existing.IsDefined() && existing.IsMap() && value.IsMap()) {
      d.overrides.push_back({existing, value, file});
      merge_into(existing, value, file, at, d);
    } else if (detail::named_list(existing) && detail::has_named_entry(value)) {
      merge_named_list(base, existing_key, existing, value, file, at, d);
    } else {
      if (!existing.IsDefined()) {
        // (an entry of a section of entries, whose values are maps)
        std::vector<std::string> siblings;
        bool entries = base.size() > 0;
        for (auto b = base.begin(); b != base.end(); ++b) {
          entries = entries && b->first.IsScalar() && b->second.IsMap();
          if (b->first.IsScalar()) siblings.push_back(b->first.Scalar());
        }
        if (entries) note_new_entry(key, value, it->first.Mark(), siblings, file, at, d);
      }
      if (existing.IsDefined()) base.remove(key);
      base.force_insert(it->first, value);
    }
  }
}

// The document of `file` with its `extends` chain resolved (paths relative to the extending
// file). `chain` holds the files being extended, to refuse cycles.
YAML::Node compose(const std::string& text, const std::string& file, const LoadLimits& limits,
                   std::vector<std::string>& chain, Diagnostics& d) {
  YAML::Node root = parse_document(text, file, limits, d, "scenario",
                                   "empty scenario: expected a map with start, end, generations, regions and firms");
  if (!root.IsDefined() || !root.IsMap()) return root;
  YAML::Node ext(YAML::NodeType::Undefined);
  for (auto it = root.begin(); it != root.end(); ++it)
    if (it->first.IsScalar() && it->first.Scalar() == "extends") ext = it->second;
  if (!ext.IsDefined()) return root;
  if (!ext.IsScalar()) {
    d.error_in(file, ext.Mark(), "extends", "expected the path of the scenario to extend");
    return YAML::Node(YAML::NodeType::Undefined);
  }
  const std::filesystem::path base_path = std::filesystem::path(file).parent_path() / ext.Scalar();
  const std::string base_file = base_path.lexically_normal().string();
  if (const auto at = std::find(chain.begin(), chain.end(), base_file); at != chain.end()) {
    // the cycle from the file that is extended again: a.yaml -> b.yaml -> a.yaml
    std::string cycle;
    for (auto it = at; it != chain.end(); ++it) cycle += std::filesystem::path(*it).filename().string() + " -> ";
    d.error_in(file, ext.Mark(), "extends",
               "`" + ext.Scalar() + "` is already being extended: a cycle of extends (" + cycle +
                   std::filesystem::path(base_file).filename().string() + ")");
    return YAML::Node(YAML::NodeType::Undefined);
  }
  if (chain.size() > 16) {
    d.error_in(file, ext.Mark(), "extends", "more than 16 scenarios extend one another here; extend the base directly");
    return YAML::Node(YAML::NodeType::Undefined);
  }
  std::string base_text;
  if (const std::string why = detail::read_file(base_file, limits.max_file_bytes, base_text); !why.empty()) {
    d.error_in(file, ext.Mark(), "extends", "`" + ext.Scalar() + "`: " + why + " (" + base_file + ")");
    return YAML::Node(YAML::NodeType::Undefined);
  }
  chain.push_back(base_file);
  YAML::Node base = compose(base_text, base_file, limits, chain, d);
  chain.pop_back();
  if (!base.IsDefined() || !base.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  // each node keeps the file it came from; the name is the extending file's own
  if (d.origins.empty()) register_origin(base, base_file, d);
  register_origin(root, file, d);
  base.remove("name");
  root.remove("extends");
  merge_into(base, root, file, "", d);
  return base;
}

}  // namespace

Scenario load_scenario_text(const std::string& text, const std::string& file_name,
                            const LoadLimits& limits) {
  Diagnostics d;
  d.file = file_name;
  std::vector<std::string> chain{std::filesystem::path(file_name).lexically_normal().string()};
  YAML::Node root = compose(text, file_name, limits, chain, d);
  // a document that could not be read or composed stops here; problems of the merge (an entry
  // to remove that is not there, a misspelt entry left out) leave one to check for the rest
  if (!root.IsDefined()) throw ScenarioError(d.list);
  Loader loader(d, root);
  Scenario s = loader.load();
  d.explain_new_entries();
  s.source_file = file_name;
  if (s.name.empty()) s.name = std::filesystem::path(file_name).stem().string();
  if (!valid_id(s.name)) s.name = "scenario";
  if (!d.list.empty()) throw ScenarioError(d.list);
  return s;
}

// ---- templates for studies ------------------------------------------------------------------

namespace {
// A scenario loaded from a template's document: it came from `file`, and is named after it
// when the document names it not.
Scenario& from_template_file(Scenario& s, const std::string& file) {
  s.source_file = file;
  if (s.name.empty()) s.name = std::filesystem::path(file).stem().string();
  return s;
}
}  // namespace

Scenario detail::load_document(const YAML::Node& root, const std::string& file) {
  Diagnostics d;
  d.file = file;
  Loader loader(d, root);
  Scenario s = loader.load();
  if (!d.list.empty()) throw ScenarioError(d.list);
  return from_template_file(s, file);
}

namespace {

ScenarioError path_error(const std::string& file, const std::string& path, const std::string& message) {
  Diagnostic d;
  d.file = file;
  d.path = path;
  d.message = message;
  return ScenarioError({d});
}

// A path's walk through a document: `a.b[2].c` or `contracts[openai_oracle].value` (a list
// entry by its index, or by its `name`). `node` is where it ends, undefined when some part is
// absent; then `missing` says which, with the closest name there is.
struct PathWalk {
  YAML::Node node;
  std::string missing;
};

PathWalk walk_path(YAML::Node root, const std::string& path) {
  PathWalk w;
  w.node.reset(root);
  std::string walked;  // the path so far, for messages
  const auto fail = [&](const std::string& what) {
    w.missing = what;
    YAML::Node none(YAML::NodeType::Undefined);
    w.node.reset(none);
    return w;
  };
  for (size_t pos = 0; pos <= path.size();) {
    size_t dot = path.find('.', pos);
    // a dot inside brackets belongs to the entry's name
    const size_t br = path.find('[', pos);
    if (br != std::string::npos && br < dot) {
      const size_t close = path.find(']', br);
      dot = close == std::string::npos ? std::string::npos : path.find('.', close);
    }
    if (dot == std::string::npos) dot = path.size();
    std::string part = path.substr(pos, dot - pos);
    std::string entry;
    bool listed = false;
    if (const size_t b = part.find('['); b != std::string::npos) {
      if (part.back() != ']') return fail("`" + part + "` is not `key` or `key[entry]`");
      entry = part.substr(b + 1, part.size() - b - 2);
      part = part.substr(0, b);
      listed = true;
    }
    const std::string where = walked.empty() ? "the scenario" : "`" + walked + "`";
    if (!w.node.IsMap()) return fail(where + " has no keys");
    YAML::Node next(YAML::NodeType::Undefined);
    std::vector<std::string> keys;
    for (auto it = w.node.begin(); it != w.node.end(); ++it)
      if (it->first.IsScalar()) {
        keys.push_back(it->first.Scalar());
        if (it->first.Scalar() == part) next.reset(it->second);
      }
    if (!next.IsDefined()) {
      // a year beyond those written (`capex.2040`): name the years, not the nearest spelling
      if (const auto years = year_span(keys); years && year_key(part))
        return fail(where + " has no year " + part + "; it writes the years " + std::to_string(years->first) +
                    " to " + std::to_string(years->second));
      const std::string guess = closest_name(part, keys);
      return fail("no key `" + part + "` in " + where + (guess.empty() ? "" : "; did you mean `" + guess + "`?"));
    }
    // rebind the handle (Node's operator= would write into the tree)
    w.node.reset(next);
    walked += (walked.empty() ? "" : ".") + part;
    if (listed) {
      if (!w.node.IsSequence()) return fail("`" + walked + "` is not a list");
      YAML::Node item(YAML::NodeType::Undefined);
      const bool number = !entry.empty() && entry.size() < 10 &&
                          std::all_of(entry.begin(), entry.end(), [](unsigned char c) { return std::isdigit(c); });
      std::vector<std::string> names;
      if (number) {
        const size_t i = static_cast<size_t>(std::stoul(entry));
        if (i < w.node.size()) item.reset(w.node[i]);
        else return fail("`" + walked + "` has " + std::to_string(w.node.size()) + " entries, numbered from 0");
      } else {
        for (std::size_t i = 0; i < w.node.size(); ++i) {
          const YAML::Node e = w.node[i];
          if (!e.IsMap() || !e["name"] || !e["name"].IsScalar()) continue;
          names.push_back(e["name"].Scalar());
          if (names.back() == entry) item.reset(e);
        }
        if (!item.IsDefined()) {
          const std::string guess = closest_name(entry, names);
          return fail("no entry named `" + entry + "` in `" + walked + "`" +
                      (guess.empty() ? "" : "; did you mean `" + guess + "`?"));
        }
      }
      w.node.reset(item);
      walked += "[" + entry + "]";
    }
    pos = dot + 1;
  }
  return w;
}

YAML::Node find_path(YAML::Node root, const std::string& path) { return walk_path(root, path).node; }

// `x` written with the prefix and suffix of the number it replaces; a duration counts whole
// days, weeks, months...
std::string number_text(const std::string& prefix, double x, const std::string& suffix) {
  const bool whole = suffix == "d" || suffix == "w" || suffix == "mo" || suffix == "q" || suffix == "y";
  return prefix + format_number(whole ? std::round(x) : x) + suffix;
}

}  // namespace

ScenarioTemplate ScenarioTemplate::from_file(const std::string& path) {
  load_scenario_file(path);  // every problem reported before any study starts
  Diagnostics d;
  d.file = path;
  std::string text;
  detail::read_file(path, LoadLimits{}.max_file_bytes, text);  // readable: it loaded just now
  std::vector<std::string> chain{std::filesystem::path(path).lexically_normal().string()};
  auto impl = std::make_shared<Impl>();
  impl->file = path;
  impl->root = compose(text, path, LoadLimits{}, chain, d);
  YAML::Emitter e;
  e << impl->root;
  impl->text = e.c_str();
  ScenarioTemplate t;
  t.impl_ = impl;
  return t;
}

double ScenarioTemplate::value_at(const std::string& path) const {
  const PathWalk w = walk_path(impl_->root, path);
  const YAML::Node& n = w.node;
  if (!n.IsDefined()) throw path_error(impl_->file, path, "no such value in the scenario: " + w.missing);
  std::string prefix, suffix;
  double x = 0;
  if (!n.IsScalar() || !split_number(n.Scalar(), prefix, x, suffix))
    throw path_error(impl_->file, path, "not a number (a study parameter or a value set names a number of the scenario)");
  return x;
}

bool ScenarioTemplate::writes(const std::string& path) const { return walk_path(impl_->root, path).node.IsDefined(); }

std::vector<Diagnostic> ScenarioTemplate::problems_setting(const std::string& path, const std::string& value) const {
  // `extends` names this file by its absolute path, quoted (a quote in it doubled)
  std::string quoted = "'";
  for (char c : std::filesystem::absolute(impl_->file).lexically_normal().string()) quoted += c == '\'' ? "''" : std::string(1, c);
  quoted += "'";
  const std::string lines = yaml_setting(path, value, false);
  if (lines.empty())
    return {{"setting.yaml", 0, 0, path,
             "not a value a scenario that extends this one sets alone: an entry of a list by its "
             "index (such a list is replaced whole) or a whole entry"}};
  try {
    load_scenario_text("extends: " + quoted + "\n" + lines, "setting.yaml");
  } catch (const ScenarioError& e) {
    return e.diagnostics();
  }
  return {};
}

namespace {
// A path's keys (`contracts[openai_oracle].volume` -> {contracts, openai_oracle}, {volume, ""}):
// each with the name of the list entry it picks ("" for none), which may hold dots.
std::vector<std::pair<std::string, std::string>> path_keys(const std::string& path) {
  std::vector<std::pair<std::string, std::string>> keys;
  for (size_t a = 0; a <= path.size();) {
    size_t dot = a;
    for (int depth = 0; dot < path.size() && (path[dot] != '.' || depth > 0); ++dot)
      depth += path[dot] == '[' ? 1 : path[dot] == ']' ? -1 : 0;
    std::string key = path.substr(a, dot - a), name;
    if (const size_t open = key.find('['); open != std::string::npos && key.back() == ']') {
      name = key.substr(open + 1, key.size() - open - 2);
      key.resize(open);
    }
    keys.emplace_back(key, name);
    a = dot + 1;
  }
  return keys;
}

// A name as a YAML scalar: as it is when plain, quoted otherwise.
std::string yaml_name(const std::string& name) {
  const bool plain = !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '-' || c == '.';
  });
  if (plain) return name;
  std::string q = "'";
  for (char c : name) q += c == '\'' ? std::string("''") : std::string(1, c);
  return q + "'";
}
}  // namespace

std::string yaml_setting(const std::string& path, const std::string& value, bool flow) {
  const auto keys = path_keys(path);
  // an entry by its index (an extending scenario replaces such a list whole), or a whole entry
  const auto by_index = [](const auto& key) {
    return !key.second.empty() && key.second.find_first_not_of("0123456789") == std::string::npos;
  };
  if (std::any_of(keys.begin(), keys.end(), by_index) || !keys.back().second.empty()) return "";
  // keys[k..] in flow style: `key: {...}`, or for an entry `key: [{name: n, ...}]`
  const auto flow_from = [&](size_t k0) {
    std::string out, close;
    for (size_t k = k0; k < keys.size(); ++k) {
      out += keys[k].first + ": ";
      if (k + 1 == keys.size()) break;
      if (keys[k].second.empty()) {
        out += "{";
        close = "}" + close;
      } else {
        out += "[{name: " + yaml_name(keys[k].second) + ", ";
        close = "}]" + close;
      }
    }
    return out + value + close;
  };
  if (flow) return flow_from(0);
  // block style down to the first list entry, which is one line of flow style
  std::string out, indent;
  for (size_t k = 0; k < keys.size(); ++k) {
    out += indent + keys[k].first + ":";
    if (k + 1 == keys.size()) return out + " " + value + "\n";
    indent += "  ";
    if (!keys[k].second.empty())
      return out + "\n" + indent + "- {name: " + yaml_name(keys[k].second) + ", " + flow_from(k + 1) + "}\n";
    out += "\n";
  }
  return out;
}

std::string ScenarioTemplate::text_for(const std::string& path, double x) const {
  value_at(path);  // the path's problems, if any
  std::string prefix, suffix;
  double was = 0;
  split_number(find_path(impl_->root, path).Scalar(), prefix, was, suffix);
  return number_text(prefix, x, suffix);
}

std::string ScenarioTemplate::units_at(const std::string& path) const {
  value_at(path);  // the path's problems, if any
  std::string prefix, suffix;
  double was = 0;
  split_number(find_path(impl_->root, path).Scalar(), prefix, was, suffix);
  std::erase(prefix, ' ');
  const size_t a = suffix.find_first_not_of(' '), b = suffix.find_last_not_of(' ');
  return prefix + (a == std::string::npos ? std::string() : suffix.substr(a, b - a + 1));
}

std::optional<double> ScenarioTemplate::read_as_at(const std::string& path, const std::string& text) const {
  value_at(path);  // the path's problems, if any
  const auto squeeze = [](std::string s) {
    std::erase(s, ' ');
    return s;
  };
  std::string prefix, suffix, p, q;
  double was = 0, x = 0;
  split_number(find_path(impl_->root, path).Scalar(), prefix, was, suffix);
  if (!split_number(squeeze(text), p, x, q) || !std::isfinite(x)) return std::nullopt;
  if (squeeze(p) != squeeze(prefix) || squeeze(q) != squeeze(suffix)) return std::nullopt;
  return x;
}

namespace {
// Write the numbers at the paths of `values` into `root`; returns the old texts. `found` keeps
// the node of each path (the document keeps its shape from sample to sample).
void set_values(YAML::Node root, const std::string& file, const std::vector<std::pair<std::string, double>>& values,
                std::vector<std::pair<YAML::Node, std::string>>& old, std::map<std::string, YAML::Node>& found);
}  // namespace

struct ScenarioTemplate::Instantiator::State {
  std::string file;
  YAML::Node root;
  std::optional<Scenario> base;  ///< the document as it is, when it loads without problems
  bool partial = true;
  /// The node of each path set so far: samples change values, never the document's shape
  std::map<std::string, YAML::Node> found;
};

namespace {
// What `Loader::reload` must redo for these paths: `firms.<id>` or a whole section; nothing
// when some path lies in a section others read numbers from (time, settings, upstream,
// generations): then the whole document must be loaded.
std::optional<std::vector<std::string>> reload_units(const std::vector<std::pair<std::string, double>>& values) {
  // the sections Loader::reload can read whole: those read after the firms (a number of the
  // regions lies in one region, reloaded alone)
  static const std::set<std::string> sections(std::begin(Loader::kLaterSections), std::end(Loader::kLaterSections));
  std::vector<std::string> units;
  for (const auto& [path, x] : values) {
    const size_t a = path.find_first_of(".[");
    const std::string top = path.substr(0, a);
    std::string unit;
    if (top == "firms" && a != std::string::npos && path[a] == '.') {
      const size_t b = path.find_first_of(".[", a + 1);
      unit = path.substr(0, b);
      // a year of the capex budget, the most common study parameter, reloads only the budget
      if (b != std::string::npos && path.compare(b, 7, ".capex.") == 0) unit += ".capex";
      // services and workloads without their own regions copy their firm's region weights
      if (b != std::string::npos && path.compare(b, 9, ".regions.") == 0)
        for (const char* also : {"inference", "other_demand"})
          if (std::find(units.begin(), units.end(), also) == units.end()) units.push_back(also);
    } else if ((top == "regions" || top == "programs" || top == "inference" || top == "other_demand") &&
               a != std::string::npos && path[a] == '.') {
      // one entry of a section whose entries do not depend on each other
      unit = path.substr(0, path.find_first_of(".[", a + 1));
    } else if (sections.count(top)) {
      unit = top;
    } else {
      return std::nullopt;
    }
    if (std::find(units.begin(), units.end(), unit) == units.end()) units.push_back(unit);
  }
  // a whole firm covers its budget, a whole section its entries
  std::erase_if(units, [&](const std::string& u) {
    if (u.size() > 6 && u.compare(u.size() - 6, 6, ".capex") == 0 &&
        std::find(units.begin(), units.end(), u.substr(0, u.size() - 6)) != units.end())
      return true;
    const size_t dot = u.find('.');
    return dot != std::string::npos && u.compare(0, 6, "firms.") != 0 &&
           std::find(units.begin(), units.end(), u.substr(0, dot)) != units.end();
  });
  // in the order of a full load: a section may read what an earlier one holds (services and
  // workloads read firms' region weights)
  static const std::vector<std::string> order = [] {
    std::vector<std::string> all{"regions", "firms"};
    all.insert(all.end(), std::begin(Loader::kLaterSections), std::end(Loader::kLaterSections));
    return all;
  }();
  const auto rank = [&](const std::string& u) {
    return std::find(order.begin(), order.end(), u.substr(0, u.find('.'))) - order.begin();
  };
  std::stable_sort(units.begin(), units.end(), [&](const std::string& a, const std::string& b) { return rank(a) < rank(b); });
  return units;
}
}  // namespace

ScenarioTemplate::Instantiator::Instantiator(const ScenarioTemplate& t, bool partial)
    : state_(std::make_unique<State>()) {
  state_->file = t.impl_->file;
  state_->partial = partial;
  state_->root = YAML::Clone(t.impl_->root);
  Diagnostics d;
  d.file = state_->file;
  Loader loader(d, state_->root);
  Scenario s = loader.load();
  if (d.list.empty()) state_->base = std::move(s);
}
ScenarioTemplate::Instantiator::~Instantiator() = default;

Scenario ScenarioTemplate::Instantiator::operator()(const std::vector<std::pair<std::string, double>>& values) {
  std::vector<std::pair<YAML::Node, std::string>> old;
  // put the document back as it was for the next sample, whatever happens (latest first)
  struct Restore {
    std::vector<std::pair<YAML::Node, std::string>>& old;
    ~Restore() {
      for (auto it = old.rbegin(); it != old.rend(); ++it) it->first = it->second;
    }
  } restore{old};
  set_values(state_->root, state_->file, values, old, state_->found);
  // fast path: reload only what the values touch; any problem, and the whole document is
  // loaded again so that every problem is reported
  if (const auto units = reload_units(values); units && state_->base && state_->partial) {
    Diagnostics d;
    d.file = state_->file;
    Loader loader(d, state_->root);
    Scenario s = loader.reload(*state_->base, *units);
    if (d.list.empty()) return from_template_file(s, state_->file);
  }
  return detail::load_document(state_->root, state_->file);
}

namespace {
void set_values(YAML::Node root, const std::string& file, const std::vector<std::pair<std::string, double>>& values,
                std::vector<std::pair<YAML::Node, std::string>>& old, std::map<std::string, YAML::Node>& found) {
  for (const auto& [path, x] : values) {
    auto it = found.find(path);
    if (it == found.end()) it = found.emplace(path, find_path(root, path)).first;
    YAML::Node n(YAML::NodeType::Undefined);
    n.reset(it->second);
    std::string prefix, suffix;
    double was = 0;
    if (!n.IsDefined() || !n.IsScalar() || !split_number(n.Scalar(), prefix, was, suffix))
      throw path_error(file, path, "no such numeric value in the scenario");
    old.emplace_back(n, n.Scalar());
    n = number_text(prefix, x, suffix);
  }
}
}  // namespace

Scenario ScenarioTemplate::instantiate(const std::vector<std::pair<std::string, double>>& values) const {
  YAML::Node root = YAML::Clone(impl_->root);
  for (const auto& [path, x] : values) {
    YAML::Node n = find_path(root, path);
    std::string prefix, suffix;
    double old = 0;
    if (!n.IsDefined() || !n.IsScalar() || !split_number(n.Scalar(), prefix, old, suffix))
      throw path_error(impl_->file, path, "no such numeric value in the scenario");
    n = number_text(prefix, x, suffix);
  }
  return detail::load_document(root, impl_->file);
}

std::string ScenarioTemplate::hash() const {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>([&] {
                  std::uint64_t h = 1469598103934665603ull;
                  for (unsigned char c : impl_->text) h = (h ^ c) * 1099511628211ull;
                  return h;
                }()));
  return buf;
}

Scenario load_scenario_file(const std::string& path, const LoadLimits& limits) {
  return load_scenario_text(detail::read_file_or_throw(path, limits.max_file_bytes), path, limits);
}

}  // namespace gpumm
