#!/usr/bin/env bash
# Builds (Release) and runs every benchmark in bench/, then the `nladc mc` wall-time
# targets of docs/performance.md, and ends with one table of every target as a ratio.
# Usage: scripts/bench.sh [name-filter]   (filter: adc, levels, mc, python, cli, ...)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh build -DNLADC_BUILD_BENCH=ON >/dev/null
filter="${1:-}"
log=$(mktemp)
work=$(mktemp -d)
trap 'rm -rf "$log" "$work"' EXIT
wanted() { [[ -z "$filter" || "$1" == *"$filter"* ]]; }

for bench in build/bench/bench_*; do
  [[ -x "$bench" ]] || continue
  wanted "$bench" || continue
  echo "== $(basename "$bench")"
  "$bench" | tee -a "$log"
done
if [[ -d build/python/nladc ]] && wanted bench_python; then
  echo "== bench_python.py"
  PYTHONPATH=build/python /usr/bin/python3 bench/bench_python.py | tee -a "$log"
fi

# The command-line targets: wall time of `nladc mc` with outputs written.
wall() {  # wall seconds of a command, its output discarded
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null 2>&1
  end=$(date +%s.%N)
  python3 -c "print(f'{$end - $start:.2f}')"
}
if wanted cli; then
  echo "== nladc mc (wall time, outputs included)"
  build/nladc mc --example-study >"$work/study.json"
  build/nladc tech --defaults | python3 -c 'import json, sys
t = json.load(sys.stdin); t["array"]["wire_resistance_ohm"] = 0; print(json.dumps(t))' >"$work/ideal_tech.json"
  python3 -c 'import json, sys
s = json.load(open(sys.argv[1])); s["technology"] = sys.argv[2]; print(json.dumps(s))' \
    "$work/study.json" "$work/ideal_tech.json" >"$work/ideal_study.json"
  t_wires=$(wall build/nladc mc --study "$work/study.json" --trials 20000 --threads 2 --seed 3 --out "$work/wires")
  t_ideal=$(wall build/nladc mc --study "$work/ideal_study.json" --trials 100000 --threads 2 --seed 3 --out "$work/ideal")
  echo "cli mc default wires 20000 trials: $t_wires s" | tee -a "$log"
  echo "cli mc ideal wires 100000 trials: $t_ideal s" | tee -a "$log"
fi

# One table: each target's measured figure over its target (>= 1 is met for rates,
# <= 1 for times and cost ratios), read back from the outputs above.
echo
echo "== targets (docs/performance.md), this run"
python3 - "$log" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
rows = []
def find(pattern):
    m = re.search(pattern, text)
    return float(m.group(1)) if m else None
def add(name, value, target, unit, higher_is_better):
    if value is None:
        return
    ratio = value / target
    met = ratio >= 1 if higher_is_better else ratio <= 1
    rows.append((name, f"{value:.4g} {unit}", f"{'>=' if higher_is_better else '<='} {target:g} {unit}",
                 f"{ratio:.2f}", "met" if met else "MISSED"))
add("nladc mc, default wires, 20000 trials", (lambda t: 20000 / t if t else None)(find(r"default wires 20000 trials: ([\d.]+) s")),
    5000, "trials/s", True)
add("nladc mc, ideal wires, 100000 trials", find(r"ideal wires 100000 trials: ([\d.]+) s"), 5, "s", False)
add("bench_mc, ideal wires, 1e5 trials, compute", find(r"100000 trials on 2 threads: compute ([\d.]+) s"), 3, "s", False)
add("bench_adc, static convert_batch, 64 rows", find(r"static convert_batch \S+ \S+ lanes\)\s+([\d.e+]+)"), 5e7,
    "conv/s", True)
for bits, target in ((4, 3), (6, 4)):
    m = re.search(rf"{bits} bits \(.*?whole BS-KMQ fit[^\n]*?([\d.]+)\n", text, re.S)
    add(f"bench_levels, whole BS-KMQ fit, {bits} b (x summation pass)", float(m.group(1)) if m else None, target,
        "x", False)
if not rows:
    sys.exit(0)
widths = [max(len(r[i]) for r in rows + [("what", "measured", "target", "ratio", "")]) for i in range(5)]
for r in [("what", "measured", "target", "ratio", "status")] + rows:
    print("  ".join(c.ljust(w) for c, w in zip(r, widths)))
EOF
