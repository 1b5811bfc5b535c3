#pragma once
// Internal: a scenario's composed document and what is shared around it by the loader
// (scenario_loader.cpp), `extends` (scenario_extends.cpp), templates for studies
// (scenario_template.cpp) and the comparison of scenarios (scenario_changes.cpp).
#include <yaml-cpp/yaml.h>

#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gpumm/scenario.hpp"

namespace gpumm {

namespace detail {
struct Changes;      // what differs from another document, and where (scenario_changes.cpp)
struct Diagnostics;  // problems found so far (yaml_reader.hpp)
}  // namespace detail

struct ScenarioTemplate::Impl {
  std::string file;
  YAML::Node root;   // the composed document
  std::string text;  // its YAML, for the hash
  // The changes to the document last compared with: a waterfall asks for them at every run,
  // from many threads, and finding them costs about a run. (The document never changes, so
  // they hold while that one lives.)
  std::shared_ptr<const detail::Changes> changes_to(const std::shared_ptr<const Impl>& other) const;

 private:
  mutable std::mutex compared_lock_;
  mutable std::weak_ptr<const Impl> compared_with_;
  mutable std::shared_ptr<const detail::Changes> changes_;
};

namespace detail {

/// The scenario a composed document describes, named after `file` when it names itself not;
/// throws ScenarioError with every problem.
Scenario load_document(const YAML::Node& root, const std::string& file);

/// The document of a scenario's `text`, read from `file`, with its `extends` chain resolved
/// (paths relative to the extending file); `chain` holds the files being extended, to refuse
/// cycles. Undefined when it could not be read or composed; every problem goes to `d`.
YAML::Node compose(const std::string& text, const std::string& file, const LoadLimits& limits,
                   std::vector<std::string>& chain, Diagnostics& d);

/// The scenario of a composed document (what it can read of it); every problem goes to `d`.
Scenario load_sections(const YAML::Node& root, Diagnostics& d);
/// The document's `units` loaded into a copy of `base`, a scenario loaded from the same
/// document before some of its numbers changed: `firms.<id>` reloads one firm
/// (`firms.<id>.capex` its budget), `regions.<id>`, `programs.<id>`, `inference.<id>` or
/// `other_demand.<id>` one entry, a section of later_sections() the whole section; everything
/// else is taken from `base` (studies' fast path).
Scenario reload_sections(const YAML::Node& root, const Scenario& base, const std::vector<std::string>& units,
                         Diagnostics& d);
/// The sections read after the firms, in the order of a load; each can be reloaded alone.
std::span<const char* const> later_sections();

/// A key of a map by year (`capex`, per-year series): a whole number from 1900 to 2999.
std::optional<int> year_key(std::string_view key);
/// The first and last year of keys that are all years (none when one is not).
std::optional<std::pair<int, int>> year_span(const std::vector<std::string>& keys);

/// The `name` of a list entry ("" when it has none).
std::string entry_name(const YAML::Node& entry);
/// A list whose entries are maps with distinct names (contracts, projects): an extending file
/// changes such a list entry by entry, and `gpumm diff` compares it so.
bool named_list(const YAML::Node& l);
/// A list with at least one entry that is a map with a name: what a case writes to change or
/// add entries of a named list (its entries without a name, or with one written twice, are
/// errors the merge reports).
bool has_named_entry(const YAML::Node& l);

}  // namespace detail
}  // namespace gpumm
