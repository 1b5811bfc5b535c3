#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "gpumm/scenario.hpp"
#include "gpumm/simulate.hpp"

#include <yaml-cpp/yaml.h>
#include <map>
#include <set>
#include <vector>

using namespace gpumm;

namespace {

// A small valid scenario; tests append or replace lines to break it.
const std::string kValid = R"(name: small
start: 2024-01
end: 2025-12-31
generations:
  h100: {it_power: 1.45 kW, first_shipment: 2022-10-01, peak_units_per_year: 1000000, price: $25000}
  tpu: {custom_for: google, it_power: 1 kW, first_shipment: 2024-01-01, peak_units_per_year: 10000}
regions:
  us_east: {pue: 1.25, interconnect_cap: 2 GW/y}
  europe: {pue: 1.3}
firms:
  google:
    regions: {us_east: 0.5, europe: 0.5}
    power_at_start: {us_east: 100 MW}
    fleet_at_start: {h100: 1000}
)";

std::vector<Diagnostic> problems(const std::string& yaml) {
  try {
    load_scenario_text(yaml, "s.yaml");
  } catch (const ScenarioError& e) {
    return e.diagnostics();
  }
  return {};
}

std::string first(const std::string& yaml) {
  auto p = problems(yaml);
  return p.empty() ? std::string("(no problem)") : p.front().to_string();
}

}  // namespace

TEST_CASE("scenario: a valid scenario loads with its defaults") {
  Scenario s = load_scenario_text(kValid, "s.yaml");
  CHECK(s.name == "small");
  CHECK(s.step == Step::month);
  CHECK(s.seed == 1);
  REQUIRE(s.ngeneration() == 2);
  CHECK(s.generations[0].it_kw_per_gpu == doctest::Approx(1.45));
  CHECK(s.generations[0].lead_time == Duration{3, Duration::Unit::month});
  CHECK(s.generations[0].family == "h100");
  CHECK(s.generations[1].custom_for == 0);
  CHECK(s.regions[0].interconnect_cap_mw_per_year == 2000.0);
  CHECK(s.regions[1].interconnect_cap_mw_per_year == kUnlimited);
  CHECK(s.regions[1].latency_group == "europe");
  CHECK(s.firms[0].region_weight == std::vector<double>{0.5, 0.5});
  CHECK(s.firms[0].power_at_start_mw == std::vector<double>{100.0, 0.0});
}

TEST_CASE("scenario: the name defaults to the file's stem") {
  std::string yaml = kValid;
  yaml.erase(0, yaml.find('\n') + 1);
  CHECK(load_scenario_text(yaml, "inputs/cases/grid.yaml").name == "grid");
}

TEST_CASE("scenario: an unknown key is located and gets a did-you-mean") {
  std::string yaml = kValid + "    capex_splt: {gpus: 0.5}\n";
  CHECK(first(yaml) ==
        "s.yaml:15:5: firms.google.capex_splt: unknown key `capex_splt`; did you mean `capex_split`?");
  // a key of a map beside it written flat: `power_at_start_europe` for `power_at_start: {europe: ...}`
  CHECK(first(kValid + "    power_at_start_europe: 50 MW\n") ==
        "s.yaml:15:5: firms.google.power_at_start_europe: unknown key `power_at_start_europe`; did you mean "
        "`power_at_start: {europe: ...}`?");
  // not when the key before the `_` holds no map here
  CHECK(first(kValid + "    sells_surplus_now: true\n").find("did you mean `sells_surplus: {") == std::string::npos);
}

TEST_CASE("scenario: an unknown key with no close name lists the keys that belong there") {
  CHECK(first(kValid + "    region_weights: {us: 1}\n") ==
        "s.yaml:15:5: firms.google.region_weights: unknown key `region_weights` (the keys of `firms.google`: "
        "build_lead_time, build_time, builds, capex, capex_split, capex_start, family_mix, fleet_at_start, "
        "investment, orders, power_at_start, regions, sells_surplus)");
  CHECK(first(kValid + "horizon: 10y\n") ==
        "s.yaml:15:1: horizon: unknown key `horizon` (the keys at the top level: backstops, calibrated_step, "
        "contracts, costs, description, diagnosis, end, extends, firms, generations, inference, market, name, "
        "network, other_demand, pipeline, programs, projects, regions, seed, stages, start, step, upstream)");
  // `extends` is read before the rest of the document, and still a key a near miss is told of
  CHECK(first(kValid + "extend: base.yaml\n") == "s.yaml:15:1: extend: unknown key `extend`; did you mean `extends`?");
}

TEST_CASE("scenario: a negative lead time points at the value") {
  std::string yaml = kValid;
  yaml.replace(yaml.find("price: $25000}"), 14, "price: $25000, lead_time: -3mo}");
  CHECK(first(yaml) == "s.yaml:5:113: generations.h100.lead_time: `-3mo`: must be >= 0");
}

TEST_CASE("scenario: every problem is reported in one pass") {
  std::string yaml = kValid;
  yaml.replace(yaml.find("1.45 kW"), 7, "1.45");            // missing unit
  yaml.replace(yaml.find("pue: 1.3"), 8, "pue: .nan");      // not finite
  yaml += "    orders: [{generation: tpu, units: 5, date: 2024-02-30}]\n";  // bad date
  auto p = problems(yaml);
  REQUIRE(p.size() == 3);
  CHECK(p[0].to_string() ==
        "s.yaml:5:20: generations.h100.it_power: `1.45`: missing unit; expected a power with a "
        "unit: kW, MW or GW (e.g. `250 MW`)");
  CHECK(p[1].to_string() == "s.yaml:9:17: regions.europe.pue: `.nan`: must be a finite number");
  CHECK(p[2].to_string() ==
        "s.yaml:15:48: firms.google.orders[0].date: `2024-02-30`: impossible date: 2024-02-30 "
        "(that month has 29 days)");
}

TEST_CASE("scenario: references to undefined entities are errors with suggestions") {
  std::string yaml = kValid + "    builds: [{region: us_eats, power: 1 GW, commit: 2024-01-01}]\n";
  CHECK(first(yaml) ==
        "s.yaml:15:23: firms.google.builds[0].region: unknown region `us_eats`; did you mean `us_east`?");
  std::string gen = kValid + "    fleet_at_start2: {}\n";
  CHECK(first(gen).find("did you mean `fleet_at_start`?") != std::string::npos);
}

TEST_CASE("scenario: problems are listed in the order of the file's lines") {
  // the loader reads `step` before the projects; the list follows the lines
  const std::string yaml = kValid + "projects:\n  - {name: p, firm: gogle, start: 2024-02-01, duration: 2mo, size: 1e25 FLOP}\n"
                                    "step: mnth\n";
  const std::vector<Diagnostic> p = problems(yaml);
  REQUIRE(p.size() == 2);
  CHECK(p[0].path == "projects[p].firm");
  CHECK(p[0].line == 16);
  CHECK(p[1].path == "step");
  CHECK(p[1].line == 17);
}

TEST_CASE("scenario: did you mean: swapped letters count once, and two short names one edit at most") {
  CHECK(closest_name("stpe", {"step", "start"}) == "step");          // one swap
  CHECK(closest_name("us_eats", {"us_east", "us_west"}) == "us_east");  // one swap
  CHECK(closest_name("capx", {"capex", "builds"}) == "capex");        // one letter left out
  CHECK(closest_name("seed", {"name", "end", "start"}).empty());       // `end` is two edits away
  CHECK(closest_name("nvda", {"nvidia", "amd"}) == "nvidia");           // two edits, to a longer name
  CHECK(closest_name("contarcts", {"contracts", "backstops"}) == "contracts");
  CHECK(closest_name("fleet_at_strat", {"fleet_at_start", "power_at_start"}) == "fleet_at_start");
}

TEST_CASE("scenario: a setting written as YAML, and whether a scenario extending another with it loads") {
  CHECK(yaml_setting("step", "week", false) == "step: week\n");
  CHECK(yaml_setting("diagnosis.threshold", "0.1", false) == "diagnosis:\n  threshold: 0.1\n");
  CHECK(yaml_setting("firms.google.capex_start", "2025-06-01", false) ==
        "firms:\n  google:\n    capex_start: 2025-06-01\n");
  CHECK(yaml_setting("diagnosis.threshold", "0.1", true) == "diagnosis: {threshold: 0.1}");
  CHECK(yaml_setting("firms.google.capex_start", "2025-06-01", true) == "firms: {google: {capex_start: 2025-06-01}}");
  const ScenarioTemplate t = ScenarioTemplate::from_file(GPUMM_SOURCE_DIR "/tests/testdata/good_small.yaml");
  CHECK(t.problems_setting("diagnosis.threshold", "0.1").empty());  // left to its default there
  CHECK(t.problems_setting("step", "quarter").empty());
  const std::vector<Diagnostic> misspelt = t.problems_setting("diagnosis.theta", "0.1");
  REQUIRE(misspelt.size() == 1);
  CHECK(misspelt[0].path == "diagnosis.theta");
  const std::vector<Diagnostic> word = t.problems_setting("step", "weekk");
  REQUIRE(word.size() == 1);
  CHECK(word[0].message == "`weekk`: expected `week`, `month` or `quarter`; did you mean `week`?");
}

TEST_CASE("scenario: a setting of a named list's entry is written by the entry's name, and loads into that entry") {
  CHECK(yaml_setting("contracts[deal_1].ramp", "6mo", false) == "contracts:\n  - {name: deal_1, ramp: 6mo}\n");
  CHECK(yaml_setting("contracts[deal_1].ramp", "6mo", true) == "contracts: [{name: deal_1, ramp: 6mo}]");
  CHECK(yaml_setting("contracts[deal_1].volume.gpus", "5", false) ==
        "contracts:\n  - {name: deal_1, volume: {gpus: 5}}\n");
  CHECK(yaml_setting("a.b[x].c[y].d", "1", false) == "a:\n  b:\n    - {name: x, c: [{name: y, d: 1}]}\n");
  CHECK(yaml_setting("a.b[x].c[y].d", "1", true) == "a: {b: [{name: x, c: [{name: y, d: 1}]}]}");
  CHECK(yaml_setting("contracts[deal one].ramp", "6mo", true) == "contracts: [{name: 'deal one', ramp: 6mo}]");
  CHECK(yaml_setting("contracts[deal.v2].ramp", "6mo", true) == "contracts: [{name: deal.v2, ramp: 6mo}]");
  // an entry by its index (an extending scenario replaces the list), a whole entry: none
  CHECK(yaml_setting("firms.meta.builds[0].stage", "announced", false).empty());
  CHECK(yaml_setting("contracts[deal_1]", "1", false).empty());
  const std::string oversold = GPUMM_SOURCE_DIR "/tests/testdata/oversold.yaml";
  const ScenarioTemplate t = ScenarioTemplate::from_file(oversold);
  CHECK(t.problems_setting("contracts[deal_1].ramp", "6mo").empty());  // left to its default there
  CHECK(t.problems_setting("contracts[deal_2].start", "2024-06-01").empty());
  const std::vector<Diagnostic> indexed = t.problems_setting("contracts[0].ramp", "6mo");
  REQUIRE(indexed.size() == 1);
  CHECK(indexed[0].message.find("by its index") != std::string::npos);
  // the lines change that entry alone
  const Scenario s = load_scenario_text("extends: '" + oversold + "'\n" + yaml_setting("contracts[deal_2].ramp", "6mo", false),
                                        "later.yaml");
  REQUIRE(s.contracts.size() == 5);
  CHECK(s.contracts[0].ramp.count == 0);
  CHECK(s.contracts[1].name == "deal_2");
  CHECK(s.contracts[1].ramp.count == 6);
  CHECK(s.contracts[1].start == Date(2024, 4, 1));
}

