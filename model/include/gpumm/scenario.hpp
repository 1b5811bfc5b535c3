#pragma once
// The scenario: everything a run needs, immutable once loaded (DESIGN §1-§3, §10).
// Plain aggregates with their defaults written in the struct. Quantities are stored in the
// units their names carry (`_mw`, `_usd`, `_kw_per_gpu`); durations keep their calendar unit
// because `18mo` and `540d` are not the same lead time on a calendar.
// Entities are referred to by small integer indices into the vectors of `Scenario`.
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gpumm/calendar.hpp"
#include "gpumm/diagnosis.hpp"
#include "gpumm/error.hpp"
#include "gpumm/units.hpp"

namespace gpumm {

/// The largest seed a scenario or study holds: 2^53 - 1, every whole number up to it exact as a
/// YAML number, so that scenario.resolved.yaml and a study manifest give back the same seed.
inline constexpr std::uint64_t kMaxSeed = 9007199254740991ull;

inline constexpr double kUnlimited = std::numeric_limits<double>::infinity();

/// How far along an announced power/data-center project is. Announced pipelines are
/// inflated: each stage carries a completion probability (see `StageProbabilities`).
enum class Stage { announced, permitted, under_construction, operational };
std::string to_string(Stage s);
bool parse_stage(std::string_view text, Stage& out);

/// Completion probability of a build by stage. Defaults are assumptions informed by LBNL's
/// "Queued Up" (about 70-80% of interconnection requests withdraw), so an announced project is
/// far from certain; a project under construction almost always completes.
struct StageProbabilities {
  double announced_share = 0.3;            // assumption
  double permitted_share = 0.6;            // assumption
  double under_construction_share = 0.95;  // assumption
  double operational_share = 1.0;
  double of(Stage s) const;
};

/// How stage probabilities apply: `expected` scales each build's MW by its probability (a
/// smooth expected pipeline); `sampled` draws complete / never-completes per build from the
/// run's seed.
enum class PipelineMode { expected, sampled };

/// An upstream production node (advanced packaging, HBM, optics, transformers...).
struct UpstreamNode {
  std::string id;
  std::string unit = "units";          ///< what the node counts (label only), e.g. `wafers`
  double capacity_per_year = 0;        ///< node units per year at the start
  double max_growth_per_year = kUnlimited;  ///< cap on capacity growth, share per year (0.8 = +80%/y)
  struct Expansion {
    Date commit;
    double add_per_year = 0;  ///< node units per year added
    Duration lag{12, Duration::Unit::month};
  };
  std::vector<Expansion> expansions;
};

/// A GPU or accelerator generation (merchant or custom).
struct Generation {
  std::string id;
  std::string family;              ///< e.g. `nvidia`, `tpu`: capex buys the newest of a family
  int custom_for = -1;             ///< owning firm of a custom accelerator, -1 for merchant GPUs
  double train_h100e = 1.0;        ///< training compute per unit, H100-equivalents
  double infer_h100e = 1.0;        ///< inference compute per unit, H100-equivalents
  double it_kw_per_gpu = 0;        ///< IT power per unit including server overhead, kW
  double ports_per_gpu = 1.0;      ///< scale-out network ports (optical transceivers) per unit
  Duration lead_time{3, Duration::Unit::month};    ///< order to delivery
  Duration useful_life{6, Duration::Unit::year};   ///< retirement after delivery
  double price_usd = 0;            ///< unit price (what capex pays per unit)
  // production ramp: 0 at first shipment, linear to the plateau, flat, linear down to 0
  Date first_shipment;
  Duration ramp{12, Duration::Unit::month};
  double peak_units_per_year = 0;
  std::optional<Date> end_of_production;  ///< start of the ramp-down; none = produced to the end
  Duration ramp_down{6, Duration::Unit::month};
  struct NodeUse {
    int node = -1;
    double per_gpu = 0;  ///< node units consumed per unit produced
  };
  std::vector<NodeUse> uses;
};

struct Region {
  std::string id;
  std::string latency_group;
  double pue = 1.3;  ///< facility MW per IT MW (assumption when not given: new builds 1.1-1.2,
                     ///< industry average about 1.56, Uptime 2024)
  double interconnect_cap_mw_per_year = kUnlimited;  ///< grid MW that can be energized per year
  std::vector<int> excluded_generations;             ///< export controls
};

/// GPUs ordered explicitly: delivered after the generation's lead time, subject to production.
struct GpuOrder {
  int generation = -1;
  double units = 0;
  Date date;
  int region = -1;  ///< -1: split across the firm's regions by their weights
  Duration over{0, Duration::Unit::day};  ///< > 0: placed evenly (by days) over this span
};

/// A power + data-center tranche: facility MW energized after `lead_time` (through the
/// region's interconnect queue when `grid`), IT shell built after `build_time`.
struct Build {
  int region = -1;          ///< -1: split across the firm's regions by their weights
  double power_mw = 0;      ///< facility power
  Date commit;
  Duration lead_time{24, Duration::Unit::month};
  Duration build_time{18, Duration::Unit::month};
  Stage stage = Stage::under_construction;
  bool grid = true;         ///< false: on-site generation, bypasses the interconnect queue
};

/// How a firm's capex divides. What is left (1 - sum) is spent on things gpumm does not model.
struct CapexSplit {
  double gpus_share = 0.45;        // assumption
  double facilities_share = 0.35;  // assumption
  double network_share = 0.05;     // assumption
};

/// A firm's investment rule (DESIGN §3, §5): each year's capex is the planned amount times
///   m = clamp(1 + utilization_weight x (U - target) / target + price_weight x (P / P0 - 1)
///             - supply_line_weight x (S - normal_supply_line), min, max)
/// where U is the firm's perceived utilization and P the perceived spot price (first-order
/// smoothing over `perception`), P0 the market's reference price (`spot.reference`), and S the firm's supply line:
/// GPUs ordered and not yet delivered, in H100e, over its installed H100e (counted only with
/// `supply_line: true`).
struct InvestmentRule {
  double target_utilization = 0.85;
  double utilization_weight = 1.0;
  double price_weight = 0.0;
  Duration perception{6, Duration::Unit::month};
  bool supply_line = true;
  double supply_line_weight = 1.0;
  double normal_supply_line = 0.25;
  double min_multiplier = 0.5;
  double max_multiplier = 2.0;
};

struct Firm {
  std::string id;
  std::vector<double> region_weight;       ///< share of new capacity per region (nregion), sums to 1
  std::vector<double> power_at_start_mw;   ///< energized facility MW with built shells (nregion)
  std::vector<double> fleet_at_start;      ///< GPUs installed at the start (ngeneration)
  std::vector<std::pair<std::string, double>> family_mix;  ///< capex GPU budget by family
  std::vector<GpuOrder> orders;
  std::vector<Build> builds;
  std::map<int, double> capex_usd;         ///< year -> USD
  std::optional<Date> capex_start;         ///< capex is spent from this date on (default: start)
  CapexSplit capex_split;
  Duration build_lead_time{24, Duration::Unit::month};  ///< grid lead for capex-funded power
  Duration build_time{18, Duration::Unit::month};       ///< construction of capex-funded shells
  bool sells_surplus = false;              ///< offers its idle capacity on the market
  std::optional<InvestmentRule> investment;  ///< capex responds to utilization and price
};

/// Capacity sold by one firm to another for a term (offtake, lease). The seller's GPUs of a
/// generation (or IT power) in a region serve the buyer every period the contract is in
/// force; the buyer pays `take_or_pay` of it whether it uses it or not.
struct Contract {
  std::string name;
  int seller = -1, buyer = -1;
  int region = -1;              ///< where the capacity is; -1: the seller's largest region
  Date start, end;              ///< in force from start to end (inclusive)
  int generation = -1;          ///< volume as GPUs of this generation...
  double gpus = 0;
  double it_mw = 0;             ///< ...or as IT power (GPUs best H100e per kW first)
  double price_usd_per_h100e_hour = 0;  ///< 0: derived from `value_usd`
  double value_usd = 0;         ///< total value over the term, when no price is given
  double take_or_pay = 1.0;     ///< share paid whether used or not
  /// The volume in force rises linearly from nothing at `start` to all of it `ramp` later (0:
  /// all of it from the start), as a deal's capacity comes online in phases.
  Duration ramp{0, Duration::Unit::month};
  // an option tranche: in force only if exercised at the decision date
  std::optional<Date> option_decision;
  double option_shortfall_h100e = 0;  ///< exercised when the buyer's unserved demand then is at least this
};

/// A third party that buys a seller's unsold capacity at a floor price, up to a cap.
struct Backstop {
  std::string provider;         ///< who pays (a label; need not be a firm of the scenario)
  int seller = -1;
  Date start, end;
  double floor_usd_per_h100e_hour = 0;
  double cap_usd = 0;
};

/// The spot market between firms and its prices ($ per H100e-hour). Each generation has its
/// own spot price, moving with the market utilization of that generation (the share of its
/// offered capacity that found a buyer) toward `target_utilization`, between its operating
/// cost and `spot_cap`; the spot index is their average weighted by deployed H100e.
struct MarketSettings {
  bool enabled = false;               ///< a `market:` section is present
  double spot_initial = 2.5;          ///< every generation's price at the start; assumption unless given
  /// The price at which demand is as written: inference services that follow spot scale by
  /// (index / reference)^-elasticity and the investment rule compares with it. 0: `spot_initial`.
  double spot_reference = 0;
  double reference() const { return spot_reference > 0 ? spot_reference : spot_initial; }
  double spot_floor = 1.0;            ///< no generation's spot goes below this
  double spot_cap = 12.0;
  double target_utilization = 0.85;   ///< spot rises above it, falls below it
  double sensitivity_per_year = 2.0;  ///< growth rate of the price per year per unit of utilization gap
  /// Prices respond to market utilization smoothed to first order over this time (0: this
  /// period's utilization as it is).
  Duration spot_smoothing{0, Duration::Unit::month};
  /// Operating cost, the floor of each generation's spot: (energy price x IT kW per unit x mean
  /// PUE + other cost per unit-hour) / training H100e per unit, when above `spot_floor`.
  double electricity_usd_per_kwh = 0;
  double other_opex_usd_per_gpu_hour = 0;
  Duration term_lag{6, Duration::Unit::month};  ///< the term price follows spot with this lag
};

/// A random delay: with `probability`, a start slips by a draw from `distribution` with mean
/// `mean` (`fixed`: exactly the mean; `uniform`: between 0 and twice the mean; `exponential`).
struct Delay {
  enum class Distribution { fixed, uniform, exponential };
  double probability = 0;
  Distribution distribution = Distribution::exponential;
  Duration mean{0, Duration::Unit::day};
};

/// Where and on what a training run may execute.
struct Placement {
  int min_generation = -1;      ///< generations shipped no earlier than this one; -1: any
  std::vector<int> regions;     ///< allowed regions; empty: any region of the firm
  bool contiguous = true;       ///< needs one cluster in one firm x region cell
};

/// One training project. Its size is total compute (`flop` at utilization `mfu`) or a GPU
/// count of a generation; both become H100e needed in each period of its duration.
struct Project {
  std::string name;
  std::string program;          ///< the program that generated it; empty for explicit ones
  int firm = -1;
  Date start;
  Duration duration{3, Duration::Unit::month};
  double flop = 0;              ///< total training compute, FLOP
  double mfu = 0.4;             ///< model FLOP utilization, share (assumption when not given)
  int gpu_generation = -1;      ///< with gpu_count: size as GPUs of this generation
  double gpu_count = 0;
  Placement placement;
  Delay delay;
};

/// A growth per year that may change from one year to the next: one number for every year, or
/// `{year: number}`, each number holding from its year's January 1 until the next year given
/// (the first also before its year). A program's growth is a multiple per year (3 = x3 a year),
/// a service's tokens per user a share (1.5 = +150% a year): `factor` takes the `offset` that
/// makes the number a multiple (0 or 1).
struct GrowthPath {
  double constant = 0;            ///< every year's, when `by_year` is empty
  std::map<int, double> by_year;  ///< from each year's January 1 on

