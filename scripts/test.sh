#!/usr/bin/env bash
# README command 2: install dependencies, build, run the test suite without the [slow]
# tier, the Slurm tier and the benchmarks (scripts/test-slow.sh, scripts/test-slurm.sh,
# scripts/bench.sh): 394 s on this 2-core machine from a clean clone with the packages
# already installed (CI rehearsal at 0b668c9): about 4.5 minutes to build (library, CLI,
# tests, Python package), 2 minutes of tests.
# scripts/test-slow.sh runs the [slow] tier (the full default flow against
# characterization/, the transistor-level calibration and SPICE Monte Carlo, the network
# study, thread-count and fault-injection studies); CI (.ci/run) runs all three.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build "-DNLADC_TEST_SPEC=~[slow]~[.]" -DNLADC_BUILD_BENCH=OFF
ctest --test-dir build -j"$(nproc)" -LE slurm --output-on-failure --timeout 900