TEST_CASE("scenario: a misspelt word of a fixed list names the words and the closest one") {
  std::string step = kValid + "step: mnth\n";
  CHECK(first(step) == "s.yaml:15:7: step: `mnth`: expected `week`, `month` or `quarter`; did you mean `month`?");
  // a word close to none of them gets no guess
  std::string far = kValid + "step: fortnight\n";
  CHECK(first(far) == "s.yaml:15:7: step: `fortnight`: expected `week`, `month` or `quarter`");
  std::string stage = kValid + "    builds: [{power: 1 GW, commit: 2024-01-01, stage: permited}]\n";
  CHECK(first(stage) == "s.yaml:15:55: firms.google.builds[0].stage: `permited`: expected `announced`, `permitted`, "
                        "`under_construction` or `operational`; did you mean `permitted`?");
  std::string method = kValid + "diagnosis: {method: moving_averge}\n";
  CHECK(first(method) == "s.yaml:15:21: diagnosis.method: `moving_averge`: expected `hp` or `moving_average`; "
                         "did you mean `moving_average`?");
}

TEST_CASE("scenario: a share written as a percentage is refused with the share it stands for") {
  const auto with_probability = [](const std::string& p) {
    return kValid + "projects:\n  - {name: p, firm: google, start: 2024-02-01, duration: 2mo, size: 1e25 FLOP,\n"
                    "     delay: {probability: " + p + ", mean: 30d}}\n";
  };
  CHECK(first(with_probability("35%")) ==
        "s.yaml:17:27: projects[p].delay.probability: `35%`: a share is a number from 0 to 1 (`0.35` for 35%)");
  CHECK(first(with_probability("35")) ==
        "s.yaml:17:27: projects[p].delay.probability: `35`: a share is a number from 0 to 1 (`0.35` for 35%)");
  // 1.5 is no likely percentage: the range alone
  CHECK(first(with_probability("1.5")) == "s.yaml:17:27: projects[p].delay.probability: `1.5`: must be between 0 and 1");
  CHECK(first(with_probability("0.35")) == "(no problem)");
}

TEST_CASE("scenario: an entry of contracts or projects is named in messages by its name, by its index when the name is not unique") {
  const std::string two = kValid + "projects:\n"
                                   "  - {name: a, firm: google, start: 2024-02-01, duration: 2mo, size: 1e25 FLOP}\n"
                                   "  - {name: b, firm: gogle, start: 2024-02-01, duration: 2mo, size: 1e25 FLOP}\n";
  CHECK(first(two) == "s.yaml:17:21: projects[b].firm: unknown firm `gogle`; did you mean `google`?");
  std::string same = two;
  same.replace(same.find("name: b"), 7, "name: a");
  std::set<std::string> got;
  for (const Diagnostic& d : problems(same)) got.insert(d.to_string());
  CHECK(got.count("s.yaml:17:21: projects[1].firm: unknown firm `gogle`; did you mean `google`?") == 1);
  CHECK(got.count("s.yaml:17:12: projects[1].name: duplicate project name `a`") == 1);
}

TEST_CASE("scenario: a custom accelerator can be ordered only by its owner") {
  std::string yaml = kValid +
                     "  meta:\n    regions: {us_east: 1.0}\n"
                     "    orders: [{generation: tpu, units: 5, date: 2024-02-01}]\n";
  CHECK(first(yaml) ==
        "s.yaml:17:27: firms.meta.orders[0].generation: `tpu` is a custom accelerator of google; "
        "only its owner can order it");
}

