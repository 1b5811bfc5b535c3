// What differs between two scenarios' documents, and one document with some of the
// differences made: the steps of `gpumm diff` (DESIGN §8). Documents are compared after their
// `extends` chains are resolved, so a case written as a few overrides of the base compares
// with the base by those overrides.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <memory>
#include <mutex>

#include "gpumm/scenario.hpp"
#include "scenario_template.hpp"

namespace gpumm {

namespace {

// One key on the way from the root to a change: a map's key, or the entry of a list of maps
// that has this `name`.
struct Step {
  std::string key;
  bool by_name = false;
};
using Where = std::vector<Step>;

// A change is a whole value at most this many keys deep: a section, its entry, the entry's field.
constexpr int kDepth = 3;

// The value of `key` in map `m` (undefined when absent). Reads only: a lookup through
// `operator[]` on a non-const node would add the key.
YAML::Node child(const YAML::Node& m, const std::string& key) {
  if (m.IsMap())
    for (auto it = m.begin(); it != m.end(); ++it) {
      const auto entry = *it;  // (each `it->` makes a pair of node handles)
      if (entry.first.IsScalar() && entry.first.Scalar() == key) return entry.second;
    }
  return YAML::Node(YAML::NodeType::Undefined);
}

// Position of the entry named `name` in list `l`, or -1.
long entry_index(const YAML::Node& l, const std::string& name) {
  for (std::size_t i = 0; i < l.size(); ++i)
    if (detail::entry_name(l[i]) == name) return static_cast<long>(i);
  return -1;
}

YAML::Node entry(const YAML::Node& l, const std::string& name) {
  const long i = entry_index(l, name);
  return i < 0 ? YAML::Node(YAML::NodeType::Undefined) : l[static_cast<std::size_t>(i)];
}

// Whether two values are the same YAML: scalars as written, maps key by key in any order,
// lists entry by entry.
bool same(const YAML::Node& a, const YAML::Node& b) {
  if (a.Type() != b.Type()) return false;
  switch (a.Type()) {
    case YAML::NodeType::Scalar: return a.Scalar() == b.Scalar();
    case YAML::NodeType::Sequence:
      if (a.size() != b.size()) return false;
      for (std::size_t i = 0; i < a.size(); ++i)
        if (!same(a[i], b[i])) return false;
      return true;
    case YAML::NodeType::Map:
      if (a.size() != b.size()) return false;
      for (auto it = a.begin(); it != a.end(); ++it) {
        const auto entry = *it;
        if (!entry.first.IsScalar() || !same(entry.second, child(b, entry.first.Scalar()))) return false;
      }
      return true;
    default: return true;  // both null, or both absent
  }
}

// The keys (or entry names) of `b` in its order, then those only `a` has, in `a`'s order.
template <class Keys>
std::vector<std::string> union_in_order(const YAML::Node& a, const YAML::Node& b, Keys keys) {
  std::vector<std::string> out = keys(b);
  for (const std::string& k : keys(a))
    if (std::find(out.begin(), out.end(), k) == out.end()) out.push_back(k);
  return out;
}
std::vector<std::string> map_keys(const YAML::Node& m) {
  std::vector<std::string> out;
  for (auto it = m.begin(); it != m.end(); ++it)
    if (it->first.IsScalar()) out.push_back(it->first.Scalar());
  return out;
}
std::vector<std::string> entry_names(const YAML::Node& l) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < l.size(); ++i) out.push_back(detail::entry_name(l[i]));
  return out;
}

std::string flow(const YAML::Node& n) {
  if (!n.IsDefined()) return "";
  YAML::Emitter e;
  e.SetMapFormat(YAML::Flow);
  e.SetSeqFormat(YAML::Flow);
  e << n;
  return e.c_str();
}

std::string shown(const YAML::Node& n) { return n.IsDefined() ? flow(n) : "(none)"; }

// One side's value: as its document writes it, else the default its scenario runs with
// (`dflt`, from the resolved scenario) marked so, else "".
std::string side(const YAML::Node& n, const YAML::Node& dflt) {
  if (n.IsDefined()) return flow(n);
  return dflt.IsDefined() ? flow(dflt) + " (default)" : "";
}
std::string shown_side(const YAML::Node& n, const YAML::Node& dflt) {
  const std::string s = side(n, dflt);
  return s.empty() ? "(none)" : s;
}

// `a -> b`, or for two maps the keys that differ, each as `key: a -> b`; a whole value that
// only one side has is `added: b` or `removed: a` (the word first, where a long value is cut).
// Where a document says nothing and its scenario has a default (`da`, `db`: the values at the
// same place in the resolved scenarios), the default is shown: `24mo (default) -> 48mo`.
std::string summary(const YAML::Node& a, const YAML::Node& b, const YAML::Node& da, const YAML::Node& db) {
  const YAML::Node ea = a.IsDefined() ? a : da, eb = b.IsDefined() ? b : db;
  if (!ea.IsDefined()) return "added: " + shown(b);
  if (!eb.IsDefined()) return "removed: " + shown(a);
  if (!ea.IsMap() || !eb.IsMap()) return side(a, da) + " -> " + side(b, db);
  std::string out;
  for (const std::string& key : union_in_order(ea, eb, map_keys))
    if (const YAML::Node x = child(a, key), y = child(b, key); !same(x, y))
      out += (out.empty() ? "" : "; ") + key + ": " + shown_side(x, child(da, key)) + " -> " +
             shown_side(y, child(db, key));
  return out;
}

