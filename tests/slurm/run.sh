#!/usr/bin/env bash
# The Slurm test (ctest label `slurm`; scripts/test-slurm.sh, run by .ci/run): a real
# Slurm (scripts/slurm-local.sh start, the ctest fixture before this test) runs
#   1. `nladc mc --study S --trials 4000 --seed 7 --slurm --tasks 4 --submit` (S = the
#      example study, default wires): the merged trials.csv and summary.json must be
#      byte-identical to a one-process `nladc mc` of the same study;
#   2. 16000 trials in blocks of 1000 (enough work per task that a cancel lands mid-run:
#      a shard of the default study runs ~2500 trials/s per CPU), one array task cancelled
#      (scancel) after its first block and `nladc mc --resubmit` at once, while other tasks
#      still run: identical to a one-process run of those 16000 trials.
# Prints the job ids and each shard's time (its run_<i>of4.json). Usage: run.sh NLADC
set -euo pipefail
nladc=$(readlink -f "$1")
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=$(mktemp -d /tmp/nladc-slurm-test-XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"

fail() {
    echo "slurm test: FAILED: $*" >&2
    squeue >&2 || true
    for log in "$work"/*/slurm/logs/*.log; do
        [ -f "$log" ] && { echo "----- $log" >&2; tail -n 20 "$log" >&2; }
    done
    "$root/scripts/slurm-local.sh" logs || true
    exit 1
}

[ "$(sinfo -h -o %t 2>/dev/null | head -n 1)" = idle ] || fail "no idle Slurm node (scripts/slurm-local.sh start must run first)"

# wait_gone SECONDS NAME...: until squeue lists no job with these names.
wait_gone() {
    local limit=$1
    shift
    local names
    names=$(IFS=,; echo "$*")
    for _ in $(seq "$((limit * 2))"); do
        [ -z "$(squeue -h --name="$names" 2>/dev/null)" ] && return 0
        sleep 0.5
    done
    fail "jobs $names still queued after $limit s"
}

job_state() { scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | head -n 1; }

# submitted_id OUTPUT KIND: the job id nladc printed ("submitted array job 12 ...").
submitted_id() { sed -n "s/^submitted $2 job \([0-9]*\).*/\1/p" <<<"$1" | head -n 1; }

shard_times() {
    for record in "$1"/shards/*/run_*of*.json; do
        python3 - "$record" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"  shard {r['shard']}: {r['seconds']:.2f} s, {r['blocks_run']} blocks, {r['threads']} thread(s) on {r['host']}")
PY
    done
}

"$nladc" mc --example-study >S.json
python3 -c 'import json; s=json.load(open("S.json")); s["block_size"]=1000; json.dump(s, open("S1000.json","w"), indent=2)'

echo "slurm test: references, one process"
start=$SECONDS
"$nladc" mc --study S.json --trials 4000 --seed 7 --threads 2 --out one 2>/dev/null
echo "  4000 trials in $((SECONDS - start)) s"
start=$SECONDS
"$nladc" mc --study S1000.json --trials 16000 --seed 7 --threads 2 --out one16k 2>/dev/null
echo "  16000 trials in $((SECONDS - start)) s"

echo "slurm test: 1. a 4-task array and its merge job"
start=$SECONDS
out=$("$nladc" mc --study S.json --trials 4000 --seed 7 --slurm --tasks 4 --submit --out A)
echo "$out"
array=$(submitted_id "$out" array)
merge=$(submitted_id "$out" merge)
[ -n "$array" ] && [ -n "$merge" ] || fail "no job ids in: $out"
study=$(python3 -c 'import json; print(json.load(open("A/slurm/plan.json"))["study_hash"][:12])')
wait_gone 600 "nladc-mc-$study" "nladc-merge-$study"
[ "$(job_state "$merge")" = COMPLETED ] || fail "merge job $merge ended $(job_state "$merge")"
echo "  array job $array and merge job $merge completed in $((SECONDS - start)) s (wall, submit to merged)"
shard_times A
cmp A/trials.csv one/trials.csv || fail "A/trials.csv differs from the one-process run"
cmp A/summary.json one/summary.json || fail "A/summary.json differs from the one-process run"
echo "  A/trials.csv and summary.json byte-identical to the one-process run"

echo "slurm test: 2. one task cancelled mid-run, then --resubmit"
out=$("$nladc" mc --study S1000.json --trials 16000 --seed 7 --slurm --tasks 4 --submit --out B)
echo "$out"
array=$(submitted_id "$out" array)
merge=$(submitted_id "$out" merge)
study=$(python3 -c 'import json; print(json.load(open("B/slurm/plan.json"))["study_hash"][:12])')
# Shard 3 has 4 blocks (2, 6, 10, 14): cancel it after its first. The wait is generous (a
# loaded machine under ASan ran ~9 trials/s per task); a fast one leaves at once.
for _ in $(seq 6000); do
    [ -n "$(ls B/shards/3/blocks 2>/dev/null)" ] && break
    sleep 0.1
done
[ -n "$(ls B/shards/3/blocks 2>/dev/null)" ] || fail "shard 3 wrote no block within 600 s"
scancel "${array}_3"
echo "  scancel ${array}_3 after its block(s): $(ls B/shards/3/blocks | tr '\n' ' ')"
# Resubmit at once, as a user would: the other tasks may still be queued or running.
out=$("$nladc" mc --resubmit B)
echo "$out"
grep -q "^submitted array job [0-9]* (shards 3 of 4)" <<<"$out" || fail "--resubmit did not submit exactly shard 3"
grep -q "^cancelled stale merge job $merge\$" <<<"$out" || fail "--resubmit did not cancel the merge job $merge"
merge2=$(submitted_id "$out" merge)
wait_gone 600 "nladc-mc-$study" "nladc-merge-$study"
[ "$(job_state "${array}_3")" = CANCELLED ] || fail "task ${array}_3 ended $(job_state "${array}_3"), not CANCELLED"
[ "$(job_state "$merge")" = CANCELLED ] || fail "the first merge job $merge ended $(job_state "$merge"), not CANCELLED"
[ "$(job_state "$merge2")" = COMPLETED ] || fail "merge job $merge2 ended $(job_state "$merge2")"
grep -q "interrupted" B/slurm/logs/shard-3.log || fail "shard 3's log shows no interruption: the cancel came too late to test anything"
cmp B/trials.csv one16k/trials.csv || fail "B/trials.csv differs from the one-process run after resubmission"
echo "  B/trials.csv byte-identical to the one-process run after resubmission"
echo "slurm test: passed"
