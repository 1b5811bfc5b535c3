// The changes between two scenarios and the waterfall of their effects (`gpumm diff`).
#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "gpumm/compare.hpp"
#include "gpumm/scenario.hpp"
#include "scratch_dir.hpp"

using namespace gpumm;
namespace fs = std::filesystem;

namespace {

// This process's scratch folder, removed when the process ends.
const fs::path& scratch_root() {
  static const gpumm::testing::ScratchDir dir("gpumm-compare-test");
  return dir.path();
}

fs::path write(const std::string& name, const std::string& text) {
  const fs::path& dir = scratch_root();
  fs::create_directories(dir);
  std::ofstream(dir / name) << text;
  return dir / name;
}

// A seller with 1000 H100 in region a; a buyer with 500 H100e of inference work in a
// (1e9 users x 43.2 tokens a day / 86,400 / 1000 tokens per H100e-second) and nothing to run it.
const std::string kA =
    "start: 2025-01\nend: 2025-12-31\n"
    "generations:\n"
    "  h100: {it_power: 1 kW, first_shipment: 2020-01-01, peak_units_per_year: 1}\n"
    "regions:\n  a: {latency_group: west}\n  b: {latency_group: west}\n"
    "firms:\n"
    "  seller: {regions: {a: 1.0}, power_at_start: {a: 1 GW}, fleet_at_start: {h100: 1000}}\n"
    "  buyer: {regions: {a: 1.0}}\n"
    "inference:\n  chat:\n    firm: buyer\n    regions: {a: 1.0}\n"
    "    users: {saturation: 1e9, midpoint: 2000-01-01, steepness_per_year: 50}\n"
    "    tokens_per_user: {per_day: 43.2, at: 2025-01-01}\n"
    "    throughput: {tokens_per_h100e_second: 1000, at: 2025-01-01}\n"
    "contracts:\n"
    "  - {name: k1, seller: seller, buyer: buyer, region: a, start: 2025-03-01, end: 2025-08-31,\n"
    "     volume: {gpus: 100, generation: h100}, price: $2, take_or_pay: 1.0}\n"
    "  - {name: k2, seller: seller, buyer: buyer, region: a, start: 2025-03-01, end: 2025-08-31,\n"
    "     volume: {gpus: 50, generation: h100}, price: $2, take_or_pay: 1.0}\n";

ScenarioTemplate tmpl(const std::string& name, const std::string& text) {
  return ScenarioTemplate::from_file(write(name, text).string());
}

// A case over kA (written as a.yaml): `overrides` laid over it with `extends`.
ScenarioTemplate over_a(const std::string& name, const std::string& overrides) {
  write("a.yaml", kA);
  return tmpl(name, "extends: a.yaml\n" + overrides);
}

// A scenario as a run: its resolved YAML without its name and description.
std::string as_run(const Scenario& s) {
  const std::string yaml = write_resolved_yaml(s, "test");
  std::string out;
  std::istringstream in(yaml);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("name:", 0) != 0 && line.rfind("description:", 0) != 0) out += line + "\n";
  return out;
}

}  // namespace

