#!/usr/bin/env bash
# Regenerates the example testbenches in netlists/ from scratch: the embedded default
# data (nladc synth), a BS-KMQ level set at 3 and 4 bits, the default technology's
# mapping, and a self-contained (--inline) conversion netlist at MAC = 3.0.
# tests/spice/test_netlist.cpp checks the committed files are current (version line aside).
# Usage: scripts/make-netlists.sh [NLADC] [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
nladc=${1:-build/nladc}
out=${2:-netlists}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$nladc" synth --out "$work/acts.npy" >/dev/null
for bits in 3 4; do
  "$nladc" levels --input "$work/acts.npy" --bits "$bits" --method bs-kmq --lo 0 --hi 6 --out "$work/levels$bits.json" >/dev/null
  "$nladc" map --levels "$work/levels$bits.json" --compensate --input "$work/acts.npy" --out "$out/bskmq${bits}_design.json" >/dev/null
  "$nladc" netlist --design "$out/bskmq${bits}_design.json" --mac 3.0 --inline --out "$out/bskmq${bits}.cir" >/dev/null
done
echo "wrote $out/bskmq3.cir $out/bskmq4.cir (and their designs)"