TEST_CASE("scenario: each check of the shape of a section or of an id or a reference is told once where it stands") {
  struct Case {
    const char* what;
    std::vector<std::pair<const char*, const char*>> edits;  // (text, its replacement); nullptr: appended
    const char* told;
  };
  const std::vector<Case> cases = {
      {"an unknown calibrated_step",
       {{"end: 2025-12-31\n", "end: 2025-12-31\ncalibrated_step: mnth\n"}},
       "s.yaml:4:18: calibrated_step: `mnth`: expected `week`, `month` or `quarter`; did you mean `month`?"},
      {"a horizon of more than 100 years",
       {{"end: 2025-12-31", "end: 2200-12-31"}},
       "s.yaml:3:6: end: horizon longer than 100 years"},
      {"a quarterly calendar that starts inside a quarter",
       {{"start: 2024-01", "start: 2024-02"}, {"end: 2025-12-31", "end: 2025-12-31\nstep: quarter"}},
       "s.yaml:2:8: start: 2024-02-01: a quarterly calendar starts on the first day of a quarter (e.g. `2024-Q1`)"},
      {"regions as a list, told once, not again at each firm's weights",
       {{"regions:\n  us_east: {pue: 1.25, interconnect_cap: 2 GW/y}\n  europe: {pue: 1.3}\n", "regions: [us_east, europe]\n"}},
       "s.yaml:7:10: regions: expected a map from id to definition"},
      {"generations as a list, told once, not again at each fleet",
       {{"generations:\n", "generations: [h100]\n"}, {"  h100: {it_power: 1.45 kW, first_shipment: 2022-10-01, peak_units_per_year: 1000000, price: $25000}\n", ""}, {"  tpu: {custom_for: google, it_power: 1 kW, first_shipment: 2024-01-01, peak_units_per_year: 10000}\n", ""}},
       "s.yaml:4:14: generations: expected a map from id to definition"},
      {"an id with a space",
       {{"  europe: {pue: 1.3}\n", "  europe: {pue: 1.3}\n  \"us west\": {pue: 1.2}\n"}},
       "s.yaml:10:3: regions: `us west`: ids use letters, digits, `_` or `-` (such as `us_west`)"},
      {"an id with a space, referred to by the id it was meant to be",
       {{"  us_east: {pue", "  \"us east\": {pue"}},
       "s.yaml:8:3: regions: `us east`: ids use letters, digits, `_` or `-` (such as `us_east`)"},
      {"an id with a letter of two UTF-8 bytes",
       {{"  europe: {pue: 1.3}\n", "  europe: {pue: 1.3}\n  r\u00e9gion: {pue: 1.2}\n"}},
       "s.yaml:10:3: regions: `r\u00e9gion`: ids use letters, digits, `_` or `-` (such as `r_gion`)"},
      {"a list for an id",
       {{"  europe: {pue: 1.3}\n", "  europe: {pue: 1.3}\n  [a, b]: {pue: 1.2}\n"}},
       "s.yaml:10:3: regions: an id is a word of letters, digits, `_` or `-`, not a list or a map"},
      {"an empty id",
       {{"  europe: {pue: 1.3}\n", "  europe: {pue: 1.3}\n  \"\": {pue: 1.2}\n"}},
       "s.yaml:10:3: regions: an empty id: ids use letters, digits, `_` or `-`"},
      {"a workload's id with a space",
       {{nullptr, "other_demand:\n  \"w 1\": {firm: google, h100e: {2024: 100}}\n"}},
       "s.yaml:16:3: other_demand: `w 1`: ids use letters, digits, `_` or `-` (such as `w_1`)"},
      {"a map for a program's id, its entry not read under a path that names nothing",
       {{nullptr, "programs:\n  {a: 1}: {firm: google}\n"}},
       "s.yaml:16:3: programs: an id is a word of letters, digits, `_` or `-`, not a list or a map"},
      {"an id longer than 64 characters",
       {{"  europe: {pue: 1.3}\n", "  europe: {pue: 1.3}\n  region_with_a_name_much_longer_than_any_spreadsheet_column_would_show: {pue: 1.2}\n"}},
       "s.yaml:10:3: regions: `region_with_a_name_much_...`: an id has at most 64 characters, this one 69"},
      {"capex shares above 1",
       {{nullptr, "    capex_split: {gpus: 0.6, facilities: 0.5, network: 0.1}\n"}},
       "s.yaml:15:18: firms.google.capex_split: shares sum to 1.2; they must sum to at most 1"},
      {"capex without a family mix",
       {{nullptr, "    capex: {2024: $1B}\n"}},
       "s.yaml:12:5: firms.google: missing required key `family_mix` (which GPU families the capex buys, e.g. `{nvidia: 1.0}`)"},
      {"builds as a map",
       {{nullptr, "    builds: {power: 10 MW}\n"}},
       "s.yaml:15:13: firms.google.builds: expected a list of builds, found a map: each entry of a list starts with `- ` (or the list is `[...]`)"},
      {"a build of no power",
       {{nullptr, "    builds: [{region: us_east, power: 0 MW, commit: 2024-03-01}]\n"}},
       "s.yaml:15:39: firms.google.builds[0].power: must be > 0"},
      {"projects as a map",
       {{nullptr, "projects: {name: x}\n"}},
       "s.yaml:15:11: projects: expected a list of projects, found a map: each entry of a list starts with `- ` (or the list is `[...]`)"},
      {"programs as a list",
       {{nullptr, "programs: [a]\n"}},
       "s.yaml:15:11: programs: expected a map from program id to definition"},
      {"a year-keyed series with a word for a year",
       {{nullptr, "other_demand:\n  w: {firm: google, h100e: {soon: 100}}\n"}},
       "s.yaml:16:35: other_demand.w.h100e.soon: keyed by year (e.g. `2026: ...`)"},
      {"a service without tokens per user",
       {{nullptr, "inference:\n  chat:\n    firm: google\n    users: {saturation: 1e9, midpoint: 2025-01-01, steepness_per_year: 2}\n    throughput: {tokens_per_h100e_second: 1000, at: 2025-01-01}\n"}},
       "s.yaml:17:5: inference.chat: missing required key `tokens_per_user` ({per_day, at, growth_per_year})"},
      {"a service without throughput",
       {{nullptr, "inference:\n  chat:\n    firm: google\n    users: {saturation: 1e9, midpoint: 2025-01-01, steepness_per_year: 2}\n    tokens_per_user: {per_day: 1000, at: 2025-01-01}\n"}},
       "s.yaml:17:5: inference.chat: missing required key `throughput` ({tokens_per_h100e_second, at, gain_per_year})"},
      {"contracts as a map",
       {{nullptr, "  meta:\n    regions: {us_east: 1.0}\ncontracts: {name: k}\n"}},
       "s.yaml:17:12: contracts: expected a list of contracts, found a map: each entry of a list starts with `- ` (or the list is `[...]`)"},
      {"two contracts of one name",
       {{nullptr, "  meta:\n    regions: {us_east: 1.0}\ncontracts:\n  - {name: k, seller: google, buyer: meta, region: us_east, start: 2025-03-01, end: 2025-12-31, volume: {gpus: 100, generation: h100}, price: $2, take_or_pay: 1.0}\n  - {name: k, seller: google, buyer: meta, region: us_east, start: 2025-03-01, end: 2025-12-31, volume: {gpus: 100, generation: h100}, price: $2, take_or_pay: 1.0}\n"}},
       "s.yaml:19:12: contracts[1].name: duplicate contract name `k`"},
      {"a contract of a firm with itself",
       {{nullptr, "  meta:\n    regions: {us_east: 1.0}\ncontracts:\n  - {name: k, seller: google, buyer: google, region: us_east, start: 2025-03-01, end: 2025-12-31, volume: {gpus: 100, generation: h100}, price: $2, take_or_pay: 1.0}\n"}},
       "s.yaml:18:38: contracts[k].buyer: a firm cannot contract with itself"},
      {"backstops as a map",
       {{nullptr, "  meta:\n    regions: {us_east: 1.0}\ncontracts:\n  - {name: k, seller: google, buyer: meta, region: us_east, start: 2025-03-01, end: 2025-12-31, volume: {gpus: 100, generation: h100}, price: $2, take_or_pay: 1.0}\nbackstops: {a: 1}\n"}},
       "s.yaml:19:12: backstops: expected a list of backstops, found a map: each entry of a list starts with `- ` (or the list is `[...]`)"},
      {"a backstop that ends before it starts",
       {{nullptr, "  meta:\n    regions: {us_east: 1.0}\ncontracts:\n  - {name: k, seller: google, buyer: meta, region: us_east, start: 2025-03-01, end: 2025-12-31, volume: {gpus: 100, generation: h100}, price: $2, take_or_pay: 1.0}\nbackstops:\n  - {provider: nvidia, seller: google, start: 2025-06-01, end: 2025-01-01, floor: $1, cap: $100M}\n"}},
       "s.yaml:20:64: backstops[0].end: 2025-01-01 is before start 2025-06-01"},
      {"a persistence with a fraction",
       {{nullptr, "diagnosis: {persistence: 2.5}\n"}},
       "s.yaml:15:26: diagnosis.persistence: must be a whole number of periods"},
      {"upstream expansions as a map",
       {{"generations:", "upstream:\n  cowos: {unit: wafers, capacity_per_year: 1000, expansions: {2025: 500}}\ngenerations:"}},
       "s.yaml:5:62: upstream.cowos.expansions: expected a list of expansions, found a map: each entry of a list starts with `- ` (or the list is `[...]`)"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    std::string yaml = kValid;
    for (const auto& [from, to] : c.edits) {
      if (!from) {
        yaml += to;
        continue;
      }
      REQUIRE(yaml.find(from) != std::string::npos);
      yaml.replace(yaml.find(from), std::string(from).size(), to);
    }
    const std::vector<Diagnostic> all = problems(yaml);
    REQUIRE(all.size() == 1);  // not also what follows from it
    CHECK(all[0].to_string() == c.told);
  }
}

TEST_CASE("scenario: an invalid id is never offered as what a name was meant to be") {
  // `us east!` was likely meant as `us_east_`: `us_east` is another name, unknown, and the
  // only valid region is no close guess
  std::string yaml = kValid;
  yaml.replace(yaml.find("  us_east: {pue"), 10, "  \"us east!\":");
  std::set<std::string> got;
  for (const Diagnostic& d : problems(yaml)) got.insert(d.to_string());
  CHECK(got.count("s.yaml:8:3: regions: `us east!`: ids use letters, digits, `_` or `-` (such as `us_east_`)") == 1);
  CHECK(got.count("s.yaml:12:24: firms.google.regions.us_east: unknown region `us_east` (defined: europe)") == 1);
}

TEST_CASE("scenario: dates, ranges and shapes") {
  SUBCASE("a seed is a whole number a YAML number holds exactly") {
    CHECK(first(kValid + "seed: 1.5\n") == "s.yaml:15:7: seed: must be a whole number");
    CHECK(first(kValid + "seed: 9007199254740992\n") ==
          "s.yaml:15:7: seed: `9007199254740992`: must be between 0 and 9007199254740991");
    CHECK(load_scenario_text(kValid + "seed: 9007199254740991\n", "s.yaml").seed == kMaxSeed);
  }
  SUBCASE("a growth by year: years as keys, each number in range, at least one") {
    const std::string program =
        kValid + "programs:\n  p: {firm: google, first_run: 2024-03-01, cadence: 6mo, size: 1e25 FLOP, duration: 90d, growth_per_year: ";
    CHECK(load_scenario_text(program + "{2024: 3, 2028: 1.5}}\n", "s.yaml").programs[0].growth_per_year.by_year ==
          std::map<int, double>{{2024, 3.0}, {2028, 1.5}});
    CHECK(first(program + "{2024: 3, 2028: 300}}\n") ==
          "s.yaml:16:123: programs.p.growth_per_year.2028: `300`: must be between 0.01 and 100");
    CHECK(first(program + "{2024: 3, soon: 2}}\n") ==
          "s.yaml:16:123: programs.p.growth_per_year.soon: keyed by year (e.g. `2026: ...`)");
    CHECK(first(program + "{}}\n") ==
          "s.yaml:16:107: programs.p.growth_per_year: no year given: a number for every year, or the numbers by "
          "year from which they hold, e.g. `{2024: 3, 2029: 1.5}`");
    CHECK(first(program + "fast}\n") == "s.yaml:16:107: programs.p.growth_per_year: `fast`: expected a number");
    // a growth by year says from when: `{2028: 1.5}` over a base's 3 would read 1.5 before 2028 too
    CHECK(first(program + "{2028: 1.5}}\n") ==
          "s.yaml:16:107: programs.p.growth_per_year: the first year given, 2028, is after the first run "
          "(2024-03-01): give the number from 2024 on too, e.g. `{2024: ..., 2028: 1.5}` (a growth by year "
          "replaces a single number whole)");
    // tokens per user are read from the run's start (or `at`, when earlier) on
    const std::string service =
        kValid + "inference:\n  chat: {firm: google, users: {saturation: 1e9, midpoint: 2025-01-01, steepness_per_year: 2}, "
                 "throughput: {tokens_per_h100e_second: 1000, at: 2025-01-01},\n         tokens_per_user: {per_day: 1000, at: ";
    CHECK(first(service + "2025-01-01, growth_per_year: {2025: 1}}}\n") ==
          "s.yaml:17:76: inference.chat.tokens_per_user.growth_per_year: the first year given, 2025, is after the "
          "start (2024-01-01): give the number from 2024 on too, e.g. `{2024: ..., 2025: 1}` (a growth by year "
          "replaces a single number whole)");
    CHECK(first(service + "2023-06-01, growth_per_year: {2024: 1}}}\n").find("is after `at` (2023-06-01)") !=
          std::string::npos);
    CHECK(first(service + "2025-01-01, growth_per_year: {2024: 1, 2026: 0.5}}}\n") == "(no problem)");
    std::string gain = service + "2025-01-01}}\n";
    gain.replace(gain.find("at: 2025-01-01}"), 15, "at: 2025-01-01, gain_per_year: {2026: 0.5}}");
    CHECK(first(gain).find("inference.chat.throughput.gain_per_year: the first year given, 2026, is after the start "
                           "(2024-01-01)") != std::string::npos);
  }
  SUBCASE("end before start") {
    std::string yaml = kValid;
    yaml.replace(yaml.find("end: 2025-12-31"), 15, "end: 2023-12-31");
    CHECK(first(yaml) == "s.yaml:3:6: end: 2023-12-31 is before start 2024-01-01");
  }
  SUBCASE("a monthly calendar starts on the first of a month") {
    std::string yaml = kValid;
    yaml.replace(yaml.find("start: 2024-01"), 14, "start: 2024-01-15");
    CHECK(first(yaml).find("s.yaml:2:8: start: 2024-01-15: a monthly calendar starts on the first") == 0);
  }
  SUBCASE("region weights must sum to 1") {
    std::string yaml = kValid;
    yaml.replace(yaml.find("europe: 0.5}"), 12, "europe: 0.4}");
    CHECK(first(yaml) == "s.yaml:12:14: firms.google.regions: region weights sum to 0.9; they must sum to 1");
  }
  SUBCASE("a weight refused is one problem, not a second one for the sum without it") {
    std::string yaml = kValid;
    yaml.replace(yaml.find("europe: 0.5}"), 12, "europe: 50%}");
    const std::vector<Diagnostic> all = problems(yaml);
    REQUIRE(all.size() == 1);
    CHECK(all[0].path == "firms.google.regions.europe");
  }
  SUBCASE("a YAML merge key, which yaml-cpp does not merge") {
    std::string yaml = kValid;
    yaml.replace(yaml.find("  h100: {"), 9, "  h100: &h {");
    yaml.replace(yaml.find("  tpu: {"), 8, "  tpu: {<<: *h, ");
    CHECK(first(yaml) == "s.yaml:6:9: generations.tpu.<<: unknown key `<<` (a YAML 1.1 merge key, which the YAML reader "
                         "gpumm uses does not merge: write the keys out here; a scenario builds on another with `extends`)");
  }
  SUBCASE("a list where a map is expected") {
    std::string yaml = kValid;
    yaml.replace(yaml.find("{pue: 1.3}"), 10, "[1.3]");
    CHECK(first(yaml) == "s.yaml:9:11: regions.europe: expected a map of keys, found a list");
  }
  SUBCASE("nothing where a map is expected: its keys were not indented under it") {
    std::string yaml = kValid;
    yaml.replace(yaml.find("    power_at_start: {us_east: 100 MW}"), 37, "    power_at_start:\n    us_east: 100 MW");
    // told at the key (yaml-cpp places nothing where the next line's text starts, which may be
    // lines below, past blank lines and comments)
    CHECK(first(yaml) == "s.yaml:13:5: firms.google.power_at_start: expected a map of keys, found nothing: write its "
                         "keys on the lines below it, indented under it (or `{...}` on its line)");
  }
  SUBCASE("a key with nothing after it is told at the key, not past the blank lines and comments below") {
    std::string yaml = kValid;
    yaml.replace(yaml.find("start: 2024-01"), 14, "start:\n\n# the first month\n");
    CHECK(first(yaml) == "s.yaml:2:1: start: missing value");
    yaml = kValid;
    yaml.replace(yaml.find("pue: 1.3"), 8, "pue: ");
    CHECK(first(yaml) == "s.yaml:9:12: regions.europe.pue: missing value");
  }
  SUBCASE("a list item with nothing after its dash is told at the dash, once") {
    const std::vector<Diagnostic> all = problems(kValid + "    orders:\n      -\n\n      # the next order\n"
                                                           "      - {generation: h100, units: 10, date: 2024-06-01}\n");
    REQUIRE(all.size() == 1);  // not also the keys the entry lacks
    CHECK(first(kValid + "    orders:\n      -\n\n      # the next order\n"
                         "      - {generation: h100, units: 10, date: 2024-06-01}\n") ==
          "s.yaml:16:7: firms.google.orders[0]: expected a map of keys, found nothing: write its keys on the lines "
          "below it, indented under it (or `{...}` on its line)");
    // two in a row, the last at the end of a text without its last line feed
    const std::vector<Diagnostic> two = problems(kValid + "    orders:\n      -\n      -");
    REQUIRE(two.size() == 2);
    CHECK(two[0].line == 16);
    CHECK(two[0].column == 7);
    CHECK(two[1].line == 17);
    CHECK(two[1].column == 7);
    // a comment after the dash, and one with a quote and a `#` in a line above
    CHECK(first(kValid + "    orders:\n      - {generation: h100, units: 10, date: 2024-06-01}  # 'q' #2\n"
                         "      - # to come\n") ==
          "s.yaml:17:7: firms.google.orders[1]: expected a map of keys, found nothing: write its keys on the lines "
          "below it, indented under it (or `{...}` on its line)");
  }
  SUBCASE("a map, nothing or one value where a list is expected") {
    const std::string order = "{generation: h100, units: 10, date: 2024-06-01}";
    CHECK(first(kValid + "    orders:\n      " + order + "\n") ==
          "s.yaml:16:7: firms.google.orders: expected a list of orders, found a map: each entry of a list starts with "
          "`- ` (or the list is `[...]`)");
    CHECK(first(kValid + "    orders:\n    builds: []\n") ==
          "s.yaml:15:5: firms.google.orders: expected a list of orders, found nothing: write its entries on the lines "
          "below it, each starting with `- `");
    CHECK(first(kValid + "    orders: h100\n") ==
          "s.yaml:15:13: firms.google.orders: expected a list of orders, found a single value (a list is `[a, b]`, or "
          "entries on the lines below, each starting with `- `)");
    CHECK(first(kValid + "    orders:\n      - " + order + "\n") == "(no problem)");
  }
  SUBCASE("pue out of range") {
    std::string yaml = kValid;
    yaml.replace(yaml.find("pue: 1.3"), 8, "pue: 0.9");
    CHECK(first(yaml) == "s.yaml:9:17: regions.europe.pue: `0.9`: must be between 1 and 3");
  }
  SUBCASE("absurd sizes: power, money, interconnect and training compute have upper bounds") {
    std::string yaml = kValid;
    yaml.replace(yaml.find("price: $25000"), 13, "price: $1e300");
    yaml.replace(yaml.find("interconnect_cap: 2 GW/y"), 24, "interconnect_cap: 20000 GW/y");
    yaml.replace(yaml.find("us_east: 100 MW"), 15, "us_east: 1e300 GW");
    yaml += "projects:\n  - {name: p, firm: google, start: 2024-02-01, duration: 2mo, size: 1e40 FLOP}\n";
    std::set<std::string> got;
    for (const Diagnostic& d : problems(yaml)) got.insert(d.to_string());
    CHECK(got.count("s.yaml:5:94: generations.h100.price: must be at most $100T (about the world's output in a year)") == 1);
    CHECK(got.count("s.yaml:8:42: regions.us_east.interconnect_cap: must be at most 10,000 GW/y") == 1);
    CHECK(got.count("s.yaml:13:31: firms.google.power_at_start.us_east: must be at most 10,000 GW (more than the "
                    "world's generating capacity, about 9,000 GW)") == 1);
    CHECK(got.count("s.yaml:16:69: projects[p].size: must be at most 1e36 FLOP") == 1);
    CHECK(got.size() == 4);
  }
  SUBCASE("missing required keys are reported at their map") {
    std::string yaml = kValid;
    yaml.replace(yaml.find("first_shipment: 2022-10-01, "), 28, "");
    CHECK(first(yaml) == "s.yaml:5:9: generations.h100: missing required key `first_shipment`");
  }
}

TEST_CASE("scenario: duplicate keys are errors") {
  std::string yaml = kValid + "    power_at_start: {europe: 5 MW}\n";
  CHECK(first(yaml) == "s.yaml:15:5: firms.google.power_at_start: duplicate key (first defined at line 13)");
}

TEST_CASE("scenario: an investment rule with impossible bounds is refused") {
  std::string yaml = kValid + "    investment: {bounds: {min: 2, max: 1}}\n";
  CHECK(first(yaml) == "s.yaml:15:26: firms.google.investment.bounds: min 2 is above max 1");
}

TEST_CASE("scenario: YAML syntax errors are located") {
  std::string yaml = kValid + "  bad: [unclosed\n";
  CHECK(first(yaml).rfind("s.yaml:16:", 0) == 0);
  CHECK(first(yaml).find("invalid YAML") != std::string::npos);
  CHECK(first(yaml).find("tab") == std::string::npos);
  // a tab in the indentation, which YAML forbids, is named as the likely cause
  std::string tab = kValid + "\tmeta: {regions: {us_east: 1.0}}\n";
  CHECK(first(tab).rfind("s.yaml:15:", 0) == 0);
  CHECK(first(tab).find("(the line is indented with a tab: YAML indents with spaces)") != std::string::npos);
}

TEST_CASE("scenario: a YAML syntax error names its likely cause") {
  const auto says = [](const std::string& yaml) {
    const std::string f = first(yaml);
    const size_t open = f.find(" (");
    return open == std::string::npos ? std::string("(no hint) ") + f : f.substr(open + 2, f.size() - open - 3);
  };
  // indentation: more than a line whose key has its value, less than its neighbours but in
  // line with nothing above, a list item among keys and a key among list items
  CHECK(says("a: 1\n  b: 2\n") == "line 2 is indented by 2 spaces and line 1 by 0, but line 1's key has its value already: keys of one map line up");
  CHECK(says("a:\n    b: 1\n  c: 2\n") == "line 3 is indented by 2 spaces, and the lines above it by 4 and 0: it lines up with none of them");
  CHECK(says("a:\n  - name: x\n    b: 1\n   c: 2\n") ==
        "line 4 is indented by 3 spaces, and the lines above it by 4, 2 and 0: it lines up with none of them");
  CHECK(says("a:\n  b: 1\n c: 2\n") == "line 3 is indented by 1 space, and the lines above it by 2 and 0: it lines up with none of them");
  CHECK(says("a: 1\n- b\n") == "a list item `- ` in line with the key on line 1: keys and `- ` items cannot mix in one "
                                "block; a list goes under a key of its own, indented under it");
  CHECK(says("a:\n  - name: x\n    b: 1\n  c: 2\n").rfind("a key in line with the list item on line 2: ", 0) == 0);
  // a line that is no `key: value`, a second `: ` on a line
  CHECK(says("# x\na b\nc: d\n") == "line 2, `a b`, is not `key: value`: is the `:` missing?");
  CHECK(says("a:b\nc: d\n") == "line 1, `a:b`, is not `key: value`: YAML needs a space after the `:`");
  CHECK(says("a: b: c\n") == "an unquoted value cannot hold `: `: put the value in quotes, or start the next key on a line of its own");
  CHECK(says("g:\n  h100 {family: nvidia, price: $1}\n") == "is the `:` missing after `h100`?");
  // brackets: not closed, a comma missing, the wrong closer, a closer with nothing open
  CHECK(says("a: {b: 1\nc: 2\n") == "the `{` on line 1, column 4 is not closed: a `}` missing?");
  CHECK(says("a: [1, 2\nc: 2\n") == "the `[` on line 1, column 4 is not closed: a `]` missing?");
  CHECK(says("a: {b: 1 c: 2}\n") == "a `,` missing between two entries of the `{` on line 1, column 4?");
  CHECK(says("a: {b: 1, c: [2, 3}\nd: 4\n") == "this `}` meets the `[` opened on line 1, column 14, which `]` closes");
  CHECK(says("a: {b: 1}}\n") == "no `{` or `[` is open here for this `}` to close");
  // a `[` inside a word within brackets, as an entry's index in a path
  CHECK(says("p:\n  - {path: firms.meta.orders[0].units, low: 1}\n") ==
        "inside `{...}` or `[...]`, the `[` of `firms.meta.orders[0].units` opens a list: put the value in quotes, "
        "`\"firms.meta.orders[0].units\"`");
  // quotes: one that runs on, one never closed, text after a closing quote
  CHECK(says("a: \"x\nb: \"y\"\n") == "the value that opens with `\"` on line 1, column 4 runs on to line 2 (`b: \"`), which is "
                                    "not indented under line 1, and is closed only on line 2: is a closing `\"` missing on line 1, or are the lines after it meant to be indented under it?");
  CHECK(says("a: {b: \"x, c: 1}\nd: 2\n") ==
        "the `\"` on line 1, column 8 opens a value that is never closed: close it with `\"` where the value ends");
  CHECK(says("a: 1\nb: \"x\"y\n") == "a quoted value ends at its closing quote: put the whole value inside the quotes");
  // a line shown in part is cut between characters, not inside one (`é` is two bytes)
  CHECK(first("a: \"x\nb: 123456789012345678901234567890123é6789\"\n").find("(`b: 123456789012345678901234567890123...`)") !=
        std::string::npos);
  // what is no quote or bracket is not taken for one: apostrophes, comments, block scalars
  CHECK(says("a: it's [x\nb: 1 # \"c\n  c: 2\n").rfind("line 3 is indented by 2 spaces and line 2 by 0", 0) == 0);
  CHECK(says("a: |\n  text: \"x {\n  more\nb: [1\n") == "the `[` on line 4, column 4 is not closed: a `]` missing?");
  // a second closer; an item after a key whose line has its value
  CHECK(says("a: [1, 2]]\n").rfind("no `{` or `[` is open here", 0) == 0);
  CHECK(says("a: 1\n- b\n  - c\n").rfind("a list item `- `", 0) == 0);
}

TEST_CASE("scenario: characters copied from a document that look like spaces, dashes or quotes are named") {
  const std::string nbsp = "\xC2\xA0", zwsp = "\xE2\x80\x8B", en_dash = "\xE2\x80\x93", left = "\xE2\x80\x9C",
                    right = "\xE2\x80\x9D";
  // no-break spaces that indent a line: a syntax error, with the line that holds them
  std::string indented = kValid + "    capex: {2025: $1B}\n    sells_surplus: true\n";
  indented.replace(indented.find("    capex"), 4, nbsp + nbsp + nbsp + nbsp);
  CHECK(first(indented) == "s.yaml:16:5: invalid YAML: end of map not found (line 15 holds U+00A0, a no-break space, "
                           "which YAML does not read as a space: type a plain space)");
  // on the last line, the same text is a key of the top level
  indented.resize(indented.find("    sells_surplus"));
  CHECK(first(indented).find("unknown key") != std::string::npos);
  CHECK(first(indented).find("(it holds U+00A0, a no-break space") != std::string::npos);
  // in a key, a date, a name: the message about the value says what it holds
  CHECK(first(kValid + "    " + zwsp + "capex: {2025: $1B}\n").find(
            "(it holds U+200B, a zero-width space, which cannot be seen: delete it)") != std::string::npos);
  std::string dated = kValid + "    orders: [{generation: h100, units: 10, date: 2024-06-01}]\n";
  dated.replace(dated.find("2024-06-01"), 10, "2024" + en_dash + "06" + en_dash + "01");
  CHECK(first(dated).find("(it holds U+2013, an en dash, where `-` was meant?)") != std::string::npos);
  std::string named = kValid;
  named.replace(named.find("name: small"), 11, "name: " + left + "small" + right);
  CHECK(first(named).find("(it holds U+201C, a typographic quote, where `\"` was meant?)") != std::string::npos);
  // after a colon inside `{...}`, where the key then runs on (the path holds it)
  std::string flow = kValid + "    capex: {2025:" + nbsp + "$1B}\n";
  CHECK(first(flow).find("(it holds U+00A0, a no-break space") != std::string::npos);
  // plain text has none of them, and gets no such note
  CHECK(first(kValid + "    capx: {2025: $1B}\n").find("it holds") == std::string::npos);
}

TEST_CASE("scenario: a document whose first line is indented is read to its end, not to the first line less indented") {
  // yaml-cpp's Load stops there without a word: the rest of the file would be dropped
  CHECK(first(" " + kValid) == "s.yaml:2:1: invalid YAML: unexpected 's' (line 1, where the document starts, is indented "
                               "by 1 space and this line by 0: the keys at the top level line up at the left margin)");
  CHECK(first("# a comment\n\n   name: small\n   seed: 3\n  start: 2024-01\n").rfind(
            "s.yaml:5:3: invalid YAML: unexpected 's' (line 3, where the document starts, is indented by 3 spaces and "
            "this line by 2:", 0) == 0);
  // indented throughout, it is one document, and reads as such
  std::string shifted;
  for (const std::string& line : {std::string("name: small"), std::string("start: 2024-01")}) shifted += "  " + line + "\n";
  CHECK(first(shifted).find("missing required key `end`") != std::string::npos);
}

TEST_CASE("scenario: a quoted value whose closing quote is missing is refused, not read on") {
  // yaml-cpp alone reads it to the end of the file: the keys after it would vanish into it
  std::string open_at_end = kValid + "description: \"what if\n";
  CHECK(first(open_at_end) ==
        "s.yaml:15:14: description: invalid YAML: the `\"` here opens a value that is never closed, so the rest of "
        "the file was read into it: close it with `\"` where the value ends");
  std::string single = kValid;
  single.replace(single.find("name: small"), 11, "name: 'small");
  CHECK(first(single).rfind("s.yaml:1:7: name: invalid YAML: the `'` here opens a value that is never closed", 0) == 0);
  REQUIRE(problems(single).size() == 1);  // not the keys it swallowed, reported as missing
  // ... or to a later quote, over lines that are not indented under its own (YAML forbids that)
  std::string runs_on = kValid;
  runs_on.replace(runs_on.find("name: small"), 11, "description: \"what if\nname: small\nstart: 2024-01\"");
  CHECK(first(runs_on) ==
        "s.yaml:1:14: description: invalid YAML: the value that opens with `\"` here runs on to line 2 (`name: small`), "
        "which is not indented under this line, and is closed only on line 3: is a closing `\"` missing on this line, or are the lines after it meant to be indented under it?");
  std::string nested = kValid + "    capex: {2025: $1B}\n    description: 'it''s\n    x'\n";
  CHECK(first(nested).rfind("s.yaml:16:18: firms.google.description: invalid YAML: the value that opens with `'` here "
                            "runs on to line 17 (`x'`)", 0) == 0);
  // quoted values over several lines indented under their first, escapes, '' and blank lines are fine
  for (const std::string ok : {"description: \"a long\n  text: with a colon \\\" and a quote\"\n",
                               "description: 'it''s\n\n   fine'\n", "description: \"\\\\\"\n",
                               "description: |\n  a \"block\n  scalar\n"}) {
    CAPTURE(ok);
    CHECK(problems(kValid + ok).empty());
  }
  // the same through the guarded parse (a document marker takes it)
  CHECK(first("---\n" + open_at_end).rfind("s.yaml:16:14: description: invalid YAML: the `\"`", 0) == 0);
}

TEST_CASE("scenario: an alias inside its own anchor's value is refused, not followed forever") {
  const std::string says = "invalid YAML: this alias stands inside the value of its own anchor: a value cannot hold itself";
  CHECK(first(kValid + "projects: &p [*p]\n") == "s.yaml:15:15: " + says);
  CHECK(first(kValid + "market: &m {spot: {x: [1, *m]}}\n") == "s.yaml:15:27: " + says);
  // an alias after its anchor's value has closed is an ordinary copy
  CHECK(first(kValid + "    fleet_at_start_copy: &f {h100: 1}\n").find("unknown key `fleet_at_start_copy`") != std::string::npos);
  std::string copy = kValid;
  copy.replace(copy.find("power_at_start: {us_east: 100 MW}"), 33, "power_at_start: &p {us_east: 100 MW}");
  CHECK(first(copy + "  meta:\n    regions: {us_east: 1.0}\n    power_at_start: *p\n") == "(no problem)");
}

TEST_CASE("scenario: alias bombs, deep nesting and several documents are refused") {
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  char prev = 'a';
  for (char c = 'b'; c <= 'l'; ++c, ++prev) {
    bomb += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 10; ++i) bomb += std::string(i ? ", *" : "*") + prev;
    bomb += "]\n";
  }
  CHECK(first(bomb).find("document too large") != std::string::npos);
  std::string deep(200, '[');
  CHECK(first(deep).find("nesting deeper than 64 levels") != std::string::npos);
  CHECK(first(kValid + "---\nname: x\n").find("a scenario file holds one YAML document") != std::string::npos);
  CHECK(first("") == "s.yaml: empty scenario: expected a map with start, end, generations, regions and firms");
  // a stray `,` after the root: yaml-cpp 0.7 starts document after document without reading
  // it (its LoadAll never returns on ","; found by fuzzing); each is refused where it stands
  CHECK(first(",") == "s.yaml:1:1: invalid YAML: unexpected ','");
  CHECK(first("- a\n,") == "s.yaml:2:1: invalid YAML: unexpected ','");
  CHECK(first("---\n,") == "s.yaml:2:1: invalid YAML: unexpected ','");
  CHECK(first("{start: 2025-01},") == "s.yaml:1:17: invalid YAML: unexpected ','");
  CHECK(first(kValid + "...\n,") == "s.yaml:" + std::to_string(std::count(kValid.begin(), kValid.end(), '\n') + 2) +
                                        ":1: invalid YAML: unexpected ','");
  // well-formed documents without aliases (parsed once) meet the same limits
  std::string closed = "a: " + std::string(70, '[') + std::string(70, ']') + "\n";
  CHECK(first(closed).find("nesting deeper than 64 levels") != std::string::npos);
  LoadLimits few;
  few.max_nodes = 50;
  CHECK_THROWS_WITH_AS(load_scenario_text(kValid, "s.yaml", few), doctest::Contains("document too large"), ScenarioError);
}

