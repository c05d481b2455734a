#!/usr/bin/env bash
# The Slurm tier (CI runs it after scripts/test.sh, which builds build/): starts a real
# one-node Slurm on this machine (scripts/slurm-local.sh: installs slurm-wlm and munge,
# needs root), submits Monte Carlo studies as job arrays, cancels a task, resubmits, and
# checks the merged results byte-identical to one-process runs; then stops Slurm.
# Usage: scripts/test-slurm.sh   (after scripts/test.sh or scripts/build.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh build "-DNLADC_TEST_SPEC=~[slow]~[.]" -DNLADC_BUILD_BENCH=OFF
ctest --test-dir build -L slurm --output-on-failure --verbose