// The changes from `a` to `b` below `path` (at `depth` keys from the root), with where each is.
void compare(const YAML::Node& a, const YAML::Node& b, const std::string& path, int depth, Where& where,
             std::vector<ScenarioTemplate::Change>& out, std::vector<Where>& places) {
  if (same(a, b)) return;
  const auto descend = [&](const std::string& key, bool by_name, const YAML::Node& x, const YAML::Node& y) {
    where.push_back({key, by_name});
    compare(x, y, by_name ? path + "[" + key + "]" : path.empty() ? key : path + "." + key, depth + 1, where, out,
            places);
    where.pop_back();
  };
  if (depth < kDepth && a.IsMap() && b.IsMap()) {
    for (const std::string& key : union_in_order(a, b, map_keys))
      if (depth > 0 || (key != "name" && key != "description")) descend(key, false, child(a, key), child(b, key));
    return;
  }
  if (depth < kDepth && detail::named_list(a) && detail::named_list(b)) {
    for (const std::string& name : union_in_order(a, b, entry_names)) descend(name, true, entry(a, name), entry(b, name));
    return;
  }
  out.push_back({path, "", "", ""});  // the values and summary come with the defaults (changes_to)
  places.push_back(where);
}

}  // namespace

struct detail::Changes {
  std::vector<ScenarioTemplate::Change> list;
  std::vector<Where> places;
};

std::shared_ptr<const detail::Changes> ScenarioTemplate::Impl::changes_to(
    const std::shared_ptr<const Impl>& other) const {
  const std::lock_guard<std::mutex> hold(compared_lock_);
  if (changes_ && compared_with_.lock() == other) return changes_;
  auto c = std::make_shared<detail::Changes>();
  Where where;
  compare(root, other->root, "", 0, where, c->list, c->places);
  compared_with_ = other;
  changes_ = c;
  return c;
}

namespace {

// Make one change in `root`: the value at `where` becomes `value` (a copy), or goes when
// `value` is undefined. The keys above it are in both documents (a change is only looked for
// below keys that both have).
void make_change(YAML::Node root, const Where& where, const YAML::Node& value) {
  YAML::Node n;
  n.reset(root);
  for (std::size_t k = 0; k + 1 < where.size(); ++k) {
    const Step& s = where[k];
    // rebind the handle (Node's operator= would write into the tree)
    n.reset(s.by_name ? entry(n, s.key) : child(n, s.key));
  }
  const Step& last = where.back();
  if (last.by_name) {
    const long i = entry_index(n, last.key);
    if (!value.IsDefined()) {
      if (i >= 0) n.remove(static_cast<std::size_t>(i));
    } else if (i >= 0) {
      n[static_cast<std::size_t>(i)] = YAML::Clone(value);
    } else {
      n.push_back(YAML::Clone(value));
    }
  } else if (!value.IsDefined()) {
    n.remove(last.key);
  } else {
    n[last.key] = YAML::Clone(value);
  }
}

// The node at `where` in `root` (undefined when absent).
YAML::Node node_at(const YAML::Node& root, const Where& where) {
  YAML::Node n;
  n.reset(root);
  for (const Step& s : where) {
    if (!n.IsDefined()) break;
    n.reset(s.by_name ? entry(n, s.key) : child(n, s.key));
  }
  return n;
}

}  // namespace

std::vector<ScenarioTemplate::Change> ScenarioTemplate::changes_to(const ScenarioTemplate& other) const {
  const auto found = impl_->changes_to(other.impl_);
  const detail::Changes& c = *found;
  if (c.list.empty()) return {};
  std::vector<Change> list = c.list;
  // each side's defaults: its resolved scenario, which writes every value the run uses
  const auto resolved = [](const Impl& t) {
    return YAML::Load(write_resolved_yaml(detail::load_document(t.root, t.file), GPUMM_VERSION));
  };
  const YAML::Node ra = resolved(*impl_), rb = resolved(*other.impl_);
  for (size_t k = 0; k < list.size(); ++k) {
    Change& ch = list[k];
    const YAML::Node a = node_at(impl_->root, c.places[k]), b = node_at(other.impl_->root, c.places[k]);
    const YAML::Node da = node_at(ra, c.places[k]), db = node_at(rb, c.places[k]);
    ch.before = side(a, da);
    ch.after = side(b, db);
    ch.summary = summary(a, b, da, db);
  }
  return list;
}

Scenario ScenarioTemplate::with_changes(const ScenarioTemplate& other, const std::vector<size_t>& which) const {
  const auto found = impl_->changes_to(other.impl_);
  const detail::Changes& c = *found;
  YAML::Node root = YAML::Clone(impl_->root);
  for (size_t k : which) {
    if (k >= c.list.size()) throw std::out_of_range("with_changes: no change " + std::to_string(k));
    make_change(root, c.places[k], node_at(other.impl_->root, c.places[k]));
  }
  return detail::load_document(root, impl_->file);
}

namespace detail {

std::string entry_name(const YAML::Node& entry) {
  const YAML::Node n = child(entry, "name");
  return n.IsScalar() ? n.Scalar() : "";
}

bool has_named_entry(const YAML::Node& l) {
  if (!l.IsSequence()) return false;
  for (std::size_t i = 0; i < l.size(); ++i)
    if (l[i].IsMap() && !entry_name(l[i]).empty()) return true;
  return false;
}

bool named_list(const YAML::Node& l) {
  if (!l.IsSequence() || l.size() == 0) return false;
  std::vector<std::string> names;
  for (std::size_t i = 0; i < l.size(); ++i) {
    if (!l[i].IsMap() || entry_name(l[i]).empty()) return false;
    names.push_back(entry_name(l[i]));
  }
  std::sort(names.begin(), names.end());
  return std::adjacent_find(names.begin(), names.end()) == names.end();
}

}  // namespace detail

}  // namespace gpumm
