#pragma once
// Errors the user can fix (bad scenario input) and warnings recorded during a run.
#include <stdexcept>
#include <string>
#include <vector>

namespace gpumm {

/// One problem found in a scenario file, located as precisely as the input allows.
/// `line` and `column` are 1-based; 0 means "the file as a whole".
struct Diagnostic {
  std::string file;
  int line = 0;
  int column = 0;
  std::string path;     ///< key path, e.g. `firms.meta.builds[2].lead_time`
  std::string message;  ///< short, lowercase, says what was expected

  /// `file:line:col: path: message`, the way compilers write it.
  std::string to_string() const;
};

/// Thrown when a scenario (or any input file) is invalid. Carries every problem found in one pass.
class ScenarioError : public std::runtime_error {
 public:
  /// Keeps the problems in reading order: file by file, by line and column.
  explicit ScenarioError(std::vector<Diagnostic> diagnostics);
  const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }

 private:
  ScenarioError(std::vector<Diagnostic> diagnostics, int);  // already in order
  std::vector<Diagnostic> diagnostics_;
};

/// The candidate closest to a misspelt `word` (by edit distance, or the one candidate holding
/// all its words with some left out), or "" when none is close enough to suggest: for "did you
/// mean" hints on names given on a command line.
std::string closest_name(const std::string& word, const std::vector<std::string>& candidates);

/// " (it holds U+2013, an en dash, where `-` was meant?)" when `text` holds a character copied
/// from a document that looks like a space, a dash or a quote but is none to gpumm, else "":
/// for messages about values given on a command line (the loader adds it to its own).
std::string lookalike_note(const std::string& text);

/// The codes a run's warnings carry (warnings.csv; README lists what each means), in a fixed
/// order: a study marks each run with the codes it raised as bits in this order (a new code
/// goes last, so that the bits of saved studies keep their meaning). `spreadsheet_rows` comes
/// from writing a run's files, never from a study's runs.
inline constexpr const char* kWarningCodes[] = {"uncalibrated_step", "capex_unspent", "backlog_undeliverable",
                                                 "contract_shortfall", "invariant", "spreadsheet_rows",
                                                 "orders_before_start", "capex_outside_run", "capex_missing"};

/// Numeric trouble during a run: recorded with its period, never thrown.
struct Warning {
  int period = 0;
  std::string code;     ///< stable machine-readable code, e.g. `pipeline_clamped`
  std::string message;
};

}  // namespace gpumm
