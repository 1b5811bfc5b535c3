#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "gpumm/market.hpp"
#include "gpumm/scenario.hpp"
#include "gpumm/simulate.hpp"
#include "slurp.hpp"

using namespace gpumm;

namespace {
// A seller with 1000 H100 (1 H100e each) in region a and a buyer with none; a market.
std::string two_firms(const std::string& extra, const std::string& seller_extra = "",
                      const std::string& buyer_extra = "") {
  return "start: 2025-01\nend: 2025-12-31\n"
         "generations:\n"
         "  h100: {it_power: 1 kW, first_shipment: 2020-01-01, peak_units_per_year: 1}\n"
         "  tpu: {custom_for: seller, it_power: 1 kW, first_shipment: 2020-01-01, peak_units_per_year: 1}\n"
         "regions:\n  a: {latency_group: west}\n  b: {latency_group: west}\n  c: {latency_group: east}\n"
         "firms:\n"
         "  seller: {regions: {a: 1.0}, power_at_start: {a: 1 GW}, fleet_at_start: {h100: 1000}" + seller_extra + "}\n"
         "  buyer: {regions: {a: 1.0}" + buyer_extra + "}\n" + extra;
}
Scenario load(const std::string& y) { return load_scenario_text(y, "market.yaml"); }

// 1e9 users x 43.2 tokens a day / 86,400 / 1000 tokens per H100e-second = 500 H100e of work
std::string inference(const std::string& firm, const std::string& region, double per_day = 43.2) {
  return "inference:\n  chat:\n    firm: " + firm + "\n    regions: {" + region + ": 1.0}\n"
         "    users: {saturation: 1e9, midpoint: 2000-01-01, steepness_per_year: 50}\n"
         "    tokens_per_user: {per_day: " + std::to_string(per_day) + ", at: 2025-01-01}\n"
         "    throughput: {tokens_per_h100e_second: 1000, at: 2025-01-01}\n";
}
// A seller with 1000 H100 and 1000 B200 (2.5 H100e for the same 1 kW) on `power`, in one region
// (PUE 1), and a contract k of `deal` (volume and price or value) to a buyer, March to August.
std::string h100_and_b200_seller(const std::string& power, const std::string& deal) {
  return "start: 2025-01\nend: 2025-12-31\n"
         "generations:\n"
         "  h100: {it_power: 1 kW, first_shipment: 2020-01-01, peak_units_per_year: 1}\n"
         "  b200: {train_h100e: 2.5, it_power: 1 kW, first_shipment: 2024-01-01, peak_units_per_year: 1}\n"
         "regions:\n  a: {latency_group: west, pue: 1.0}\n"
         "firms:\n"
         "  seller: {regions: {a: 1.0}, power_at_start: {a: " + power + "}, fleet_at_start: {h100: 1000, b200: 1000}}\n"
         "  buyer: {regions: {a: 1.0}}\n"
         "contracts:\n  - {name: k, seller: seller, buyer: buyer, region: a, start: 2025-03-01, end: 2025-08-31,\n"
         "     volume: " + deal + ", take_or_pay: 1.0}\n";
}
}  // namespace

TEST_CASE("market: a contract moves capacity from seller to buyer, take-or-pay is paid whether used or not") {
  const std::string contract =
      "contracts:\n  - {name: k, seller: seller, buyer: buyer, region: a, start: 2025-03-01, end: 2025-08-31,\n"
      "     volume: {gpus: 400, generation: h100}, price: $2, take_or_pay: TOP}\n";
  SUBCASE("unused, fully take-or-pay") {
    std::string y = two_firms(contract);
    y.replace(y.find("TOP"), 3, "1.0");
    Scenario s = load(y);
    std::vector<State::ContractFlow> flows;
    std::vector<double> in, out;
    simulate(s, [&](int, const State& st, const PeriodSummary&) {
      flows.push_back(st.contract_flows[0]);
      in.push_back(st.contracted_in_h100e[1]);
      out.push_back(st.contracted_out_h100e[0]);
    });
    CHECK_FALSE(flows[1].in_force);  // February
    CHECK(flows[2].in_force);        // March
    CHECK(flows[2].delivered_h100e == 400);
    CHECK(in[2] == out[2]);          // transferred = delivered
    CHECK(flows[2].used_h100e == 0);
    // 400 H100e x 31 days x 24 h x $2
    CHECK(flows[2].payment_usd == doctest::Approx(400 * 31 * 24 * 2.0));
    CHECK(flows[8].in_force == false);  // September
  }
  SUBCASE("half take-or-pay: pays the share plus what it uses") {
    std::string y = two_firms(contract + inference("buyer", "a", 4.32 * 2));  // 100 H100e of work
    y.replace(y.find("TOP"), 3, "0.5");
    Scenario s = load(y);
    std::vector<State::ContractFlow> flows;
    RunResult r = simulate(s, [&](int, const State& st, const PeriodSummary&) { flows.push_back(st.contract_flows[0]); });
    CHECK(flows[2].used_h100e == doctest::Approx(100));
    CHECK(flows[2].payment_usd == doctest::Approx((0.5 * 400 + 0.5 * 100) * 31 * 24 * 2.0));
    // the buyer's idle contracted capacity is its take-or-pay excess
    CHECK(r.firm_records[2 * 2 + 1].idle_take_or_pay == doctest::Approx(300));
  }
}

TEST_CASE("market: capacity under contract is idle where the buyer leaves it, not at the seller") {
  // the seller's 1000 H100 (1000 H100e), 400 delivered to the buyer, who uses 100 of them
  const std::string contract =
      "contracts:\n  - {name: k, seller: seller, buyer: buyer, region: a, start: 2025-01-01, end: 2025-12-31,\n"
      "     volume: {gpus: 400, generation: h100}, price: $2, take_or_pay: 1.0}\n";
  Scenario s = load(two_firms(contract + inference("buyer", "a", 4.32 * 2)));  // 100 H100e of work
  std::vector<double> seller_idle, buyer_idle;
  double sum_idle = 0;
  RunResult r = simulate(s, [&](int t, const State& st, const PeriodSummary&) {
    const size_t G = static_cast<size_t>(st.ngen), R = 3;
    seller_idle.push_back(st.idle[0 * R * G + 0]);  // seller, region a, h100
    buyer_idle.push_back(st.idle[1 * R * G + 0]);   // buyer, region a, h100
    if (t == 0)
      for (double x : st.idle) sum_idle += x;
  });
  CHECK(seller_idle[0] == doctest::Approx(600));
  CHECK(buyer_idle[0] == doctest::Approx(300));
  // the pairs' idle is the period's idle, and each firm's
  CHECK(sum_idle == doctest::Approx(r.periods[0].idle_h100e));
  CHECK(r.firm_records[0].idle_h100e == doctest::Approx(600));
  CHECK(r.firm_records[1].idle_h100e == doctest::Approx(300));
}

