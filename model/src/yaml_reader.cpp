#include "yaml_reader.hpp"

#include "yaml_hints.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace gpumm::detail {

// How MapReader's problems of a key begin; explain_new_entries reads them back.
constexpr std::string_view kMissingKey = "missing required key `";
constexpr std::string_view kUnknownKey = "unknown key `";

YAML::Mark dash_before(std::string_view text, const YAML::Mark& at) {
  if (at.is_null()) return YAML::Mark::null_mark();
  // the lines of the text, up to the one `at` is on
  std::vector<std::string_view> lines;
  for (size_t start = 0; start <= text.size() && static_cast<int>(lines.size()) <= at.line;) {
    const size_t end = std::min(text.find('\n', start), text.size());
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  if (static_cast<int>(lines.size()) <= at.line) return YAML::Mark::null_mark();
  // back from `at` over blank space and comments to the last text before it
  for (int l = at.line; l >= 0; --l) {
    std::string_view line = lines[static_cast<size_t>(l)];
    // (at the end of the text, the item is marked at the start of its own line, before its
    // dash; elsewhere at the next text, which may be the next item's dash: not this one's)
    const size_t first = line.find_first_not_of(" \t");
    const bool own_line = l == at.line && first != std::string_view::npos &&
                          static_cast<int>(first) > at.column && line[first] == '-';
    if (l == at.line && !own_line)
      line = line.substr(0, std::min(line.size(), static_cast<size_t>(std::max(at.column, 0))));
    // a comment starts at a `#` at the start of the line or after a space, outside quotes
    char quote = 0;
    for (size_t k = 0; k < line.size(); ++k) {
      const char c = line[k];
      if (quote) {
        if (c == quote) quote = 0;
      } else if (c == '\'' || c == '"') {
        quote = c;
      } else if (c == '#' && (k == 0 || line[k - 1] == ' ' || line[k - 1] == '\t')) {
        line = line.substr(0, k);
        break;
      }
    }
    const size_t last = line.find_last_not_of(" \t\r");
    if (last == std::string_view::npos) continue;
    // a bare `-` (with nothing or only spaces before it on its line)
    if (line[last] != '-' || line.find_first_not_of(" \t") != last) return YAML::Mark::null_mark();
    YAML::Mark m;
    m.line = l;
    m.column = static_cast<int>(last);
    return m;
  }
  return YAML::Mark::null_mark();
}

const std::string& Diagnostics::file_of(const YAML::Node& node) const {
  if (node.IsDefined())
    for (const auto& [n, f] : origins)
      if (n.is(node)) return f;
  return file;
}

const Diagnostics::Override* Diagnostics::last_override(const YAML::Node& merged) const {
  if (merged.IsDefined())
    for (auto o = overrides.rbegin(); o != overrides.rend(); ++o)
      if (o->merged.is(merged)) return &*o;
  return nullptr;
}

void Diagnostics::error(const YAML::Node& node, const std::string& path, const std::string& message) {
  if (const Override* o = last_override(node)) return error_in(o->file, o->over.Mark(), path, message);
  const std::string& in_file = file_of(node);
  if (node.IsNull()) {
    for (const auto& [value, key_mark] : null_values)
      if (value.is(node)) return error_in(in_file, key_mark, path, message);
    for (const auto& [f, text] : texts)
      if (f == in_file)
        if (const YAML::Mark dash = dash_before(text, node.Mark()); !dash.is_null())
          return error_in(f, dash, path, message);
  }
  error_in(in_file, node.Mark(), path, message);
}

const Diagnostics::Removal* Diagnostics::removal_of(const std::string& path) const {
  for (auto it = removals.rbegin(); it != removals.rend(); ++it)
    if (it->path == path) return &*it;
  return nullptr;
}

void Diagnostics::explain_new_entries() {
  const std::string_view missing = kMissingKey;
  for (const NewEntry& e : new_entries) {
    std::vector<size_t> mine;  // the entry's problems as a whole
    for (size_t k = 0; k < list.size(); ++k)
      if (list[k].path == e.path) mine.push_back(k);
    // none: a good new entry; an unknown key: no entry at all, which its own problem says
    if (mine.empty() || std::any_of(mine.begin(), mine.end(),
                                    [&](size_t k) { return list[k].message.starts_with(kUnknownKey); }))
      continue;
    std::string lacks, others;
    for (size_t k : mine) {
      const std::string& m = list[k].message;
      if (m.starts_with(missing))
        lacks += (lacks.empty() ? "it lacks `" : ", `") + m.substr(missing.size(), m.find('`', missing.size()) - missing.size()) + "`";
      else
        others += "; " + m;
    }
    Diagnostic d;
    d.file = e.file;
    d.line = e.mark.line >= 0 ? e.mark.line + 1 : 0;
    d.column = e.mark.column >= 0 ? e.mark.column + 1 : 0;
    d.path = e.path;
    d.message = "no entry `" + e.name + "` in the scenario it extends to change (did you mean `" + e.near +
                "`?); as a new entry, " + (lacks.empty() ? others.substr(2) : lacks + others);
    for (auto k = mine.rbegin(); k != mine.rend(); ++k) list.erase(list.begin() + static_cast<std::ptrdiff_t>(*k));
    list.insert(list.begin() + static_cast<std::ptrdiff_t>(mine.front()), std::move(d));
  }
}

void Diagnostics::error_in(const std::string& in_file, const YAML::Mark& mark, const std::string& path,
                           const std::string& message) {
  Diagnostic d;
  d.file = in_file;
  // yaml-cpp marks are 0-based; a null mark (-1) means "no position"
  d.line = mark.line >= 0 ? mark.line + 1 : 0;
  d.column = mark.column >= 0 ? mark.column + 1 : 0;
  d.path = path;
  d.message = message;
  // text copied from a document: a no-break space in a key, an en dash in a date
  d.message += lookalike_note(message + path);
  list.push_back(std::move(d));
}

namespace {
// Edits (insert, delete, replace, or swap two neighbouring letters: `stpe` is one from `step`)
// that turn a into b (optimal string alignment).
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> before(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) cur[j] = std::min(cur[j], before[j - 2] + 1);
    }
    std::swap(before, prev);
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// The words of a name written with underscores (`periods_in_shortage`: periods, in, shortage).
std::vector<std::string_view> words_of(std::string_view name) {
  std::vector<std::string_view> out;
  for (size_t from = 0; from <= name.size();) {
    const size_t to = std::min(name.find('_', from), name.size());
    if (to > from) out.push_back(name.substr(from, to - from));
    from = to + 1;
  }
  return out;
}

// Whether every word of `word` appears in `candidate`, in the same order, with words left out
// between them (`periods_in_shortage` in `periods_in_structural_shortage`).
bool words_within(const std::vector<std::string_view>& word, std::string_view candidate) {
  const std::vector<std::string_view> cw = words_of(candidate);
  size_t k = 0;
  for (std::string_view w : cw)
    if (k < word.size() && w == word[k]) ++k;
  return k == word.size() && cw.size() > word.size();
}
}  // namespace

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  // close: within a third of the word's letters, at least two, but one between two names of
  // four letters or fewer (`seed` is two edits from `end`; `nvda` two from `nvidia`)
  const std::size_t most = std::max<std::size_t>(2, word.size() / 3);
  std::size_t best_d = most + 1;
  std::vector<std::string> tied;  // as close as the best
  for (const std::string& c : candidates) {
    const std::size_t d = edit_distance(word, c);
    if (word.size() <= 4 && c.size() <= 4 && d > 1) continue;
    if (d < best_d) {
      best_d = d;
      best = c;
      tied.assign(1, c);
    } else if (d == best_d && !best.empty() && c != best) {
      tied.push_back(c);
    }
  }
  if (tied.size() > 1) {
    // names as close as each other: the one that begins and ends as the word does (`--sed`:
    // `--seed`, not `--set`), else no guess (`deal_9` between `deal_1` and `deal_2`)
    const auto same_ends = [&](const std::string& c) {
      return !c.empty() && !word.empty() && c.front() == word.front() && c.back() == word.back();
    };
    if (std::count_if(tied.begin(), tied.end(), same_ends) != 1) return {};
    return *std::find_if(tied.begin(), tied.end(), same_ends);
  }
  if (!best.empty()) return best;
  // a name with words left out: the one candidate holding all its words, when only one does
  // (a word of three letters or more among them, so that `in` alone suggests nothing)
  const std::vector<std::string_view> ww = words_of(word);
  if (std::none_of(ww.begin(), ww.end(), [](std::string_view w) { return w.size() >= 3; })) return {};
  for (const std::string& c : candidates)
    if (words_within(ww, c)) {
      if (!best.empty()) return {};  // several: no guess
      best = c;
    }
  return best;
}

