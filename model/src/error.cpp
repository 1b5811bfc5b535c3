#include "gpumm/error.hpp"

#include "yaml_reader.hpp"

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
}  // namespace

ScenarioError::ScenarioError(std::vector<Diagnostic> diagnostics)
    : std::runtime_error(join(diagnostics)), diagnostics_(std::move(diagnostics)) {}

std::string closest_name(const std::string& word, const std::vector<std::string>& candidates) {
  return detail::did_you_mean(word, candidates);
}

}  // namespace gpumm