  bool varies() const { return !by_year.empty(); }
  /// The growth from `from` to `to` (below 1 for a growing path when `to` is earlier): the
  /// product, over the stretches where one number holds, of (number + offset)^(years of the
  /// stretch by actual days / 365.2425); with one number, (constant + offset)^years exactly.
  double factor(Date from, Date to, double offset) const {
    // inline for one number, which a run reads every period (years as in `years_between`)
    if (by_year.empty()) return std::pow(constant + offset, static_cast<double>((to - from).days()) / 365.2425);
    return factor_by_year(from, to, offset);
  }

 private:
  double factor_by_year(Date from, Date to, double offset) const;
};

/// A series of training projects: the first run, then one every `cadence`, each larger by
/// `growth_per_year` (a multiplier per year) and longer by `duration_growth_per_year`, up to
/// `max_duration`; starts jitter uniformly by up to +/- `jitter`. Either growth may change by
/// year (`GrowthPath`).
struct Program {
  std::string id;
  int firm = -1;
  Date first_run;
  Duration cadence{12, Duration::Unit::month};
  std::optional<Date> until;    ///< no run starts after this date (default: the scenario end)
  double flop = 0;              ///< size of the first run, FLOP
  GrowthPath growth_per_year{1.0, {}};
  Duration duration{3, Duration::Unit::month};
  GrowthPath duration_growth_per_year{1.0, {}};
  std::optional<Duration> max_duration;
  Duration jitter{0, Duration::Unit::day};
  double mfu = 0.4;
  Placement placement;
  Delay delay;
};

/// A launch that multiplies a service's tokens, reached linearly over `ramp`.
struct Launch {
  Date date;
  double multiplier = 1;
  Duration ramp{0, Duration::Unit::day};
  Delay delay;
};

/// Inference demand of one service (DESIGN §4): tokens per day = users x tokens per user x
/// (price / reference)^-elasticity x launches; H100e = tokens per second / (tokens per
/// H100e-second) x peak-to-average.
struct InferenceService {
  std::string id;
  int firm = -1;
  std::vector<double> region_weight;   ///< where the users are (nregion); default: the firm's
  // users on a logistic curve
  double users_saturation = 0;
  Date users_midpoint;
  double users_steepness_per_year = 1;
  // tokens per user per day, growing
  double tokens_per_user_per_day = 0;
  Date tokens_at;
  GrowthPath tokens_growth_per_year;  ///< share per year (1.5 = +150%/y), may change by year
  std::optional<Date> tokens_growth_until;  ///< tokens per user stop growing on this date
  // serving throughput, improving with algorithms
  double tokens_per_h100e_second = 1000;
  Date throughput_at;
  GrowthPath throughput_gain_per_year;  ///< share per year (0.5 = +50%/y), may change by year
  // price response
  std::map<int, double> price_usd_per_mtok;  ///< year -> price; empty: no price response
  double reference_usd_per_mtok = 0;
  double elasticity = 0;
  double peak_to_average = 1.0;
  bool price_follows_spot = false;     ///< with a market: price factor (spot index / reference)^-elasticity
  std::vector<Launch> launches;
};

/// Steady workloads (recommendation, internal) in H100e by year.
struct OtherDemand {
  std::string id;
  int firm = -1;
  std::vector<double> region_weight;   ///< (nregion); default: the firm's
  std::map<int, double> h100e_by_year;
};

struct Costs {
  double facility_usd_per_mw = 29e6;  ///< about $29B per GW of facility (Epoch data-center hub)
  double port_usd = 1500;             ///< per 800G-class transceiver port: assumption
};

/// Scale-out network ports (optical transceivers): ordered with every GPU, delivered after
/// `lead_time`, from a global supply that is unlimited unless `supply` is given.
struct Network {
  Duration lead_time{3, Duration::Unit::month};
  std::optional<UpstreamNode> supply;  ///< ports per year, growing like an upstream node
};

struct Scenario {
  std::string name;
  std::string description;
  std::string source_file;
  Date start;
  Date end;
  Step step = Step::month;
  std::optional<Step> calibrated_step;  ///< the step its numbers were fitted at; a run at another is warned
  std::uint64_t seed = 1;  ///< 0 to kMaxSeed
  PipelineMode pipeline = PipelineMode::expected;
  StageProbabilities stages;
  Costs costs;
  Network network;
  std::vector<UpstreamNode> nodes;
  std::vector<Generation> generations;
  std::vector<Region> regions;
  std::vector<Firm> firms;
  std::vector<Project> projects;
  std::vector<Program> programs;
  std::vector<InferenceService> inference;
  std::vector<OtherDemand> other_demand;
  DiagnosisSettings diagnosis;  ///< as written; `resolve_defaults` fills the step's defaults
  std::vector<Contract> contracts;
  std::vector<Backstop> backstops;
  MarketSettings market;

