#!/usr/bin/env bash
# Builds (Release) and runs every benchmark in bench/. Usage: scripts/bench.sh [name-filter]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh build -DNLADC_BUILD_BENCH=ON >/dev/null
for bench in build/bench/bench_*; do
  [[ -x "$bench" ]] || continue
  [[ -z "${1:-}" || "$bench" == *"$1"* ]] || continue
  echo "== $(basename "$bench")"
  "$bench"
done
if [[ -d build/python/nladc && ( -z "${1:-}" || "bench_python" == *"$1"* ) ]]; then
  echo "== bench_python.py"
  PYTHONPATH=build/python /usr/bin/python3 bench/bench_python.py
fi
