// `extends`: a scenario written as changes to another (the four cases over the base). Its
// document is composed before anything is loaded: the base's document, with the extending
// file's keys merged into it (maps key by key, `null` removing a key, lists of named entries
// entry by entry), each node remembering the file it came from for messages.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "gpumm/scenario.hpp"
#include "scenario_template.hpp"
#include "yaml_hints.hpp"
#include "yaml_reader.hpp"

namespace gpumm {

using detail::Diagnostics;

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
      // a value replaced takes its key's place, so that the composed document keeps the base's
      // order (`gpumm diff` lists a case's changes in it): the keys after it go back after it
      std::vector<std::pair<YAML::Node, YAML::Node>> after;
      bool past = false;
      for (auto b = base.begin(); b != base.end(); ++b) {
        const auto e = *b;
        if (past && e.first.IsScalar()) after.emplace_back(e.first, e.second);
        past = past || (e.first.IsScalar() && e.first.Scalar() == key);
      }
      if (existing.IsDefined()) base.remove(key);
      for (const auto& e : after) base.remove(e.first.Scalar());
      base.force_insert(it->first, value);
      for (const auto& [k, v] : after) base.force_insert(k, v);
    }
  }
}

}  // namespace

// The document of `file` with its `extends` chain resolved (paths relative to the extending
// file). `chain` holds the files being extended, to refuse cycles.
YAML::Node detail::compose(const std::string& text, const std::string& file, const LoadLimits& limits,
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

}  // namespace gpumm
