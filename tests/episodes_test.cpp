#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

#include "gpumm/diagnosis.hpp"
#include "gpumm/episodes.hpp"
#include "gpumm/scenario.hpp"
#include "gpumm/simulate.hpp"

using namespace gpumm;

namespace {
// One firm with 1000 old GPUs (1 H100e each) in region a (west) and nothing in c (east).
std::string firm_with(const std::string& fleet, const std::string& demand) {
  return "start: 2025-01\nend: 2025-12-31\n"
         "generations:\n"
         "  old: {it_power: 1 kW, first_shipment: 2020-01-01, peak_units_per_year: 1}\n"
         "  new: {it_power: 1 kW, train_h100e: 2, first_shipment: 2024-01-01, peak_units_per_year: 1}\n"
         "regions:\n  a: {latency_group: west}\n  c: {latency_group: east}\n"
         "firms:\n"
         "  f: {regions: {a: 1.0}, power_at_start: {a: 1 GW}, fleet_at_start: {" + fleet + "}}\n" + demand;
}

struct Run {
  Scenario s;
  RunResult r;
  SeriesDiagnosis d;
  std::vector<Episode> e;
  explicit Run(const std::string& yaml) : s(load_scenario_text(yaml, "episodes.yaml")), r(simulate(s)) {
    d = diagnose_run(s, r);
    e = find_episodes(s, r, d);
  }
};
Run run(const std::string& yaml) { return Run(yaml); }

// An inference service `name` of `firm` in `region`: 1e9 users x `per_day` tokens a day /
// 86,400 / 1000 tokens per H100e-second (43.2 a day: 500 H100e of work).
std::string service(const std::string& name, const std::string& firm, const std::string& region, double per_day) {
  return "  " + name + ":\n    firm: " + firm + "\n    regions: {" + region + ": 1.0}\n"
         "    users: {saturation: 1e9, midpoint: 2000-01-01, steepness_per_year: 50}\n"
         "    tokens_per_user: {per_day: " + std::to_string(per_day) + ", at: 2025-01-01}\n"
         "    throughput: {tokens_per_h100e_second: 1000, at: 2025-01-01}\n";
}
// The `inference` section with one such service, `chat`.
std::string inference(const std::string& firm, const std::string& region, double per_day) {
  return "inference:\n" + service("chat", firm, region, per_day);
}
}  // namespace

TEST_CASE("episodes: a slipped training project leaves its capacity idle, and is named") {
  Run x = run(firm_with("old: 1000",
                        "other_demand:\n  base: {firm: f, h100e: {2025: 200}}\n"
                        "projects:\n  - {name: p, firm: f, start: 2025-02-01, duration: 3mo, gpus: {generation: old, count: 800},\n"
                        "     delay: {probability: 1, distribution: fixed, mean: 59d}}\n"));
  // Jan: 800 idle (weak demand); Feb-Mar: 800 idle while p slipped to April; Apr-Jun: p runs;
  // Jul-Dec: 800 idle again
  REQUIRE(x.e.size() == 2);
  const Episode& first = x.e[0];
  CHECK(first.first == 0);
  CHECK(first.last == 2);
  CHECK(first.peak_h100e == doctest::Approx(800));
  CHECK(first.slipped_project_share == doctest::Approx(59.0 / 90));  // Feb and Mar of Jan-Mar, by days
  CHECK(first.weak_demand_share == doctest::Approx(31.0 / 90));
  CHECK(first.main_cause() == "slipped_training_project");
  CHECK(x.e[1].first == 6);
  CHECK(x.e[1].main_cause() == "weak_demand");
  // H100e-months: 800 over Jan-Mar, in months of 365.2425 / 12 days
  CHECK(first.h100e_months == doctest::Approx(800 * 90 / (365.2425 / 12)));
  // explain gives the episode's causes and the month's: February's spare is all the slip's
  const std::string text = explain_surplus(x.s, x.r, x.d, x.e, 0, 1);
  CHECK(text.find("\nCauses of the episode's spare capacity (idle or sold): slipped training project 66%, ") !=
        std::string::npos);
  // the causes largest first, then those of 0% named together
  CHECK(text.find("\nCauses of this month's idle and sold capacity: slipped training project 100%; 0%: take-or-pay "
                  "excess, generation transition, ") != std::string::npos);
}

