#!/usr/bin/env bash
# Set up gpumm (packages, configure, build Release) and run a scenario.
# Usage: tools/run.sh [SCENARIO] [gpumm run options...]   (default: inputs/base.yaml)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tools/setup.sh
source "$root/tools/setup.sh"
gpumm_setup "$root/build"
scenario=${1:-$root/inputs/base.yaml}
[ $# -gt 0 ] && shift
exec "$root/build/tools/gpumm" run "$scenario" "$@"
