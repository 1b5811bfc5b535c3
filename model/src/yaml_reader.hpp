#pragma once
// Internal: strict, located reading of YAML maps for the scenario loader.
// Every problem is recorded as a Diagnostic (file:line:col, key path, message) and reading
// goes on, so one pass reports all problems.
#include <yaml-cpp/yaml.h>

#include <functional>
#include <initializer_list>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gpumm/error.hpp"
#include "gpumm/units.hpp"

namespace gpumm {
struct LoadLimits;
}

namespace gpumm::detail {

/// Collects diagnostics for one file.
struct Diagnostics {
  std::string file;
  std::vector<Diagnostic> list;
  /// With `extends`, the file each node came from (nodes not listed are from `file`).
  std::vector<std::pair<YAML::Node, std::string>> origins;
  /// With `extends`, maps that an extending file's map merged into (the merged map, that
  /// map, its file), in the order of the merges: a problem of the merged map as a whole (its
  /// shares no longer sum to 1) is located where the last file changed it.
  struct Override {
    YAML::Node merged, over;
    std::string file;
  };
  std::vector<Override> overrides;
  /// With `extends`, entries an extending file added whose names are close to one its base
  /// has (`openai_orcle` beside `openai_oracle`): at `mark` in `file`, the entry at `path`.
  struct NewEntry {
    std::string path, file;
    YAML::Mark mark;
    std::string name, near;
  };
  std::vector<NewEntry> new_entries;
  /// With `extends`, keys an extending file set to null, removing what its base had there
  /// (`firms.coreweave`), at `mark` in `file`: a reference to what was removed says so.
  struct Removal {
    std::string path, file;
    YAML::Mark mark;
  };
  std::vector<Removal> removals;
  /// With `extends`, keys an extending file set to null where its base had none, removing
  /// nothing: the reader of the map that holds them reports those that do not belong there
  /// (`capx: null`, meant to remove `capex`, would otherwise pass unseen).
  std::vector<Removal> removed_nothing;
  /// The removal of `path` by an extending file, or nullptr.
  const Removal* removal_of(const std::string& path) const;
  /// Keys written with nothing after them (`seed:`) and their null values: yaml-cpp marks such
  /// a value where the next line's text begins, which may be lines below, so a problem of the
  /// value is told at its key.
  std::vector<std::pair<YAML::Node, YAML::Mark>> null_values;
  /// The text of each file parsed (file, text): a list item written as a bare `-` is null,
  /// marked where the next line's text begins as a key's is, and told at its dash, found there.
  std::vector<std::pair<std::string, std::string>> texts;

  void error(const YAML::Mark& mark, const std::string& path, const std::string& message) {
    error_in(file, mark, path, message);
  }
  void error(const YAML::Node& node, const std::string& path, const std::string& message);
  void error_in(const std::string& in_file, const YAML::Mark& mark, const std::string& path,
                const std::string& message);
  const std::string& file_of(const YAML::Node& node) const;
  /// The override of a merged map by the file that changed it last, or nullptr.
  const Override* last_override(const YAML::Node& merged) const;
  /// The problems of such an entry as a whole (what it lacks as a new entry) become one, which
  /// says that no entry of that name was there to change and which one it may have meant.
  void explain_new_entries();
};

/// Read a whole file, which must be a regular file (not a directory, a device or a pipe) of at
/// most `max_bytes`: returns what is wrong ("no such file", "not a regular file", "file too
/// large (...)", "cannot read the file"), or "" with the file in `text`.
std::string read_file(const std::string& path, std::size_t max_bytes, std::string& text);
/// The same for the file a command names: its text, or a ScenarioError naming the file and
/// what is wrong with it.
std::string read_file_or_throw(const std::string& path, std::size_t max_bytes);

/// Parse the one YAML document of a file's bytes (UTF-8, or UTF-16 or UTF-32 as YAML reads them), refusing alias bombs, deep nesting, several
/// documents and oversized files before anything is built. Problems go to `d` located in
/// `file` (`kind` names the file in them: "scenario"; `empty_message` is said when there is
/// no document); returns an undefined node on failure.
YAML::Node parse_document(const std::string& raw, const std::string& file, const LoadLimits& limits,
                          Diagnostics& d, const std::string& kind, const std::string& empty_message);

/// Closest candidate by edit distance; failing that, the one candidate that holds all the
/// words of `word` in order with some left out (`periods_in_shortage`:
/// `periods_in_structural_shortage`); "" when none is close enough to suggest.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

/// A view of one YAML map: looks keys up, remembers which were read, reports duplicates on
/// construction and unknown keys in `finish()`.
class MapReader {
 public:
  MapReader(Diagnostics& diags, const YAML::Node& node, std::string path);

  bool valid() const { return valid_; }
  const std::string& path() const { return path_; }
  const YAML::Node& node() const { return node_; }
  Diagnostics& diags() { return diags_; }
  std::string child_path(std::string_view key) const;

  /// The value at `key` (undefined when absent); marks the key as known.
  YAML::Node get(std::string_view key);
  bool has(std::string_view key) const;
  /// Report a missing required key at the map's position.
  void missing(std::string_view key, const std::string& what);

  /// Report unknown keys (with a did-you-mean), also those an extending file set to null
  /// where its base had none.
  void finish();