TEST_CASE("episodes: a slipped project that the firm could not have held explains none of its idle capacity") {
  // p needs 1500 GPUs in one cluster; f has 1000: had p not slipped, it would have waited all
  // the same, so the idle GPUs of Feb-Mar are weak demand, not the slip. From its slipped
  // start in April it waits, unserved, and f's balance is negative (no episode).
  const std::string slipped = "projects:\n  - {name: p, firm: f, start: 2025-02-01, duration: 3mo, gpus: {generation: old, count: 1500},\n"
                              "     delay: {probability: 1, distribution: fixed, mean: 59d}";
  Run x = run(firm_with("old: 1000", slipped + "}\n"));
  const FirmRecord& feb = x.r.firm_records[1];
  CHECK(feb.idle_h100e == 1000);
  CHECK(feb.idle_slipped_project == 0);
  CHECK(feb.idle_weak_demand == 1000);
  REQUIRE(x.e.size() == 1);
  CHECK(x.e[0].last == 2);
  CHECK(x.e[0].slipped_project_share == 0);
  CHECK(x.e[0].main_cause() == "weak_demand");
  // the same with 1000 GPUs in each of two regions: not in one cluster, but spread over both
  // (contiguous: false) the firm could have held it, and the slip explains Feb-Mar
  const std::string two = "start: 2025-01\nend: 2025-12-31\n"
                          "generations:\n  old: {it_power: 1 kW, first_shipment: 2020-01-01, peak_units_per_year: 1}\n"
                          "regions:\n  a: {latency_group: west}\n  c: {latency_group: west}\n"
                          "firms:\n  f: {regions: {a: 0.5, c: 0.5}, power_at_start: {a: 1 GW, c: 1 GW}, fleet_at_start: {old: 2000}}\n" +
                          slipped;
  Run one_cluster = run(two + "}\n");
  CHECK(one_cluster.r.firm_records[1].idle_slipped_project == 0);
  Run spread = run(two + ", contiguous: false}\n");
  CHECK(spread.r.firm_records[1].idle_h100e == 2000);
  CHECK(spread.r.firm_records[1].idle_slipped_project == 1500);  // Feb: the whole month in p's planned window
  CHECK(spread.r.firm_records[1].idle_weak_demand == 500);
}

TEST_CASE("episodes: idle old generations while newer-only training waits is a generation transition") {
  Run x = run(firm_with("old: 1000",
                        "projects:\n  - {name: p, firm: f, start: 2025-01-01, duration: 3mo, gpus: {generation: old, count: 600},\n"
                        "     min_generation: new}\n"));
  // p cannot use the old GPUs: 600 unserved, 1000 idle, of which 600 are a generation transition
  const FirmRecord& rec = x.r.firm_records[0];
  CHECK(rec.idle_h100e == 1000);
  CHECK(rec.unserved_h100e == 600);
  CHECK(rec.idle_generation_transition == 600);
  CHECK(rec.idle_weak_demand == 400);
  REQUIRE_FALSE(x.e.empty());
  CHECK(x.e[0].generation_transition_share == doctest::Approx(0.6));
}

TEST_CASE("episodes: idle GPUs of a cluster that is incomplete for want of power are stranded capacity") {
  // 1000 GPUs of 1 kW, power for 600 of them: 600 deployed, 400 stranded. A run needing 800
  // in one cluster waits: the 600 deployed sit idle because the other 200 have no power.
  std::string yaml = firm_with("old: 1000", "projects:\n  - {name: p, firm: f, start: 2025-01-01, duration: 3mo, gpus: {generation: old, count: 800}}\n");
  yaml.replace(yaml.find("power_at_start: {a: 1 GW}"), 25, "power_at_start: {a: 0.6 MW}");
  yaml.replace(yaml.find("a: {latency_group: west}"), 24, "a: {latency_group: west, pue: 1.0}");
  Run x = run(yaml);
  const FirmRecord& rec = x.r.firm_records[0];
  REQUIRE(x.r.periods[0].deployed_h100e == doctest::Approx(600));
  CHECK(x.r.periods[0].stranded_power_gpus == doctest::Approx(400));
  CHECK(rec.idle_h100e == doctest::Approx(600));
  CHECK(rec.unserved_h100e == doctest::Approx(800));
  CHECK(rec.idle_stranded == doctest::Approx(600));
  CHECK(rec.idle_region_mismatch == doctest::Approx(0));
  CHECK(rec.idle_weak_demand == doctest::Approx(0));
  // a run of 1200 would not fit even with the stranded GPUs: not stranded, a mismatch
  std::string big = yaml;
  big.replace(big.find("count: 800"), 10, "count: 1200");
  Run y = run(big);
  CHECK(y.r.firm_records[0].idle_stranded == 0);
  CHECK(y.r.firm_records[0].idle_region_mismatch == doctest::Approx(600));
}

