#!/usr/bin/env bash
# README command 1: install dependencies, build, run the main job on the embedded default.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build
out=${NLADC_DEMO_OUT:-out/flow}
# The main job: nladc flow on the embedded default (about 4 minutes on 2 cores).
./build/nladc flow --out "$out"
echo "demo: report in $out/report.md"