std::string not_one_of(std::string_view word, const std::vector<std::string>& options) {
  std::string msg = "`";
  msg.append(word).append("`: expected ");
  for (size_t k = 0; k < options.size(); ++k) {
    if (k > 0) msg += k + 1 == options.size() ? " or " : ", ";
    msg.append(1, '`').append(options[k]).append(1, '`');
  }
  const std::string guess = did_you_mean(word, options);
  if (!guess.empty()) msg += "; did you mean `" + guess + "`?";
  return msg;
}

bool scalar(Diagnostics& diags, const YAML::Node& node, const std::string& path,
            std::string& out) {
  if (node.IsNull()) {
    diags.error(node, path, "missing value");
    return false;
  }
  if (!node.IsScalar()) {
    diags.error(node, path, std::string("expected a single value, found a ") +
                                (node.IsMap() ? "map" : "list"));
    return false;
  }
  out = node.Scalar();
  return true;
}

bool split_off(const YAML::Node& before_key, const YAML::Node& before_value, const YAML::Node& key,
               const YAML::Node& value) {
  if (!before_key.IsDefined() || !key.IsScalar() || !value.IsNull()) return false;
  const std::string& k = key.Scalar();
  if (k.empty() || !std::isdigit(static_cast<unsigned char>(k.front()))) return false;
  // no colon: the value (null) is marked right after the key
  const YAML::Mark at = key.Mark(), null_at = value.Mark();
  if (null_at.line != at.line || null_at.column != at.column + static_cast<int>(k.size())) return false;
  // right after a comma that ends the entry before: its value, or its key when it is split off too
  const bool valued = before_value.IsScalar() && !before_value.IsNull();
  const YAML::Node& end = valued ? before_value : before_key;
  if (!end.IsScalar()) return false;
  const YAML::Mark from = end.Mark();
  return from.line == at.line && from.column + static_cast<int>(end.Scalar().size()) + 1 == at.column;
}

