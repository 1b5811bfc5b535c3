// gpumm validate FILE...: scenarios and study files checked without running them.
#include "command.hpp"


namespace gpumm::cli::detail {

int cmd_validate(const std::vector<std::string>& files, std::ostream& out, std::ostream& err) {
  const auto bad = [&err](const std::string& problem) { return usage(err, problem, "validate"); };
  if (files.empty()) return bad("validate needs at least one scenario or study file");
  int code = kOk;
  for (const std::string& f : files) {
    try {
      if (is_study_file(f)) {
        Study study;
        std::optional<ScenarioTemplate> tmpl;
        load_study(f, study, tmpl);
        // a Sobol sample that grows to a target width runs at most so many
        const size_t d = study.parameters.size();
        out << f << ": ok (a study of " << study.scenario << ": "
            << (d == 0 ? "its random draws alone, " : std::to_string(d) + (d == 1 ? " parameter, " : " parameters, "))
            << (study.target_width > 0 ? "up to " : "") << study_runs(study) << " runs"
            << (study.scenario_seed == Study::ScenarioSeed::per_run ? ", each with a seed of its own" : "") << ")\n";
        continue;
      }
      Scenario s = load_scenario_file(f);
      out << f << ": ok (" << s.nfirm() << " firms, " << s.nregion() << " regions, "
          << s.ngeneration() << " generations)\n";
    } catch (const ScenarioError& e) {
      report(err, e);
      code = kBadInput;
    }
  }
  return code;
}

}  // namespace gpumm::cli::detail