TEST_CASE("episodes: idle in one latency group while demand in another goes unserved is a region mismatch") {
  Run x = run(firm_with("old: 1000",
                        inference("f", "c", 43.2)));
  // 500 inference H100e wanted in the east, where the firm has nothing
  const FirmRecord& rec = x.r.firm_records[0];
  CHECK(rec.unserved_h100e == doctest::Approx(500));
  CHECK(rec.idle_region_mismatch == doctest::Approx(500));
  CHECK(rec.idle_weak_demand == doctest::Approx(500));
  CHECK(rec.balance_h100e() == doctest::Approx(500));
}

TEST_CASE("episodes: explain answers with the evidence") {
  Run x = run(firm_with("old: 1000", "other_demand:\n  base: {firm: f, h100e: {2025: 200}}\n"));
  const std::string text = explain_surplus(x.s, x.r, x.d, x.e, 0, 3);
  // a lone firm with steady 80% idle: the market itself is oversupplied
  CHECK(x.d.regimes[3] == Regime::oversupply);
  CHECK(text.rfind("Yes: f's surplus in 2025-04 comes during market oversupply", 0) == 0);
  CHECK(text.find("idle 800") != std::string::npos);
  CHECK(text.find("weak demand 100%") != std::string::npos);
}

TEST_CASE("episodes: explain gives the answer an analyst would have given then, where the real-time reading parts it") {
  // the lone firm with 80% idle, oversupply after the fact; read in real time (set here by hand)
  // as balanced, then the answer then was No
  Run x = run(firm_with("old: 1000", "other_demand:\n  base: {firm: f, h100e: {2025: 200}}\n"));
  REQUIRE(x.d.regimes[3] == Regime::oversupply);
  const size_t n = x.d.regimes.size();
  TrendRevision& rev = x.d.revision;
  rev.realtime.assign(n, 0.01);
  rev.realtime_run.assign(n, 0);
  rev.realtime_regimes.assign(n, Regime::balanced);
  std::string text = explain_surplus(x.s, x.r, x.d, x.e, 0, 3);
  CHECK(text.rfind("Yes: f's surplus in 2025-04", 0) == 0);
  CHECK(text.find("\nAsked then, from the months up to 2025-04 only, the answer would have been No: the market read "
                  "then as balanced; the months after show it was in oversupply.\n") != std::string::npos);
  // the other way: balanced after the fact, oversupply as read then
  x.d.regimes.assign(n, Regime::balanced);
  rev.realtime.assign(n, 0.8);
  rev.realtime_regimes.assign(n, Regime::oversupply);
  text = explain_surplus(x.s, x.r, x.d, x.e, 0, 3);
  CHECK(text.rfind("No: f's surplus in 2025-04 is a local, temporary mismatch; the market is balanced.", 0) == 0);
  CHECK(text.find("\nAsked then, from the months up to 2025-04 only, the answer would have been Yes: the surplus came "
                  "during what read then as oversupply; the months after show it was not.\n") != std::string::npos);
  // the same reading both ways: nothing to add
  rev.realtime_regimes.assign(n, Regime::balanced);
  CHECK(explain_surplus(x.s, x.r, x.d, x.e, 0, 3).find("Asked then") == std::string::npos);
}

