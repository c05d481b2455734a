#!/usr/bin/env bash
# Regenerates the committed characterization of the default design: runs `nladc flow` on
# characterization/default.json and copies its outputs (without the 12 MB of raw trial
# rows and activation samples) into characterization/default/. A test checks that the
# committed models are current, ignoring the version lines.
# Then runs `nladc dnn` with its defaults into characterization/dnn/.
# Usage: scripts/make-characterization.sh [DEST] [NLADC] [DNN_DEST]   (defaults characterization/default, build/nladc, characterization/dnn;
#        DNN_DEST "-" skips the network study)
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${1:-characterization/default}
nladc=${2:-build/nladc}
# The committed results must name the commit that made them: refuse a dirty build.
if [ "$dest" = characterization/default ] && "$nladc" --version | grep -q -- -dirty; then
    echo "make-characterization: $nladc was built from a dirty tree ($("$nladc" --version)); commit, rebuild, rerun" >&2
    exit 1
fi
run=$(mktemp -d /tmp/nladc-characterization-XXXXXX)
trap 'rm -rf "$run"' EXIT
"$nladc" flow --config characterization/default.json --out "$run/flow"
rm -rf "$dest.tmp.$$"
mkdir -p "$dest.tmp.$$"
tar -C "$run/flow" --exclude=./monte_carlo/blocks --exclude=./monte_carlo/spice --exclude=./monte_carlo/trials.csv \
    --exclude=./data/activations.npy --exclude='./*/stage.json' -cf - . | tar -C "$dest.tmp.$$" -xf -
# Committed files carry no machine paths: paths into the run directory become relative
# to the flow's output directory, paths into this checkout relative to its root.
grep -rlIZ -e "$run/flow/" -e "$PWD/" "$dest.tmp.$$" | xargs -0 -r sed -i -e "s|$run/flow/||g" -e "s|$PWD/||g"
rm -rf "$dest"
mv "$dest.tmp.$$" "$dest"
echo "wrote $dest/ (report.md, models/)"

# The network-level accuracy study (docs/dnn.md) with its default config, without the
# 6 MB activation dump (`nladc dnn --out DIR` writes it). A [slow] test compares a fresh
# run's table with the committed one.
dnn_dest=${3:-characterization/dnn}
[ "$dnn_dest" = "-" ] && exit 0
"$nladc" dnn --out "$run/dnn"
rm -rf "$run/dnn/activations" "$dnn_dest.tmp.$$"
mv "$run/dnn" "$dnn_dest.tmp.$$"
rm -rf "$dnn_dest"
mv "$dnn_dest.tmp.$$" "$dnn_dest"
echo "wrote $dnn_dest/ (summary.md, accuracy.csv, accuracy.png)"