  int ngeneration() const { return static_cast<int>(generations.size()); }
  int nregion() const { return static_cast<int>(regions.size()); }
  int nfirm() const { return static_cast<int>(firms.size()); }
  int nnode() const { return static_cast<int>(nodes.size()); }

  /// Whether firm f weighs more in region r than in region `than`, or, weighing alike, r's id
  /// sorts first: how a run picks between regions that would serve alike, never by the order
  /// in which the scenario writes them.
  bool prefers_region(int f, int r, int than) const {
    const std::vector<double>& w = firms[static_cast<size_t>(f)].region_weight;
    const double a = w[static_cast<size_t>(r)], b = w[static_cast<size_t>(than)];
    return a != b ? a > b : regions[static_cast<size_t>(r)].id < regions[static_cast<size_t>(than)].id;
  }
  /// The region where firm f weighs most (of regions alike, the id that sorts first).
  int largest_region(int f) const {
    int best = 0;
    for (int r = 1; r < nregion(); ++r)
      if (prefers_region(f, r, best)) best = r;
    return best;
  }
};

/// Limits that protect against hostile or absurd input.
struct LoadLimits {
  std::size_t max_file_bytes = 16u << 20;   ///< 16 MiB
  std::uint64_t max_nodes = 2'000'000;      ///< after expanding aliases
  int max_depth = 64;
};

/// Load and validate a scenario from a YAML file. Throws ScenarioError with every problem.
Scenario load_scenario_file(const std::string& path, const LoadLimits& limits = {});
/// Same, from text; `file_name` is used in messages.
Scenario load_scenario_text(const std::string& text, const std::string& file_name,
                            const LoadLimits& limits = {});

/// `value` (YAML text) at the key path `path` (`diagnosis.threshold`) as the lines of a scenario
/// that extends another: block lines, one key per line and indented
/// ("diagnosis:\n  threshold: 0.03\n"), or with `flow` one line ("diagnosis: {threshold: 0.03}").
/// An entry of a list of named entries, which an extending scenario changes by name, is one line
/// of flow style with its name (`contracts[openai_oracle].start` -> "contracts:\n  - {name:
/// openai_oracle, start: 2026-01-01}\n", or "contracts: [{name: openai_oracle, start: ...}]").
/// "" for an entry by its index (`builds[0].power`: an extending scenario replaces such a list
/// whole) or a whole entry.
std::string yaml_setting(const std::string& path, const std::string& value, bool flow);

/// A validated scenario document whose numeric values can be changed by path before it is
/// loaded: the parameters of a sensitivity study. A path names map keys and list items, by
/// index or (entries with a `name`) by name: `firms.meta.capex.2026`,
/// `generations.rubin.lead_time`, `firms.meta.builds[0].power`, `contracts[openai_oracle].ramp`;
/// the value is the number as written, in the units written (135 for `$135B`, 18 for `18mo`).
/// A duration counts whole units: 23.6 at `18mo` is written `24mo`.
class ScenarioTemplate {
 public:
  /// Load and validate `path` (with its `extends`); throws ScenarioError.
  static ScenarioTemplate from_file(const std::string& path);
  /// The number at `path`; throws ScenarioError when the path does not exist or holds no number.
  double value_at(const std::string& path) const;
  /// Whether `path` names a value the document writes (a number or not).
  bool writes(const std::string& path) const;
  /// The problems of a scenario that extends this one and sets `value` (YAML text) at the key
  /// path `path` (`diagnosis.threshold`, `contracts[deal].ramp`; yaml_setting's lines): none
  /// when it loads, so that a key this one leaves to its default, or a word, can be offered as
  /// a change to write. A path yaml_setting cannot write (`builds[0].power`) is one problem.
  std::vector<Diagnostic> problems_setting(const std::string& path, const std::string& value) const;
  /// How `x` is written at `path`, with its units (`$200B`, `24mo`); throws as value_at.
  std::string text_for(const std::string& path, double x) const;
  /// The units written with the number at `path` (`$B` for `$135B`, `mo` for `18mo`, `GW/y`
  /// for `6 GW/y`); "" for a plain number. Throws as value_at.
  std::string units_at(const std::string& path) const;
  /// The number `text` holds when it is written with the units the scenario writes at `path`
  /// (`$200B` where it writes `$150B`, `36mo` where `24mo`; spaces aside); nothing otherwise.
  /// Throws as value_at.
  std::optional<double> read_as_at(const std::string& path, const std::string& text) const;
  /// The scenario with the numbers at the given paths replaced; throws ScenarioError.
  Scenario instantiate(const std::vector<std::pair<std::string, double>>& values) const;