TEST_CASE("episodes: a surplus too small for an episode is explained with this month's causes") {
  // 1000 H100e deployed, 990 used: a balance of 10, 1% of the fleet, under the 2% of an episode
  Run x = run(firm_with("old: 1000", "other_demand:\n  base: {firm: f, h100e: {2025: 990}}\n"));
  CHECK(x.e.empty());
  const std::string text = explain_surplus(x.s, x.r, x.d, x.e, 0, 3);
  CHECK(text.find("balance 10.") != std::string::npos);
  CHECK(text.find("No surplus episode: the balance is 1.00% of its deployed capacity, below the 2% an episode needs.") !=
        std::string::npos);
  CHECK(text.find("Causes of this month's idle and sold capacity:") != std::string::npos);
  CHECK(text.find("weak demand 100%") != std::string::npos);
}

TEST_CASE("episodes: idle at one firm while another's demand goes unserved is a mismatch, not weak demand") {
  // f has 1000 idle H100e in the west; g wants 300 H100e of inference in the east, unserved
  std::string yaml = firm_with("old: 1000",
                               "  g: {regions: {c: 1.0}}\n" +
                               inference("g", "c", 25.92));
  Run x = run(yaml);
  const FirmRecord& f = x.r.firm_records[0];
  CHECK(f.idle_h100e == 1000);
  CHECK(f.idle_region_mismatch == doctest::Approx(300));
  CHECK(f.idle_weak_demand == doctest::Approx(700));
}

TEST_CASE("episodes: idle older GPUs at one firm while another's training waits for newer ones is a generation transition") {
  std::string yaml = firm_with("old: 1000",
                               "  g: {regions: {a: 1.0}}\n"
                               "projects:\n  - {name: p, firm: g, start: 2025-01-01, duration: 3mo, gpus: {generation: new, count: 200},\n"
                               "     min_generation: new}\n");
  Run x = run(yaml);
  // g's run needs 400 training H100e on `new` GPUs; f has 1000 idle `old` ones
  const FirmRecord& f = x.r.firm_records[0];
  CHECK(f.idle_h100e == 1000);
  CHECK(f.idle_generation_transition == doctest::Approx(400));
  CHECK(f.idle_weak_demand == doctest::Approx(600));
}

TEST_CASE("episodes: spare capacity the market sold to a firm short of capacity is named so, not weak demand or a mismatch") {
  // f offers its 1000 idle H100e; g, in the same region with no capacity, wants 600 H100e of
  // inference and buys them: f's spare is 1000 (600 sold, 400 idle), and no demand is left
  // unserved for the idle 400 to have missed
  std::string yaml = firm_with("old: 1000",
                               "  g: {regions: {a: 1.0}}\n" + inference("g", "a", 51.84) +
                                   "market: {}\n");
  yaml.replace(yaml.find("fleet_at_start"), 14, "sells_surplus: true, fleet_at_start");
  Run x = run(yaml);
  const FirmRecord& f = x.r.firm_records[0];
  const FirmRecord& g = x.r.firm_records[1];
  REQUIRE(f.sold_h100e == doctest::Approx(600));
  CHECK(g.unserved_h100e == doctest::Approx(0));
  CHECK(f.idle_h100e == doctest::Approx(400));
  CHECK(f.spare_h100e() == doctest::Approx(1000));
  CHECK(f.idle_sold_to_short_firms == doctest::Approx(600));
  CHECK(f.idle_region_mismatch == 0);
  CHECK(f.idle_custom_accelerator == 0);
  CHECK(f.idle_weak_demand == doctest::Approx(400));
  // the whole year is one episode of f's, 60% sold
  REQUIRE(x.e.size() == 1);
  CHECK(x.e[0].sold_to_short_firms_share == doctest::Approx(0.6));
  CHECK(x.e[0].weak_demand_share == doctest::Approx(0.4));
  CHECK(x.e[0].main_cause() == "sold_to_short_firms");
  // over the run: 1000 H100e spare for the 365 days of 2025, in months of 365.2425 / 12 days
  const SpareTotals all = spare_totals(x.r);
  CHECK(all.h100e_months == doctest::Approx(1000 * 365 / (365.2425 / 12)));
  CHECK(all.largest(2) == "60% sold to firms short of capacity, 40% weak demand");
  CHECK(all.largest(1) == "60% sold to firms short of capacity");
  CHECK(all.largest(4) == all.largest(2));  // causes of 0% are not named among the largest
  const std::string text = explain_surplus(x.s, x.r, x.d, x.e, 0, 3);
  CHECK(text.find(": sold to firms short of capacity 60%, weak demand 40%; 0%: slipped training project, take-or-pay "
                  "excess, generation transition, stranded (a cluster incomplete for want of power, building or "
                  "network), custom accelerators no firm short of capacity may use, region mismatch.") !=
        std::string::npos);
}