TEST_CASE("market: a seller without the capacity delivers what it has and is warned") {
  Scenario s = load(two_firms(
      "contracts:\n  - {name: k, seller: seller, buyer: buyer, region: a, start: 2025-01-01, end: 2025-12-31,\n"
      "     volume: {gpus: 1500, generation: h100}, value: $100M}\n"));
  std::vector<State::ContractFlow> flows;
  RunResult r = simulate(s, [&](int, const State& st, const PeriodSummary&) { flows.push_back(st.contract_flows[0]); });
  CHECK(flows[0].delivered_h100e == 1000);
  CHECK(flows[0].shortfall_h100e == 500);
  REQUIRE_FALSE(r.warnings.empty());
  CHECK(r.warnings[0].code == "contract_shortfall");
  CHECK(r.warnings[0].message ==
        "seller seller lacks the capacity of contract k: it delivers 1000 of the 1500 H100e in force "
        "(66.7%; contracts.csv has the shortfall of every period)");
}

TEST_CASE("market: a seller short of two deals fills them in the order they are written") {
  // the seller has 1000 H100; deals of 700 with the buyer and of 600 with a second buyer: the
  // first written gets all it asks, the other the 300 left and a shortfall of 300
  const auto deal = [](const std::string& name, const std::string& buyer, int gpus) {
    return "  - {name: " + name + ", seller: seller, buyer: " + buyer + ", region: a, start: 2025-01-01, end: 2025-12-31,\n"
           "     volume: {gpus: " + std::to_string(gpus) + ", generation: h100}, price: $2}\n";
  };
  const std::string second = "  other: {regions: {a: 1.0}}\n";
  for (const bool buyer_first : {true, false}) {
    CAPTURE(buyer_first);
    std::string y = two_firms("contracts:\n" + (buyer_first ? deal("k1", "buyer", 700) + deal("k2", "other", 600)
                                                              : deal("k2", "other", 600) + deal("k1", "buyer", 700)));
    y.replace(y.find("contracts:"), 0, second);
    const Scenario s = load(y);
    std::vector<State::ContractFlow> flows;
    simulate(s, [&](int t, const State& st, const PeriodSummary&) {
      if (t == 0) flows = st.contract_flows;
    });
    const size_t k1 = s.contracts[0].name == "k1" ? 0 : 1, k2 = 1 - k1;
    CHECK(flows[k1].delivered_h100e == doctest::Approx(buyer_first ? 700 : 400));
    CHECK(flows[k2].delivered_h100e == doctest::Approx(buyer_first ? 300 : 600));
    CHECK(flows[k1].shortfall_h100e + flows[k2].shortfall_h100e == doctest::Approx(300));
  }
}

TEST_CASE("market: a contract's volume ramps up linearly over its ramp, and its value is paid over the volume in force") {
  // 900 GPUs ramping over 3 months from 2025-01-01: 90 days, share min(1, x / 90) x days after
  // the start; a month's share is its mean over the month's days
  const std::string contract =
      "contracts:\n  - {name: k, seller: seller, buyer: buyer, region: a, start: 2025-01-01, end: 2025-12-31,\n"
      "     volume: {gpus: 900, generation: h100}, value: $10M, ramp: 3mo}\n";
  Scenario s = load(two_firms(contract));
  std::vector<State::ContractFlow> flows;
  RunResult r = simulate(s, [&](int, const State& st, const PeriodSummary&) { flows.push_back(st.contract_flows[0]); });
  REQUIRE(flows.size() == 12);
  // January: the mean of x / 90 over [0, 31): 31 / 180
  CHECK(flows[0].delivered_h100e == doctest::Approx(900.0 * 31 / 180));
  // February, [31, 59): (59^2 - 31^2) / 180 / 28 = 1/2 exactly
  CHECK(flows[1].delivered_h100e == doctest::Approx(450));
  // March, [59, 90): (90^2 - 59^2) / 180 / 31
  CHECK(flows[2].delivered_h100e == doctest::Approx(900.0 * (8100 - 3481) / 180 / 31));
  for (size_t t = 3; t < 12; ++t) CHECK(flows[t].delivered_h100e == 900);
  // the value over the H100e-hours in force: 900 x 24 h x (365 - 90 / 2) days
  const double price = 10e6 / (900.0 * 24 * (365 - 45));
  CHECK(flows[1].payment_usd == doctest::Approx(450 * 24 * 28 * price));
  // fully delivered and take-or-pay: the payments add up to the contract's value
  double paid = 0;
  for (const auto& f : flows) paid += f.payment_usd;
  CHECK(paid == doctest::Approx(10e6).epsilon(1e-12));
  CHECK(r.warnings.empty());
  SUBCASE("a deal signed before the horizon is part-way up its ramp at the start") {
    // from 2024-11-01 over 3 months (92 days): January 2025 is days [61, 92) of it
    std::string y = two_firms(contract);
    y.replace(y.find("start: 2025-01-01"), 17, "start: 2024-11-01");
    std::vector<State::ContractFlow> early;
    simulate(load(y), [&](int, const State& st, const PeriodSummary&) { early.push_back(st.contract_flows[0]); });
    CHECK(early[0].delivered_h100e == doctest::Approx(900.0 * (92 * 92 - 61 * 61) / (2 * 92) / 31));
    CHECK(early[1].delivered_h100e == 900);
  }
  SUBCASE("what the seller lacks is measured against the volume in force") {
    std::string y = two_firms(contract);
    y.replace(y.find("gpus: 900"), 9, "gpus: 1500");
    std::vector<State::ContractFlow> big;
    RunResult rb = simulate(load(y), [&](int, const State& st, const PeriodSummary&) { big.push_back(st.contract_flows[0]); });
    CHECK(big[1].delivered_h100e == doctest::Approx(750));  // half of 1500, the seller has 1000
    CHECK(big[1].shortfall_h100e == 0);
    CHECK(big[2].shortfall_h100e == doctest::Approx(1500.0 * 4619 / 5580 - 1000));
    REQUIRE(rb.warnings.size() == 1);
    CHECK(rb.warnings[0].code == "contract_shortfall");
    CHECK(rb.warnings[0].period == 2);  // March, not January
  }
}

