#!/usr/bin/env python3
"""Print the README's backcast table: installed H100e of the five hyperscalers at the end of
2023, 2024 and 2025 in a gpumm run of the base scenario, against Epoch AI's estimates
(cumulative shipments from 2022, with the band summed from the rows' 5th and 95th percentiles).

Usage: gpumm run inputs/base.yaml -o out/base && python3 tools/calibrate/backcast_table.py out/base
"""
import csv
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
HIST = os.path.join(HERE, "..", "..", "inputs", "history")
OWNERS = {"Microsoft": "microsoft", "Google": "google", "Amazon": "amazon", "Meta": "meta", "Oracle": "oracle"}
FILES = ["nvidia_owners_quarters_by_chip.csv", "tpu_owners_quarters_by_chip.csv",
         "amd_owners_quarters_by_chip.csv", "trainium_owners_quarters_by_chip.csv"]


def main(out_dir):
    epoch = {}
    for name in FILES:
        with open(os.path.join(HIST, name), newline="") as f:
            for r in csv.DictReader(f):
                firm = OWNERS.get(r["Owner"])
                if not firm:
                    continue
                year = int(r["Start date"].split("/")[-1])
                for y in range(year, 2026):
                    e = epoch.setdefault((firm, y), [0.0, 0.0, 0.0])
                    e[0] += float(r["H100e (5th percentile)"] or 0)
                    e[1] += float(r["Compute estimate in H100e (median)"] or 0)
                    e[2] += float(r["H100e (95th percentile)"] or 0)
    model = {}
    with open(os.path.join(out_dir, "firms.csv"), newline="") as f:
        for r in csv.DictReader(f):
            if r["date"][5:7] == "12" and r["firm"] in OWNERS.values():
                model[(r["firm"], int(r["date"][:4]))] = float(r["installed_h100e"])
    print("| owner | year end | gpumm (M H100e) | Epoch median (M) | Epoch 5th-95th (M) |")
    print("|---|---|---|---|---|")
    for firm in OWNERS.values():
        for y in (2023, 2024, 2025):
            lo, med, hi = epoch[(firm, y)]
            print(f"| {firm} | {y} | {model[(firm, y)] / 1e6:.2f} | {med / 1e6:.2f} | {lo / 1e6:.2f}-{hi / 1e6:.2f} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "out/base")
