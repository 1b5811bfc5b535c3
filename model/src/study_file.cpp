// Study files: reading one (its scenario, method, parameters with their ranges or
// distributions, outputs and options), every problem at once with its place, and checking it
// against its scenario (paths that name no number, firms that are not there, parameters
// that no run would feel).
#include "gpumm/study.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "gpumm/calendar.hpp"
#include "gpumm/simulate.hpp"
#include "yaml_reader.hpp"

namespace gpumm {

using detail::Diagnostics;
using detail::MapReader;

namespace {

// A parameter's `low`, `high` or a distribution's number in the path's units: a number in the
// units the scenario writes at the path, plain (read now) or with those units (`$120B`, `12mo`,
// `6 GW/y`: kept in `p.written`, read against the scenario by study_problems). Returns whether
// it is a plain number.
bool range_end(detail::MapReader& pm, const char* key, double& out, StudyParameter& p, bool required = true) {
  std::string text;
  YAML::Node n;
  if (pm.scalar_at(key, false, text, n) && !parse_number(text).ok() && number_with_unit(text)) {
    p.written.push_back({key, text, n.Mark().line + 1, n.Mark().column + 1});
    return false;
  }
  return pm.number(key, out, required);
}

// A parameter's distribution: its shape and the numbers of that shape (each required, and no
// other); returns false when a number is missing, invalid or waits for its units to be read.
bool read_distribution(detail::MapReader& pm, StudyParameter& p) {
  using S = Distribution::Shape;
  const bool shaped = pm.choice("distribution", p.dist.shape,
                                {{"uniform", S::uniform}, {"log_uniform", S::log_uniform}, {"triangular", S::triangular},
                                 {"normal", S::normal}, {"lognormal", S::lognormal}});
  if (shaped && p.log_scale && p.dist.shape != S::log_uniform)
    pm.diags().error(pm.get("log_scale"), pm.child_path("log_scale"),
                     "log_scale is the log_uniform distribution; a " + to_string(p.dist.shape) + " one cannot have it");
  // the numbers of each shape; sigma (of the logarithm) has no units
  struct Key {
    const char* name;
    double* value;
    S shape;
  };
  const Key keys[] = {{"mode", &p.dist.mode, S::triangular}, {"mean", &p.dist.mean, S::normal},
                      {"sd", &p.dist.sd, S::normal},         {"median", &p.dist.median, S::lognormal},
                      {"sigma", &p.dist.sigma, S::lognormal}};
  // a misspelt shape is reported once: its numbers are not judged against a shape it may not mean
  if (!shaped && pm.has("distribution")) {
    for (const Key& k : keys) pm.get(k.name);
    return false;
  }
  bool ok = true;
  for (const Key& k : keys) {
    if (k.shape != p.dist.shape) {
      if (pm.has(k.name))
        pm.diags().error(pm.get(k.name), pm.child_path(k.name),
                         std::string("`") + k.name + "` belongs to a " + to_string(k.shape) + " distribution" +
                             (shaped ? " (this one is " + to_string(p.dist.shape) + ")" : " (add `distribution: " + to_string(k.shape) + "`)"));
      continue;
    }
    if (!pm.has(k.name)) {
      pm.missing(k.name, std::string("a ") + to_string(k.shape) + " distribution needs its " + k.name);
      ok = false;
      continue;
    }
    const bool read = std::string_view(k.name) == "sigma" ? pm.number(k.name, *k.value) : range_end(pm, k.name, *k.value, p, false);
    ok = ok && read;
  }
  return ok;
}

// What users of other tools (SALib, a Slurm script, a spreadsheet) write for a study's keys,
// and what gpumm calls it: an unknown key among these is told so (a nearest spelling would
// mislead: `n` is not `seed`).
constexpr std::string_view kSamplesAre =
    "the number of samples is `samples` (Monte Carlo: points; Morris: trajectories; Sobol: N, the base sample, a power "
    "of two)";
const MapReader::OtherName kStudyOtherNames[] = {
    {{"trajectories", "num_trajectories", "n_trajectories", "r"}, "Morris's trajectories are `samples` here"},
    {{"n", "N", "num_samples", "n_samples", "sample_size", "runs", "n_runs", "num_runs", "draws"}, kSamplesAre},
    {{"num_levels", "n_levels", "p"}, "Morris's grid levels are `levels`"},
    {{"num_resamples", "n_resamples", "resamples", "n_bootstrap", "num_bootstrap"}, "the bootstrap resamples are `bootstrap`"},
    {{"metrics", "responses", "targets", "quantities", "qoi", "y"},
     "the metrics analysed are `outputs` (and per-period series of summary.csv `series`)", {"outputs"}},
    {{"params", "factors", "inputs", "problem", "variables", "names", "bounds", "x"},
     "the parameters are a list `parameters`, each `{path, low, high}`", {"parameters"}},
    {{"model", "base", "base_scenario", "scenario_file", "config"}, "the scenario file is `scenario`", {"scenario"}},
    {{"analysis", "type", "design", "kind"},
     "the study's kind is `method` (sweep, grid, tornado, morris, sobol or monte_carlo)", {"method"}},
    {{"threads", "jobs", "workers", "processes", "cores", "ranks"},
     "the number of threads is chosen when the study runs: `gpumm study FILE --threads N` (results do not depend on it)"},
    {{"output_dir", "out", "output_folder", "folder", "directory", "dir"},
     "the output folder is chosen when the study runs: `gpumm study FILE -o DIR`"},
    {{"resume", "restart"}, "resuming is chosen when the study runs: `gpumm study FILE --resume`"},
    {{"calc_second_order", "second_order"}, "gpumm estimates first-order and total Sobol' indices, not second-order ones"},
    {{"conf_level", "confidence", "confidence_level"},
     "the intervals are 95% bootstrap intervals; `bootstrap` sets their resamples"},
};
const MapReader::OtherName kParameterOtherNames[] = {
    {{"min", "max", "lower", "upper", "lower_bound", "upper_bound", "lb", "ub", "from", "to", "minimum", "maximum"},
     "a parameter's range is `low` and `high`, in the units the scenario writes at its path", {"low", "high"}},
    {{"bounds", "range", "limits", "interval"}, "a range is written `low: A, high: B`, not as a list", {"low", "high"}},
    {{"name", "parameter", "param", "key", "variable", "id"},
     "a parameter is named by its `path` in the scenario (e.g. `firms.meta.capex.2026`)", {"path"}},
    {{"dist", "shape", "law"}, "the shape is `distribution` (uniform, log_uniform, triangular, normal or lognormal)"},
    {{"std", "stdev", "std_dev", "stddev", "scale"}, "a normal distribution's standard deviation is `sd`", {"sd"}},
    {{"mu", "loc", "average", "centre", "center"},
     "a normal distribution's centre is `mean`, a lognormal's `median`, a triangular's peak `mode`",
     {"mean", "median", "mode"}},
    {{"peak", "most_likely", "likely", "c"}, "a triangular distribution's peak is `mode`", {"mode"}},
};

// The checks of a parameter's range and distribution, once its numbers are read.
void check_range(const StudyParameter& p, const std::function<void(const std::string&)>& problem) {
  if (const std::string why = p.range().problem(); !why.empty()) problem(why);
}

}  // namespace

double* StudyParameter::number(const std::string& key) {
  if (key == "low") return &low;
  if (key == "high") return &high;
  if (key == "mode") return &dist.mode;
  if (key == "mean") return &dist.mean;
  if (key == "sd") return &dist.sd;
  if (key == "median") return &dist.median;
  throw std::logic_error("StudyParameter::number: no number " + key);
}

std::vector<Diagnostic> study_problems(Study& study, const ScenarioTemplate& tmpl) {
  std::vector<Diagnostic> out;
  // every parameter names a number of the scenario, located where the study writes the path
  for (size_t i = 0; i < study.parameters.size(); ++i) {
    StudyParameter& p = study.parameters[i];
    if (p.path.empty()) continue;  // reported with the study file
    try {
      p.base = tmpl.value_at(p.path);
      // numbers written with units: in the units the scenario writes at the path
      bool read = true;
      for (const StudyParameter::Written& w : p.written) {
        if (const std::optional<double> v = tmpl.read_as_at(p.path, w.text)) {
          *p.number(w.key) = *v;
          continue;
        }
        read = false;
        const std::string as = tmpl.text_for(p.path, p.base);
        out.push_back({study.file, w.line, w.column, "parameters[" + std::to_string(i) + "]." + w.key,
                       "`" + w.text + "`: not in the units the scenario writes at " + p.path + " (`" + as +
                           "` there): write e.g. `" + format_number(p.base) + "` or `" + as + "`"});
      }
      if (read && !p.written.empty())
        check_range(p, [&](const std::string& why) {
          out.push_back({study.file, p.entry_line, p.entry_column, "parameters[" + std::to_string(i) + "]", why});
        });
    } catch (const ScenarioError& e) {
      Diagnostic d = e.diagnostics().front();
      d.message = "`" + p.path + "` in " + d.file + ": " + d.message;
      // a key the scenario leaves to its default: how to write it (with the range's low end as
      // the study writes it, or its high end where the scenario refuses the low one), when that
      // would load
      std::string low = format_number(p.low), high = format_number(p.high);
      for (const StudyParameter::Written& w : p.written) {
        if (w.key == "low") low = w.text;
        if (w.key == "high") high = w.text;
      }
      std::optional<std::string> shown;
      if (!tmpl.writes(p.path))
        for (const std::string& v : {low, high})
          if (!shown && tmpl.problems_setting(p.path, v).empty()) shown = v;
      if (const size_t entry = p.path.rfind(']'); shown) {
        d.message += "; a study varies the numbers its scenario writes: write it there (its default applies now), e.g. ";
        if (entry == std::string::npos)
          d.message += "`" + yaml_setting(p.path, *shown, true) + "`, or in a scenario that extends it";
        else  // in the entry itself, or by the entry's name in a scenario that extends it
          d.message += "`" + yaml_setting(p.path.substr(entry + 2), *shown, true) + "` in its entry `" +
                       p.path.substr(0, entry + 1) + "`, or in a scenario that extends it: `" +
                       yaml_setting(p.path, *shown, true) + "`";
      }
      d.file = study.file;
      d.line = p.line;
      d.column = p.column;
      d.path = "parameters[" + std::to_string(i) + "].path";
      out.push_back(d);
    }
  }
  const Scenario scenario = tmpl.instantiate({});
  // a year of capex that no run spends cannot move an output: every run would be the same
  const std::vector<UnspentCapex> unspent = unspent_capex(scenario, Calendar(scenario.start, scenario.end, scenario.step));
  for (size_t i = 0; i < study.parameters.size(); ++i) {
    const StudyParameter& p = study.parameters[i];
    for (const UnspentCapex& u : unspent) {
      const std::string& firm = scenario.firms[static_cast<size_t>(u.firm)].id;
      if (p.path != "firms." + firm + ".capex." + std::to_string(u.year)) continue;
      const std::optional<Date>& from = scenario.firms[static_cast<size_t>(u.firm)].capex_start;
      std::string why = "`" + p.path + "`: no run spends " + firm + "'s capex of " + std::to_string(u.year) + ", ";
      if (u.first_year > u.last_year)
        why += "as its capex_start, " + to_iso(*from) + ", is after the end, " + to_iso(scenario.end);
      else
        why += "which is spent in " + std::to_string(u.first_year) + "-" + std::to_string(u.last_year) + " (from " +
               (from ? "its capex_start, " + to_iso(*from) : "the start, " + to_iso(scenario.start)) + ", to the end, " +
               to_iso(scenario.end) + ")";
      out.push_back({study.file, p.line, p.column, "parameters[" + std::to_string(i) + "].path",
                     why + ": every run would give the same outputs"});
    }
  }
  // every firm metric names a firm
  for (size_t k = 0; k < study.outputs.size(); ++k)
    if (const std::string& o = study.outputs[k]; metric_problem(o).empty())
      if (std::string why = metric_problem(o, &scenario); !why.empty()) {
        Diagnostic d;
        d.file = study.file;
        d.path = "outputs[" + std::to_string(k) + "]";
        if (k < study.output_at.size()) std::tie(d.line, d.column) = study.output_at[k];
        d.message = std::move(why);
        out.push_back(d);
      }
  return out;
}

namespace {
// The root of a small YAML file (study files and scenarios are small; a larger file is neither
// read nor guessed at), or an undefined node when it cannot be read.
YAML::Node small_yaml_root(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec || size > (1u << 20)) return YAML::Node(YAML::NodeType::Undefined);
  try {
    return YAML::LoadFile(path);
  } catch (const YAML::Exception&) {
    return YAML::Node(YAML::NodeType::Undefined);
  }
}
}  // namespace