TEST_CASE("episodes: spare capacity is first what the firm's own unserved demand elsewhere could not reach, then what it sold") {
  // f has 1000 H100e in the west and wants 300 of inference in the east, out of reach; g, in the
  // west, buys 600 of f's. f's spare (1000: 400 idle, 600 sold) is 300 region mismatch (its own
  // demand elsewhere), 600 sold to a firm short of capacity and 100 weak demand.
  std::string yaml = firm_with("old: 1000",
                               "  g: {regions: {a: 1.0}}\n" + inference("g", "a", 51.84) +
                                   service("mine", "f", "c", 25.92) + "market: {}\n");
  yaml.replace(yaml.find("fleet_at_start"), 14, "sells_surplus: true, fleet_at_start");
  Run x = run(yaml);
  const FirmRecord& f = x.r.firm_records[0];
  REQUIRE(f.sold_h100e == doctest::Approx(600));
  REQUIRE(f.unserved_h100e == doctest::Approx(300));
  CHECK(f.idle_h100e == doctest::Approx(400));
  CHECK(f.idle_region_mismatch == doctest::Approx(300));
  CHECK(f.idle_sold_to_short_firms == doctest::Approx(600));
  CHECK(f.idle_weak_demand == doctest::Approx(100));
}

TEST_CASE("episodes: idle custom accelerators while another firm's demand goes unserved are named, in proportion to the firm's idle capacity on them") {
  // f has 500 merchant GPUs and 500 of its own custom chips idle in the west; g wants 300 H100e
  // of inference in the east, unserved. 300 of f's idle capacity is a mismatch with g's demand:
  // half of it on custom chips (500 of f's 1000 idle H100e), half a region mismatch.
  std::string yaml = firm_with("old: 500, tpu: 500",
                               "  g: {regions: {c: 1.0}}\n" +
                               inference("g", "c", 25.92));
  yaml.replace(yaml.find("generations:\n"), 13,
               "generations:\n  tpu: {custom_for: f, it_power: 1 kW, first_shipment: 2020-01-01, peak_units_per_year: 1}\n");
  Run x = run(yaml);
  const FirmRecord& f = x.r.firm_records[0];
  REQUIRE(f.idle_h100e == doctest::Approx(1000));
  REQUIRE(x.r.firm_records[1].unserved_h100e == doctest::Approx(300));
  CHECK(f.idle_sold_to_short_firms == 0);
  CHECK(f.idle_custom_accelerator == doctest::Approx(150));
  CHECK(f.idle_region_mismatch == doctest::Approx(150));
  CHECK(f.idle_weak_demand == doctest::Approx(700));
  // all custom: the whole mismatch is on custom chips
  std::string custom_only = yaml;
  custom_only.replace(custom_only.find("old: 500, tpu: 500"), 18, "tpu: 1000");
  Run y = run(custom_only);
  CHECK(y.r.firm_records[0].idle_custom_accelerator == doctest::Approx(300));
  CHECK(y.r.firm_records[0].idle_region_mismatch == doctest::Approx(0));
}

TEST_CASE("episodes: the answer as data follows the firm's balance and the market's regime") {
  FirmRecord rec;
  rec.idle_h100e = 10;
  rec.sold_h100e = 5;
  rec.unserved_h100e = 12;  // balance 10 + 5 - 12 = 3
  CHECK(surplus_answer(rec, Regime::oversupply) == SurplusAnswer::oversupply);
  CHECK(surplus_answer(rec, Regime::structural_shortage) == SurplusAnswer::mismatch);
  CHECK(surplus_answer(rec, Regime::balanced) == SurplusAnswer::mismatch);
  rec.bought_h100e = 3;  // balance 0: no surplus, whatever the market
  CHECK(surplus_answer(rec, Regime::oversupply) == SurplusAnswer::no_surplus);
}

