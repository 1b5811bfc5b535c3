#pragma once
// Internal: a scenario template's composed document, shared by the loader and the comparison
// of scenarios (scenario_changes.cpp).
#include <yaml-cpp/yaml.h>

#include <memory>
#include <mutex>
#include <string>

#include "gpumm/scenario.hpp"

namespace gpumm {

namespace detail {
struct Changes;  // what differs from another document, and where (scenario_changes.cpp)
}

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
