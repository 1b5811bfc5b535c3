#pragma once
// The gpumm command line: `run`, `explain`, `diff`, `study`, `validate`, `--help`, `--version`.
// Exit codes: 0 success, 1 runtime failure, 2 bad input or usage.
#include <iosfwd>
#include <string>
#include <vector>

namespace gpumm {
struct StudyShare;
}

namespace gpumm::cli {

inline constexpr int kOk = 0;
inline constexpr int kRuntimeFailure = 1;
inline constexpr int kBadInput = 2;

/// `share`: set when the program runs as one of several MPI processes (`gpumm study` shares
/// its runs among them).
int main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
         const StudyShare* share = nullptr);

/// A duration as a person reads it on a progress line or in a summary: `0.043 s`, `3.5 s`,
/// `45 s`, `2 min 3 s`, `1 h 5 min`.
std::string duration_text(double seconds);

}  // namespace gpumm::cli
