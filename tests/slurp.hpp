// A file's whole text, as the tests read outputs and bundled inputs ("" when it cannot be read),
// and text wrapped for people read back as one line.
#pragma once

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

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

}  // namespace gpumm::testing
