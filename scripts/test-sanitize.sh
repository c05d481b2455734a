#!/usr/bin/env bash
# The test suite again under AddressSanitizer + UndefinedBehaviorSanitizer (CI runs it after
# scripts/test.sh), in build-asan/. The [slow] tests (full default flow, SPICE Monte Carlo,
# network training) and the [long] one (the small flow end to end) are left out: their
# time goes into ngspice or training, and the code they run is also run by shorter tests
# here (each flow stage, dnn, the worker pool). The Slurm tier (label `slurm`) has its own
# CI stage on the normal build (scripts/test-slurm.sh): four array tasks under ASan beside
# the rest of this suite on two cores made its waits a measure of machine load, not of nladc.
# LeakSanitizer stays on (no detect_leaks=0, no suppressions file): exactly the allocations
# libngspice makes are exempted with __lsan_disable/__lsan_enable around every call into it
# (src/spice/ngspice_library.hpp explains why a suppressions file cannot match them).
# Usage: scripts/test-sanitize.sh [extra ctest args]
set -euo pipefail
cd "$(dirname "$0")/.."
# -O1 -g1 (ASan's recommended level, line tables for the reports): compiling the
# instrumented library at -O2 -g took twice as long and CI pays for it.
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" \
  -DNLADC_SANITIZE=ON -DNLADC_BUILD_BENCH=OFF "-DNLADC_TEST_SPEC=~[slow]~[.]~[long]" >/dev/null
cmake --build build-asan -j"$(nproc)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_stack_use_after_return=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir build-asan -j"$(nproc)" --output-on-failure --timeout 1800 -LE slurm "$@"
