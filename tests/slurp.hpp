// A file's whole text, as the tests read outputs and bundled inputs ("" when it cannot be read),
// and text wrapped for people read back as one line.
#pragma once

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace gpumm::testing {

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// `text` with each line break and the indent after it made one space: prose that gpumm wraps
// (verdict.txt, explain, a run's summary) reads as it was written, whatever the width.
inline std::string unwrapped(const std::string& text) {
  std::string v;
  for (size_t at = 0; at < text.size(); ++at) {
    if (text[at] != '\n') {
      v += text[at];
      continue;
    }
    v += ' ';
    while (at + 1 < text.size() && text[at + 1] == ' ') ++at;
  }
  return v;
}

// The lines of `text` with each continuation line (one indented four spaces or more, as
// verdict.txt goes on with a table's row too long for its width) joined onto the line before it
// by one space: a row read as one line.
inline std::vector<std::string> joined_rows(const std::string& text) {
  std::vector<std::string> v;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const size_t indent = line.find_first_not_of(' ');
    if (!v.empty() && indent != std::string::npos && indent >= 4) v.back() += " " + line.substr(indent);
    else v.push_back(line);
  }
  return v;
}

}  // namespace gpumm::testing