std::string duplicate_key(int first_line) {
  return "duplicate key (first defined at line " + std::to_string(first_line) + ")";
}

std::string list_expected(const YAML::Node& node, const std::string& what) {
  const std::string expected = "expected a list of " + what;
  if (node.IsMap()) return expected + ", found a map: each entry of a list starts with `- ` (or the list is `[...]`)";
  if (node.IsNull()) return expected + ", found nothing: write its entries on the lines below it, each starting with `- `";
  if (node.IsSequence()) return expected + ", found an empty list";
  return expected + ", found a single value (a list is `[a, b]`, or entries on the lines below, each starting with `- `)";
}

MapReader::MapReader(Diagnostics& diags, const YAML::Node& node, std::string path)
    : diags_(diags), node_(node), path_(std::move(path)) {
  if (!node.IsDefined()) return;
  if (!node.IsMap()) {
    diags_.error(node, path_, node.IsNull() ? std::string("expected a map of keys, found nothing: write its keys on the lines "
                                                          "below it, indented under it (or `{...}` on its line)")
                                            : std::string("expected a map of keys, found a ") + (node.IsSequence() ? "list" : "value"));
    return;
  }
  valid_ = true;
  // duplicate keys: yaml-cpp keeps both entries; the first one wins on lookup, so say so
  std::map<std::string, int> first_line;
  YAML::Node before_key(YAML::NodeType::Undefined), before_value(YAML::NodeType::Undefined);
  for (auto it = node.begin(); it != node.end(); ++it) {
    // (each `it->` makes a pair of node handles: one for the whole step)
    const auto entry = *it;
    const YAML::Node &k = entry.first, &v = entry.second;
    std::string key = k.IsScalar() ? k.Scalar() : std::string("?");
    items_.emplace_back(key, v);
    if (v.IsNull()) diags_.null_values.emplace_back(v, k.Mark());
    const bool split = split_off(before_key, before_value, k, v);
    split_.push_back(split);
    before_key.reset(k);
    before_value.reset(v);
    if (split) continue;  // said in finish(), with the number it split
    auto [pos, inserted] = first_line.emplace(key, k.Mark().line + 1);
    if (!inserted)
      diags_.error(k, child_path(key), duplicate_key(pos->second));
  }
}

std::string MapReader::child_path(std::string_view key) const {
  if (path_.empty()) return std::string(key);
  return path_ + "." + std::string(key);
}

YAML::Node MapReader::get(std::string_view key) {
  known_.insert(std::string(key));
  if (!valid_) return YAML::Node(YAML::NodeType::Undefined);
  for (const auto& [k, v] : items_)  // the first of duplicate keys wins, as in yaml-cpp
    if (k == key) return v;
  return YAML::Node(YAML::NodeType::Undefined);
}

