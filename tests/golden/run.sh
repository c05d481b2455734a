#!/usr/bin/env bash
# Golden CLI script: a fixed sequence of nladc commands on small inputs whose
# outputs (stdout and every file written) are stored in tests/golden/expected/.
# A refactor must leave them byte-identical apart from the version string;
# a change that alters an output on purpose regenerates them (--update) in a
# commit of its own that names the change.
#
#   tests/golden/run.sh NLADC [--update]
#
# Without --update the outputs go to a temporary directory and are compared.
set -euo pipefail

nladc=$(realpath "$1")
mode=${2:-check}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
expected="$here/expected"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out="$work/out"
mkdir -p "$out"
cd "$work"

# Run one command, store its stdout (progress goes to stderr and is not kept).
run() {
    local name=$1
    shift
    "$nladc" "$@" > "$out/$name.stdout"
}

run synth synth --n 20000 --seed 7 --out "$out/acts.npy"
run levels levels --input "$out/acts.npy" --bits 3 --method bs-kmq --out "$out/levels.json"
run levels-lloyd levels --input "$out/acts.npy" --bits 3 --method lloyd-max --out "$out/levels-lloyd.json"
run compare compare --input "$out/acts.npy" --bits 2,3 --csv "$out/compare.csv"
run map map --levels "$out/levels.json" --rows 32 --input "$out/acts.npy" --out "$out/design.json"
run map-compensated map --levels "$out/levels.json" --rows 32 --compensate --input "$out/acts.npy" \
    --out "$out/design-compensated.json"
run transfer transfer --design "$out/design.json" --out "$out/transfer.csv"
run transfer-ideal transfer --design "$out/design.json" --ideal --out "$out/transfer-ideal.csv"
run netlist netlist --design "$out/design.json" --out "$out/conversion.cir"
run netlist-mac netlist --design "$out/design.json" --kind mac --circuit macro --corner FF --out "$out/mac.cir"
cat > "$out/study.json" <<JSON
{ "format": "nladc-study", "version": 1, "design": "$out/design.json",
  "trials": 40, "seed": 3, "block_size": 10 }
JSON
run mc mc --study "$out/study.json" --threads 2 --out "$out/mc"
run characterize characterize --design "$out/design.json" --study "$out/mc" --ramp-points 4000 \
    --no-spice-energy --out "$out/char"
for format in json csv spice veriloga; do
    run "export-$format" export --from "$out/char" --format "$format" --out "$out/model.$format"
done
run area area --bits 3,4 --out "$out/area"
run tech-describe tech --describe

# Paths (output and source tree), the version string and the run log's host and clock differ from run to
# run; everything else must not.
version=$("$nladc" --version | awk '{print $NF}')
find "$out" -type f ! -name '*.npy' ! -name '*.png' -print0 |
    xargs -0 sed -i -e "s#$out#OUT#g" -e "s#$root#ROOT#g" -e "s#$version#VERSION#g"
sed -i -E -e 's/"(seconds|finished_at_unix)": [0-9.e+-]+/"\1": CLOCK/' \
    -e 's/"host": "[^"]*"/"host": HOST/' "$out"/mc/run_*.json
sed -i -E 's/ in [0-9.]+ s / in CLOCK s /' "$out"/*.stdout

if [ "$mode" = --update ]; then
    rm -rf "$expected"
    cp -r "$out" "$expected"
    echo "golden: stored $(find "$expected" -type f | wc -l) files in $expected"
    exit 0
fi
if ! diff -r "$expected" "$out" > "$work/diff.txt"; then
    head -n 60 "$work/diff.txt" >&2
    echo "golden: outputs differ from $expected (first 60 lines above)" >&2
    exit 1
fi
echo "golden: $(find "$expected" -type f | wc -l) files identical"
