// The model's invariants (DESIGN §3-§5) hold not only on the base scenario but on scenarios far
// from it: the base with many of its numbers drawn at random from a tenth to ten times their
// values (and another seed for its slips), the bundled cases, and the base at a weekly and a
// quarterly step. A draw cannot leave the scenario invalid: every number drawn is one whose
// range has no upper bound, or is kept or drawn within its range.
// (Run by hand with 1,500 draws from a fiftieth to 30 times, and with 800 on the base by
// quarters with sampled builds, they held as well.)
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "gpumm/scenario.hpp"
#include "gpumm/simulate.hpp"
#include "slurp.hpp"

using namespace gpumm;

namespace {

// Each period's invariants; the first one broken is reported with its period and the values.
class InvariantCheck {
 public:
  explicit InvariantCheck(const Scenario& s) : s_(s) {}

  void operator()(int t, const State& st, const PeriodSummary& sum) {
    if (!broken_.empty()) return;
    const auto fail = [&](const std::string& what, double a, double b) {
      broken_ = "period " + std::to_string(t) + ": " + what + " (" + std::to_string(a) + " vs " + std::to_string(b) + ")";
    };
    const auto close = [](double a, double b, double rel) { return std::abs(a - b) <= rel * (1 + std::abs(a) + std::abs(b)); };
    // stocks: never negative; deployed within installed; stranded the difference
    double backlog = 0, on_order = 0, idle = 0, deployed_h = 0;
    for (size_t i = 0; i < st.installed.size(); ++i) {
      const double h = s_.generations[i % static_cast<size_t>(st.ngen)].train_h100e;
      for (double x : {st.installed[i], st.backlog[i], st.on_order[i], st.deployed[i], st.used_training[i],
                       st.used_inference[i], st.used_other[i], st.idle[i]})
        if (!(x >= 0)) return fail("a stock, use or idle capacity below zero at index " + std::to_string(i), x, 0);
      if (st.deployed[i] > st.installed[i] * (1 + 1e-12) + 1e-9)
        return fail("deployed above installed at index " + std::to_string(i), st.deployed[i], st.installed[i]);
      if (!close(st.installed[i] - st.deployed[i], st.stranded[i], 1e-9))
        return fail("stranded is not installed - deployed at index " + std::to_string(i), st.stranded[i],
                    st.installed[i] - st.deployed[i]);
      backlog += st.backlog[i];
      on_order += st.on_order[i];
      idle += st.idle[i] * h;
      deployed_h += st.deployed[i] * h;
    }
    for (size_t c = 0; c < st.energized_mw.size(); ++c)
      for (double x : {st.energized_mw[c], st.grid_queue_mw[c], st.it_built_mw[c], st.usable_it_mw[c], st.ports[c],
                       st.port_backlog[c]})
        if (!(x >= 0)) return fail("a cell's power, building or ports below zero", x, 0);
    // orders: delivered, waiting, still on order or rolled over to a successor; never lost
    const double accounted = st.delivered_total + backlog + on_order + st.rolled_over_total;
    if (!close(accounted, st.ordered_total, 1e-9)) return fail("orders lost or made up", accounted, st.ordered_total);
    // demand: what is served and what is not make it up
    if (!(sum.served_h100e >= 0 && sum.unserved_h100e >= 0)) return fail("served or unserved below zero", sum.served_h100e, sum.unserved_h100e);
    if (!close(sum.served_h100e + sum.unserved_h100e, sum.demand_h100e(), 1e-9))
      return fail("served + unserved is not demand", sum.served_h100e + sum.unserved_h100e, sum.demand_h100e());
    // capacity: idle within deployed (contracts move GPUs between firms, not into being)
    if (!close(idle, sum.idle_h100e, 1e-9)) return fail("idle H100e: the pairs and the summary differ", idle, sum.idle_h100e);
    if (sum.idle_h100e > deployed_h * (1 + 1e-9) + 1e-6) return fail("idle above deployed", sum.idle_h100e, deployed_h);
    // the market: capacity matched within what was offered (training H100e, by region and
    // generation); of the bids (H100e of work, by region), what went unmet at most all of them
    for (size_t k = 0; k < st.market_offers_h100e.size(); ++k)
      if (!(st.market_matched_h100e[k] >= 0 && st.market_matched_h100e[k] <= st.market_offers_h100e[k] * (1 + 1e-9) + 1e-6))
        return fail("matched outside [0, offered] in a region and generation", st.market_matched_h100e[k],
                    st.market_offers_h100e[k]);
    for (size_t r = 0; r < st.market_bids_h100e.size(); ++r)
      if (!(st.market_unmet_h100e[r] >= 0 && st.market_unmet_h100e[r] <= st.market_bids_h100e[r] * (1 + 1e-9) + 1e-6))
        return fail("unmet outside [0, bids] in a region", st.market_unmet_h100e[r], st.market_bids_h100e[r]);
    // prices within their floor and cap
    if (s_.market.enabled)
      for (double p : st.spot_by_gen)
        if (!(p >= s_.market.spot_floor * (1 - 1e-12) && p <= s_.market.spot_cap * (1 + 1e-12)))
          return fail("a spot price outside its floor and cap", p, s_.market.spot_cap);
    // each firm's spare capacity (idle or sold) is split into its causes, none below zero
    for (size_t f = 0; f < s_.firms.size(); ++f) {
      const FirmRecord& r = st.firm_records[f];
      const double parts[] = {r.idle_slipped_project, r.idle_take_or_pay, r.idle_generation_transition, r.idle_stranded,
                              r.idle_sold_to_short_firms, r.idle_custom_accelerator, r.idle_region_mismatch, r.idle_weak_demand};
      double sum = 0;
      for (double x : parts) {
        if (!(x >= 0)) return fail(s_.firms[f].id + "'s spare capacity: a cause below zero", x, 0);
        sum += x;
      }
      if (!close(sum, r.spare_h100e(), 1e-9)) return fail(s_.firms[f].id + "'s spare capacity is not its causes", sum, r.spare_h100e());
    }
    // contracts: the buyer uses at most what was delivered, and pays nothing negative
    for (const State::ContractFlow& f : st.contract_flows)
      if (!(f.delivered_h100e >= 0 && f.used_h100e <= f.delivered_h100e * (1 + 1e-9) + 1e-6 && f.payment_usd >= 0 &&
            f.shortfall_h100e >= 0))
        return fail("a contract's flows out of bounds", f.used_h100e, f.delivered_h100e);
    ++periods_;
  }