TEST_CASE("market: a contract's ramp is a duration within its term") {
  const auto with_ramp = [](const std::string& ramp) {
    return two_firms("contracts:\n  - {name: k, seller: seller, buyer: buyer, start: 2025-01-01, end: 2025-12-31,\n"
                     "     volume: {gpus: 900, generation: h100}, price: $2, ramp: " + ramp + "}\n");
  };
  const auto error = [&](const std::string& ramp) {
    try {
      load(with_ramp(ramp));
    } catch (const ScenarioError& e) {
      return e.diagnostics().front().to_string();
    }
    return std::string("(no problem)");
  };
  CHECK(error("12mo") == "(no problem)");  // all of the term
  CHECK(error("13mo") ==
        "market.yaml:15:62: contracts[k].ramp: a ramp of 13mo is longer than the contract's term (2025-01-01 to "
        "2025-12-31): the volume would never be all in force");
  CHECK(error("3").find("market.yaml:15:62: contracts[k].ramp: ") == 0);
  CHECK(error("-3mo").find("must be >= 0") != std::string::npos);
  // the resolved scenario keeps it
  CHECK(write_resolved_yaml(load(with_ramp("6mo")), "test").find("ramp: 6mo") != std::string::npos);
}

TEST_CASE("market: a seller short of power keeps the GPUs it has sold running, before its newer ones") {
  // 1000 H100 and 1000 B200 (2.5 H100e for the same 1 kW: deployed first) on 1.2 MW; 400 H100
  // sold from March to August
  Scenario s = load(h100_and_b200_seller("1.2 MW", "{gpus: 400, generation: h100}, price: $2"));
  std::vector<State::ContractFlow> flows;
  std::vector<double> h100, b200;
  RunResult r = simulate(s, [&](int, const State& st, const PeriodSummary&) {
    flows.push_back(st.contract_flows[0]);
    h100.push_back(st.deployed[0]);  // seller, region a, h100
    b200.push_back(st.deployed[1]);
  });
  // before the contract: the best per kW first, 1000 B200 and 200 H100
  CHECK(h100[1] == doctest::Approx(200));
  CHECK(b200[1] == doctest::Approx(1000));
  // in force: the 400 H100 sold run first, the B200 take the 800 kW left (200 stranded)
  for (int t = 2; t <= 7; ++t) {
    CAPTURE(t);
    CHECK(h100[static_cast<size_t>(t)] == doctest::Approx(400));
    CHECK(b200[static_cast<size_t>(t)] == doctest::Approx(800));
    CHECK(flows[static_cast<size_t>(t)].delivered_h100e == doctest::Approx(400));
    CHECK(flows[static_cast<size_t>(t)].shortfall_h100e == 0);
  }
  // after it: back to the best per kW first
  CHECK(h100[8] == doctest::Approx(200));
  CHECK(b200[8] == doctest::Approx(1000));
  for (const Warning& w : r.warnings) CHECK(w.code != "contract_shortfall");
}

TEST_CASE("market: an IT-power deal with a value pays for the power in force, whatever GPUs fill it") {
  // 1000 B200 (2.5 H100e per kW) and 1000 H100 (1 per kW) on 2 MW; 1.5 MW sold for $10M from
  // March to August (184 days): the B200 first, then 500 H100, 3000 H100e
  const std::string y = h100_and_b200_seller("2 MW", "{it_power: 1.5 MW}, value: $10M");
  std::vector<State::ContractFlow> flows;
  simulate(load(y), [&](int, const State& st, const PeriodSummary&) { flows.push_back(st.contract_flows[0]); });
  const double per_kw_hour = 10e6 / (1500.0 * 24 * 184);
  double paid = 0;
  for (int t = 2; t <= 7; ++t) {
    CAPTURE(t);
    CHECK(flows[static_cast<size_t>(t)].delivered_h100e == doctest::Approx(3000));
    CHECK(flows[static_cast<size_t>(t)].payment_usd == doctest::Approx(per_kw_hour * 1500 * 24 * (t == 3 || t == 5 ? 30 : 31)));
    paid += flows[static_cast<size_t>(t)].payment_usd;
  }
  // all of its value, though 3000 H100e is less than 1.5 MW of the best GPU (3750 H100e)
  CHECK(paid == doctest::Approx(10e6).epsilon(1e-12));
}

TEST_CASE("market: offers meet bids, matched <= min(offers, bids), unmet = bids - matched, idle = offers - matched") {
  // the buyer wants 500 H100e of inference work in region b (same latency group as a); the
  // seller sells its idle 1000 H100
  Scenario s = load(two_firms(inference("buyer", "b") + "market: {}\n", ", sells_surplus: true"));
  std::vector<double> offers, matched, bids, unmet;
  RunResult r = simulate(s, [&](int, const State& st, const PeriodSummary&) {
    offers.push_back(st.market_offers_h100e[0]);  // region a, h100
    matched.push_back(st.market_matched_h100e[0]);
    bids.push_back(st.market_bids_h100e[1]);      // region b
    unmet.push_back(st.market_unmet_h100e[1]);
  });
  CHECK(offers[0] == 1000);
  CHECK(bids[0] == doctest::Approx(500));
  CHECK(matched[0] == doctest::Approx(500));
  CHECK(matched[0] <= std::min(offers[0], bids[0]) + 1e-9);
  CHECK(unmet[0] == doctest::Approx(bids[0] - matched[0]));
  CHECK(r.periods[0].unserved_h100e == doctest::Approx(0));
  CHECK(r.periods[0].idle_h100e == doctest::Approx(offers[0] - matched[0]));
}