namespace {
bool scenario_like(const YAML::Node& root) {
  return root.IsMap() && (root["generations"] || root["firms"] || root["extends"]);
}
}  // namespace

bool is_study_file(const std::string& path) {
  const YAML::Node root = small_yaml_root(path);
  if (!root.IsMap() || scenario_like(root)) return false;
  // a study's own keys, or what other tools call them (a study that writes `model:` for
  // `scenario:` is told so as a study, not told it lacks a scenario's generations)
  for (const char* key : {"scenario", "method", "parameters", "outputs"})
    if (root[key]) return true;
  for (const auto& item : root) {
    const std::string key = item.first.IsScalar() ? item.first.Scalar() : "";
    for (const MapReader::OtherName& other : kStudyOtherNames)
      if (!other.stands_for.empty() && std::find(other.words.begin(), other.words.end(), key) != other.words.end())
        return true;
  }
  return false;
}

bool is_scenario_file(const std::string& path) { return scenario_like(small_yaml_root(path)); }

Study load_study_file(const std::string& path) {
  std::vector<Diagnostic> problems;
  Study st = read_study_file(path, problems);
  if (!problems.empty()) throw ScenarioError(problems);
  return st;
}


Study read_study_file(const std::string& path, std::vector<Diagnostic>& problems) {
  Diagnostics d;
  d.file = path;
  const std::string text = detail::read_file_or_throw(path, LoadLimits{}.max_file_bytes);
  // with the scenario loader's guards (alias bombs, nesting, several documents, size)
  const YAML::Node root = parse_document(text, path, LoadLimits{}, d, "study",
                                         "empty study file: expected a map with scenario, method, parameters and outputs");
  if (!root.IsDefined()) throw ScenarioError(d.list);
  Study st;
  st.file = path;
  MapReader m(d, root, "");
  m.other_names(kStudyOtherNames);
  if (!m.valid()) {
    problems.insert(problems.end(), d.list.begin(), d.list.end());
    return st;
  }
  std::string scenario;
  if (m.text("scenario", scenario, true)) {
    st.scenario = (std::filesystem::path(path).parent_path() / scenario).lexically_normal().string();
    // a scenario that is not there is told at this key, where it is named (and looked for)
    std::error_code ec;
    std::string text;
    if (!std::filesystem::is_regular_file(st.scenario, ec))
      if (std::string why = detail::read_file(st.scenario, 0, text); !why.empty()) {
        // (the study file is not its own scenario, however close its name)
        if (why.ends_with("; did you mean `" + std::filesystem::path(path).lexically_normal().string() + "`?"))
          why = "no such file";
        const bool moved = st.scenario != scenario;
        d.error(m.get("scenario"), "scenario",
                "`" + scenario + "`: " + why + (moved ? " (looked for beside the study file: " + st.scenario + ")" : ""));
        st.scenario.clear();
      }
  }
  const bool has_method =
      m.choice("method", st.method,
               {{"monte_carlo", StudyMethod::monte_carlo}, {"tornado", StudyMethod::tornado},
                {"morris", StudyMethod::morris}, {"sobol", StudyMethod::sobol},
                {"sweep", StudyMethod::sweep}, {"grid", StudyMethod::grid}},
               true);
  if (m.choice("sampler", st.sampler, {{"latin_hypercube", Study::Sampler::latin_hypercube}, {"sobol", Study::Sampler::sobol}}) &&
      st.method != StudyMethod::monte_carlo)
    d.error(m.get("sampler"), "sampler",
            "only a Monte Carlo study chooses its sampler (the other methods have their own designs)");
  // a Monte Carlo study's bands take in the scenario's random draws; the other methods compare
  // runs that differ in their parameters alone
  st.scenario_seed = st.method == StudyMethod::monte_carlo ? Study::ScenarioSeed::per_run : Study::ScenarioSeed::fixed;
  m.choice("scenario_seed", st.scenario_seed,
           {{"fixed", Study::ScenarioSeed::fixed}, {"per_run", Study::ScenarioSeed::per_run}});
  double seed = 1, samples = 64, levels = 4, bootstrap = 200, points = 5;
  // counts and the seed are whole numbers: 64.5 samples is a typo, not 64
  const auto whole = [&](const char* key, double& x, double lo, double hi) { return m.whole_number(key, x, false, lo, hi); };
  if (whole("points", points, 2, 1000)) st.points = static_cast<int>(points);
  if (whole("seed", seed, 0, static_cast<double>(kMaxSeed))) st.seed = static_cast<std::uint64_t>(seed);
  if (whole("samples", samples, 1, 1 << 22)) st.samples = static_cast<int>(samples);
  if (whole("levels", levels, 2, 100)) st.levels = static_cast<int>(levels);
  if (whole("bootstrap", bootstrap, 0, 100000)) st.bootstrap = static_cast<int>(bootstrap);
  // a count the method does not read is a mistake, not a setting to ignore (`samples: 3` for a
  // sweep would run its default 5 points)
  if (has_method) {
    const StudyMethod k = st.method;
    const bool by_points = k == StudyMethod::sweep || k == StudyMethod::grid;
    const std::string a = k == StudyMethod::sweep ? "a sweep" : k == StudyMethod::grid ? "a grid"
                          : k == StudyMethod::tornado ? "a tornado" : k == StudyMethod::morris ? "a Morris study"
                          : k == StudyMethod::sobol ? "a Sobol study" : "a Monte Carlo study";
    const std::string tornado_runs = "a tornado runs each parameter at its low and its high (or `tornado_quantiles`)";
    if (m.has("samples") && (by_points || k == StudyMethod::tornado))
      d.error(m.get("samples"), "samples",
              by_points ? a + " takes `points`, the values per parameter from low to high, not `samples`"
                        : tornado_runs + ": it takes no `samples`");
    if (m.has("points") && !by_points)
      d.error(m.get("points"), "points",
              k == StudyMethod::tornado ? tornado_runs + ": it takes no `points`"
                                        : "only a sweep or a grid takes `points`; " + a + " takes its size from `samples`");
    if (m.has("levels") && k != StudyMethod::morris)
      d.error(m.get("levels"), "levels", "only a Morris study has `levels` (of its grid); " + a + " takes none");
    if (m.has("bootstrap") && k != StudyMethod::sobol)
      d.error(m.get("bootstrap"), "bootstrap",
              "only a Sobol study resamples for intervals (`bootstrap`); " + a + " takes none");
  }
  double max_runs = static_cast<double>(st.max_runs);
  m.number("target_width", st.target_width, false, 1e-6, 2);
  const bool has_budget = whole("max_runs", max_runs, 1, 1e9);
  st.max_runs = static_cast<long>(max_runs);
  if (st.target_width > 0 && st.method != StudyMethod::sobol)
    d.error(m.get("target_width"), "target_width", "only a Sobol study grows its sample to a target width");
  else if (has_budget && st.target_width <= 0)
    d.error(m.get("max_runs"), "max_runs", "a run budget needs `target_width` (the width the sample grows to)");
  if (const YAML::Node q = m.get("tornado_quantiles"); q.IsDefined()) {
    if (st.method != StudyMethod::tornado) {
      d.error(q, "tornado_quantiles",
              "only a tornado study runs each parameter at two of its quantiles (the other methods take their own points)");
    } else {
      MapReader qm(d, q, "tornado_quantiles");
      if (qm.valid()) {
        const bool low = qm.share("low", st.tornado_quantiles.low, true);
        const bool high = qm.share("high", st.tornado_quantiles.high, true);
        qm.finish();
        if (low && high && !(st.tornado_quantiles.low < st.tornado_quantiles.high))
          d.error(q, "tornado_quantiles", "low must be below high, e.g. `{low: 0.1, high: 0.9}` for the P10 and P90");
      }
    }
  }
  if (st.method == StudyMethod::sobol && st.samples > 0 && !std::has_single_bit(static_cast<unsigned long>(st.samples))) {
    // the powers of two on either side, the nearer first
    const unsigned long below = std::bit_floor(static_cast<unsigned long>(st.samples)), above = 2 * below;
    const bool up = above - static_cast<unsigned long>(st.samples) < static_cast<unsigned long>(st.samples) - below;
    d.error(m.get("samples"), "samples",
            "`" + std::to_string(st.samples) + "`: Sobol needs a power of two: `" + std::to_string(up ? above : below) +
                "` or `" + std::to_string(up ? below : above) + "`");
  }
  YAML::Node params = m.get("parameters");
  if (!params.IsDefined()) {
    m.missing("parameters", "a list of `{path, low, high}`");
  } else if (params.IsSequence() && params.size() == 0 && st.method == StudyMethod::monte_carlo) {
    // a Monte Carlo study of the scenario's random draws alone: only if the runs draw them
    if (st.scenario_seed == Study::ScenarioSeed::fixed)
      d.error(params, "parameters",
              "no parameters and `scenario_seed: fixed`: every run would be the same; name parameters, or draw a "
              "seed per run (`scenario_seed: per_run`) to see what the scenario's random draws alone do");
  } else if (!params.IsSequence() || params.size() == 0) {
    d.error(params, "parameters", detail::list_expected(params, "parameters, each `{path, low, high}`"));
  } else {
    for (std::size_t i = 0; i < params.size(); ++i) {
      MapReader pm(d, params[i], "parameters[" + std::to_string(i) + "]");
      pm.other_names(kParameterOtherNames);
      StudyParameter p;
      pm.text("path", p.path, true);
      if (const YAML::Node at = pm.get("path"); at.IsDefined()) {
        p.line = at.Mark().line + 1;
        p.column = at.Mark().column + 1;
      }
      p.entry_line = params[i].Mark().line + 1;
      p.entry_column = params[i].Mark().column + 1;
      // every number read (and each problem reported) before deciding whether to check the range
      const bool low = range_end(pm, "low", p.low, p);
      const bool high = range_end(pm, "high", p.high, p);
      pm.boolean("log_scale", p.log_scale);
      const bool shape = read_distribution(pm, p);
      const bool plain = low && high && shape;
      // a number with units is checked once it is read (study_problems)
      if (plain) check_range(p, [&](const std::string& why) { d.error(params[i], pm.path(), why); });
      pm.finish();
      // a number varies once: a second entry for it would silently replace the first
      for (size_t j = 0; j < st.parameters.size(); ++j)
        if (!p.path.empty() && st.parameters[j].path == p.path)
          d.error(pm.get("path"), pm.child_path("path"),
                  "`" + p.path + "` is already parameters[" + std::to_string(j) + "]: a number varies in one entry only");
      st.parameters.push_back(p);
    }
  }
  // the Sobol' sequence has direction numbers for 40 dimensions: a Saltelli design takes two per
  // parameter, a Monte Carlo sample one
  const int dims = static_cast<int>(st.parameters.size()) * (st.method == StudyMethod::sobol ? 2 : 1);
  if ((st.method == StudyMethod::sobol || (st.method == StudyMethod::monte_carlo && st.sampler == Study::Sampler::sobol)) &&
      dims > kSobolMaxDimensions)
    d.error(params, "parameters",
            std::to_string(st.parameters.size()) + " parameters: " +
                (st.method == StudyMethod::sobol ? "a Sobol study takes at most " + std::to_string(kSobolMaxDimensions / 2)
                                                 : "Sobol' points take at most " + std::to_string(kSobolMaxDimensions)) +
                " (the Sobol' sequence's direction numbers cover " + std::to_string(kSobolMaxDimensions) + " dimensions)");
  if (st.target_width > 0 && !st.parameters.empty() &&
      static_cast<double>(st.samples) * static_cast<double>(st.parameters.size() + 2) > static_cast<double>(st.max_runs))
    d.error(m.get("max_runs").IsDefined() ? m.get("max_runs") : m.get("target_width"), "max_runs",
            "the first round alone takes samples (d + 2) = " +
                std::to_string(static_cast<long>(st.samples) * static_cast<long>(st.parameters.size() + 2)) +
                " runs, more than the budget of " + std::to_string(st.max_runs));
  YAML::Node outputs = m.get("outputs");
  if (!outputs.IsDefined()) {
    m.missing("outputs", "a list of metrics, e.g. `[periods_in_structural_shortage]`");
  } else if (!outputs.IsSequence() || outputs.size() == 0) {
    d.error(outputs, "outputs", detail::list_expected(outputs, "metrics, e.g. `[periods_in_structural_shortage]`"));
  } else {
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      std::string name;
      const std::string p = "outputs[" + std::to_string(i) + "]";
      if (!detail::scalar(d, outputs[i], p, name)) continue;
      if (const std::string problem = metric_problem(name); !problem.empty()) d.error(outputs[i], p, problem);
      else if (std::find(st.outputs.begin(), st.outputs.end(), name) != st.outputs.end())
        d.error(outputs[i], p, "`" + name + "` is listed twice");
      st.outputs.push_back(name);
      const YAML::Mark at = outputs[i].Mark();
      st.output_at.emplace_back(at.line + 1, at.column + 1);
    }
  }
  // per-period series: summary.csv's numbers, for the methods that keep them
  if (const YAML::Node series = m.get("series"); series.IsDefined() && !study_keeps_series(st.method)) {
    d.error(series, "series", "only monte_carlo and sobol studies analyse per-period series (bands, indices per period)");
  } else if (series.IsDefined() && (!series.IsSequence() || series.size() == 0)) {
    d.error(series, "series",
            detail::list_expected(series, "summary.csv's number columns, e.g. `[relative_balance_frac, spot_usd_per_h100e_hour]`"));
  } else if (series.IsDefined()) {
    for (std::size_t i = 0; i < series.size(); ++i) {
      std::string name;
      const std::string p = "series[" + std::to_string(i) + "]";
      if (!detail::scalar(d, series[i], p, name)) continue;
      if (const std::string problem = series_problem(name); !problem.empty())
        d.error(series[i], p, problem);
      else if (std::find(st.series.begin(), st.series.end(), name) != st.series.end())
        d.error(series[i], p, "`" + name + "` is listed twice");
      else
        st.series.push_back(name);
    }
  } else if (study_keeps_series(st.method)) {
    st.series = {"relative_balance_frac"};
  }
  if (st.method == StudyMethod::grid && std::pow(st.points, static_cast<double>(st.parameters.size())) > 1e6)
    d.error(m.get("points"), "points", "a grid of " + std::to_string(st.points) + "^" + std::to_string(st.parameters.size()) +
                                          " runs is too large (at most 1,000,000)");
  m.finish();
  problems.insert(problems.end(), d.list.begin(), d.list.end());
  return st;
}

bool study_keeps_series(StudyMethod m) { return m == StudyMethod::monte_carlo || m == StudyMethod::sobol; }

}  // namespace gpumm
