#!/usr/bin/env bash
# Set up gpumm (packages, configure, build Release with tests) and run the whole test suite.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tools/setup.sh
source "$root/tools/setup.sh"
gpumm_setup "$root/build" -DGPUMM_BUILD_TESTS=ON -DGPUMM_BUILD_BENCHMARKS=ON
cd "$root/build"
ctest --output-on-failure -j "$(nproc)"