TEST_CASE("episodes: asked across seeds each run is the scenario with the next seed") {
  // p (800 of f's 1000 GPUs, Feb-Apr) slips by 59 days with probability 0.5: in February f's
  // balance is 800 where it slipped (only the other work's 200 runs) and 0 where it did not
  const Scenario s = load_scenario_text(
      firm_with("old: 1000",
                "other_demand:\n  base: {firm: f, h100e: {2025: 200}}\n"
                "projects:\n  - {name: p, firm: f, start: 2025-02-01, duration: 3mo, gpus: {generation: old, count: 800},\n"
                "     delay: {probability: 0.5, distribution: fixed, mean: 59d}}\n") + "seed: 11\n",
      "episodes.yaml");
  const int t = 1, runs = 24;
  int calls = 0;
  const SeedSpread spread = across_seeds(s, 0, t, runs, 2, [&](int done, int total) {
    CHECK(total == runs);
    CHECK(done == ++calls);  // one call at a time, counting up
  });
  CHECK(calls == runs);
  CHECK(spread.first_seed == 11);
  CHECK(spread.runs == runs);
  REQUIRE(spread.balances.size() == static_cast<size_t>(runs));
  int slipped = 0;
  std::array<int, 3> realtime{};
  for (int k = 0; k < runs; ++k) {
    CAPTURE(k);
    Scenario one = s;
    one.seed = 11 + static_cast<std::uint64_t>(k);
    const RunResult r = simulate(one);
    ++realtime[static_cast<size_t>(diagnose_run_revised(one, r).revision.realtime_regimes[static_cast<size_t>(t)])];
    CHECK(spread.balances[static_cast<size_t>(k)] == r.firm_records[static_cast<size_t>(t)].balance_h100e());
    const double b = spread.balances[static_cast<size_t>(k)];
    CHECK((b == doctest::Approx(0) || b == doctest::Approx(800)));
    slipped += b > 400 ? 1 : 0;
  }
  // both draws come among 24 seeds; every run answers once and has one regime
  CHECK(slipped > 0);
  CHECK(slipped < runs);
  CHECK(spread.answers[static_cast<size_t>(SurplusAnswer::no_surplus)] == runs - slipped);
  CHECK(spread.answers[0] + spread.answers[1] + spread.answers[2] == runs);
  CHECK(spread.regimes[0] + spread.regimes[1] + spread.regimes[2] == runs);
  CHECK(spread.realtime_regimes == realtime);  // each run's regime read in real time at t, counted
  CHECK(spread.answers_then[0] + spread.answers_then[1] + spread.answers_then[2] == runs);
  CHECK(spread.answers_then[static_cast<size_t>(SurplusAnswer::no_surplus)] ==
        spread.answers[static_cast<size_t>(SurplusAnswer::no_surplus)]);  // no surplus is no surplus, read when it may
  CHECK(spread.in_episode <= slipped);
  // the same on one thread or three
  const SeedSpread one = across_seeds(s, 0, t, runs, 1), three = across_seeds(s, 0, t, runs, 3);
  CHECK(one.balances == spread.balances);
  CHECK(three.balances == spread.balances);
  CHECK(one.answers == spread.answers);
  CHECK(three.regimes == spread.regimes);
  CHECK(three.realtime_regimes == spread.realtime_regimes);
  CHECK(three.in_episode == spread.in_episode);
  // the text counts them and names the seeds
  const std::string text = explain_across_seeds(s, Calendar(s.start, s.end, s.step), spread, 0, t);
  CHECK(text.rfind("Across 24 seeds (11 to 34; only the slips and random draws differ): ", 0) == 0);
  // seeds past the largest a scenario holds are refused
  Scenario last = s;
  last.seed = kMaxSeed;
  CHECK_THROWS_AS(across_seeds(last, 0, t, 2), std::invalid_argument);
  CHECK(across_seeds(last, 0, t, 1).first_seed == kMaxSeed);
}
