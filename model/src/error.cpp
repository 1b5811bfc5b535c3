#include "gpumm/error.hpp"

#include "yaml_hints.hpp"
#include "yaml_reader.hpp"

#include <algorithm>

namespace gpumm {

std::string Diagnostic::to_string() const {
  std::string s;
  s.reserve(file.size() + path.size() + message.size() + 32);
  s.append(file);
  if (line > 0) {
    s.append(":").append(std::to_string(line));
    s.append(":").append(std::to_string(column));
  }
  s.append(": ");
  if (!path.empty()) s.append(path).append(": ");
  s.append(message);
  return s;
}

namespace {
std::string join(const std::vector<Diagnostic>& ds) {
  std::string s;
  for (const Diagnostic& d : ds) {
    if (!s.empty()) s += "\n";
    s += d.to_string();
  }
  return s;
}

// The problems in the order a reader meets them: file by file (in the order the files first
// appear among the problems), and by line and column within a file.
std::vector<Diagnostic> in_reading_order(std::vector<Diagnostic> ds) {
  std::vector<std::string> files;
  for (const Diagnostic& d : ds)
    if (std::find(files.begin(), files.end(), d.file) == files.end()) files.push_back(d.file);
  const auto rank = [&](const Diagnostic& d) { return std::find(files.begin(), files.end(), d.file) - files.begin(); };
  std::stable_sort(ds.begin(), ds.end(), [&](const Diagnostic& a, const Diagnostic& b) {
    if (rank(a) != rank(b)) return rank(a) < rank(b);
    if (a.line != b.line) return a.line < b.line;
    return a.column < b.column;
  });
  return ds;
}
}  // namespace

ScenarioError::ScenarioError(std::vector<Diagnostic> diagnostics)
    : ScenarioError(in_reading_order(std::move(diagnostics)), 0) {}

ScenarioError::ScenarioError(std::vector<Diagnostic> diagnostics, int)
    : std::runtime_error(join(diagnostics)), diagnostics_(std::move(diagnostics)) {}

std::string closest_name(const std::string& word, const std::vector<std::string>& candidates) {
  return detail::did_you_mean(word, candidates);
}

std::string lookalike_note(const std::string& text) {
  const std::string what = detail::lookalike(text);
  return what.empty() ? "" : " (it holds " + what + ")";
}

}  // namespace gpumm
