// Templates for studies and `gpumm diff`: a scenario's composed document whose numbers are
// addressed by path (`firms.meta.capex.2026`, `contracts[openai_oracle].value`), set from a
// sample's values and loaded again, the sections the values touch alone where that is safe.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "gpumm/scenario.hpp"
#include "gpumm/units.hpp"
#include "scenario_template.hpp"
#include "yaml_hints.hpp"
#include "yaml_reader.hpp"

namespace gpumm {

using detail::Diagnostics;

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
  Scenario s = detail::load_sections(root, d);
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
    if (!w.node.IsMap()) {
      // a year of a growth written as one number for every year (which may be written by year)
      const auto ends = [&](std::string_view tail) { return walked.ends_with(tail); };
      if (w.node.IsScalar() && detail::year_key(part) && dot == path.size() &&
          ((ends("growth_per_year") && !ends("max_growth_per_year")) || ends("throughput.gain_per_year")))
        return fail(where + " is one number for every year (" + w.node.Scalar() +
                    "), not numbers by year; to change it from " + part + " on, write it by year in a scenario "
                    "that extends this one, e.g. `{<first year>: " + w.node.Scalar() + ", " + part + ": ...}`");
      return fail(where + " has no keys");
    }
    YAML::Node next(YAML::NodeType::Undefined);
    std::vector<std::string> keys;
    for (auto it = w.node.begin(); it != w.node.end(); ++it)
      if (it->first.IsScalar()) {
        keys.push_back(it->first.Scalar());
        if (it->first.Scalar() == part) next.reset(it->second);
      }
    if (!next.IsDefined()) {
      // a year beyond those written (`capex.2040`): name the years, not the nearest spelling
      if (const auto years = detail::year_span(keys); years && detail::year_key(part))
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
  impl->root = detail::compose(text, path, LoadLimits{}, chain, d);
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
// What `detail::reload_sections` must redo for these paths: `firms.<id>` or a whole section; nothing
// when some path lies in a section others read numbers from (time, settings, upstream,
// generations): then the whole document must be loaded.
std::optional<std::vector<std::string>> reload_units(const std::vector<std::pair<std::string, double>>& values) {
  // the sections detail::reload_sections can read whole: those read after the firms (a number of the
  // regions lies in one region, reloaded alone)
  static const std::set<std::string> sections(detail::later_sections().begin(), detail::later_sections().end());
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
    all.insert(all.end(), detail::later_sections().begin(), detail::later_sections().end());
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
  Scenario s = detail::load_sections(state_->root, d);
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
    Scenario s = detail::reload_sections(state_->root, *state_->base, *units, d);
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

}  // namespace gpumm