TEST_CASE("scenario: a file that is not text is named so, where its first control byte stands") {
  // yaml-cpp meets such bytes as some escape or token by chance ("unknown escape character")
  const std::string nul = kValid + "  x: \"a\x01\"\n";
  CHECK(first(nul) == "s.yaml:" + std::to_string(std::count(kValid.begin(), kValid.end(), '\n') + 1) +
                          ":8: not a text file: control character 0x01, which YAML text cannot hold "
                          "(a scenario is a YAML text file: is this the file you meant?)");
  CHECK(first(std::string("\x7f" "ELF\x02\x01\x01", 7)).rfind("s.yaml:1:1: not a text file: control character 0x7f", 0) == 0);
  CHECK(first(std::string("a: 1\n\0b: 2\n", 11)).rfind("s.yaml:2:1: not a text file: control character 0x00", 0) == 0);
  // tabs, carriage returns and text beyond ASCII are text
  CHECK(first("a:\t1\r\nb: \"\xc3\xa9\"\r\n").find("not a text file") == std::string::npos);
}

TEST_CASE("scenario: a file saved as UTF-16 or UTF-32 loads as YAML reads it, and a control character in it is found") {
  // ASCII text in `width` bytes a character, little or big endian, after a byte order mark or not
  const auto encode = [](const std::string& ascii, size_t width, bool big, bool bom) {
    std::string out;
    const auto put = [&](unsigned c) {
      for (size_t b = 0; b < width; ++b)
        out += static_cast<char>((c >> (8 * (big ? width - 1 - b : b))) & 0xFF);
    };
    if (bom) put(0xFEFF);
    for (char c : ascii) put(static_cast<unsigned char>(c));
    return out;
  };
  const std::string utf8 = write_resolved_yaml(load_scenario_text(kValid, "s.yaml"), "test");
  for (size_t width : {2, 4})
    for (bool big : {false, true})
      for (bool bom : {false, true}) {
        CAPTURE(width);
        CAPTURE(big);
        CAPTURE(bom);
        CHECK(write_resolved_yaml(load_scenario_text(encode(kValid, width, big, bom), "s.yaml"), "test") == utf8);
        const std::string nul = encode(kValid + "  x: 1\n\x02\n", width, big, bom);
        CHECK(first(nul).rfind("s.yaml:" + std::to_string(std::count(kValid.begin(), kValid.end(), '\n') + 2) +
                                   ":1: not a text file: control character 0x02",
                               0) == 0);
        // the guards hold in every encoding: a second document is refused, not left unread
        CHECK(first(encode(kValid + "---\nname: x\n", width, big, bom)).find("a scenario file holds one YAML document") !=
              std::string::npos);
      }
  // beyond ASCII: a surrogate pair (U+1F600) and U+00E9 in UTF-16LE after its mark
  const std::string described = kValid + "description: \"\xc3\xa9 \xf0\x9f\x98\x80\"\n";
  std::string utf16 = encode(kValid + "description: \"", 2, false, true);
  utf16 += std::string("\xe9\x00 \x00\x3d\xd8\x00\xde\"\x00\n\x00", 12);
  CHECK(load_scenario_text(utf16, "s.yaml").description == load_scenario_text(described, "s.yaml").description);
  CHECK(load_scenario_text(utf16, "s.yaml").description == "\xc3\xa9 \xf0\x9f\x98\x80");
  // three bytes in UTF-8: the euro sign (U+20AC) and U+6771 (東), in UTF-16BE
  std::string utf16be = encode(kValid + "description: \"", 2, true, true);
  utf16be += std::string("\x20\xac\x00 \x67\x71\x00\"\x00\n", 10);
  CHECK(load_scenario_text(utf16be, "s.yaml").description == "\xe2\x82\xac \xe6\x9d\xb1");
  // UTF-8 after a byte order mark: places are counted after the mark, so a second document is
  // named as such (it was taken for a stray character one byte further on)
  CHECK(first("\xef\xbb\xbf" + kValid + "---\nname: x\n") ==
        "s.yaml:" + std::to_string(std::count(kValid.begin(), kValid.end(), '\n') + 1) +
            ":1: a scenario file holds one YAML document");
}