  const std::string& broken() const { return broken_; }
  int periods() const { return periods_; }

 private:
  const Scenario& s_;
  std::string broken_;
  int periods_ = 0;
};

// Run `s` with the checks; returns the run for more.
RunResult check_run(const Scenario& s, const std::string& what) {
  CAPTURE(what);
  InvariantCheck check(s);
  RunResult r = simulate(s, std::ref(check));
  CHECK(check.broken() == "");
  CHECK(check.periods() == r.calendar.size());
  for (const Warning& w : r.warnings) CHECK_MESSAGE(w.code != "invariant", w.message);
  return r;
}

}  // namespace

TEST_CASE("invariants: the base with many numbers drawn from a tenth to ten times their value") {
  const ScenarioTemplate base = ScenarioTemplate::from_file(GPUMM_SOURCE_DIR "/inputs/base.yaml");
  // numbers of every part of the model: supply (production, lead times, upstream nodes, the
  // network, power and buildings, capex), demand (training, inference, other), contracts, the market
  const std::vector<std::string> scaled = {
      "generations.b200.peak_units_per_year", "generations.rubin.peak_units_per_year", "generations.h100.lead_time",
      "generations.b300.price",                "generations.h100.useful_life",          "upstream.cowos.capacity_per_year",
      "network.supply.capacity_per_year",     "network.lead_time",                     "costs.facility_per_mw",
      "regions.us_central.interconnect_cap",  "regions.europe.interconnect_cap",       "regions.china.pue",
      "firms.microsoft.capex.2027",           "firms.meta.capex.2026",                 "firms.oracle.capex.2028",
      "programs.openai_frontier.growth_per_year", "programs.anthropic_frontier.cadence",
      "inference.chatgpt.tokens_per_user.growth_per_year", "inference.chatgpt.users.saturation",
      "inference.gemini.peak_to_average",     "other_demand.google_workloads.h100e.2028",
      "contracts[meta_coreweave_2025].volume.gpus", "backstops[0].cap",
      "market.spot.sensitivity_per_year"};
  std::vector<double> at_base;
  for (const std::string& p : scaled) at_base.push_back(base.value_at(p));
  ScenarioTemplate::Instantiator make(base);
  std::mt19937_64 rng(20261130);
  std::uniform_real_distribution<double> log_factor(std::log(0.1), std::log(10.0)), target(0.5, 0.99), share(0.0, 1.0);
  constexpr int kDraws = 48;
  for (int k = 0; k < kDraws; ++k) {
    std::vector<std::pair<std::string, double>> values;
    for (size_t j = 0; j < scaled.size(); ++j) values.emplace_back(scaled[j], at_base[j] * std::exp(log_factor(rng)));
    // a PUE and a peak-to-average factor within their ranges (1 to 3, 1 to 10); a target
    // utilization, a take-or-pay share and a ramp drawn within theirs
    for (auto& [path, x] : values) {
      if (path.ends_with(".pue")) x = std::clamp(x, 1.0, 3.0);
      if (path.ends_with(".peak_to_average")) x = std::clamp(x, 1.0, 10.0);
    }
    values.emplace_back("market.spot.target_utilization", target(rng));
    values.emplace_back("contracts[meta_nebius_firm].take_or_pay", share(rng));
    values.emplace_back("contracts[openai_oracle].ramp", std::round(1 + 47 * share(rng)));  // months, within its 5-year term
    Scenario s = make(values);
    s.seed = static_cast<std::uint64_t>(k);  // other slips and launch dates too
    std::string what = "draw " + std::to_string(k) + ":";
    for (const auto& [path, x] : values) what += " " + path + "=" + std::to_string(x);
    check_run(s, what);
  }
}

TEST_CASE("invariants: the bundled cases, and the base by weeks and by quarters") {
  for (const auto& entry : std::filesystem::directory_iterator(GPUMM_SOURCE_DIR "/inputs/cases"))
    if (entry.path().extension() == ".yaml") check_run(load_scenario_file(entry.path().string()), entry.path().string());
  const std::string base = gpumm::testing::slurp(GPUMM_SOURCE_DIR "/inputs/base.yaml");
  for (const std::string step : {"week", "quarter"}) {
    std::string text = base;
    REQUIRE(text.find("\nstep: month") != std::string::npos);
    text.replace(text.find("\nstep: month"), 12, "\nstep: " + step);
    const RunResult r = check_run(load_scenario_text(text, GPUMM_SOURCE_DIR "/inputs/base.yaml"), "the base by " + step + "s");
    CHECK(to_string(r.calendar.step()) == step);
  }
}
