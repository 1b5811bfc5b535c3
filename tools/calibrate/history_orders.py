#!/usr/bin/env python3
"""Turn Epoch AI's quarterly chip estimates (inputs/history/) into the base scenario's history.

For each firm it prints, as YAML to paste into inputs/base.yaml:
  - fleet_at_start: what the firm received in 2022 (the data start), by gpumm generation;
  - orders: one order per quarter and generation for 2023-2025, placed one lead time (3 months)
    before the quarter and spread over it, so deliveries land in the quarter Epoch reports;
  - builds: completed power and data-center tranches sized so the history fleet has room
    (15% headroom), committed 24 months before each half-year they serve.

Chips are converted to gpumm generations through H100e, so each owner's H100e is preserved
exactly even where several chips share one generation (e.g. MI300X and MI325X -> mi300).
xAI and Nebius are not in the Epoch owner files: their orders are assumptions (see ASSUMED)
and are taken out of Epoch's residual "other" owner.

Usage: python3 tools/calibrate/history_orders.py > /tmp/history.yaml
"""
import csv
import collections
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
HIST = os.path.join(HERE, "..", "..", "inputs", "history")

# gpumm generation per Epoch chip type, and H100e per unit of the generation (must match base.yaml)
GEN = {
    "A100": "a100", "A800": "a100", "H100/H200": "h100", "H100": "h100", "H800": "h100",
    "H20": "h20", "B200": "b200", "B300": "b300",
    "TPU v4": "tpu_v4", "TPU v4i": "tpu_v4", "TPU v5e": "tpu_v5", "TPU v5p": "tpu_v5",
    "TPU v6e": "tpu_v6e", "TPU v7": "tpu_v7",
    "Trainium1": "trn1", "Trainium2": "trn2",
    "Instinct MI250X": "mi300", "Instinct MI300A": "mi300", "Instinct MI300X": "mi300",
    "Instinct MI325X": "mi300", "Instinct MI308X": "mi300",
    "Instinct MI350X": "mi355", "Instinct MI355X": "mi355",
}
H100E = {"a100": 0.32, "h100": 1.0, "h20": 0.15, "b200": 2.53, "b300": 2.53, "tpu_v4": 0.14,
         "tpu_v5": 0.27, "tpu_v6e": 0.93, "tpu_v7": 2.33, "trn1": 0.21, "trn2": 0.66,
         "mi300": 1.32, "mi355": 2.4}
IT_KW = {"a100": 0.5, "h100": 1.45, "h20": 0.7, "b200": 2.09, "b300": 2.22, "tpu_v4": 0.35,
         "tpu_v5": 0.4, "tpu_v6e": 0.5, "tpu_v7": 1.2, "trn1": 0.3, "trn2": 0.75, "mi300": 1.35,
         "mi355": 2.0}
OWNER = {"Microsoft": "microsoft", "Google": "google", "Amazon": "amazon", "Meta": "meta",
         "Oracle": "oracle", "China": "china", "CoreWeave": "coreweave", "Other": "other"}
PUE = 1.25  # weighted assumption for sizing history builds

# xAI and Nebius: assumptions (units per quarter), carved out of Epoch's residual owner.
# xAI: Colossus, about 100k H100 by Sep 2024 and 200k H100/H200 by early 2025, then Blackwell;
# Epoch's owner hub puts xAI near 0.5M H100e in Apr 2026 (calibration.md, installed base).
ASSUMED = {
    "xai": {("2024Q2", "h100"): 30e3, ("2024Q3", "h100"): 70e3, ("2024Q4", "h100"): 50e3,
            ("2025Q1", "h100"): 50e3, ("2025Q2", "b200"): 30e3, ("2025Q3", "b200"): 40e3,
            ("2025Q4", "b300"): 40e3},
    "nebius": {("2024Q2", "h100"): 5e3, ("2024Q3", "h100"): 5e3, ("2024Q4", "h100"): 5e3,
               ("2025Q1", "h100"): 10e3, ("2025Q2", "b200"): 10e3, ("2025Q3", "b200"): 15e3,
               ("2025Q4", "b300"): 20e3},
}


