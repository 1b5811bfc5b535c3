#include "yaml_hints.hpp"

#include <algorithm>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace gpumm::detail {

namespace {

constexpr size_t npos = std::string::npos;

bool one_of(char c, std::string_view set) { return set.find(c) != std::string_view::npos; }

// A text's lines, as places in it (bytes, as yaml-cpp's marks count them).
struct Lines {
  const std::string& text;

  size_t begin_of(size_t at) const {
    const size_t nl = at == 0 ? npos : text.rfind('\n', at - 1);
    return nl == npos ? 0 : nl + 1;
  }
  size_t end_of(size_t at) const { return std::min(text.find('\n', at), text.size()); }
  /// The start of the 0-based line `line` (the text's end when there are fewer lines).
  size_t begin_of_line(int line) const {
    size_t at = 0;
    for (int k = 0; k < line && at < text.size(); ++k) at = std::min(end_of(at) + 1, text.size());
    return at;
  }
  int number_of(size_t at) const { return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n')); }
  int column_of(size_t at) const { return 1 + static_cast<int>(at - begin_of(at)); }
  size_t indent(size_t begin) const { return std::min(text.find_first_not_of(' ', begin), end_of(begin)) - begin; }
  /// The line that starts at `begin` without its indentation, comment and line break.
  std::string_view content(size_t begin) const {
    const size_t end = end_of(begin);
    std::string_view s(text.data() + begin, end - begin);
    for (size_t k = 0; k < s.size(); ++k)
      if (s[k] == '#' && (k == 0 || s[k - 1] == ' ' || s[k - 1] == '\t')) {
        s = s.substr(0, k);
        break;
      }
    const size_t first = s.find_first_not_of(" \t"), last = s.find_last_not_of(" \t\r");
    return first == std::string_view::npos ? std::string_view{} : s.substr(first, last - first + 1);
  }
  /// `s` for a message: at most 40 bytes, cut between characters (not inside one of UTF-8).
  static std::string shown(std::string_view s) {
    if (s.size() <= 40) return std::string(s);
    size_t cut = 37;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    return std::string(s.substr(0, cut)) + "...";
  }
};

// Where the quoted value that opens at `open` (a `"` or `'`) closes: the byte of its closing
// quote (a `\` escapes the next character in `"..."`; `''` is a quote in `'...'`), or npos.
size_t closing_quote(const std::string& text, size_t open) {
  const char q = text[open];
  for (size_t k = open + 1; k < text.size(); ++k) {
    if (q == '"' && text[k] == '\\') {
      ++k;
    } else if (text[k] == q) {
      if (q == '"' || k + 1 >= text.size() || text[k + 1] != '\'') return k;
      ++k;
    }
  }
  return npos;
}

// What is wrong with the quoted value that opens at `open`: never closed, or (in a block
// document) running on to a line not indented under the one it opens on. "" when nothing is.
// `here` places the quote ("here", "on line 3, column 7"), `there` its line ("this line").
// `read` says that the document was read (with the value to the end of the file).
std::string runaway(const Lines& lines, size_t open, bool block, const std::string& here, const std::string& there,
                    bool read) {
  const std::string& text = lines.text;
  const std::string quote = std::string("`") + text[open] + "`";
  const size_t close = closing_quote(text, open);
  if (close == npos)
    return "the " + quote + " " + here + " opens a value that is never closed" +
           (read ? ", so the rest of the file was read into it" : "") + ": close it with " + quote + " where the value ends";
  // (a line break is looked for between the quotes only: a line may hold a million of them)
  const std::string_view inside(text.data() + open, close - open);
  if (!block || inside.find('\n') == std::string_view::npos) return "";
  const size_t own = lines.indent(lines.begin_of(open));
  for (size_t nl = open + inside.find('\n'); nl < close; nl = text.find('\n', nl + 1)) {
    const size_t begin = nl + 1;
    const std::string_view seen = lines.content(begin);
    if (seen.empty() || lines.indent(begin) > own) continue;  // a blank line, or one indented under
    const size_t upto = std::min(lines.end_of(begin), close + 1);
    std::string_view part(text.data() + begin, upto - begin);
    part.remove_prefix(std::min(part.find_first_not_of(" \t"), part.size()));
    if (!part.empty() && part.back() == '\r') part.remove_suffix(1);
    return "the value that opens with " + quote + " " + here + " runs on to line " + std::to_string(lines.number_of(begin)) +
           " (`" + Lines::shown(part) + "`), which is not indented under " + there + ", and is closed only on line " +
           std::to_string(lines.number_of(close)) + ": is a closing " + quote + " missing on " + there + ", or are the lines after it meant to be indented under it?";
  }
  return "";
}

// The text before `end` as YAML's scanner reads a hand-written file, for what a hint needs:
// the quoted values (a `"` or `'` where a key or value starts: at a line's start, after `: `,
// `- `, `? `, or `[`, `{`, `,` in brackets), the brackets still open at `end`, and the first
// closing bracket that met the other kind or none at all. Comments and block scalars (`|`,
// `>`) are skipped; so is what a quote that never closes holds.
struct Lexed {
  std::vector<size_t> quotes;          ///< opening quotes, in order
  std::vector<size_t> open_flows;      ///< `{` and `[` open at `end`, innermost last
  size_t bad_closer = npos, its_opener = npos;  ///< a `}` that met a `[` (or `]` a `{`)
  size_t stray_closer = npos;          ///< a `}` or `]` where no bracket was open
};

Lexed lex(const Lines& lines, size_t end) {
  const std::string& t = lines.text;
  end = std::min(end, t.size());
  Lexed out;
  int block = -1;    // in a block scalar: the indentation of the line that opened it
  char last = '\n';  // the last character of a token on the line ('\n': none yet)
  size_t begin = 0;  // the start of the line being read
  bool line_start = true;
  for (size_t k = 0; k < end;) {
    if (line_start) {
      line_start = false;
      begin = k;
      if (block >= 0 && (lines.content(k).empty() || static_cast<int>(lines.indent(k)) > block)) {
        k = lines.end_of(k) + 1;
        line_start = true;
        continue;
      }
      block = -1;
      if (out.open_flows.empty()) last = '\n';
    }
    const char c = t[k];
    if (c == '\n') {
      ++k;
      line_start = true;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r') {
      ++k;
      continue;
    }
    switch (c) {
      case '#': case '"': case '\'': case '|': case '>': case '{': case '[': case '}': case ']':
        break;
      default:  // most characters: part of a key or a plain value
        last = c;
        ++k;
        continue;
    }
    const bool spaced = k == begin || t[k - 1] == ' ' || t[k - 1] == '\t';
    const bool at_value = last == '\n' || one_of(last, ":-?[{,");
    if (c == '#' && spaced) {
      k = lines.end_of(k);
    } else if ((c == '"' || c == '\'') && at_value && (spaced || one_of(last, "[{,"))) {
      out.quotes.push_back(k);
      const size_t close = closing_quote(t, k);
      if (close == npos) break;
      if (std::string_view(t.data() + k, close - k).find('\n') != std::string_view::npos) begin = lines.begin_of(close);
      k = close + 1;
      last = c;
    } else if ((c == '|' || c == '>') && spaced && one_of(last, ":-?") &&
               [&] {  // a block scalar's header: chomping and indentation indicators, a comment
                 const std::string_view rest(t.data() + k + 1, lines.end_of(k) - k - 1);
                 const size_t after = rest.find_first_not_of("+-0123456789");
                 return after == std::string_view::npos || rest.find_first_not_of(" \t\r", after) == std::string_view::npos ||
                        rest[rest.find_first_not_of(" \t\r", after)] == '#';
               }()) {
      block = static_cast<int>(lines.indent(begin));
      k = lines.end_of(k);
    } else {
      if ((c == '{' || c == '[') && (at_value || !out.open_flows.empty())) {
        out.open_flows.push_back(k);
      } else if ((c == '}' || c == ']') && !out.open_flows.empty()) {
        if ((t[out.open_flows.back()] == '{') != (c == '}') && out.bad_closer == npos) {
          out.bad_closer = k;
          out.its_opener = out.open_flows.back();
        }
        out.open_flows.pop_back();
      } else if ((c == '}' || c == ']') && at_value && out.stray_closer == npos) {
        out.stray_closer = k;
      }
      last = c;
      ++k;
    }
  }
  return out;
}

std::string place(const Lines& lines, size_t at) {
  return "line " + std::to_string(lines.number_of(at)) + ", column " + std::to_string(lines.column_of(at));
}

// A list item: `- ` or a lone `-`.
bool is_item(std::string_view s) { return s == "-" || s.substr(0, 2) == "- "; }

// What follows `key: ` on a line (after a list item's `- `), or npos when the line is no
// `key: value` (or `key:`) outside quotes and brackets.
size_t value_at(std::string_view s) {
  char in = 0;
  int depth = 0;
  for (size_t k = 0; k < s.size(); ++k) {
    const char c = s[k];
    if (in) {
      if (c == in) in = 0;
    } else if ((c == '"' || c == '\'') && (k == 0 || one_of(s[k - 1], " [{,"))) {
      in = c;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      --depth;
    } else if (c == ':' && depth == 0 && (k + 1 == s.size() || s[k + 1] == ' ' || s[k + 1] == '\t')) {
      return std::min(s.find_first_not_of(" \t", k + 1), s.size());
    }
  }
  return npos;
}

// Why the block structure breaks at the 0-based line `line`: a line out of line with the lines
// above it, keys and list items mixed, a line without `key: value`, a second `: ` on a line.
std::string block_hint(const Lines& lines, int line, size_t at, const std::string& msg) {
  const std::string& t = lines.text;
  const size_t here = lines.begin_of_line(line);
  const std::string_view now = lines.content(here);
  if (now.empty()) return "";
  const size_t col = at - here;  // the mark's place on its line
  const size_t indent = lines.indent(here);
  const auto spaces = [](size_t n) { return std::to_string(n) + (n == 1 ? " space" : " spaces"); };
  // `a: b: c`: a second `: ` before the mark on its line
  std::string_view before(t.data() + here, std::min(col, t.size() - here));
  before.remove_prefix(std::min(before.find_first_not_of(" \t"), before.size()));
  if (is_item(before)) before.remove_prefix(1);
  if (msg == YAML::ErrorMsg::MAP_VALUE && value_at(before) != npos)
    return "an unquoted value cannot hold `: `: put the value in quotes, or start the next key on a line of its own";
  // `h100 {family: nvidia}`: a key and its `{...}` without the `:` between them
  if (const size_t open = before.find_first_of("{["); msg == YAML::ErrorMsg::MAP_VALUE && open != npos && open > 1 &&
                                                     before[open - 1] == ' ' && before.substr(0, open).find(':') == npos) {
    const std::string_view key = before.substr(0, before.find_last_not_of(' ', open - 1) + 1);
    return "is the `:` missing after `" + std::string(key) + "`?";
  }
  // the lines above, from the nearest up, that hold something
  std::vector<size_t> above;
  for (size_t b = here == 0 ? 0 : lines.begin_of(here - 1); here > 0; b = lines.begin_of(b - 1)) {
    if (!lines.content(b).empty()) above.push_back(b);
    if (b == 0) break;
  }
  if (above.empty()) return "";
  const std::string n_here = std::to_string(line + 1);
  if (msg == YAML::ErrorMsg::MAP_VALUE) {
    // `name small` or `name:small` above a key: yaml-cpp reads both lines as one key
    const size_t p = above.front();
    const std::string_view prev = lines.content(p);
    if (lines.indent(p) == indent && !is_item(prev) && value_at(prev) == npos)
      return "line " + std::to_string(lines.number_of(p)) + ", `" + Lines::shown(prev) + "`, is not `key: value`: " +
             (prev.find(':') != std::string_view::npos ? "YAML needs a space after the `:`" : "is the `:` missing?");
  }
  // the nearest line above in line with this one or less indented: a key beside a list item?
  for (size_t b : above) {
    const size_t i = lines.indent(b);
    if (i > indent) continue;
    if (i == indent && is_item(now) != is_item(lines.content(b)))
      return std::string(is_item(now) ? "a list item `- ` in line with the key" : "a key in line with the list item") +
             " on line " + std::to_string(lines.number_of(b)) +
             ": keys and `- ` items cannot mix in one block; a list goes under a key of its own, indented under it";
    break;
  }
  // indented more than the line above, whose key has its value already
  const size_t p = above.front();
  const std::string_view prev = lines.content(p);
  const std::string_view entry = is_item(prev) ? prev.substr(std::min(prev.find_first_not_of(" ", 1), prev.size())) : prev;
  const size_t entry_indent = lines.indent(p) + static_cast<size_t>(entry.data() - prev.data());
  if (indent > entry_indent && !entry.empty()) {
    const size_t v = value_at(entry);
    if (v != npos && v < entry.size() && !one_of(entry[v], "|>"))
      return "line " + n_here + " is indented by " + spaces(indent) + " and line " +
             std::to_string(lines.number_of(p)) + " by " + std::to_string(entry_indent) + ", but line " +
             std::to_string(lines.number_of(p)) + "'s key has its value already: keys of one map line up";
  }
  // indented less, in line with no line above it
  std::vector<size_t> levels;
  size_t under = npos;  // levels below which a line above still counts
  for (size_t b : above) {
    const size_t i = lines.indent(b);
    if (under != npos && i >= under) continue;
    const std::string_view s = lines.content(b);
    if (is_item(s)) {
      const size_t inner = i + std::min(s.find_first_not_of(" ", 1), s.size());
      if (under == npos || inner < under) levels.push_back(inner);
    }
    levels.push_back(i);
    under = i;
    if (i == 0) break;
  }
  if (indent < lines.indent(p) && std::find(levels.begin(), levels.end(), indent) == levels.end()) {
    std::string at_levels;
    for (size_t k = 0; k < levels.size(); ++k)
      at_levels += (k == 0 ? "" : k + 1 == levels.size() ? " and " : ", ") + std::to_string(levels[k]);
    return "line " + n_here + " is indented by " + spaces(indent) + ", and the lines above it by " + at_levels +
           ": it lines up with none of them";
  }
  return "";
}

}  // namespace

std::string syntax_message(const std::string& text, const YAML::Exception& e) {
  std::string msg = "invalid YAML: " + e.msg;
  if (e.mark.line < 0 || e.mark.pos < 0) return msg;
  const Lines lines{text};
  const size_t at = std::min(static_cast<size_t>(e.mark.pos), text.size());
  const size_t here = lines.begin_of_line(e.mark.line);
  const auto with = [&](const std::string& hint) { return msg + " (" + hint + ")"; };
  if (text.find('\t', here) < std::min(text.find_first_not_of(" \t", here), text.size()))
    return with("the line is indented with a tab: YAML indents with spaces");
  // a character copied from a document that looks like a space, a dash or a quote, on this
  // line or the one above that holds something
  for (size_t b = here, seen = 0; seen < 2; b = lines.begin_of(b - 1)) {
    if (const std::string what = lookalike(lines.content(b)); !what.empty())
      return with("line " + std::to_string(lines.number_of(b)) + " holds " + what);
    if (!lines.content(b).empty() || b == here) ++seen;
    if (b == 0) break;
  }
  const Lexed lexed = lex(lines, at + 1);
  // a quoted value that runs on over what should have followed it
  for (size_t q : lexed.quotes) {
    const std::string why = runaway(lines, q, true, "on " + place(lines, q), "line " + std::to_string(lines.number_of(q)), false);
    if (!why.empty()) return with(why);
  }
  // text after a closing quote (`"x"y`)
  if (at > 0 && one_of(text[at - 1], "\"'"))
    for (size_t q : lexed.quotes)
      if (closing_quote(text, q) == at - 1)
        return with("a quoted value ends at its closing quote: put the whole value inside the quotes");
  // brackets
  if (e.msg == YAML::ErrorMsg::FLOW_END) {
    if (lexed.bad_closer == at)
      return with(std::string("this `") + text[at] + "` meets the `" + text[lexed.its_opener] + "` opened on " +
                  place(lines, lexed.its_opener) + ", which `" + (text[lexed.its_opener] == '{' ? '}' : ']') + "` closes");
    if (lexed.open_flows.empty() && at < text.size())
      return with(std::string("no `{` or `[` is open here for this `") + text[at] + "` to close");
  }
  if ((e.msg == YAML::ErrorMsg::END_OF_MAP_FLOW || e.msg == YAML::ErrorMsg::END_OF_SEQ_FLOW) && !lexed.open_flows.empty()) {
    const size_t open = lexed.open_flows.back();
    // a `[` inside a word, within `{...}` or `[...]` (`{path: firms.meta.orders[0].units}`):
    // there it opens a list, where a study path or a name meant it as text
    if (text[open] == '[' && lexed.open_flows.size() >= 2 && open > 0 && !one_of(text[open - 1], " \t\n,:{[")) {
      size_t from = open;
      while (from > 0 && !one_of(text[from - 1], " \t\n,:{[")) --from;
      const size_t to = std::min(text.find_first_of(",}\n", open), text.size());
      std::string value = text.substr(from, to - from);
      value.erase(value.find_last_not_of(" \t\r") + 1);
      return with("inside `{...}` or `[...]`, the `[` of `" + value + "` opens a list: put the value in quotes, `\"" +
                  value + "\"`");
    }
    const std::string bracket = std::string("`") + text[open] + "`", closer = text[open] == '{' ? "`}`" : "`]`";
    // closed further on (the whole text read): entries run together; else it never closes
    const Lexed all = lex(lines, text.size());
    const bool closes = std::find(all.open_flows.begin(), all.open_flows.end(), open) == all.open_flows.end();
    if (closes && lines.number_of(open) == e.mark.line + 1)
      return with("a `,` missing between two entries of the " + bracket + " on " + place(lines, open) + "?");
    return with("the " + bracket + " on " + place(lines, open) + " is not closed: a " + closer + " missing?");
  }
  if (!lexed.open_flows.empty()) return msg;
  if (const std::string why = block_hint(lines, e.mark.line, at, e.msg); !why.empty()) return with(why);
  return msg;
}

std::string lookalike(std::string_view s) {
  struct Lookalike {
    std::string_view utf8;
    const char* what;
  };
  static constexpr Lookalike kLookalikes[] = {
      {"\xC2\xA0", "U+00A0, a no-break space, which YAML does not read as a space: type a plain space"},
      {"\xE2\x80\xAF", "U+202F, a narrow no-break space, which YAML does not read as a space: type a plain space"},
      {"\xE2\x80\x87", "U+2007, a figure space, which YAML does not read as a space: type a plain space"},
      {"\xE2\x80\x89", "U+2009, a thin space, which YAML does not read as a space: type a plain space"},
      {"\xE3\x80\x80", "U+3000, an ideographic space, which YAML does not read as a space: type a plain space"},
      {"\xE2\x80\x8B", "U+200B, a zero-width space, which cannot be seen: delete it"},
      {"\xE2\x81\xA0", "U+2060, a word joiner, which cannot be seen: delete it"},
      {"\xEF\xBB\xBF", "U+FEFF, a byte order mark inside the text, which cannot be seen: delete it"},
      {"\xE2\x80\x93", "U+2013, an en dash, where `-` was meant?"},
      {"\xE2\x80\x94", "U+2014, an em dash, where `-` was meant?"},
      {"\xE2\x88\x92", "U+2212, a minus sign, where `-` was meant?"},
      {"\xE2\x80\x9C", "U+201C, a typographic quote, where `\"` was meant?"},
      {"\xE2\x80\x9D", "U+201D, a typographic quote, where `\"` was meant?"},
      {"\xE2\x80\x98", "U+2018, a typographic quote, where `'` was meant?"},
      {"\xE2\x80\x99", "U+2019, a typographic quote, where `'` was meant?"},
  };
  size_t first = npos;
  const char* what = "";
  for (const Lookalike& l : kLookalikes)
    if (const size_t at = s.find(l.utf8); at < first) {
      first = at;
      what = l.what;
    }
  return what;
}

std::string margin_hint(std::string_view text, const YAML::Mark& mark) {
  int line = 1;
  for (size_t begin = 0; begin < text.size(); ++line) {
    const size_t end = std::min(text.find('\n', begin), text.size());
    const size_t first = text.find_first_not_of(' ', begin);
    if (first < end && text[first] != '\r' && text[first] != '#') {  // the first line that holds something
      const int indent = static_cast<int>(first - begin);
      if (mark.column >= indent) return "";
      return " (line " + std::to_string(line) + ", where the document starts, is indented by " + std::to_string(indent) +
             (indent == 1 ? " space" : " spaces") + " and this line by " + std::to_string(mark.column) +
             ": the keys at the top level line up at the left margin)";
    }
    begin = end + 1;
  }
  return "";
}

std::optional<QuoteProblem> unclosed_quote(const std::string& text, const YAML::Node& root) {
  const Lines lines{text};
  const bool block = root.Style() != YAML::EmitterStyle::Flow;
  std::optional<QuoteProblem> found;
  // the keys and indices down to the node being checked: a path is only written for a problem
  std::vector<std::pair<const std::string*, std::size_t>> trail;
  const auto path = [&] {
    std::string p;
    for (const auto& [key, index] : trail) {
      if (!key) {
        p.append("[").append(std::to_string(index)).append("]");
        continue;
      }
      if (!p.empty()) p.push_back('.');
      p.append(*key);
    }
    return p;
  };
  // The suspects: quotes where the text, read as a person writes it, opens a value that runs
  // on. Only with suspects is the tree walked, to tell which of them open a quoted value (not
  // an apostrophe in a plain one), and where: a valid file costs one pass over its text.
  std::vector<size_t> suspects;
  for (size_t q : lex(lines, text.size()).quotes)
    if (!runaway(lines, q, block, "", "", true).empty()) suspects.push_back(q);
  if (suspects.empty()) return std::nullopt;
  const auto check = [&](const YAML::Node& n) {
    const YAML::Mark m = n.Mark();
    if (m.pos < 0 || !std::binary_search(suspects.begin(), suspects.end(), static_cast<size_t>(m.pos)) || n.Tag() != "!")
      return;
    found = QuoteProblem{m, path(), "invalid YAML: " + runaway(lines, static_cast<size_t>(m.pos), block, "here", "this line", true)};
  };
  // Each node once: an alias repeats a node (as often as the limit of values lets it), each
  // time the same node, known by its place. Without aliases (no `*`) no node comes twice.
  const bool aliases = text.find('*') != std::string::npos;
  std::unordered_set<int> seen;
  const auto first_time = [&](const YAML::Node& n) { return !aliases || seen.insert(n.Mark().pos).second; };
  const auto walk = [&](const auto& self, const YAML::Node& n) -> void {
    if (!first_time(n)) return;
    if (n.IsScalar()) {
      check(n);
    } else if (n.IsMap()) {
      for (auto it = n.begin(); it != n.end() && !found; ++it) {
        if (first_time(it->first)) check(it->first);
        const bool keyed = it->first.IsScalar();
        if (keyed) trail.emplace_back(&it->first.Scalar(), 0);
        if (!found) self(self, it->second);
        if (keyed && !found) trail.pop_back();
      }
    } else if (n.IsSequence()) {
      std::size_t i = 0;
      for (auto it = n.begin(); it != n.end() && !found; ++it, ++i) {
        trail.emplace_back(nullptr, i);
        self(self, *it);
        if (!found) trail.pop_back();
      }
    }
  };
  walk(walk, root);
  return found;
}

}  // namespace gpumm::detail