namespace {
// Sellers s1 (500 H100) and s2 (500 of its own TPUs) and buyers a and b in one region; firms in
// the order `order` names them; inference of a and b: 43.2 tokens a day per user is 500 H100e
// of work (see inference()).
std::string four_firms(const std::vector<std::string>& order, double a_per_day, double b_per_day,
                       const std::string& extra = "") {
  const std::map<std::string, std::string> firm = {
      {"s1", "  s1: {regions: {a: 1.0}, power_at_start: {a: 1 GW}, fleet_at_start: {h100: 500}, sells_surplus: true}\n"},
      {"s2", "  s2: {regions: {a: 1.0}, power_at_start: {a: 1 GW}, fleet_at_start: {tpu: 500}, sells_surplus: true}\n"},
      {"a", "  a: {regions: {a: 1.0}}\n"},
      {"b", "  b: {regions: {a: 1.0}}\n"}};
  std::string y = "start: 2025-01\nend: 2025-03-31\n"
                  "generations:\n"
                  "  h100: {it_power: 1 kW, first_shipment: 2020-01-01, peak_units_per_year: 1}\n"
                  "  tpu: {custom_for: s2, it_power: 1 kW, first_shipment: 2020-01-01, peak_units_per_year: 1}\n"
                  "regions:\n  a: {latency_group: west}\n"
                  "firms:\n";
  for (const std::string& f : order) y += firm.at(f);
  y += "inference:\n";
  for (const auto& [f, per_day] : {std::pair{"a", a_per_day}, std::pair{"b", b_per_day}})
    y += std::string("  chat_") + f + ":\n    firm: " + f + "\n    regions: {a: 1.0}\n"
         "    users: {saturation: 1e9, midpoint: 2000-01-01, steepness_per_year: 50}\n"
         "    tokens_per_user: {per_day: " + std::to_string(per_day) + ", at: 2025-01-01}\n"
         "    throughput: {tokens_per_h100e_second: 1000, at: 2025-01-01}\n";
  return y + "market: {}\n" + extra;
}
// What firm `id` bought on the market in period t.
double bought(const Scenario& s, const RunResult& r, const std::string& id, int t) {
  for (size_t f = 0; f < s.firms.size(); ++f)
    if (s.firms[f].id == id) return r.firm_records[static_cast<size_t>(t) * s.firms.size() + f].bought_h100e;
  FAIL("no firm " << id);
  return 0;
}
}  // namespace

TEST_CASE("market: bids share scarce offers in proportion to what they want, whatever order the firms are written in") {
  // a wants 1500 H100e, b 500; s1 offers 500 H100: each gets a quarter of its bid (the first
  // firm written got all it could before)
  for (const auto& order : {std::vector<std::string>{"s1", "s2", "a", "b"}, std::vector<std::string>{"b", "a", "s2", "s1"}}) {
    CAPTURE(order.front());
    const Scenario s = load(four_firms(order, 3 * 43.2, 43.2));
    const RunResult r = simulate(s);
    CHECK(bought(s, r, "a", 0) == doctest::Approx(375));
    CHECK(bought(s, r, "b", 0) == doctest::Approx(125));
    CHECK(r.periods[0].unserved_h100e == doctest::Approx(1500));  // 2000 wanted, 500 sold
    CHECK(r.periods[0].idle_h100e == doctest::Approx(500));       // s2's TPUs: no contract, no buyer
  }
}

TEST_CASE("market: custom accelerators go first to the bids that may use them, leaving merchant GPUs to the others") {
  // a has a contract with s2 (1 TPU moves to a, which serves 1 H100e of a's 600 itself) and may
  // buy s2's other 499 TPUs; b may not. TPUs first: a gets 499 and wants 100 more; then s1's 500
  // H100 go to the 100 + 600 still wanted, pro-rata: a 500 x 100/700, b 500 x 600/700. Nothing
  // is left idle (taken pro-rata over both sellers at once, a would have left TPUs idle while
  // b went short).
  const std::string contract =
      "contracts:\n  - {name: small, seller: s2, buyer: a, region: a, start: 2025-01-01, end: 2025-12-31,\n"
      "     volume: {gpus: 1, generation: tpu}, price: $1}\n";
  for (const auto& order : {std::vector<std::string>{"s1", "s2", "a", "b"}, std::vector<std::string>{"b", "s2", "a", "s1"}}) {
    CAPTURE(order.front());
    const Scenario s = load(four_firms(order, 1.2 * 43.2, 1.2 * 43.2, contract));
    const RunResult r = simulate(s);
    CHECK(bought(s, r, "a", 0) == doctest::Approx(499 + 500.0 * 100 / 700));
    CHECK(bought(s, r, "b", 0) == doctest::Approx(500.0 * 600 / 700));
    CHECK(r.periods[0].idle_h100e == doctest::Approx(0).epsilon(1e-9));
    CHECK(r.periods[0].unserved_h100e == doctest::Approx(1200 - 1 - 499 - 500));
  }
}

TEST_CASE("market: fungibility limits: no serving across latency groups, custom chips only to contracted customers") {
  SUBCASE("inference in the east cannot use the west's idle GPUs") {
    RunResult r = simulate(load(two_firms(inference("buyer", "c") + "market: {}\n", ", sells_surplus: true")));
    CHECK(r.periods[0].market_matched_h100e == 0);
    CHECK(r.periods[0].unserved_h100e == doctest::Approx(500));
  }
  SUBCASE("the seller's TPUs serve only a firm with a contract with it") {
    std::string y = two_firms(inference("buyer", "a") + "market: {}\n", ", sells_surplus: true");
    y.replace(y.find("fleet_at_start: {h100: 1000}"), 28, "fleet_at_start: {tpu: 1000}");
    RunResult none = simulate(load(y));
    CHECK(none.periods[0].market_matched_h100e == 0);
    RunResult with = simulate(load(
        y + "contracts:\n  - {name: small, seller: seller, buyer: buyer, region: a, start: 2025-01-01, end: 2025-12-31,\n"
            "     volume: {gpus: 1, generation: tpu}, price: $1}\n"));
    CHECK(with.periods[0].unserved_h100e == doctest::Approx(0));
  }
}

