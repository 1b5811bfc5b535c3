#pragma once
// A run: the scenario stepped period by period (DESIGN §3). `simulate` is a pure function of the
// scenario: no globals, no I/O, the same scenario (and seed) gives the same numbers, and many
// runs can go on at once on different threads.
//
// Shapes: a cell is a firm x region pair, index c = firm * nregion + region; per-generation
// arrays are indexed c * ngeneration + g.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "gpumm/calendar.hpp"
#include "gpumm/error.hpp"
#include "gpumm/scenario.hpp"
#include "gpumm/supply.hpp"

namespace gpumm {

/// Something that will happen in a later period (a delivery, an arrival, a retirement).
struct Event {
  int cell = 0;
  int gen = -1;        ///< generation, or -1 for power, shells and ports
  double amount = 0;   ///< units, MW or ports
  bool bypass_queue = false;  ///< power that needs no interconnect slot (on-site, or before start)
  int due = 0;         ///< for placed orders: period in which they fall due
};

/// The stocks that change during a run (STYLE §1: scenario and state are different things).
struct FirmRecord;

struct State {
  int ncell = 0, ngen = 0;
  /// This period's firm records (one per firm), for observers; null outside a run's observer.
  const FirmRecord* firm_records = nullptr;
  // per cell (ncell)
  std::vector<double> energized_mw;     ///< facility MW energized
  std::vector<double> grid_queue_mw;    ///< MW ready but waiting for an interconnect slot
  std::vector<double> it_built_mw;      ///< IT MW of built shells
  std::vector<double> usable_it_mw;     ///< min(energized / PUE, built IT MW) this period
  std::vector<Binding> power_binding;   ///< which of power or building limits usable IT MW
  std::vector<double> ports;            ///< installed scale-out ports
  std::vector<double> port_backlog;     ///< ports due but not yet delivered
  // per cell x generation (ncell * ngen)
  std::vector<double> installed;        ///< GPUs installed
  std::vector<double> deployed;         ///< GPUs that can run this period
  std::vector<double> stranded;         ///< installed - deployed
  std::vector<Binding> stranded_by;     ///< what binds the stranded GPUs
  std::vector<double> backlog;          ///< GPUs due but not delivered (production short)
  std::vector<double> on_order;         ///< GPUs ordered, not yet due
  std::vector<double> ordered;          ///< flow: GPUs ordered this period
  std::vector<double> delivered;        ///< flow: GPUs delivered this period
  std::vector<double> retired;          ///< flow: GPUs retired this period
  std::vector<double> rolled_over;      ///< flow: backlog of an ended generation re-ordered
  // demand and its service (see demand.hpp); H100e of work per cell (ncell)
  std::vector<double> demand_training_h100e, demand_inference_h100e, demand_other_h100e;
  std::vector<double> unserved_h100e;   ///< demand of the cell that its firm could not serve
  // GPUs of each cell x generation used by each kind of demand (ncell * ngen)
  std::vector<double> used_training, used_inference, used_other;
  /// GPUs of each cell x generation that no demand used: during the step, what is still free.
  /// Contracts move free GPUs from the seller's pair to the buyer's, where the buyer uses them
  /// or leaves them idle; GPUs sold on the market count as used where they stand.
  std::vector<double> idle;
  // contracts, the market and money (DESIGN §5), this period
  struct ContractFlow {
    bool in_force = false;
    double delivered_h100e = 0;  ///< capacity the seller delivered (training H100e)
    double used_h100e = 0;       ///< what of it the buyer used
    double shortfall_h100e = 0;  ///< what the seller could not deliver
    double payment_usd = 0;      ///< what the buyer paid (take-or-pay share whether used or not)
  };
  std::vector<ContractFlow> contract_flows;     ///< (ncontract)
  std::vector<double> backstop_paid_usd;        ///< (nbackstop)
  // per firm (nfirm)
  std::vector<double> contracted_in_h100e, contracted_out_h100e, bought_h100e, sold_h100e;
  std::vector<double> resale_revenue_usd, market_spend_usd, contract_paid_usd, contract_received_usd,
      backstop_received_usd;
  // per region x generation (nregion * ngen): the market
  std::vector<double> market_offers_h100e, market_matched_h100e;
  // per region (nregion)
  std::vector<double> market_bids_h100e, market_unmet_h100e;
  double spot_usd_per_h100e_hour = 0, term_usd_per_h100e_hour = 0;  ///< the index over generations
  std::vector<double> spot_by_gen, term_by_gen;  ///< (ngen) each generation's prices, $ per H100e-hour
  std::vector<double> capex_multiplier;         ///< (nfirm) this year's investment-rule multiplier
  // per generation (ngen)
  std::vector<int> gen_bound_by;        ///< -1 none, -2 production ramp, >= 0 upstream node
  std::vector<double> produced;         ///< units produced this period
  // cumulative totals for conservation checks
  double ordered_total = 0, delivered_total = 0, retired_total = 0, initial_total = 0;
  double rolled_over_total = 0;         ///< GPUs of ended generations re-ordered as a successor
};

/// Aggregates of one period; everything `summary.csv` shows.
struct PeriodSummary {
  int period = 0;
  double installed_gpus = 0, installed_h100e = 0;
  double deployed_gpus = 0, deployed_h100e = 0;
  double stranded_gpus = 0, stranded_h100e = 0;
  double stranded_power_gpus = 0, stranded_building_gpus = 0, stranded_network_gpus = 0;
  double energized_mw = 0, grid_queue_mw = 0, it_built_mw = 0, usable_it_mw = 0;
  double ordered_gpus = 0, delivered_gpus = 0, retired_gpus = 0, rolled_over_gpus = 0;
  double backlog_gpus = 0, on_order_gpus = 0;
  double capex_spent_usd = 0;
  int binding_upstream = -1;  ///< -1 none, -2 production ramp, >= 0 upstream node index
  // demand, in H100e of work (inference: what an H100 would serve)
  double demand_training_h100e = 0, demand_inference_h100e = 0, demand_other_h100e = 0;
  double served_h100e = 0, unserved_h100e = 0;
  double idle_h100e = 0;  ///< deployed capacity no demand used, training H100e
  double spot_usd_per_h100e_hour = 0, term_usd_per_h100e_hour = 0;  ///< 0 without a market
  double market_matched_h100e = 0, market_unmet_h100e = 0;
  /// what contracts in force put on their sellers that they could not deliver (training H100e)
  double contract_shortfall_h100e = 0;
  double mismatch_index = 0;        ///< over firm x region x generation cells (and unserved)
  double mismatch_firms = 0, mismatch_regions = 0, mismatch_generations = 0;
  /// share of deployed capacity (training H100e) that demand used
  double utilization() const { return deployed_h100e > 0 ? (deployed_h100e - idle_h100e) / deployed_h100e : 0.0; }
  double demand_h100e() const { return demand_training_h100e + demand_inference_h100e + demand_other_h100e; }
  /// idle - unserved: what is left over minus what was left unserved
  double balance_h100e() const { return idle_h100e - unserved_h100e; }
  /// balance / demand; in a period without demand, +1 when capacity stands idle (all of it
  /// spare, as -1 is all demand unserved) and 0 when there is none: not 0 for both, which made
  /// a market with nothing but idle capacity read as balanced
  double relative_balance() const;
};

/// One firm in one period: its balance before the market (capacity available to it, own and
/// contracted, minus its own demand) and why it has capacity beyond its needs, idle or sold on
/// the market (training H100e). That spare capacity is split, in this order, into what a slipped training project left
/// unused, contracted capacity the buyer did not use (take-or-pay excess), what sits on
/// generations too old for the firm's waiting training, what waits for stranded GPUs (a training
/// run would fit in a cluster if its stranded GPUs had power, a building or a network), what
/// could not reach unserved demand of the firm's own elsewhere (region mismatch), what the market
/// sold to firms short of capacity, what stayed idle while other firms' demand went unserved
/// that the market could not match (on custom accelerators, which only their owner and its
/// contracted customers may use, in proportion to the firm's idle capacity on them; the rest a
/// region mismatch: region, latency group, cluster size), and weak demand (the rest).
struct FirmRecord {
  double deployed_h100e = 0, idle_h100e = 0, unserved_h100e = 0;
  double sold_h100e = 0, bought_h100e = 0;  ///< on the market this period
  double contracted_in_h100e = 0, contracted_out_h100e = 0;  ///< moved by contracts this period
  double idle_slipped_project = 0, idle_take_or_pay = 0, idle_generation_transition = 0,
         idle_stranded = 0, idle_sold_to_short_firms = 0, idle_custom_accelerator = 0, idle_region_mismatch = 0,
         idle_weak_demand = 0;  ///< shares of idle + sold
  double spare_h100e() const { return idle_h100e + sold_h100e; }
  double balance_h100e() const { return idle_h100e + sold_h100e - unserved_h100e - bought_h100e; }
};

/// What happened to one training project.
struct ProjectOutcome {
  std::string name, program;
  int firm = -1;
  int region = -1;           ///< where it ran (or waits), -1 if unknown
  double flop = 0;           ///< 0 when sized in GPUs
  double h100e = 0;          ///< H100e it needs each period while it runs
  Date planned_start, slipped_start, planned_end;
  double slip_days = 0;
  int start_period = -1;     ///< -1: never started within the horizon
  int end_period = -1;       ///< first period after it ends
  Date actual_start, actual_end;  ///< when it ran (set when it starts): its slipped start or,
                                  ///< when it waited, the first day of the period it started in
  int wait_periods = 0;      ///< periods it was ready but found no capacity
  bool superseded = false;   ///< dropped while waiting, when its program's next run was ready
  int superseded_period = -1;  ///< the period it was dropped in
};

/// Called after every period with the state; writers stream rows from here, so a run holds
/// per-period detail only as long as the observer keeps it.
using PeriodObserver =
    std::function<void(int t, const State& state, const PeriodSummary& summary)>;

/// The result of a run as data (STYLE §6).
struct RunResult {
  Calendar calendar;
  std::vector<PeriodSummary> periods;
  std::vector<Warning> warnings;
  std::vector<int> deploy_order;  ///< generations, best H100e per kW first
  std::vector<ProjectOutcome> projects;  ///< explicit and generated, in start order
  std::vector<FirmRecord> firm_records;  ///< (periods x firms), row t at t * nfirm