bool MapReader::has(std::string_view key) const {
  if (!valid_) return false;
  for (const auto& [k, v] : items_)
    if (k == key) return true;
  return false;
}

void MapReader::missing(std::string_view key, const std::string& what) {
  // a value where this map belongs is told once, by the constructor, not also key by key
  if (node_.IsDefined() && !valid_) return;
  // written under another tool's name (`min` for `low`), which finish() tells with the name
  for (const OtherName& other : other_names_)
    if (std::find(other.stands_for.begin(), other.stands_for.end(), key) != other.stands_for.end() &&
        std::any_of(items_.begin(), items_.end(), [&](const auto& item) {
          return std::find(other.words.begin(), other.words.end(), item.first) != other.words.end();
        }))
      return;
  std::string msg = std::string(kMissingKey) + std::string(key) + "`";
  if (!what.empty()) msg += " (" + what + ")";
  // set to null by a scenario that extends this one: said where it was
  if (const Diagnostics::Removal* removed = diags_.removal_of(child_path(key))) {
    diags_.error_in(removed->file, removed->mark, child_path(key), msg + "; `null` removes it, and it has no default");
    return;
  }
  diags_.error(node_, path_.empty() ? std::string("(top level)") : path_, msg);
}

std::vector<std::pair<std::string, YAML::Node>> MapReader::entries() const {
  std::vector<std::pair<std::string, YAML::Node>> out;
  out.reserve(items_.size());
  for (size_t k = 0; k < items_.size(); ++k)
    if (!split_[k]) out.push_back(items_[k]);
  return out;
}

