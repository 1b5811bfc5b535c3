#pragma once
// Internal: what most likely went wrong where YAML text does not read as meant.
// yaml-cpp names a syntax error by the token it could not place ("end of map not found",
// "illegal map value") at the place it noticed it, often a line after the mistake. These read
// the text the way a person edits it (indentation, quotes, brackets) and say what to look at.
#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <string_view>

namespace gpumm::detail {

/// yaml-cpp's message for a syntax error in `text` ("invalid YAML: ..."), with the likely cause
/// in brackets where the text shows one: a tab that indents the line; a quoted value that is
/// never closed or runs on over lines not indented under it; a `{` or `[` not closed, closed by
/// the other bracket, or missing a `,`; a line indented out of line with the keys around it; a
/// list item among keys, or a key among list items; a line without `key: value` (a space
/// missing after its `:`, or the `:` itself); a value holding `: ` unquoted; text after a
/// closing quote.
std::string syntax_message(const std::string& text, const YAML::Exception& e);

/// What a character in `s` that looks like another but is not is ("U+00A0, a no-break space,
/// which YAML does not read as a space: type a plain space"), for the first one in `s`; ""
/// when there is none. Text copied from a document or a web page brings them: no-break and
/// other spaces, zero-width characters, dashes for `-`, typographic quotes for `"` and `'`.
std::string lookalike(std::string_view s);

/// Why a document ended at `mark`, where more follows: " (line 1, where the document starts, is
/// indented by 1 space and this line by 0: ...)" when its first line is indented more than the
/// line at `mark`, else "". yaml-cpp ends the document there.
std::string margin_hint(std::string_view text, const YAML::Mark& mark);

/// A quoted value of a parsed document that yaml-cpp read on past where YAML ends it: never
/// closed (yaml-cpp 0.7 reads it to the end of the file without a word), or closed by a later
/// quote after lines not indented under the one it opens on (which YAML forbids in a block).
/// Unseen, it takes the keys after it into the value: a case that `extends` a base would run
/// with its later changes silently dropped.
struct QuoteProblem {
  YAML::Mark mark;       ///< the opening quote
  std::string path;      ///< the key path of the value
  std::string message;   ///< "invalid YAML: ..."
};
std::optional<QuoteProblem> unclosed_quote(const std::string& text, const YAML::Node& root);

}  // namespace gpumm::detail