TEST_CASE("scenario: an oversized file is refused before parsing") {
  LoadLimits limits;
  limits.max_file_bytes = 100;
  CHECK_THROWS_WITH_AS(load_scenario_text(kValid, "s.yaml", limits),
                       doctest::Contains("file too large"), ScenarioError);
}

TEST_CASE("scenario: a missing file is a clear error") {
  CHECK_THROWS_WITH_AS(load_scenario_file("no/such/file.yaml"), "no/such/file.yaml: no such file",
                       ScenarioError);
}

TEST_CASE("scenario: the resolved YAML reloads to the same scenario and the same run") {
  Scenario a = load_scenario_file(GPUMM_SOURCE_DIR "/inputs/base.yaml");
  std::string text = write_resolved_yaml(a, "test");
  Scenario b = load_scenario_text(text, "resolved.yaml");
  CHECK(write_resolved_yaml(b, "test") == text);
  RunResult ra = simulate(a), rb = simulate(b);
  REQUIRE(ra.periods.size() == rb.periods.size());
  for (size_t t = 0; t < ra.periods.size(); ++t) {
    CHECK(ra.periods[t].installed_h100e == rb.periods[t].installed_h100e);
    CHECK(ra.periods[t].stranded_gpus == rb.periods[t].stranded_gpus);
  }
}