TEST_CASE("compare: changes are listed by path in B's order, and making them all gives B") {
  const ScenarioTemplate a = tmpl("a.yaml", kA);
  const ScenarioTemplate b = over_a("b.yaml",
                                    "description: not a change\n"
                                    "firms:\n"
                                    "  seller: {fleet_at_start: {h100: 2000}}\n"
                                    "  third: {regions: {b: 1.0}}\n"
                                    "contracts:\n"
                                    "  - {name: k2, seller: seller, buyer: buyer, region: a, start: 2025-03-01, "
                                    "end: 2025-08-31, volume: {gpus: 50, generation: h100}, price: $3, take_or_pay: 1.0}\n"
                                    "  - {name: k3, seller: seller, buyer: third, region: b, start: 2025-03-01, "
                                    "end: 2025-08-31, volume: {gpus: 10, generation: h100}, price: $2, take_or_pay: 1.0}\n"
                                    "  - {name: k1, remove: true}\n");
  const auto changes = a.changes_to(b);
  REQUIRE(changes.size() == 5);
  CHECK(changes[0].path == "firms.seller.fleet_at_start");
  CHECK(changes[0].before == "{h100: 1000}");
  CHECK(changes[0].after == "{h100: 2000}");
  CHECK(changes[0].summary == "h100: 1000 -> 2000");
  CHECK(changes[1].path == "firms.third");  // a whole entry added
  CHECK(changes[1].before.empty());
  CHECK(changes[1].summary == "added: {regions: {b: 1.0}}");
  CHECK(changes[2].path == "contracts[k2].price");  // list entries go by name
  CHECK(changes[2].summary == "$2 -> $3");
  CHECK(changes[3].path == "contracts[k3]");
  CHECK(changes[4].path == "contracts[k1]");  // what B leaves out comes last
  CHECK(changes[4].after.empty());
  CHECK(changes[4].summary.rfind("removed: {name: k1, seller: seller, ", 0) == 0);

  CHECK(as_run(a.with_changes(b, {0, 1, 2, 3, 4})) == as_run(b.instantiate({})));
  CHECK(as_run(a.with_changes(b, {})) == as_run(a.instantiate({})));
  // one change: the seller's fleet only
  const Scenario one = a.with_changes(b, {0});
  CHECK(one.firms[0].fleet_at_start[0] == 2000);
  CHECK(one.nfirm() == 2);
  CHECK(one.contracts.size() == 2);
  // a contract with a firm that is not there does not load
  CHECK_THROWS_AS(a.with_changes(b, {3}), ScenarioError);
  CHECK(a.changes_to(a).empty());
  // A keeps the changes it last found (a waterfall asks at every run): to another document
  // they are found again, to B again once B is back, and a copy of A shares them
  CHECK(as_run(a.with_changes(b, {0})) == as_run(one));
  const ScenarioTemplate copy = a;
  CHECK(copy.changes_to(b).size() == 5);
  {
    const ScenarioTemplate gone = over_a("gone.yaml", "firms:\n  buyer: {fleet_at_start: {h100: 7}}\n");
    REQUIRE(copy.changes_to(gone).size() == 1);
    CHECK(copy.with_changes(gone, {0}).firms[1].fleet_at_start[0] == 7);
  }
  // a document made where the last one lived is compared, not taken for it
  const ScenarioTemplate next = over_a("next.yaml", "firms:\n  buyer: {fleet_at_start: {h100: 9}}\n");
  CHECK(a.with_changes(next, {0}).firms[1].fleet_at_start[0] == 9);
  CHECK(a.with_changes(b, {0}).firms[0].fleet_at_start[0] == 2000);
}

TEST_CASE("compare: where one document leaves a value to its default, the default is shown") {
  const ScenarioTemplate a = tmpl("a.yaml", kA);
  const ScenarioTemplate b = over_a("b_defaults.yaml",
                                    "firms:\n  seller: {build_lead_time: 36mo}\n"
                                    "inference:\n  chat:\n    tokens_per_user: {growth_per_year: 0.5}\n");
  const auto changes = a.changes_to(b);
  REQUIRE(changes.size() == 2);
  CHECK(changes[0].path == "firms.seller.build_lead_time");
  CHECK(changes[0].before == "24mo (default)");  // it said `added: 36mo`, hiding what A ran with
  CHECK(changes[0].after == "36mo");
  CHECK(changes[0].summary == "24mo (default) -> 36mo");
  CHECK(changes[1].path == "inference.chat.tokens_per_user");
  CHECK(changes[1].summary == "growth_per_year: 0 (default) -> 0.5");
  // the other way round, the default is where the value goes
  const auto back = b.changes_to(a);
  REQUIRE(back.size() == 2);
  CHECK(back[0].summary == "36mo -> 24mo (default)");
  CHECK(back[1].summary == "growth_per_year: 0.5 -> 0 (default)");
  // a whole entry has no default: it is added or removed
  const ScenarioTemplate c = over_a("c_entry.yaml", "firms:\n  third: {regions: {b: 1.0}}\n");
  CHECK(a.changes_to(c).at(0).summary == "added: {regions: {b: 1.0}}");
  CHECK(c.changes_to(a).at(0).summary == "removed: {regions: {b: 1.0}}");
}