def quarter(date_text):
    m, _, y = date_text.split("/")
    return f"{y}Q{(int(m) - 1) // 3 + 1}"


def read(name):
    with open(os.path.join(HIST, name), newline="") as f:
        return list(csv.DictReader(f))


def h100e_col(row):
    return float(row["Compute estimate in H100e (median)"] or 0)


def main():
    # H100e per (owner, quarter, generation)
    by_owner = collections.defaultdict(float)
    totals = collections.defaultdict(float)  # all owners, from the chip timelines
    for name in ["nvidia_owners_quarters_by_chip.csv", "tpu_owners_quarters_by_chip.csv",
                 "amd_owners_quarters_by_chip.csv", "trainium_owners_quarters_by_chip.csv",
                 "coreweave_owners_quarters_by_chip.csv"]:
        for r in read(name):
            by_owner[(OWNER[r["Owner"]], quarter(r["Start date"]), GEN[r["Chip type"]])] += h100e_col(r)
    for name in ["nvidia_calendar_quarter_chip_timelines.csv"]:
        for r in read(name):
            totals[(quarter(r["Start date"]), GEN[r["Chip type"]])] += h100e_col(r)
    # Nvidia's residual owner: total minus named owners (CoreWeave included) minus assumed firms
    nvidia_gens = {"a100", "h100", "h20", "b200", "b300"}
    for (q, g), total in totals.items():
        named = sum(v for (o, qq, gg), v in by_owner.items() if qq == q and gg == g)
        by_owner[("other", q, g)] += max(0.0, total - named)
    for firm, orders in ASSUMED.items():
        for (q, g), units in orders.items():
            h = units * H100E[g]
            by_owner[(firm, q, g)] += h
            take = min(h, by_owner[("other", q, g)])
            by_owner[("other", q, g)] -= take
            if take < h:
                print(f"# warning: other has only {take:.0f} of {h:.0f} H100e of {g} in {q}", file=sys.stderr)

    firms = ["microsoft", "google", "amazon", "meta", "oracle", "coreweave", "nebius", "xai", "china", "other"]
    for firm in firms:
        print(f"  # ---- {firm}")
        fleet = collections.defaultdict(float)
        orders = []
        for (o, q, g), h in sorted(by_owner.items()):
            if o != firm or h <= 0:
                continue
            units = h / H100E[g]
            if q.startswith("2022"):
                fleet[g] += units
            elif q < "2026":
                orders.append((q, g, units))
        print("    fleet_at_start: {" + ", ".join(f"{g}: {round(u)}" for g, u in sorted(fleet.items())) + "}")
        # IT MW needed at the start and after each half-year of deliveries
        it_mw = sum(u * IT_KW[g] for g, u in fleet.items()) / 1000
        print(f"    power_at_start: {round(it_mw * PUE * 1.15)} MW   # split by region weight below")
        print("    orders:")
        for q, g, units in orders:
            y, n = int(q[:4]), int(q[5])
            m = 3 * (n - 1) + 1 - 3
            if m <= 0:
                y, m = y - 1, m + 12
            print(f"      - {{generation: {g}, units: {round(units)}, date: {y}-{m:02d}-01, over: 1q}}  # {q}")
        print("    builds:")
        need = it_mw
        for half in ["2023H1", "2023H2", "2024H1", "2024H2", "2025H1", "2025H2"]:
            qs = [f"{half[:4]}Q{k}" for k in ((1, 2) if half.endswith("H1") else (3, 4))]
            add = sum(u * IT_KW[g] for q, g, u in orders if q in qs) / 1000
            need += add
            if add <= 0:
                continue
            y = int(half[:4]) - 2
            m = 1 if half.endswith("H1") else 7
            print(f"      - {{power: {round(add * PUE * 1.15)} MW, commit: {y}-{m:02d}-01, lead_time: 24mo, "
                  f"build_time: 18mo, stage: operational}}  # for {half} deliveries")


if __name__ == "__main__":
    main()