TEST_CASE("market: a training run too big for its own firm rents a seller's cluster") {
  Scenario s = load(two_firms("market: {}\nprojects:\n  - {name: run, firm: buyer, start: 2025-02-01, duration: 2mo,\n"
                              "     gpus: {generation: h100, count: 800}}\n",
                              ", sells_surplus: true"));
  std::vector<double> bought, sold, offers, matched, bids, unmet;
  RunResult r = simulate(s, [&](int, const State& st, const PeriodSummary&) {
    bought.push_back(st.bought_h100e[1]);
    sold.push_back(st.sold_h100e[0]);
    offers.push_back(st.market_offers_h100e[0]);  // region a, h100
    matched.push_back(st.market_matched_h100e[0]);
    bids.push_back(st.market_bids_h100e[0]);
    unmet.push_back(st.market_unmet_h100e[0]);
  });
  REQUIRE(r.projects.size() == 1);
  CHECK(r.projects[0].start_period == 1);
  CHECK(r.periods[1].unserved_h100e == doctest::Approx(0));
  CHECK(r.periods[1].idle_h100e == doctest::Approx(200));
  // the rented cluster is bought on the market every month of the run (February and March):
  // offered, bid for and matched, and paid for
  for (int t : {1, 2}) {
    CAPTURE(t);
    CHECK(bought[static_cast<size_t>(t)] == doctest::Approx(800));
    CHECK(sold[static_cast<size_t>(t)] == doctest::Approx(800));
    CHECK(offers[static_cast<size_t>(t)] == doctest::Approx(1000));
    CHECK(matched[static_cast<size_t>(t)] == doctest::Approx(800));
    CHECK(r.periods[static_cast<size_t>(t)].market_matched_h100e == doctest::Approx(800));
    CHECK(bids[static_cast<size_t>(t)] == doctest::Approx(800));
    CHECK(unmet[static_cast<size_t>(t)] == doctest::Approx(0));
  }
  CHECK(bought[3] == 0);  // April: the run has ended
}

// Sellers with 1000 H100 each in regions a and b, as `sellers` writes them ({name, region
// weights}), regions in the order `regions` names them, and a buyer weighted `buyer_weights`
// whose run of 800 H100 needs a cluster it has not got: the firm records of February.
std::vector<FirmRecord> rented_cluster(const std::vector<std::pair<std::string, std::string>>& sellers,
                                       const std::vector<std::string>& regions, const std::string& buyer_weights,
                                       Scenario& s, std::string& region) {
  std::string y = "start: 2025-01\nend: 2025-04-30\ngenerations:\n"
                  "  h100: {it_power: 1 kW, first_shipment: 2020-01-01, peak_units_per_year: 1}\nregions:\n";
  for (const std::string& r : regions) y += "  " + r + ": {latency_group: west}\n";
  y += "firms:\n";
  for (const auto& [name, weights] : sellers) {
    const bool both = weights.find(',') != std::string::npos;
    y += "  " + name + ": {regions: {" + weights + "}, power_at_start: {" + (both ? "a: 1 GW, b: 1 GW" : "a: 1 GW") +
         "}, fleet_at_start: {h100: " + (both ? "2000" : "1000") + "}, sells_surplus: true}\n";
  }
  y += "  buyer: {regions: {" + buyer_weights + "}}\n"
       "market: {}\nprojects:\n  - {name: run, firm: buyer, start: 2025-02-01, duration: 2mo,\n"
       "     gpus: {generation: h100, count: 800}}\n";
  s = load(y);
  const RunResult r = simulate(s);
  REQUIRE(r.projects.size() == 1);
  CHECK(r.projects[0].start_period == 1);
  REQUIRE(r.projects[0].region >= 0);
  region = s.regions[static_cast<size_t>(r.projects[0].region)].id;
  return {r.firm_records.begin() + static_cast<long>(s.firms.size()), r.firm_records.begin() + 2 * static_cast<long>(s.firms.size())};
}
int firm_index(const Scenario& s, const std::string& id) {
  for (size_t f = 0; f < s.firms.size(); ++f)
    if (s.firms[f].id == id) return static_cast<int>(f);
  FAIL("no firm " << id);
  return -1;
}

TEST_CASE("market: a run that two sellers or two regions could host alike goes where its firm weighs most, else by id, whatever the order written") {
  Scenario s;
  std::string region;
  // two sellers alike in one region: the one whose id sorts first
  for (const auto& sellers : {std::vector<std::pair<std::string, std::string>>{{"s1", "a: 1.0"}, {"s2", "a: 1.0"}},
                              std::vector<std::pair<std::string, std::string>>{{"s2", "a: 1.0"}, {"s1", "a: 1.0"}}}) {
    CAPTURE(sellers.front().first);
    const auto rec = rented_cluster(sellers, {"a", "b"}, "a: 1.0", s, region);
    CHECK(region == "a");
    CHECK(rec[static_cast<size_t>(firm_index(s, "s1"))].sold_h100e == doctest::Approx(800));
    CHECK(rec[static_cast<size_t>(firm_index(s, "s2"))].sold_h100e == 0);
  }
  // one seller with the same room in two regions: where the buyer weighs most (b), and with
  // equal weights the region whose id sorts first (a), in either order of the regions
  for (const auto& regions : {std::vector<std::string>{"a", "b"}, std::vector<std::string>{"b", "a"}}) {
    CAPTURE(regions.front());
    for (const auto& [weights, where] : {std::pair{std::string("a: 0.3, b: 0.7"), std::string("b")},
                                         std::pair{std::string("a: 0.5, b: 0.5"), std::string("a")}}) {
      CAPTURE(weights);
      const auto rec = rented_cluster({{"s1", "a: 0.5, b: 0.5"}}, regions, weights, s, region);
      CHECK(region == where);
      CHECK(rec[static_cast<size_t>(firm_index(s, "s1"))].sold_h100e == doctest::Approx(800));
      CHECK(rec[static_cast<size_t>(firm_index(s, "buyer"))].bought_h100e == doctest::Approx(800));
    }
  }
}