TEST_CASE("compare: a waterfall's effects add up to B minus A, with alone effects and interactions") {
  const ScenarioTemplate a = tmpl("a.yaml", kA);
  // the buyer gets 500 H100 (installed, but without power they run nothing), then power
  const ScenarioTemplate b = over_a("b2.yaml",
                                    "firms:\n"
                                    "  buyer: {fleet_at_start: {h100: 500}, power_at_start: {a: 1 GW}}\n");
  const Waterfall w = waterfall(a, b, {"final_installed_h100e", "peak_unserved_h100e"});
  REQUIRE(w.changes.size() == 2);
  CHECK(w.changes[0].path == "firms.buyer.fleet_at_start");
  CHECK(w.changes[1].path == "firms.buyer.power_at_start");
  REQUIRE(w.steps.size() == 2);
  CHECK(w.runs == 5);  // A, B, two steps, the second step's change alone (the first's is its step)
  // installed: 1000 -> 1500 with the fleet; power adds none
  CHECK(w.start[0] == 1000);
  CHECK(w.effect(0, 0) == 500);
  CHECK(w.effect(1, 0) == 0);
  CHECK(w.interactions(0) == 0);
  // unserved: 500 until the buyer has both GPUs and power; neither alone serves anything
  CHECK(w.start[1] == doctest::Approx(500));
  CHECK(w.effect(0, 1) == 0);
  CHECK(w.effect(1, 1) == doctest::Approx(-500));
  CHECK(w.alone_effect(0, 1) == 0);
  CHECK(w.alone_effect(1, 1) == 0);
  CHECK(w.interactions(1) == doctest::Approx(-500));
  CHECK(w.end[1] == 0);
  for (size_t m = 0; m < 2; ++m) {
    double sum = 0;
    for (size_t k = 0; k < w.steps.size(); ++k) sum += w.effect(k, m);
    CHECK(sum == doctest::Approx(w.end[m] - w.start[m]).epsilon(1e-12));
    CHECK(w.steps.back().after[m] == w.end[m]);
  }
}

TEST_CASE("compare: a change that needs a later one makes one step with it, and one that cannot load alone has no alone effect") {
  SUBCASE("the buyer moves to a region that a later change adds") {
    // firms before regions: the move comes first
    const std::string_view all = kA;
    const size_t regions = all.find("regions:\n  a:"), firms = all.find("firms:\n"), inference = all.find("inference:");
    std::string text(all.substr(0, regions));
    text += all.substr(firms, inference - firms);
    text += all.substr(regions, firms - regions);
    text += all.substr(inference);
    const ScenarioTemplate a = tmpl("a3.yaml", text);
    const ScenarioTemplate b = tmpl("b3.yaml",
                                    "extends: a3.yaml\n"
                                    "firms:\n  seller: {fleet_at_start: {h100: 2000}}\n  buyer: {regions: {a: null, d: 1.0}}\n"
                                    "regions:\n  d: {latency_group: east}\n");
    const Waterfall w = waterfall(a, b, {"final_installed_h100e"});
    REQUIRE(w.changes.size() == 3);
    CHECK(w.changes[1].path == "firms.buyer.regions");
    CHECK(w.changes[2].path == "regions.d");
    REQUIRE(w.steps.size() == 2);
    CHECK(w.steps[0].changes == std::vector<size_t>{0});
    CHECK(w.steps[1].changes == std::vector<size_t>{1, 2});
    CHECK(w.effect(0, 0) == 1000);
    CHECK(w.alone_effect(1, 0) == 0);  // the move and its region, on A
  }
  SUBCASE("the buyer moves to a region that an earlier change adds") {
    const ScenarioTemplate a = tmpl("a.yaml", kA);
    const ScenarioTemplate b = over_a("b4.yaml",
                                      "regions:\n  d: {latency_group: east}\n"
                                      "firms:\n  buyer: {regions: {a: null, d: 1.0}}\n");
    const Waterfall w = waterfall(a, b, {"final_installed_h100e"});
    REQUIRE(w.steps.size() == 2);
    CHECK(w.steps[1].changes == std::vector<size_t>{1});
    CHECK(std::isnan(w.alone_effect(1, 0)));  // the move alone names a region A does not have
  }
}

