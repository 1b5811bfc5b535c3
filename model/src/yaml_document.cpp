// Reading a YAML file as the loaders of scenarios and studies do: its bytes (a folder or a
// table given instead is told so), its encoding (UTF-16 and UTF-32 read as UTF-8), the control
// bytes that YAML text cannot hold, and the parse itself, guarded against alias bombs, deep
// nesting and stray documents. Every problem goes to `Diagnostics`, with its file and place.
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "gpumm/scenario.hpp"
#include "yaml_hints.hpp"
#include "yaml_reader.hpp"

namespace gpumm {

using detail::Diagnostics;

namespace {

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

}  // namespace gpumm