TEST_CASE("market: an option is exercised exactly when the buyer's shortfall meets its rule") {
  const auto run = [&](double threshold) {
    Scenario s = load(two_firms(inference("buyer", "c") +
                                "contracts:\n  - {name: opt, seller: seller, buyer: buyer, region: a, start: 2025-06-01, end: 2025-12-31,\n"
                                "     volume: {gpus: 100, generation: h100}, price: $2,\n"
                                "     option: {decision: 2025-04-01, shortfall_h100e: " + std::to_string(threshold) + "}}\n"));
    bool in_force = false;
    simulate(s, [&](int t, const State& st, const PeriodSummary&) { if (t == 6) in_force = st.contract_flows[0].in_force; });
    return in_force;
  };
  // the buyer's shortfall in March (the period before the decision) is 500 H100e
  CHECK(run(400));
  CHECK(run(500));
  CHECK_FALSE(run(501));
}

TEST_CASE("market: a backstop pays for unsold capacity only, up to its cap") {
  const std::string backstop =
      "backstops:\n  - {provider: vendor, seller: seller, start: 2025-01-01, end: 2025-12-31, floor: $1, cap: CAP}\n";
  std::string y = two_firms(inference("seller", "a", 43.2 * 1.2) + backstop);  // the seller uses 600 of 1000
  std::vector<double> paid;
  SUBCASE("below the cap: 400 unsold H100e x hours x $1") {
    std::string z = y;
    z.replace(z.find("CAP"), 3, "$100M");
    simulate(load(z), [&](int, const State& st, const PeriodSummary&) { paid.push_back(st.backstop_paid_usd[0]); });
    CHECK(paid[0] == doctest::Approx(400 * 31 * 24 * 1.0));
  }
  SUBCASE("the cap stops it") {
    std::string z = y;
    z.replace(z.find("CAP"), 3, "$500k");
    double total = 0;
    simulate(load(z), [&](int, const State& st, const PeriodSummary&) { total += st.backstop_paid_usd[0]; });
    CHECK(total == doctest::Approx(500000));
  }
}

TEST_CASE("market: spot stays within its bounds and rises when utilization is above target") {
  SUBCASE("a busy market: spot rises, up to the cap") {
    Scenario s = load(two_firms(inference("seller", "a", 43.2 * 3) + "market: {spot: {initial: $2, floor: $1, cap: $3, target_utilization: 0.8, sensitivity_per_year: 2}}\n"));
    RunResult r = simulate(s);
    CHECK(r.periods[1].spot_usd_per_h100e_hour > r.periods[0].spot_usd_per_h100e_hour);
    // January: utilization 1 is 0.2 above target: 2 x exp(2 x 0.2 x 31/365.2425)
    CHECK(r.periods[1].spot_usd_per_h100e_hour == doctest::Approx(2.0 * std::exp(2 * 0.2 * 31 / 365.2425)));
    for (const PeriodSummary& p : r.periods) CHECK(p.spot_usd_per_h100e_hour <= 3.0);
    // the term price follows spot with a lag: it trails a rising spot
    CHECK(r.periods[6].term_usd_per_h100e_hour < r.periods[6].spot_usd_per_h100e_hour);
  }
  SUBCASE("an idle market: spot falls, down to the floor") {
    // the seller offers its 1000 idle H100 and nobody buys: market utilization 0
    RunResult r = simulate(load(two_firms("market: {spot: {initial: $2, floor: $1.5}}\n", ", sells_surplus: true")));
    CHECK(r.periods[1].spot_usd_per_h100e_hour == doctest::Approx(2.0 * std::exp(2 * (0 - 0.85) * 31 / 365.2425)));
    for (const PeriodSummary& p : r.periods) CHECK(p.spot_usd_per_h100e_hour >= 1.5);
    CHECK(r.periods.back().spot_usd_per_h100e_hour == 1.5);
  }
  SUBCASE("smoothed: the price sees the utilization through a first-order lag") {
    RunResult r = simulate(load(two_firms("market: {spot: {initial: $2, floor: $1.5, smoothing: 3mo}}\n", ", sells_surplus: true")));
    // January (31 days): perceived utilization 0.85 + (0 - 0.85) x (1 - exp(-(31/365.2425) / (3 x 30.436875 / 365.2425)))
    const double years = 31 / 365.2425, lag = 3 * 30.436875 / 365.2425;
    const double u = 0.85 - 0.85 * (1 - std::exp(-years / lag));
    CHECK(r.periods[1].spot_usd_per_h100e_hour == doctest::Approx(2.0 * std::exp(2 * (u - 0.85) * years)));
    CHECK(r.periods[1].spot_usd_per_h100e_hour > 2.0 * std::exp(2 * (0 - 0.85) * years));  // gentler than unsmoothed
  }
  SUBCASE("a quarter moves the price as its three months do at the same utilization") {
    // nobody buys: utilization 0 every period, so the spot falls by exp(-2 x 0.85 x days / 365.2425)
    // whatever the step; a linear step 1 - 2 x 0.85 x 0.25 = 0.575 per quarter would fall faster
    std::string y = two_firms("market: {spot: {initial: $10, floor: $0.01, sensitivity_per_year: 2}}\n", ", sells_surplus: true");
    const RunResult months = simulate(load(y));
    y.replace(y.find("start: 2025-01\n"), 15, "start: 2025-01\nstep: quarter\n");
    const RunResult quarters = simulate(load(y));
    REQUIRE(quarters.periods.size() == 4);
    // the price set at the end of March is the one April starts with
    const double q1_days = 31 + 28 + 31;
    CHECK(quarters.periods[1].spot_usd_per_h100e_hour == doctest::Approx(10 * std::exp(-2 * 0.85 * q1_days / 365.2425)));
    CHECK(months.periods[3].spot_usd_per_h100e_hour == doctest::Approx(quarters.periods[1].spot_usd_per_h100e_hour));
  }
  SUBCASE("no offers and no bids: no signal, spot holds") {
    RunResult r = simulate(load(two_firms("market: {spot: {initial: $2, floor: $1.5}}\n")));
    for (const PeriodSummary& p : r.periods) CHECK(p.spot_usd_per_h100e_hour == 2.0);
  }
}