TEST_CASE("compare: a waterfall on many threads is the one on a single thread, and reports each run as it ends") {
  const ScenarioTemplate a = tmpl("a.yaml", kA);
  // three changes, the last of which cannot load alone (it names the region the first adds)
  const ScenarioTemplate b = over_a("b5.yaml",
                                    "regions:\n  d: {latency_group: east}\n"
                                    "firms:\n  seller: {fleet_at_start: {h100: 2000}}\n"
                                    "  buyer: {regions: {a: null, d: 1.0}}\n");
  const std::vector<std::string> metrics = {"final_installed_h100e", "peak_unserved_h100e"};
  const Waterfall one = waterfall(a, b, metrics, std::nullopt, 1);
  std::vector<std::pair<int, int>> calls;
  const Waterfall many = waterfall(a, b, metrics, std::nullopt, 3, [&](int done, int total) { calls.emplace_back(done, total); });
  REQUIRE(one.steps.size() == many.steps.size());
  CHECK(one.runs == many.runs);
  CHECK(one.start == many.start);
  CHECK(one.end == many.end);
  CHECK(one.from == many.from);
  CHECK(one.warnings_to == many.warnings_to);
  bool some_alone_missing = false;
  for (size_t k = 0; k < one.steps.size(); ++k) {
    CHECK(one.steps[k].changes == many.steps[k].changes);
    CHECK(one.steps[k].after == many.steps[k].after);
    for (size_t m = 0; m < metrics.size(); ++m) {
      const double x = one.steps[k].alone[m], y = many.steps[k].alone[m];
      some_alone_missing = some_alone_missing || std::isnan(x);
      CHECK((x == y || (std::isnan(x) && std::isnan(y))));
    }
  }
  CHECK(some_alone_missing);
  // a call per run as it ends, counting up, and one for the document that does not load (a run
  // fewer to make); the total is at most A, B and two per change but the first, and at the
  // last call the runs made
  CHECK(many.runs == 6);  // A, B, three steps, the second step alone
  REQUIRE(calls.size() == 7);
  CHECK(calls.front() == std::pair<int, int>{1, 7});
  for (size_t k = 1; k < calls.size(); ++k) {
    CHECK(calls[k].first - calls[k - 1].first == (calls[k].second < calls[k - 1].second ? 0 : 1));
    CHECK(calls[k].first <= calls[k].second);
  }
  CHECK(calls.back() == std::pair<int, int>{many.runs, many.runs});
}

TEST_CASE("compare: scenarios that differ only in the order of their firms get an entry-order step") {
  // three firms whose fleets sum to 0.6 H100e in one order and 0.6000000000000001 in the other
  const auto firms = [](const std::vector<std::pair<std::string, std::string>>& f) {
    std::string s = "start: 2025-01\nend: 2025-03-31\n"
                    "generations:\n  h100: {it_power: 1 kW, first_shipment: 2020-01-01, peak_units_per_year: 1}\n"
                    "regions:\n  a: {latency_group: west}\nfirms:\n";
    for (const auto& [id, units] : f) s += "  " + id + ": {regions: {a: 1.0}, fleet_at_start: {h100: " + units + "}}\n";
    return s;
  };
  const ScenarioTemplate a = tmpl("o1.yaml", firms({{"x", "0.1"}, {"y", "0.2"}, {"z", "0.3"}}));
  const ScenarioTemplate b = tmpl("o2.yaml", firms({{"z", "0.3"}, {"y", "0.2"}, {"x", "0.1"}}));
  CHECK(a.changes_to(b).empty());
  const Waterfall w = waterfall(a, b, {"final_installed_h100e"});
  REQUIRE(w.start[0] != w.end[0]);
  REQUIRE(w.steps.size() == 1);
  CHECK(w.steps[0].changes.empty());
  CHECK(w.steps[0].after[0] == w.end[0]);
  // and the same document twice needs no step at all
  CHECK(waterfall(a, a, {"final_installed_h100e"}).steps.empty());
}
