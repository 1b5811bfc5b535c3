#!/usr/bin/env bash
# Shared set-up for tools/run.sh and tools/test.sh: install what is missing, configure, build.
# Usage: source tools/setup.sh; gpumm_setup BUILD_DIR [extra cmake args...]
set -euo pipefail

GPUMM_PACKAGES=(g++ cmake make libboost-date-time-dev libeigen3-dev libyaml-cpp-dev doctest-dev
                libbenchmark-dev)

gpumm_missing_packages() {
  local missing=()
  for p in "${GPUMM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  echo "${missing[@]:-}"
}

gpumm_install_packages() {
  local missing
  missing=$(gpumm_missing_packages)
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" -eq 0 ]; then
    echo "gpumm: installing missing Debian packages: $missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
  else
    echo "gpumm: missing Debian packages. Install them with:" >&2
    echo "  sudo apt-get install -y $missing" >&2
    exit 1
  fi
}

gpumm_setup() {
  local build_dir=$1; shift
  local root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  gpumm_install_packages
  local log="$build_dir/gpumm-build.log"
  mkdir -p "$build_dir"
  echo "gpumm: configuring and building in $build_dir"
  if ! { cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release "$@" &&
         cmake --build "$build_dir" -j "$(nproc)"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "gpumm: build failed (log above, also in $log)" >&2
    exit 1
  fi
}