TEST_CASE("scenario: growths written by year are written back by year and reload to the same run") {
  const std::string yaml = std::string("extends: ") + GPUMM_SOURCE_DIR + "/inputs/base.yaml\n"
      "programs:\n  openai_frontier: {growth_per_year: {2024: 3, 2028: 1.5}, duration_growth_per_year: {2024: 1.4, 2030: 1}}\n"
      "inference:\n  chatgpt: {tokens_per_user: {growth_per_year: {2023: 1.5, 2028: 0.75}},\n"
      "            throughput: {gain_per_year: {2023: 0.5, 2029: 0.25}}}\n";
  Scenario a = load_scenario_text(yaml, "slows.yaml");
  const std::string text = write_resolved_yaml(a, "test");
  CHECK(text.find("growth_per_year: {2024: 3, 2028: 1.5}") != std::string::npos);
  CHECK(text.find("duration_growth_per_year: {2024: 1.4, 2030: 1}") != std::string::npos);
  CHECK(text.find("growth_per_year: {2023: 1.5, 2028: 0.75}") != std::string::npos);
  CHECK(text.find("gain_per_year: {2023: 0.5, 2029: 0.25}") != std::string::npos);
  Scenario b = load_scenario_text(text, "resolved.yaml");
  CHECK(write_resolved_yaml(b, "test") == text);
  RunResult ra = simulate(a), rb = simulate(b);
  REQUIRE(ra.periods.size() == rb.periods.size());
  for (size_t t = 0; t < ra.periods.size(); ++t) CHECK(ra.periods[t].demand_h100e() == rb.periods[t].demand_h100e());
  // slower growth from 2028 leaves less demand in 2032 than the base's
  RunResult base = simulate(load_scenario_file(GPUMM_SOURCE_DIR "/inputs/base.yaml"));
  CHECK(ra.periods.back().demand_h100e() < base.periods.back().demand_h100e());
  CHECK(ra.periods[12].demand_h100e() == base.periods[12].demand_h100e());  // 2024: the same
}

TEST_CASE("scenario: extends merges maps, deletes with null, replaces lists") {
  const std::string dir = GPUMM_SOURCE_DIR "/tests/testdata/extends/";
  Scenario s = load_scenario_file(dir + "child.yaml");
  CHECK(s.name == "child");  // the name is the extending file's own
  REQUIRE(s.ngeneration() == 3);
  CHECK(s.generations[0].price_usd == 20000);           // overridden
  CHECK(s.generations[0].it_kw_per_gpu == doctest::Approx(1.45));  // kept from the base
  CHECK(s.firms[0].capex_usd.empty());                   // deleted
  REQUIRE(s.firms[1].orders.size() == 1);                // replaced
  CHECK(s.firms[1].orders[0].units == 1000);
  CHECK(s.firms[1].builds.size() == 1);                  // kept
}

namespace {
const std::string kTestData = GPUMM_SOURCE_DIR "/tests/testdata/";

// The problems, as `file:line:col: path: message`, of `yaml` loaded as tests/testdata/case.yaml
// (so that `extends: good_small.yaml` finds its base); none when it loads.
std::vector<std::string> case_problems(const std::string& yaml) {
  std::vector<std::string> out;
  try {
    load_scenario_text(yaml, kTestData + "case.yaml");
  } catch (const ScenarioError& e) {
    for (const Diagnostic& d : e.diagnostics()) out.push_back(d.to_string());
  }
  return out;
}
}  // namespace

TEST_CASE("scenario: a case's key written twice, or a number split at a comma, is refused, and a year set to null is removed") {
  const std::string& dir = kTestData;
  // written twice at any depth: merged, the last one would have won without a word
  CHECK(case_problems("extends: good_small.yaml\nseed: 5\nseed: 6\n") ==
        std::vector<std::string>{dir + "case.yaml:3:1: seed: duplicate key (first defined at line 2)"});
  CHECK(case_problems("extends: good_small.yaml\nfirms:\n  google: {sells_surplus: true, sells_surplus: false}\n") ==
        std::vector<std::string>{dir + "case.yaml:3:33: firms.google.sells_surplus: duplicate key (first defined at line 3)"});
  // `$1,000B` is $1 and a key `000B` to YAML: merged, that key's null removed nothing and the
  // budget was $1
  CHECK(case_problems("extends: good_small.yaml\nfirms:\n  google: {capex: {2026: $1,000B}}\n") ==
        std::vector<std::string>{dir + "case.yaml:3:29: firms.google.capex.2026: `$1,000B` reads as $1 and a key "
                                       "`000B`: YAML splits a number at its commas inside `{...}`; thousands "
                                       "separators? write `$1000B`; a decimal comma? write `$1.000B`"});
  // a year set to null is removed, with a space after the comma or without, with a colon
  for (const char* removal : {"{2026: null}", "{2025: $20B, 2026: }", "{2025: $20B,2026: }"}) {
    CAPTURE(removal);
    const Scenario s = load_scenario_text("extends: good_small.yaml\nfirms:\n  google: {capex: " + std::string(removal) + "}\n",
                                          dir + "case.yaml");
    CHECK(s.firms[0].capex_usd == std::map<int, double>{{2025, 20e9}});
  }
}

TEST_CASE("scenario: a reference to what a case removed says which file removed it") {
  const std::string& dir = kTestData;
  // the custom chip made for google (in good_small.yaml, which oversold.yaml extends) and the
  // five deals google buys, each located where it names google
  const std::vector<std::string> removed = case_problems("extends: oversold.yaml\nfirms:\n  google: null\n");
  REQUIRE(removed.size() == 6);
  CHECK(removed[0].rfind(dir + "good_small.yaml:", 0) == 0);
  for (const std::string& p : removed)
    CHECK(p.ends_with(": unknown firm `google`: " + dir + "case.yaml:3:3 removes it (`google: null`): remove or change "
                      "what refers to it in that file too"));
  // a required key set to null is located where it was, not where the base's map begins
  CHECK(case_problems("extends: oversold.yaml\ncontracts:\n  - {name: deal_2, seller: null}\n") ==
        std::vector<std::string>{dir + "case.yaml:3:20: contracts[deal_2].seller: missing required key `seller`; "
                                       "`null` removes it, and it has no default"});
  // a name never defined keeps its did-you-mean
  const std::vector<std::string> typo = case_problems("extends: oversold.yaml\ncontracts:\n  - {name: deal_1, buyer: googel}\n");
  REQUIRE(typo.size() == 1);
  CHECK(typo[0].ends_with("unknown firm `googel`; did you mean `google`?"));
}

TEST_CASE("scenario: a date checked against one that another file set names where that one is set") {
  const std::string& dir = kTestData;
  // a case that moves a generation's first shipment after the end of production its base gives
  const std::string base = GPUMM_SOURCE_DIR "/inputs/base.yaml";
  const std::vector<std::string> moved =
      case_problems("extends: '" + base + "'\ngenerations:\n  rubin: {first_shipment: 2040-01-01}\n");
  REQUIRE(moved.size() == 1);
  CHECK(moved[0].rfind(base + ":", 0) == 0);  // at the base's end_of_production
  CHECK(moved[0].ends_with(": generations.rubin.end_of_production: 2028-07-01 is before first_shipment 2040-01-01 "
                           "(set at " + dir + "case.yaml:3:27)"));
  // ... and one that starts a contract after the end its base gives it
  CHECK(case_problems("extends: oversold.yaml\ncontracts:\n  - {name: deal_1, start: 2027-06-01}\n") ==
        std::vector<std::string>{dir + "oversold.yaml:9:73: contracts[deal_1].end: 2026-12-31 is before start "
                                       "2027-06-01 (set at " + dir + "case.yaml:3:27)"});
  // both dates in one file: no such note
  CHECK(case_problems("extends: oversold.yaml\ncontracts:\n  - {name: deal_1, start: 2027-06-01, end: 2027-01-01}\n") ==
        std::vector<std::string>{dir + "case.yaml:3:44: contracts[deal_1].end: 2027-01-01 is before start 2027-06-01"});
}

TEST_CASE("scenario: extends changes a list of named entries entry by entry") {
  const std::string dir = GPUMM_SOURCE_DIR "/tests/testdata/extends/";
  // five deals in the base; the child changes deal_2's price, removes deal_4, adds deal_6
  const Scenario s = load_scenario_file(dir + "contracts_child.yaml");
  std::vector<std::string> names;
  for (const Contract& c : s.contracts) names.push_back(c.name);
  CHECK(names == std::vector<std::string>{"deal_1", "deal_2", "deal_3", "deal_5", "deal_6"});
  CHECK(s.contracts[1].price_usd_per_h100e_hour == 3);
  CHECK(s.contracts[1].gpus == 90000);  // the rest of the entry kept
  CHECK(s.contracts[2].ramp == Duration{6, Duration::Unit::month});
  CHECK(s.contracts[4].gpus == 10);
  // an empty list replaces
  const std::string none = "extends: " + dir + "../oversold.yaml\ncontracts: []\n";
  CHECK(load_scenario_text(none, dir + "none.yaml").contracts.empty());
  // a removal names an entry there is, and says nothing else; the rest is checked all the same
  try {
    load_scenario_file(dir + "contracts_child_error.yaml");
    FAIL("loaded");
  } catch (const ScenarioError& e) {
    REQUIRE(e.diagnostics().size() == 3);
    CHECK(e.diagnostics()[0].to_string() == dir + "contracts_child_error.yaml:3:12: contracts[deal_9]: no entry named "
                                                  "`deal_9` in `contracts` to remove");
    CHECK(e.diagnostics()[1].to_string() == dir + "contracts_child_error.yaml:4:28: contracts[deal_1].remove: expected "
                                                  "`remove: true` beside the entry's name and nothing else (it removes "
                                                  "the entry)");
    CHECK(e.diagnostics()[2].to_string() ==
          dir + "contracts_child_error.yaml:5:27: contracts[deal_2].price: `-1`: missing `$`; and money is never "
                "negative here: a budget, price or cost is at least `$0`");
  }
}