TEST_CASE("market: each generation has its own spot, floored at its operating cost, sales are paid at it") {
  // h100: 1 H100e and 1 kW per unit; old: 0.5 H100e and 1 kW. Operating cost per H100e-hour
  // at PUE 1.3: h100 (0.10 x 1 x 1.3 + 0.87) / 1 = $1.00; old (0.13 + 0.87) / 0.5 = $2.00.
  std::string y = two_firms(inference("buyer", "b", 43.2 * 1.5) +
                                "market:\n  spot: {initial: $1.5, floor: $0.5}\n"
                                "  operating_cost: {electricity_per_kwh: $0.10, other_per_gpu_hour: $0.87}\n",
                            ", sells_surplus: true");
  y.replace(y.find("fleet_at_start: {h100: 1000}"), 28, "fleet_at_start: {h100: 1000, old: 1000}");
  y.replace(y.find("regions:\n"), 9,
            "  old: {train_h100e: 0.5, infer_h100e: 0.5, it_power: 1 kW, first_shipment: 2023-01-01, peak_units_per_year: 1}\n"
            "  new: {train_h100e: 3, it_power: 1 kW, first_shipment: 2030-01-01, peak_units_per_year: 1}\n"
            "regions:\n");
  const Scenario s = load(y);
  std::vector<std::vector<double>> spot;
  std::vector<double> revenue, matched;
  RunResult r = simulate(s, [&](int, const State& st, const PeriodSummary&) {
    spot.push_back(st.spot_by_gen);
    revenue.push_back(st.resale_revenue_usd[0]);
    matched.push_back(st.market_matched_h100e[0] + st.market_matched_h100e[2]);  // region a: h100, old
  });
  const int h100 = 0, old = 2, neu = 3;
  REQUIRE(s.generations[static_cast<size_t>(old)].id == "old");
  // January: every generation starts at $1.5, except where its operating cost is higher
  CHECK(spot[0][h100] == 1.5);
  CHECK(spot[0][old] == doctest::Approx(2.0));
  // the buyer wants 750 H100e of inference; the seller's 1500 (1000 x 1 + 1000 x 0.5) are
  // shared pro-rata: half of each generation is sold, 500 + 250 training H100e
  CHECK(matched[0] == doctest::Approx(750));
  // paid at each generation's price, not at one index: 744 h x (500 x $1.5 + 250 x $2)
  CHECK(revenue[0] == doctest::Approx(744 * (500 * 1.5 + 250 * 2.0)));
  // market utilization 0.5 for both: h100 falls; old is held at its operating cost
  const double fall = std::exp(2 * (0.5 - 0.85) * 31 / 365.2425);
  CHECK(spot[1][h100] == doctest::Approx(1.5 * fall));
  CHECK(spot[1][old] == doctest::Approx(2.0));
  // the index weighs generations by deployed H100e (1000 of h100, 500 of old)
  const double index = (1.5 * fall * 1000 + 2.0 * 500) / 1500;
  CHECK(r.periods[1].spot_usd_per_h100e_hour == doctest::Approx(index));
  // a generation deployed nowhere is priced at the index, above its own operating cost
  CHECK(spot[1][neu] == doctest::Approx(index));
  for (const auto& p : spot) CHECK(p[old] >= 2.0 - 1e-12);
}

TEST_CASE("market: the investment rule oscillates less when it counts its supply line") {
  const std::string text = gpumm::testing::slurp(GPUMM_SOURCE_DIR "/tests/testdata/oscillation.yaml");
  REQUIRE(text.find("SUPPLY_LINE") != std::string::npos);
  // capacity over demand, years 3 to 20: its spread and its largest overshoot
  const auto swing = [&](const char* supply_line) {
    std::string y = text;
    y.replace(y.find("SUPPLY_LINE"), 11, supply_line);
    RunResult r = simulate(load(y));
    std::vector<double> ratio;
    for (size_t t = 36; t < r.periods.size(); ++t)
      ratio.push_back(r.periods[t].deployed_h100e / r.periods[t].demand_h100e());
    double mean = 0, var = 0, peak = 0;
    for (double x : ratio) mean += x / static_cast<double>(ratio.size());
    for (double x : ratio) {
      var += (x - mean) * (x - mean) / static_cast<double>(ratio.size());
      peak = std::max(peak, x);
    }
    return std::pair<double, double>(std::sqrt(var), peak);
  };
  const auto [spread_without, peak_without] = swing("false");
  const auto [spread_with, peak_with] = swing("true");
  CAPTURE(spread_without);
  CAPTURE(spread_with);
  CHECK(spread_with < 0.6 * spread_without);
  CHECK(peak_with < peak_without - 0.2);
}

// ---- the building blocks, by hand --------------------------------------------------------------

TEST_CASE("market: a contract's ramp puts its volume in force linearly, its mean share by days") {
  Contract k;
  k.start = Date(2025, 1, 1);
  k.ramp = Duration{3, Duration::Unit::month};  // to 2025-04-01: 90 days
  const ContractRamp ramp(k);
  CHECK(ramp.days == 90);
  // x days in: x^2 / (2 x 90) full-volume days while ramping, x - 45 after
  CHECK(ramp.days_in_force(45) == doctest::Approx(11.25));
  CHECK(ramp.days_in_force(90) == doctest::Approx(45));
  CHECK(ramp.days_in_force(120) == doctest::Approx(75));
  CHECK(ramp.days_in_force(-5) == 0);
  CHECK(ramp.mean_share(0, 90) == doctest::Approx(0.5));
  CHECK(ramp.mean_share(90, 120) == doctest::Approx(1.0));
  CHECK(ramp.mean_share(-10, 30) == doctest::Approx(5.0 / 30));  // days before the start count as at it
  CHECK(ramp.mean_share(30, 30) == 1.0);
  k.ramp = Duration{0, Duration::Unit::month};
  const ContractRamp none(k);
  CHECK(none.days == 0);
  CHECK(none.mean_share(0, 31) == 1.0);
  CHECK(none.days_in_force(31) == 31);
}

TEST_CASE("market: a first-order lag closes 1 - exp(-t / tau) of the gap, all of it without a lag") {
  CHECK(lag_share(1.0 / 12, 0.5) == doctest::Approx(1 - std::exp(-1.0 / 6)));  // 0.1535
  CHECK(lag_share(1.0 / 12, 0.5) == doctest::Approx(0.15351827510938587).epsilon(1e-12));
  CHECK(lag_share(0.25, 0) == 1.0);
  // two half-steps close as much as one whole: 1 - (1 - a)^2 over the two
  const double half = lag_share(0.5, 1.0), whole = lag_share(1.0, 1.0);
  CHECK(1 - (1 - half) * (1 - half) == doctest::Approx(whole).epsilon(1e-12));
  CHECK(years_of(Duration{6, Duration::Unit::month}) == doctest::Approx(0.5).epsilon(1e-3));
}

