#!/usr/bin/env bash
# Instructions per run of the base scenario and its two reduced variants, counted by
# valgrind's callgrind (they do not vary from run to run as timings do):
#   tools/bench/instructions.sh [RUNS]        (default 5 runs per scenario)
# Each scenario is loaded and run RUNS times, and loaded and run 0 times; the difference over
# RUNS is one run's instructions. Needs valgrind and a build with GPUMM_BUILD_BENCHMARKS
# (tools/test.sh makes one in build/).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
runs=${1:-5}
loop="$root/build/tools/gpumm_run_loop"
command -v valgrind >/dev/null || { echo "instructions.sh: needs valgrind (apt-get install valgrind)" >&2; exit 1; }
[ -x "$loop" ] || { echo "instructions.sh: no $loop; build with tools/test.sh first" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
count() {  # instructions of `gpumm_run_loop SCENARIO N`
  valgrind --tool=callgrind --callgrind-out-file="$tmp/out" "$loop" "$1" "$2" 2>&1 >/dev/null |
    awk '/Collected :/ {print $4}'
}
printf '%-34s %s\n' "scenario" "instructions per run"
for s in inputs/base.yaml tools/bench/base_no_market.yaml tools/bench/base_supply_only.yaml; do
  with=$(count "$root/$s" "$runs")
  without=$(count "$root/$s" 0)
  awk -v s="$s" -v a="$with" -v b="$without" -v n="$runs" \
    'BEGIN { printf "%-34s %.1f M\n", s, (a - b) / n / 1e6 }'
done