TEST_CASE("scenario: an entry a case adds under a name close to its base's is told of the one it may mean") {
  const std::string dir = GPUMM_SOURCE_DIR "/tests/testdata/";
  const std::string file = dir + "extends/misspelt.yaml";
  // deal_22 was meant to change deal_2, metaa to change meta: as new entries they lack what
  // an entry needs, and that is said once, with the name they may mean
  const std::string text = "extends: ../oversold.yaml\n"
                           "firms:\n"
                           "  metaa: {fleet_at_start: {h100: 1}}\n"
                           "contracts:\n"
                           "  - {name: deal_22, ramp: 6mo}\n";
  try {
    load_scenario_text(text, file);
    FAIL("loaded");
  } catch (const ScenarioError& e) {
    REQUIRE(e.diagnostics().size() == 2);
    CHECK(e.diagnostics()[0].to_string() ==
          file + ":3:3: firms.metaa: no entry `metaa` in the scenario it extends to change (did you mean `meta`?); "
                 "as a new entry, it lacks `regions`");
    CHECK(e.diagnostics()[1].to_string() ==
          file + ":5:5: contracts[deal_22]: no entry `deal_22` in the scenario it extends to change (did you mean "
                 "`deal_2`?); as a new entry, it lacks `seller`, `buyer`, `start`, `end`, `volume`; give either "
                 "`price` ($ per H100e-hour) or `value` (total $)");
  }
  // a key misspelt in a section of fixed keys is no entry: its own problem says so, once
  try {
    load_scenario_text("extends: ../oversold.yaml\nmarket:\n  spto: {initial: $3}\n", file);
    FAIL("loaded");
  } catch (const ScenarioError& e) {
    REQUIRE(e.diagnostics().size() == 1);
    CHECK(e.diagnostics()[0].message.starts_with("unknown key `spto`"));
  }
  // a new entry that is whole is a new entry, however close its name
  const Scenario s = load_scenario_text("extends: ../oversold.yaml\n"
                                        "firms:\n"
                                        "  metab: {regions: {us_east: 1.0}}\n"
                                        "contracts:\n"
                                        "  - {name: deal_22, seller: meta, buyer: google, start: 2024-03-01, end: "
                                        "2026-12-31, volume: {gpus: 10, generation: h100}, price: $2}\n",
                                        file);
  CHECK(s.firms.size() == 3);
  CHECK(s.contracts.size() == 6);
}

TEST_CASE("scenario: with extends, errors point at the file and line they are in") {
  const std::string dir = GPUMM_SOURCE_DIR "/tests/testdata/extends/";
  CHECK_THROWS_WITH_AS(load_scenario_file(dir + "child_error.yaml"),
                       (dir + "child_error.yaml:4:31: firms.meta.power_at_start.us_east: must be >= 0").c_str(),
                       ScenarioError);
  CHECK_THROWS_WITH_AS(load_scenario_file(dir + "child_of_bad_base.yaml"),
                       doctest::Contains("base_error.yaml:4:20: generations.h100.it_power"), ScenarioError);
  // a map the child changed, wrong as a whole, is where the child changed it
  CHECK_THROWS_WITH_AS(load_scenario_file(dir + "child_weights.yaml"),
                       (dir + "child_weights.yaml:5:14: firms.meta.regions: region weights sum to 1.5, with `us_east: 1.0` "
                              "kept from good_small.yaml (a key set to `null` drops it); they must sum to 1")
                           .c_str(),
                       ScenarioError);
  {  // a family mix the child changed: the share it kept from its base is named in the sum; a
     // family refused is its own problem, without a second one for the sum
    const std::string file = dir + "mix.yaml";
    CHECK_THROWS_WITH_AS(load_scenario_text("extends: ../good_small.yaml\nfirms:\n  google:\n    family_mix: {nvidia: 0.9}\n", file),
                         (file + ":4:17: firms.google.family_mix: shares sum to 1.4, with `tpu: 0.5` kept from "
                                 "good_small.yaml (a key set to `null` drops it); they must sum to 1")
                             .c_str(),
                         ScenarioError);
    CHECK_THROWS_WITH_AS(
        load_scenario_text("extends: ../good_small.yaml\nfirms:\n  google:\n    family_mix: {tpu: null, nvida: 0.5}\n", file),
        (file + ":4:36: firms.google.family_mix.nvida: no generation has family `nvida`; did you mean `nvidia`?").c_str(), ScenarioError);
    CHECK(load_scenario_text("extends: ../good_small.yaml\nfirms:\n  google:\n    family_mix: {tpu: null, nvidia: 1.0}\n", file)
              .firms[0]
              .family_mix.size() == 1);
  }
  {  // a chain of 18 scenarios, each extending the next: refused at the 17th, not followed forever
    const std::filesystem::path deep = std::filesystem::temp_directory_path() / "gpumm-scenario-test-deep";
    std::filesystem::create_directories(deep);
    for (int i = 0; i < 18; ++i) {
      std::string name = "s";  // (appended, not added: GCC 12 warns of `"s" + std::string` here)
      name += std::to_string(i);
      name += ".yaml";
      std::ofstream(deep / name) << "extends: s" << i + 1 << ".yaml\n";
    }
    CHECK_THROWS_WITH_AS(load_scenario_file((deep / "s0.yaml").string()),
                         ((deep / "s16.yaml").string() +
                          ":1:10: extends: more than 16 scenarios extend one another here; extend the base directly")
                             .c_str(),
                         ScenarioError);
    std::filesystem::remove_all(deep);
  }
  CHECK_THROWS_WITH_AS(load_scenario_file(dir + "cycle_a.yaml"),
                       (dir + "cycle_b.yaml:1:10: extends: `cycle_a.yaml` is already being extended: a cycle of "
                              "extends (cycle_a.yaml -> cycle_b.yaml -> cycle_a.yaml)").c_str(),
                       ScenarioError);
  CHECK_THROWS_WITH_AS(load_scenario_file(dir + "missing_base.yaml"),
                       doctest::Contains("missing_base.yaml:1:10: extends: `no_such_base.yaml`: no such file"),
                       ScenarioError);
  // only a regular file is read: a device would be read forever, a folder is no scenario
  CHECK(first("extends: /dev/zero\n") == "s.yaml:1:10: extends: `/dev/zero`: not a regular file (/dev/zero)");
  CHECK(first("extends: " + dir + "\n").find("extends/`: a folder, not a YAML file; it holds `") != std::string::npos);
  CHECK_THROWS_WITH_AS(load_scenario_file("/dev/zero"), "/dev/zero: not a regular file", ScenarioError);
}

TEST_CASE("scenario: with extends, a null that removes nothing is told when its key does not belong there") {
  const std::string head = "extends: " + kTestData + "good_small.yaml\n";
  // a misspelt key set to null: the base has none, the merged scenario would not hold it
  CHECK(first(head + "firms:\n  google:\n    capx: null\n") ==
        "s.yaml:4:5: firms.google.capx: `capx: null` removes nothing (the scenario it extends has no `capx` there); did "
        "you mean `capex`?");
  // a last line without `:`, which yaml-cpp reads as a key set to null
  CHECK(first(head + "firms:\n  google:\n    capex: {2026: $60B}\n    sells_surplus true") ==
        "s.yaml:5:5: firms.google.sells_surplus true: `sells_surplus true` is not `key: value`; did you mean "
        "`sells_surplus: true`?");
  // `key {...}` without its `:`, read by YAML as a key `key {...` (not a syntax error in a block)
  std::string flat = kValid;
  flat.replace(flat.find("power_at_start: {"), 17, "power_at_start {");
  CHECK(first(flat) == "s.yaml:13:5: firms.google.power_at_start {us_east: unknown key `power_at_start {us_east`; is the "
                       "`:` missing after `power_at_start`?");
  CHECK(first(head + "seed 7\n") == "s.yaml:2:1: seed 7: `seed 7` is not `key: value`; did you mean `seed: 7`?");
  // a key alone, which the base has or not: not a removal (that is written `seed: null`)
  CHECK(first(head + "seed") == "s.yaml:2:1: seed: `seed` is not `key: value`: are its `:` and value missing? (`seed: "
                                "null` removes it)");
  CHECK(first("extends: " GPUMM_SOURCE_DIR "/inputs/base.yaml\nseed\n").rfind("s.yaml:2:1: seed: `seed` is not `key: value`", 0) ==
        0);  // (the base has `seed: 42`, which it would have removed)
  // an id that a section of entries does not have: told with the ids it has
  CHECK(first(head + "firms:\n  gogle: null\n") ==
        "s.yaml:3:3: firms.gogle: `gogle: null` removes nothing (the scenario it extends has no `gogle` in `firms`); did "
        "you mean `google`?");
  CHECK(first(head + "generations: {h200: null}\n").rfind("s.yaml:2:15: generations.h200: `h200: null` removes nothing", 0) == 0);
  // an entry of a list removed by a name it does not have: the name it may mean, when one is
  // closest (`deal_9` is as close to each `deal_N`: no guess)
  const std::string deals = "extends: " + kTestData + "oversold.yaml\ncontracts:\n  - {name: ";
  CHECK(first(deals + "dael_3, remove: true}\n") ==
        "s.yaml:3:12: contracts[dael_3]: no entry named `dael_3` in `contracts` to remove; did you mean `deal_3`?");
  CHECK(first(deals + "deal_9, remove: true}\n") == "s.yaml:3:12: contracts[deal_9]: no entry named `deal_9` in `contracts` to remove");
  // a key that belongs there, absent from the base: nothing to remove, nothing wrong
  CHECK(first(head + "market: null\nfirms:\n  google:\n    investment: null\n") == "(no problem)");
  // a key the base has: removed
  CHECK(first(head + "firms:\n  google:\n    capex: null\n") == "(no problem)");
}

TEST_CASE("scenario: a template reads and replaces numbers by path, in the units written") {
  ScenarioTemplate t = ScenarioTemplate::from_file(GPUMM_SOURCE_DIR "/tests/testdata/good_demand.yaml");
  CHECK(t.value_at("firms.google.capex.2026") == 30);       // $30B
  CHECK(t.value_at("regions.us_east.interconnect_cap") == 2);  // 2 GW/y
  CHECK(t.value_at("firms.meta.orders[0].units") == 30000);
  CHECK(t.value_at("firms.meta.builds[0].lead_time") == 18);  // 18mo
  // how a value is written there: in its units, a duration in whole units
  CHECK(t.text_for("firms.google.capex.2026", 45.5) == "$45.5B");
  CHECK(t.text_for("regions.us_east.interconnect_cap", 3) == "3 GW/y");
  CHECK(t.text_for("firms.meta.builds[0].lead_time", 23.6) == "24mo");
  // its units alone (the column name of a study's samples.csv)
  CHECK(t.units_at("firms.google.capex.2026") == "$B");
  CHECK(t.units_at("regions.us_east.interconnect_cap") == "GW/y");
  CHECK(t.units_at("firms.meta.builds[0].lead_time") == "mo");
  CHECK(t.units_at("firms.meta.orders[0].units").empty());
  CHECK(t.units_at("generations.h100.price") == "$");
  CHECK_THROWS_WITH_AS(t.units_at("firms.google.capex.2031"), doctest::Contains("no such value"), ScenarioError);
  // a number written in the units written there is read; in others, not
  CHECK(t.read_as_at("firms.google.capex.2026", "$45.5B") == 45.5);
  CHECK(t.read_as_at("regions.us_east.interconnect_cap", "3GW/y") == 3);
  CHECK(t.read_as_at("firms.meta.builds[0].lead_time", "24 mo") == 24);
  CHECK_FALSE(t.read_as_at("firms.google.capex.2026", "$45500M"));
  CHECK_FALSE(t.read_as_at("firms.google.capex.2026", "45.5"));
  CHECK_FALSE(t.read_as_at("firms.meta.builds[0].lead_time", "2y"));
  CHECK_FALSE(t.read_as_at("firms.meta.orders[0].units", "lots"));
  CHECK_THROWS_WITH_AS(t.read_as_at("firms.google.capex.2031", "$1B"), doctest::Contains("no such value"), ScenarioError);
  CHECK_THROWS_WITH_AS(t.value_at("firms.google.capex.2031"), doctest::Contains("no such value"), ScenarioError);
  CHECK_THROWS_WITH_AS(t.value_at("firms.google.regions"), doctest::Contains("not a number"), ScenarioError);
  // a date is not a number with a unit
  CHECK_THROWS_WITH_AS(t.value_at("generations.h100.first_shipment"), doctest::Contains("not a number"), ScenarioError);
  Scenario s = t.instantiate({{"firms.google.capex.2026", 45}, {"regions.us_east.interconnect_cap", 3},
                              {"firms.meta.builds[0].lead_time", 23.6}});
  CHECK(s.firms[0].capex_usd.at(2026) == 45e9);
  CHECK(s.regions[0].interconnect_cap_mw_per_year == 3000);
  CHECK(s.firms[1].builds[0].lead_time == Duration{24, Duration::Unit::month});  // rounded to whole months
  // the template itself is unchanged
  CHECK(t.value_at("firms.google.capex.2026") == 30);
  CHECK(t.hash() == ScenarioTemplate::from_file(GPUMM_SOURCE_DIR "/tests/testdata/good_demand.yaml").hash());
}

