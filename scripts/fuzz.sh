#!/usr/bin/env bash
# Builds the libFuzzer harnesses (tests/fuzz) in build-fuzz with clang 14 and runs each
# for SECONDS (default 10: the CI smoke run) on a temporary copy of its seed corpus, so
# the committed corpus never grows. Prints harness / runs / coverage / result and exits
# non-zero when any harness finds something; the crash file and the log are kept in
# build-fuzz/fuzz-findings/<harness>/. docs/fuzzing.md explains longer runs and how to
# add a finding to the corpus.
#
#   scripts/fuzz.sh [SECONDS]
#
# Environment: NLADC_FUZZ_BIN=DIR skips configuring and building and runs the harnesses
# in DIR (the `fuzz` CMake target does this); NLADC_FUZZ_ONLY="npy csv" runs only those;
# NLADC_FUZZ_ARGS adds libFuzzer flags (e.g. "-jobs=2 -workers=2").
set -euo pipefail

seconds="${1:-10}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
    echo "usage: scripts/fuzz.sh [SECONDS]  (SECONDS: a positive integer, default 10)" >&2
    exit 2
fi
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
corpus_root="$root/tests/fuzz/corpus"
start=$(date +%s)

if [ -n "${NLADC_FUZZ_BIN:-}" ]; then
    bin="$NLADC_FUZZ_BIN"
    build="$(dirname "$bin")"
else
    build="$root/build-fuzz"
    bin="$build/fuzz"
    for tool in clang-14 clang++-14 cmake; do
        command -v "$tool" >/dev/null || { echo "fuzz.sh: $tool not found (apt-get install clang-14 libfuzzer-14-dev libclang-rt-14-dev cmake)" >&2; exit 1; }
    done
    generator=()
    if [ ! -f "$build/CMakeCache.txt" ] && command -v ninja >/dev/null; then generator=(-G Ninja); fi
    CC=clang-14 CXX=clang++-14 cmake -S "$root" -B "$build" "${generator[@]}" \
        -DNLADC_FUZZ=ON -DNLADC_BUILD_TESTS=OFF -DNLADC_BUILD_BENCH=OFF \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1" >/dev/null
    cmake --build "$build" --target fuzz_harnesses -j "$(nproc)"
fi

harnesses=()
if [ -n "${NLADC_FUZZ_ONLY:-}" ]; then
    read -r -a harnesses <<<"$NLADC_FUZZ_ONLY"
else
    for exe in "$bin"/fuzz_*; do
        [ -x "$exe" ] && harnesses+=("$(basename "$exe")")
    done
    harnesses=("${harnesses[@]#fuzz_}")
fi
[ "${#harnesses[@]}" -gt 0 ] || { echo "fuzz.sh: no harnesses in $bin" >&2; exit 1; }

# The corpus copies grow by thousands of small files: on tmpfs when TMPDIR is not set.
scratch="${TMPDIR:-}"
if [ -z "$scratch" ]; then
    if [ -d /dev/shm ] && [ -w /dev/shm ]; then scratch=/dev/shm; else scratch=/tmp; fi
fi
work="$(mktemp -d "$scratch/nladc-fuzz-run.XXXXXX")"
trap 'rm -rf "$work"' EXIT
findings_root="$build/fuzz-findings"
extra=()
if [ -n "${NLADC_FUZZ_ARGS:-}" ]; then read -r -a extra <<<"$NLADC_FUZZ_ARGS"; fi

# ASan/UBSan: abort with a stack trace on the first report; leaks are findings too.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

rows=()
failed=0
for name in "${harnesses[@]}"; do
    exe="$bin/fuzz_$name"
    [ -x "$exe" ] || { echo "fuzz.sh: $exe is missing" >&2; exit 1; }
    corpus="$work/$name"
    mkdir -p "$corpus"
    [ -d "$corpus_root/$name" ] && cp -R "$corpus_root/$name/." "$corpus/"
    findings="$findings_root/$name"
    mkdir -p "$findings"
    log="$findings/fuzz.log"
    echo "== fuzz_$name: ${seconds} s" >&2
    touch "$work/$name.start"
    status=0
    "$exe" "$corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$findings/" -print_final_stats=1 "${extra[@]}" >"$log" 2>&1 || status=$?
    # libFuzzer's last "#N ... cov: C ft: F" line: executions and coverage so far.
    last="$(grep -E '^#[0-9]+.*cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1 || true)"
    runs="$(sed -nE 's/^#([0-9]+).*/\1/p' <<<"$last")"
    cov="$(sed -nE 's/.*cov: ([0-9]+) ft: ([0-9]+).*/cov \1, ft \2/p' <<<"$last")"
    crash="$(find "$findings" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) -newer "$work/$name.start" 2>/dev/null | head -n 1)"
    if [ "$status" -eq 0 ] && [ -z "$crash" ]; then
        result="ok"
        rm -f "$log"
    else
        result="FINDING (exit $status) ${crash:-see $log}"
        failed=1
        grep -E 'ERROR: |runtime error|invariant violated|uncaught exception|SUMMARY' "$log" | head -n 5 >&2 || true
    fi
    rows+=("$(printf '%-18s %12s   %-22s %s' "$name" "${runs:-?}" "${cov:-?}" "$result")")
done

echo
printf '%-18s %12s   %-22s %s\n' harness runs coverage result
printf '%s\n' "${rows[@]}"
echo "total: $(( $(date +%s) - start )) s for ${#harnesses[@]} harnesses at ${seconds} s each"
rmdir "$findings_root"/* 2>/dev/null || true
rmdir "$findings_root" 2>/dev/null || true
exit "$failed"