TEST_CASE("market: a generation's spot floor is its operating cost per H100e-hour, within the market's floor and cap") {
  MarketSettings m;
  m.electricity_usd_per_kwh = 0.08;
  m.other_opex_usd_per_gpu_hour = 0.2;
  m.spot_floor = 0.3;
  m.spot_cap = 12;
  Generation g;
  g.it_kw_per_gpu = 1.45;
  g.train_h100e = 1.0;
  // 0.08 $/kWh x 1.45 kW x PUE 1.2 + 0.2 $ = 0.3392 $ per GPU-hour, per H100e
  CHECK(operating_floor_usd_per_h100e_hour(g, m, 1.2) == doctest::Approx(0.3392));
  g.train_h100e = 2.5;  // 0.13568 per H100e-hour: below the market's floor
  CHECK(operating_floor_usd_per_h100e_hour(g, m, 1.2) == 0.3);
  g.train_h100e = 1.0;
  m.spot_cap = 0.25;  // never above the cap
  CHECK(operating_floor_usd_per_h100e_hour(g, m, 1.2) == 0.25);
  m.spot_cap = 12;
  g.train_h100e = 0;  // no training H100e: the market's floor
  CHECK(operating_floor_usd_per_h100e_hour(g, m, 1.2) == 0.3);
}

TEST_CASE("market: utilization is the share of offers sold, 1 when nothing is offered while bids go unmet") {
  CHECK(market_utilization(100, 80, 0, true) == doctest::Approx(0.8));
  CHECK(market_utilization(100, 80, 50, false) == doctest::Approx(0.8));
  CHECK(market_utilization(0, 0, 5, true) == 1.0);
  CHECK(market_utilization(0, 0, 5, false) == -1.0);  // a custom chip: the bids could not buy it
  CHECK(market_utilization(0, 0, 0, true) == -1.0);   // no market: the price stays
}

TEST_CASE("market: the note on a spot that falls in a shortage says how slowly it can climb back") {
  MarketSettings m;
  m.sensitivity_per_year = 7;
  m.target_utilization = 0.95;
  m.spot_floor = 0.5;
  m.spot_initial = 8;
  m.spot_reference = 3;
  // at most exp(7 x 0.05) = 1.419 a year; ln(3 / 0.5) / 0.35 = 1.7918 / 0.35 = 5.12 years
  const std::string note = spot_in_shortage_note(m);
  CHECK(note.rfind("A spot that falls, or sits at its floor, in a structural shortage is no sign of oversupply: ", 0) == 0);
  const std::string climb = " Nor can it climb back fast: even when every offer sells it rises at most 42% a year "
                            "(sensitivity 7 a year x (1 - target utilization 0.95)), however many bids go unmet, and "
                            "takes 5.1 years from its $0.50 floor to its $3.00 reference.";
  CHECK(note.size() > climb.size());
  CHECK(note.substr(note.size() - climb.size()) == climb);
  // a reference at the floor: no time to reach it
  m.spot_reference = 0.5;
  CHECK(spot_in_shortage_note(m).ends_with("however many bids go unmet."));
  // a target of 100%: it cannot rise at all
  m.target_utilization = 1.0;
  CHECK(spot_in_shortage_note(m).ends_with(
      " Nor can it climb back: with a target utilization of 100%, even a market that sells every offer leaves it "
      "where it is, however many bids go unmet."));
}

TEST_CASE("market: spot moves by exp(sensitivity x (u - target) x years), the same in one step or two, within its bounds") {
  MarketSettings m;
  m.target_utilization = 0.95;
  m.sensitivity_per_year = 2.0;
  m.spot_cap = 12;
  // half a year at utilization 1: 2 x exp(2 x 0.05 x 0.5) = 2 x exp(0.05)
  CHECK(next_spot(2.0, 1.0, m, 0.5, 0.5) == doctest::Approx(2.1025421927520).epsilon(1e-12));
  CHECK(next_spot(next_spot(2.0, 1.0, m, 0.25, 0.5), 1.0, m, 0.25, 0.5) ==
        doctest::Approx(next_spot(2.0, 1.0, m, 0.5, 0.5)).epsilon(1e-14));
  // below target it falls: 2 x exp(2 x -0.45 x 1) = 0.8131
  CHECK(next_spot(2.0, 0.5, m, 1.0, 0.5) == doctest::Approx(2.0 * std::exp(-0.9)));
  CHECK(next_spot(2.0, 0.0, m, 5.0, 0.5) == 0.5);   // not below its floor
  CHECK(next_spot(11.0, 1.0, m, 5.0, 0.5) == 12);   // nor above the cap
  CHECK(next_spot(3.0, 0.95, m, 1.0, 0.5) == 3.0);  // at target it holds
}

TEST_CASE("market: the investment rule's multiplier weighs utilization, price and the supply line, within bounds") {
  InvestmentRule rule;  // target 0.85, weights 1 (utilization), 0 (price), 1 (supply line), normal line 0.25
  rule.price_weight = 0.5;
  Perception seen{0.935, 3.3, 40, 100};
  // 1 + (0.935 - 0.85) / 0.85 = 1.1; + 0.5 x (3.3 / 3 - 1) = 1.15; - (40 / 100 - 0.25) = 1.0
  CHECK(capex_multiplier(rule, seen, 3.0) == doctest::Approx(1.0));
  CHECK(capex_multiplier(rule, seen, 0.0) == doctest::Approx(0.95));  // no market: no price term
  rule.supply_line = false;
  CHECK(capex_multiplier(rule, seen, 3.0) == doctest::Approx(1.15));
  seen.installed_h100e = 0;  // nothing installed: no supply-line term either
  rule.supply_line = true;
  CHECK(capex_multiplier(rule, seen, 3.0) == doctest::Approx(1.15));
  seen.utilization = 3.0;  // 1 + 2.15 / 0.85 + 0.05 = 3.58: held at the bound
  CHECK(capex_multiplier(rule, seen, 3.0) == 2.0);
  seen.utilization = 0.0;  // 1 - 1 + 0.05 = 0.05
  CHECK(capex_multiplier(rule, seen, 3.0) == 0.5);
}