  /// A reusable instantiator for one thread: it keeps its own copy of the document and
  /// changes the values in place, so each sample of a study costs no copy of the document.
  class Instantiator {
   public:
    /// With `partial`, a sample reloads only the firms and sections its values touch (into a
    /// copy of the scenario as written) when no section that others read numbers from is
    /// touched; the result is the same scenario as a full load, which `partial = false` does
    /// every time.
    explicit Instantiator(const ScenarioTemplate& t, bool partial = true);
    ~Instantiator();
    Scenario operator()(const std::vector<std::pair<std::string, double>>& values);

   private:
    struct State;
    std::unique_ptr<State> state_;
  };
  /// A hash of the composed document (FNV-1a of its YAML text), for study manifests.
  std::string hash() const;

  /// One difference between this scenario's document and another's (both after `extends`):
  /// the value at `path` in each, as YAML in flow style; where a document says nothing, the
  /// default its scenario runs with, marked (`24mo (default)`), or "" where there is none (an
  /// entry one of them adds). A change is a whole value at most three keys deep: a top-level setting
  /// (`start`), a section's entry, or a field of an entry (`firms.meta.capex`,
  /// `market.spot.initial`); entries of a list of named maps go by name
  /// (`contracts[meta_nebius_firm].value`). `name` and `description` are not changes.
  struct Change {
    std::string path, before, after;
    /// What differs, short: `before -> after`, or for two maps only their keys that differ
    /// (`growth_until: (none) -> 2027-01-01`).
    std::string summary;
  };
  /// What turns this scenario into `other`, in the order `other` writes it (then what `other`
  /// leaves out); none when they describe the same run.
  std::vector<Change> changes_to(const ScenarioTemplate& other) const;
  /// This scenario with the changes `which` (indices into `changes_to(other)`) made, named as
  /// this one; throws ScenarioError when the document they make does not load (a change that
  /// needs another, such as a contract with a firm that another change adds).
  Scenario with_changes(const ScenarioTemplate& other, const std::vector<size_t>& which) const;

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

/// The full scenario after defaults as YAML (`scenario.resolved.yaml`): loading it gives back
/// the same scenario, so the run it describes can be reproduced exactly.
std::string write_resolved_yaml(const Scenario& s, const std::string& tool_version);

}  // namespace gpumm
