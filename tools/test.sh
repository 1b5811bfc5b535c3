#!/usr/bin/env bash
# Set up gpumm (packages, configure, build Release with tests, benchmarks and MPI) and run the
# whole test suite.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tools/setup.sh
source "$root/tools/setup.sh"
# the suite also runs a study under `mpirun -np 2` (build with Open MPI), rebuilds the
# exported notebooks with python3 and runs gpumm on a pseudo-terminal with `script` (bsdutils)
GPUMM_PACKAGES+=(libopenmpi-dev openmpi-bin python3 bsdutils)
gpumm_setup "$root/build" -DGPUMM_BUILD_TESTS=ON -DGPUMM_BUILD_BENCHMARKS=ON -DGPUMM_WITH_MPI=ON
cd "$root/build"
ctest --output-on-failure -j "$(nproc)"
