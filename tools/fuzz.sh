#!/usr/bin/env bash
# Fuzz the scenario loader (with the run of every scenario that loads), the study-file loader
# and the comparison of scenarios (`gpumm diff`) with libFuzzer, AddressSanitizer and UBSan, starting from the bundled scenarios and
# studies. Usage: tools/fuzz.sh [SECONDS_PER_TARGET]  (default 300)
# Needs clang (installs Debian's clang and libclang-rt-dev when run as root). Every input kept
# in build-fuzz/findings/ is a bug (a crash, a sanitizer report, an exception other than a
# located error, or a hang of more than 20 s): fix it and add the input to a test.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tools/setup.sh
source "$root/tools/setup.sh"
GPUMM_PACKAGES+=(clang libclang-rt-dev)
seconds=${1:-300}
cd "$root"
build="$root/build-fuzz"
CC=clang CXX=clang++ gpumm_setup "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGPUMM_BUILD_FUZZERS=ON \
  -DGPUMM_BUILD_TESTS=OFF -DGPUMM_WITH_MPI=OFF
status=0
for target in scenario study diff; do
  corpus="$build/corpus/$target" findings="$build/findings/$target"
  mkdir -p "$corpus" "$findings"
  if [ "$target" = scenario ]; then
    seeds=(inputs/*.yaml inputs/cases/*.yaml tests/testdata/*.yaml tests/testdata/bad/*.yaml)
  elif [ "$target" = diff ]; then
    seeds=(inputs/cases/*.yaml)
  else
    seeds=(inputs/studies/*.yaml tests/testdata/studies/*.yaml)
  fi
  for f in "${seeds[@]}"; do cp "$root/$f" "$corpus/${f//\//_}"; done
  echo "gpumm: fuzzing the $target target for $seconds s (log: $build/fuzz-$target.log)"
  if ! "$build/tools/fuzz/fuzz_$target" "$corpus" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 \
       -artifact_prefix="$findings/" -print_final_stats=1 >"$build/fuzz-$target.log" 2>&1; then
    echo "gpumm: the $target fuzzer found a bug: $(ls "$findings")" >&2
    status=1
  fi
done
[ $status -eq 0 ] && echo "gpumm: no findings"
exit $status
