#!/usr/bin/env bash
# README command 1: install dependencies, build, run the main job on the embedded default.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build
out=${NLADC_DEMO_OUT:-out/demo}
mkdir -p "$out"
./build/nladc synth --out "$out/acts.npy"
./build/nladc compare --input "$out/acts.npy" --lo 0 --hi 6 --bits 3,4,5,6 \
  --csv "$out/compare.csv" --plot "$out/compare.png"
echo "demo: results in $out/"