void MapReader::finish() {
  if (!valid_) return;
  std::vector<std::string> known(known_.begin(), known_.end());
  std::string before_key, before_value;  // the entry before: a number that a comma split
  size_t k = 0;  // items_ and split_ follow the map's order
  for (auto it = node_.begin(); it != node_.end(); ++it, ++k) {
    if (!it->first.IsScalar()) {
      diags_.error(it->first, path_, "keys must be plain names");
      continue;
    }
    const std::string& key = it->first.Scalar();
    if (split_[k] && !before_value.empty()) {
      // `{pue: 1,2}` is pue 1 and a key 2 to YAML; `{units: 1,000,000}` units 1 and keys 000;
      // `{capex: $1,000B}` $1 and a key 000B
      const YAML::Node first = it->first;
      std::vector<std::string> parts{key};
      for (auto next = std::next(it); next != node_.end() && split_[k + 1]; ++next) {
        parts.push_back(next->first.Scalar());
        it = next;
        ++k;
      }
      std::string written = before_value, keys, joined = before_value;
      bool thousands = true;
      for (const std::string& part : parts) {
        written += "," + part;
        keys += (keys.empty() ? "`" : ", `") + part + "`";
        joined += part;
        // three digits, and a unit after the last (`000B`)
        const size_t digits = std::min(part.find_first_not_of("0123456789"), part.size());
        thousands = thousands && digits == 3 && (digits == part.size() || &part == &parts.back());
      }
      std::string msg = "`" + written + "` reads as " + before_value + " and " + (parts.size() > 1 ? "keys " : "a key ") +
                        keys + ": YAML splits a number at its commas inside `{...}`; ";
      const std::string decimal = "a decimal comma? write `" + before_value + "." + parts[0] + "`";
      const std::string separators = "thousands separators? write `" + joined + "`";
      msg += parts.size() > 1 ? separators : thousands ? separators + "; " + decimal : decimal;
      diags_.error(first, child_path(before_key), msg);
      before_value.clear();
      continue;
    }
    if (!known_.count(key)) diags_.error(it->first, child_path(key), std::string(kUnknownKey) + key + "`" + key_hint(key, known));
    before_key = key;
    before_value = it->second.IsScalar() ? it->second.Scalar() : "";
  }
  // `capx: null` in a file that extends another, whose base has no `capx` here: it removed
  // nothing, and the merged map does not hold it to be told unknown
  const std::string prefix = path_.empty() ? "" : path_ + ".";
  for (const Diagnostics::Removal& r : diags_.removed_nothing) {
    if (r.path.size() <= prefix.size() || r.path.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string key = r.path.substr(prefix.size());
    if (key.find('.') != std::string::npos || known_.count(key)) continue;
    diags_.error_in(r.file, r.mark, r.path,
                    "`" + key + ": null` removes nothing (the scenario it extends has no `" + key + "` there)" +
                        key_hint(key, known));
  }
}

std::string MapReader::key_hint(const std::string& key, const std::vector<std::string>& known) const {
  if (key == "<<")
    return " (a YAML 1.1 merge key, which the YAML reader gpumm uses does not merge: write the keys out here; a "
           "scenario builds on another with `extends`)";
  // `power_at_start {us_east: 200 MW}`: to YAML a key `power_at_start {us_east`
  if (const size_t open = key.find_first_of("{["); open != std::string::npos && open > 1 && key[open - 1] == ' ') {
    const std::string before = key.substr(0, key.find_last_not_of(' ', open - 1) + 1);
    if (known_.count(before)) return "; is the `:` missing after `" + before + "`?";
  }
  for (const OtherName& other : other_names_)
    if (std::find(other.words.begin(), other.words.end(), key) != other.words.end())
      return "; " + std::string(other.instead);
  std::string msg;
  const std::string guess = did_you_mean(key, known);
  // `term_lag` beside a map `term`: a key of that map written flat (`term: {lag: ...}`)
  std::string nested;
  for (const std::string& k : known) {
    if (key.size() <= k.size() + 1 || key.compare(0, k.size(), k) != 0 || key[k.size()] != '_') continue;
    const bool map = std::any_of(items_.begin(), items_.end(),
                                 [&](const auto& item) { return item.first == k && item.second.IsMap(); });
    if (map && k.size() > nested.size()) nested = k;
  }
  if (!nested.empty() && (guess.empty() || guess == nested)) {
    msg += "; did you mean `" + nested + ": {" + key.substr(nested.size() + 1) + ": ...}`?";
  } else if (!guess.empty()) {
    msg += "; did you mean `" + guess + "`?";
  } else if (!known.empty()) {
    // no close name: the keys that belong here (in alphabetical order)
    msg += " (the keys " + (path_.empty() ? std::string("at the top level") : "of `" + path_ + "`") + ": ";
    for (size_t k = 0; k < known.size(); ++k) msg += (k > 0 ? ", " : "") + known[k];
    msg += ")";
  }
  return msg;
}

bool MapReader::scalar_at(std::string_view key, bool required, std::string& text, YAML::Node& node) {
  node = get(key);
  if (!node.IsDefined()) {
    if (required) missing(key, "");
    return false;
  }
  return scalar(diags_, node, child_path(key), text);
}

bool MapReader::text(std::string_view key, std::string& out, bool required) {
  YAML::Node n;
  return scalar_at(key, required, out, n);
}

bool MapReader::number(std::string_view key, double& out, bool required, double min, double max) {
  double x = 0;
  if (!quantity(key, x, &parse_number, required)) return false;
  if (x < min || x > max) {
    const std::string range = max >= kHuge ? ">= " + format_number(min)
                              : min <= -kHuge ? "<= " + format_number(max)
                                              : "between " + format_number(min) + " and " + format_number(max);
    diags_.error(get(key), child_path(key), "`" + get(key).Scalar() + "`: must be " + range);
    return false;
  }
  out = x;
  return true;
}

bool MapReader::whole_number(std::string_view key, double& out, bool required, double min, double max) {
  double x = 0;
  if (!number(key, x, required, min, max)) return false;
  if (x != std::floor(x)) {
    diags_.error(get(key), child_path(key), "must be a whole number");
    return false;
  }
  out = x;
  return true;
}

bool MapReader::share(std::string_view key, double& out, bool required) {
  std::string s;
  YAML::Node n;
  if (!scalar_at(key, required, s, n)) return false;
  // a percentage, written as one or as a number of percent
  const std::string_view text = s;
  const bool percent_sign = !text.empty() && text.back() == '%';
  Parsed<double> p = parse_number(percent_sign ? text.substr(0, text.size() - 1) : text);
  if (p.ok() && (percent_sign || (p.value >= 2 && p.value <= 100)) && p.value >= 0 && p.value <= 100) {
    std::string msg = "`" + s + "`: a share is a number from 0 to 1 (`";
    diags_.error(n, child_path(key), msg.append(format_number(p.value / 100)).append("` for ")
                                         .append(format_number(p.value)).append("%)"));
    return false;
  }
  return number(key, out, required, 0.0, 1.0);
}

bool MapReader::boolean(std::string_view key, bool& out, bool required) {
  std::string s;
  YAML::Node n;
  if (!scalar_at(key, required, s, n)) return false;
  if (s == "true") out = true;
  else if (s == "false") out = false;
  else {
    diags_.error(n, child_path(key), "`" + s + "`: expected `true` or `false`");
    return false;
  }
  return true;
}

}  // namespace gpumm::detail
