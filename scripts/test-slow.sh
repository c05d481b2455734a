#!/usr/bin/env bash
# The [slow] test tier (CI runs it after scripts/test.sh, which builds build/): the
# tests that simulate many transistor-level conversions or rerun whole studies. Two
# Catch2 processes run side by side, the ngspice tests and the rest, each printing its
# test durations. Usage: scripts/test-slow.sh   (after scripts/test.sh or scripts/build.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh build "-DNLADC_TEST_SPEC=~[slow]~[.]" -DNLADC_BUILD_BENCH=OFF
tests=build/tests/nladc_tests
log=$(mktemp -d /tmp/nladc-slow-XXXXXX)
trap 'rm -rf "$log"' EXIT
"$tests" "[slow][ngspice]" --durations yes >"$log/ngspice.txt" 2>&1 &
spice_pid=$!
status=0
"$tests" "[slow]~[ngspice]" --durations yes >"$log/other.txt" 2>&1 || status=1
wait "$spice_pid" || status=1
cat "$log/other.txt" "$log/ngspice.txt"
exit "$status"