  /// Period with the most stranded GPUs (-1 if none were ever stranded).
  int peak_stranded_period() const;
};

/// Name of a binding code from `PeriodSummary::binding_upstream` / `State::gen_bound_by`.
std::string binding_upstream_name(const Scenario& s, int code);

/// A year of a firm's capex that no period of a run spends. A year's capex is spent in the
/// periods it overlaps, from the first period that ends on or after the firm's `capex_start`
/// (the start by default) to the end: the years `first_year` to `last_year` of the firm (none
/// when its capex_start is after the end: then `first_year` > `last_year`).
struct UnspentCapex {
  int firm = 0;
  int year = 0;
  double usd = 0;
  int first_year = 0, last_year = 0;  ///< the years the firm's capex is spent in
};

/// Every year of every firm's capex that a run of `s` never spends, by firm and year: a plan
/// beyond the horizon, or history before the start or capex_start.
std::vector<UnspentCapex> unspent_capex(const Scenario& s, const Calendar& cal);

/// One line on `unspent` for a run's warnings (`capex_outside_run`): the firms, years and
/// amounts, the first few firms in full.
std::string describe_unspent_capex(const Scenario& s, const std::vector<UnspentCapex>& unspent);

/// The years of the run without a value in a firm's capex after its first one, which it spends
/// nothing in (a plan that ends before the horizon, or skips a year), by firm and year.
struct MissingCapex {
  int firm = 0;
  int year = 0;
};
std::vector<MissingCapex> missing_capex(const Scenario& s, const Calendar& cal);

/// One line on `missing` for a run's warnings (`capex_missing`): the firms and years, the first
/// few firms in full.
std::string describe_missing_capex(const Scenario& s, const std::vector<MissingCapex>& missing);

/// Run the scenario. `seed` overrides the scenario's seed when given.
RunResult simulate(const Scenario& s, const PeriodObserver& observer = {});

}  // namespace gpumm