TEST_CASE("scenario: a path names a list entry by its index or by its name, and a wrong one is explained") {
  ScenarioTemplate t = ScenarioTemplate::from_file(GPUMM_SOURCE_DIR "/inputs/base.yaml");
  const Scenario base = t.instantiate({});
  size_t oracle = 0;
  while (base.contracts[oracle].name != "openai_oracle") ++oracle;
  REQUIRE(oracle > 0);  // not the first: a name must not fall back to entry 0
  CHECK(t.value_at("contracts[openai_oracle].value") == 300);  // $300B
  CHECK(t.value_at("contracts[" + std::to_string(oracle) + "].value") == 300);
  CHECK(t.value_at("contracts[0].value") == 14.2);             // meta_coreweave_2025, $14.2B
  const Scenario s = t.instantiate({{"contracts[openai_oracle].ramp", 36}});
  CHECK(s.contracts[oracle].ramp == Duration{36, Duration::Unit::month});
  CHECK(s.contracts[0].ramp == base.contracts[0].ramp);
  const auto why = [&](const std::string& path) {
    try {
      t.value_at(path);
    } catch (const ScenarioError& e) {
      return e.diagnostics().front().message;
    }
    return std::string("(found)");
  };
  CHECK(why("contracts[openai_oracel].value") ==
        "no such value in the scenario: no entry named `openai_oracel` in `contracts`; did you mean `openai_oracle`?");
  CHECK(why("firms.meta.capx.2026") == "no such value in the scenario: no key `capx` in `firms.meta`; did you mean `capex`?");
  CHECK(why("firms.meta.builds[99].lead_time").find("`firms.meta.builds` has ") != std::string::npos);
  CHECK(why("firms.meta[0].capex").find("`firms.meta` is not a list") != std::string::npos);
  CHECK(why("firms.meta.capex.2040") ==
        "no such value in the scenario: `firms.meta.capex` has no year 2040; it writes the years 2025 to 2032");
  CHECK(why("firms.meta.capex.2O26") == "no such value in the scenario: no key `2O26` in `firms.meta.capex`; did you mean `2026`?");
  CHECK(why("firmz.meta.capex.2026") == "no such value in the scenario: no key `firmz` in the scenario; did you mean `firms`?");
}

TEST_CASE("scenario: an instantiator changes values in place and puts them back") {
  ScenarioTemplate t = ScenarioTemplate::from_file(GPUMM_SOURCE_DIR "/tests/testdata/good_demand.yaml");
  ScenarioTemplate::Instantiator make(t);
  CHECK(make({{"firms.google.capex.2026", 45}}).firms[0].capex_usd.at(2026) == 45e9);
  CHECK(make({}).firms[0].capex_usd.at(2026) == 30e9);
  CHECK_THROWS_AS(make({{"firms.google.capex.2026", 50}, {"no.such.path", 1}}), ScenarioError);
  CHECK(make({}).firms[0].capex_usd.at(2026) == 30e9);  // restored after a failure too
}

namespace {
// Every path of `n` below `path` (map keys joined by `.`, list items as `[i]`) that holds a scalar.
void scalar_paths(const YAML::Node& n, const std::string& path, std::vector<std::string>& out) {
  if (n.IsScalar()) out.push_back(path);
  if (n.IsMap())
    for (auto it = n.begin(); it != n.end(); ++it)
      scalar_paths(it->second, path.empty() ? it->first.Scalar() : path + "." + it->first.Scalar(), out);
  if (n.IsSequence())
    for (size_t i = 0; i < n.size(); ++i) scalar_paths(n[i], path + "[" + std::to_string(i) + "]", out);
}
}  // namespace

TEST_CASE("scenario: reloading only what a sample touches gives the scenario a full load gives, for every number of the base") {
  const std::string file = GPUMM_SOURCE_DIR "/inputs/base.yaml";
  ScenarioTemplate t = ScenarioTemplate::from_file(file);
  ScenarioTemplate::Instantiator partial(t), full(t, false);
  std::vector<std::string> all;
  scalar_paths(YAML::LoadFile(file), "", all);
  // the numbers, up to 8 spread evenly over each firm and each other section (all of them
  // take half a minute)
  std::map<std::string, std::vector<std::string>> groups;
  for (const std::string& p : all) {
    try {
      t.value_at(p);
    } catch (const ScenarioError&) {
      continue;  // not a number (a name, a date, a list of ids)
    }
    const size_t a = p.find_first_of(".[");
    const size_t b = p.substr(0, a) == "firms" ? p.find_first_of(".[", a + 1) : a;
    groups[p.substr(0, b)].push_back(p);
  }
  std::vector<std::string> paths;
  for (const auto& [group, ps] : groups)
    for (size_t k = 0; k < std::min<size_t>(8, ps.size()); ++k) paths.push_back(ps[k * ps.size() / std::min<size_t>(8, ps.size())]);
  int numbers = 0, refused = 0;
  const auto outcome = [](ScenarioTemplate::Instantiator& make, const std::vector<std::pair<std::string, double>>& v) {
    try {
      return write_resolved_yaml(make(v), "test");
    } catch (const ScenarioError& e) {
      return std::string("error: ") + e.what();
    } catch (const std::exception& e) {
      return std::string("crash: ") + e.what();
    }
  };
  for (const std::string& p : paths) {
    const double x = t.value_at(p);
    ++numbers;
    // a larger value, and one that breaks most ranges (a share above 1, a negative amount)
    for (double y : {x * 1.25 + 1, -x - 2}) {
      const std::vector<std::pair<std::string, double>> v = {{p, y}};
      const std::string a = outcome(partial, v), b = outcome(full, v);
      CAPTURE(p);
      CAPTURE(y);
      CHECK(a == b);
      CHECK(a.rfind("crash: ", 0) == std::string::npos);
      refused += a.rfind("error: ", 0) == 0;
    }
  }
  CHECK(groups.size() > 20);
  CHECK(numbers > 150);
  CHECK(refused > 50);
  // two firms and two sections at once
  const std::vector<std::pair<std::string, double>> several = {{"firms.meta.capex.2027", 80},
                                                               {"firms.google.capex.2026", 95},
                                                               {"regions.us_east.interconnect_cap", 9},
                                                               {"market.spot.initial", 6}};
  CHECK(outcome(partial, several) == outcome(full, several));
  // every firm's first capex year (reloads its budget only), alone and with the whole firm
  std::set<std::string> seen;
  for (const std::string& p : all)
    if (p.find(".capex.") != std::string::npos && p.rfind("firms.", 0) == 0 &&
        std::count(p.begin(), p.end(), '.') == 3) {
      const std::string firm = p.substr(0, p.find(".capex."));
      if (!seen.insert(firm).second) continue;
      const double x = t.value_at(p);
      for (double y : {x * 0.5, -1.0}) {
        const std::vector<std::pair<std::string, double>> v = {{p, y}};
        CAPTURE(p);
        CHECK(outcome(partial, v) == outcome(full, v));
      }
      // with another number of the same firm: the whole firm is reloaded
      for (const std::string& q : groups[firm])
        if (q.find(".capex.") == std::string::npos) {
          const std::vector<std::pair<std::string, double>> both = {{p, x * 0.5}, {q, t.value_at(q) * 1.1}};
          CAPTURE(q);
          CHECK(outcome(partial, both) == outcome(full, both));
          break;
        }
    }
  // a firm's region weights, which services and workloads without regions of their own copy
  // (the sum stays 1), with a section named before the firm
  const std::vector<std::pair<std::string, double>> weights = {{"programs.openai_frontier.growth_per_year", 2.5},
                                                               {"firms.openai.regions.us_central", 0.5},
                                                               {"firms.openai.regions.us_east", 0.4}};
  const std::string a = outcome(partial, weights);
  CHECK(a.rfind("error: ", 0) == std::string::npos);
  CHECK(a == outcome(full, weights));
  // entries of a section reload alone: two of one section, and one whose section a firm's
  // weights reload whole
  const std::vector<std::vector<std::pair<std::string, double>>> entries = {
      {{"inference.chatgpt.tokens_per_user.growth_per_year", 2.0}, {"inference.gemini.peak_to_average", 1.7}},
      {{"regions.us_central.interconnect_cap", 8}, {"regions.us_east.pue", 1.3}, {"other_demand.google_workloads.h100e.2028", 1.5e7}},
      {{"inference.chatgpt.tokens_per_user.growth_per_year", 2.0}, {"firms.openai.regions.us_central", 0.5},
       {"firms.openai.regions.us_east", 0.4}}};
  for (const auto& v : entries) {
    const std::string got = outcome(partial, v);
    CAPTURE(v.front().first);
    CHECK(got.rfind("error: ", 0) == std::string::npos);
    CHECK(got == outcome(full, v));
  }
}

TEST_CASE("scenario: a firm's largest region is where it weighs most, of regions alike the id that sorts first") {
  // google weighs 0.5 in us_east and in europe: europe, whichever is written first
  std::string reversed = kValid;
  const std::string us = "  us_east: {pue: 1.25, interconnect_cap: 2 GW/y}\n", eu = "  europe: {pue: 1.3}\n";
  reversed.replace(reversed.find(us), us.size() + eu.size(), eu + us);
  for (const std::string& yaml : {kValid, reversed}) {
    const Scenario s = load_scenario_text(yaml, "s.yaml");
    CHECK(s.regions[static_cast<size_t>(s.largest_region(0))].id == "europe");
  }
  std::string leaning = kValid;
  leaning.replace(leaning.find("{us_east: 0.5, europe: 0.5}"), 27, "{us_east: 0.6, europe: 0.4}");
  const Scenario s = load_scenario_text(leaning, "s.yaml");
  CHECK(s.regions[static_cast<size_t>(s.largest_region(0))].id == "us_east");
  CHECK(s.prefers_region(0, 0, 1));
  CHECK_FALSE(s.prefers_region(0, 1, 0));
}
