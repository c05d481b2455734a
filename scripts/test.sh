#!/usr/bin/env bash
# README command 2: install dependencies, build, run the test suite without the [slow]
# tier and without the benchmarks (scripts/bench.sh builds those): about 12 minutes on
# this 2-core machine from a clean tree, 9 to build (library, CLI, tests, Python package), 3 to test.
# scripts/test-slow.sh runs the [slow] tier (the full default flow against
# characterization/, the transistor-level calibration and SPICE Monte Carlo, the network
# study, thread-count and fault-injection studies); CI (.ci/run) runs both.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build "-DNLADC_TEST_SPEC=~[slow]~[.]" -DNLADC_BUILD_BENCH=OFF
ctest --test-dir build -j"$(nproc)" -LE slurm --output-on-failure --timeout 900