  /// Words other tools use where this map has its own keys (`trajectories` for `samples`), each
  /// with what to write instead: an unknown key among them is told that, not the nearest
  /// spelling or the list of keys; and a required key it stands for (`low` for `min`) is not
  /// also told missing. Set before the map's keys are read.
  struct OtherName {
    std::vector<std::string_view> words;
    std::string_view instead;                ///< "Morris's trajectories are `samples` here"
    std::vector<std::string_view> stands_for = {};  ///< required keys it takes the place of
  };
  void other_names(std::span<const OtherName> names) { other_names_ = names; }

  /// Every key of the map in document order, with its node, but for what a comma inside
  /// `{...}` split off a number (`1,000` reads as 1 and a key `000`), which `finish()` reports:
  /// a reader of entries calls it after them.
  std::vector<std::pair<std::string, YAML::Node>> entries() const;

  // Typed reads. Each returns true when the key is present and valid; it records an error when
  // the value is invalid or when `required` and the key is absent. `out` keeps its default
  // otherwise.
  bool text(std::string_view key, std::string& out, bool required = false);
  bool number(std::string_view key, double& out, bool required = false,
              double min = -kHuge, double max = kHuge);
  /// The same, for a count or a seed: a value with a fraction is an error, not truncated.
  bool whole_number(std::string_view key, double& out, bool required = false, double min = -kHuge,
                    double max = kHuge);
  /// A number from 0 to 1; `90%`, or 90 where a share is meant, is refused with the share
  /// it stands for (0.9).
  bool share(std::string_view key, double& out, bool required = false);
  bool boolean(std::string_view key, bool& out, bool required = false);
  /// One word of a fixed list (`options`: the word and its value, in the order the error
  /// names them). Anything else is an error that names the words, with a did-you-mean
  /// (`mnth`: expected `week`, `month` or `quarter`; did you mean `month`?).
  template <class T>
  bool choice(std::string_view key, T& out, std::initializer_list<std::pair<std::string_view, T>> options,
              bool required = false);
  template <class T>
  bool quantity(std::string_view key, T& out, Parsed<T> (*parse)(std::string_view),
                bool required = false);

  static constexpr double kHuge = 1e300;

  /// The scalar text at `key` and its node; false (and an error when `required` or when the
  /// value is not a scalar) otherwise.
  bool scalar_at(std::string_view key, bool required, std::string& text, YAML::Node& node);

 private:
  Diagnostics& diags_;
  YAML::Node node_;
  std::string path_;
  bool valid_ = false;
  std::set<std::string> known_;
  // the entries, read once: yaml-cpp's map iteration makes node handles on every step, and a
  // scenario's readers look keys up many times
  std::vector<std::pair<std::string, YAML::Node>> items_;
  std::vector<char> split_;  ///< (items_) what a comma split off the number before
  std::span<const OtherName> other_names_;

  /// What follows the news that `key` does not belong in this map: a did-you-mean among the
  /// `known` keys ("; did you mean `capex`?"), or else the list of them.
  std::string key_hint(const std::string& key, const std::vector<std::string>& known) const;
};

/// "`word`: expected `a`, `b` or `c`", with "; did you mean `b`?" when `word` is close to one.
std::string not_one_of(std::string_view word, const std::vector<std::string>& options);

/// The mark of the bare `-` of a list item that `text` has nothing after (yaml-cpp marks the
/// null item `at` the next text, past blank lines and comments); the null mark when the text
/// before `at` is not such a dash.
YAML::Mark dash_before(std::string_view text, const YAML::Mark& at);

/// Whether `key` (with its null `value`) is what a comma inside `{...}` split off the number
/// before it: `{pue: 1,25}` reads as pue 1 and a key `25`, `{2026: $1,000B}` as $1 and a key
/// `000B`. The key starts with a digit, follows the comma at once (after the entry before: its
/// value, or its key when that was split off too) and has no colon, so `{2026: $1,2027: }`, a
/// year set to null, is not one.
bool split_off(const YAML::Node& before_key, const YAML::Node& before_value, const YAML::Node& key,
               const YAML::Node& value);

/// What a key written a second time in one map is told, with the line of the first.
std::string duplicate_key(int first_line);

/// What a value that should be a list of `what` ("orders") is told, with what it is instead:
/// a map (`{...}` or keys) without the `- ` that starts each entry, nothing, one value, or an
/// empty list where one is needed.
std::string list_expected(const YAML::Node& node, const std::string& what);

/// The scalar text of `node`, or records "expected ..." and returns false.
bool scalar(Diagnostics& diags, const YAML::Node& node, const std::string& path, std::string& out);

template <class T>
bool MapReader::quantity(std::string_view key, T& out, Parsed<T> (*parse)(std::string_view),
                         bool required) {
  std::string s;
  YAML::Node n;
  if (!scalar_at(key, required, s, n)) return false;
  Parsed<T> p = parse(s);
  if (!p.ok()) {
    diags_.error(n, child_path(key), "`" + s + "`: " + p.error);
    return false;
  }
  out = p.value;
  return true;
}

template <class T>
bool MapReader::choice(std::string_view key, T& out,
                       std::initializer_list<std::pair<std::string_view, T>> options, bool required) {
  std::string s;
  YAML::Node n;
  if (!scalar_at(key, required, s, n)) return false;
  std::vector<std::string> words;
  for (const auto& [word, value] : options) {
    if (s == word) {
      out = value;
      return true;
    }
    words.emplace_back(word);
  }
  diags_.error(n, child_path(key), not_one_of(s, words));
  return false;
}

}  // namespace gpumm::detail
