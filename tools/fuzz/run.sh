#!/usr/bin/env bash
# Builds the libFuzzer harnesses of tools/fuzz (Swift -sanitize=fuzzer,address; the C and C++
# targets with -fsanitize=fuzzer-no-link,address) and runs each for a fixed time on a fresh copy
# of its seed corpus and dictionary. The committed corpus is never modified.
#
#   tools/fuzz/run.sh [--seconds N] [--runs R] [--keep DIR] [--no-build] [HARNESS...]
#
#   --seconds N   time per harness (default 60); the issue's long run is --seconds 1800
#   --runs R      stop a harness after R executions if that comes first (default 10,000,000)
#   --keep DIR    keep the grown corpora and crash inputs in DIR (default: a temp dir, removed
#                 unless something was found)
#   --no-build    use the harnesses already built
#   HARNESS       fuzz-bgpt, fuzz-safetensors, ... (default: all)
#
# Prints one line per harness: executions, executions per second, coverage (cov, ft), result.
# Exits 1 if any harness found a crash, leak, time-out (-timeout=10 s per input) or an
# allocation past -malloc_limit_mb, and prints the path of each input that caused it.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SECONDS_EACH=60
RUNS=10000000
KEEP=""
BUILD=1
NAMES=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) SECONDS_EACH="$2"; shift 2 ;;
        --runs) RUNS="$2"; shift 2 ;;
        --keep) KEEP="$2"; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        fuzz-*) NAMES+=("$1"); shift ;;
        *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
if [ ${#NAMES[@]} -eq 0 ]; then
    NAMES=($(cd "$HERE/Sources" && ls -d fuzz-* | sort))
fi

SCRATCH="$HERE/.build"
# The harnesses need only the parsers: leave lm-serve and its packages out of the root package
# (Package.swift, `withServer`), which saves minutes of building Hummingbird and SwiftNIO.
export BITGPT_NO_SERVER=1
if [ "$BUILD" = 1 ]; then
    echo "building harnesses (swift build -Xswiftc -sanitize=fuzzer,address)..."
    # -O on top of the debug configuration: several times more executions per second than
    # -Onone, without whole-module optimization's build time; debug keeps assertions on.
    (cd "$HERE" && swift build --scratch-path "$SCRATCH" \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -O -Xcc -O1 -Xcxx -O1 \
        -Xcc -fsanitize=fuzzer-no-link,address -Xcxx -fsanitize=fuzzer-no-link,address 2>&1 \
        | grep -v "Cannot export local symbol" | tail -n 3)
fi
BIN="$(cd "$HERE" && swift build --scratch-path "$SCRATCH" --show-bin-path)"

if [ -n "$KEEP" ]; then WORK="$KEEP"; mkdir -p "$WORK"; else WORK="$(mktemp -d /tmp/bitgpt-fuzz.XXXXXX)"; fi
# ASan: report leaks of the harness too, abort on the first error, no huge shadow-memory claims.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0:handle_abort=1}"
FAILED=0
printf '%-22s %12s %10s %8s %8s  %s\n' harness execs exec/s cov ft result
for name in "${NAMES[@]}"; do
    exe="$BIN/$name"
    [ -x "$exe" ] || { echo "run.sh: $exe not built" >&2; exit 2; }
    corpus="$WORK/$name/corpus"; artifacts="$WORK/$name/artifacts/"
    mkdir -p "$corpus" "$artifacts"
    if [ -d "$HERE/corpus/$name" ]; then cp -R "$HERE/corpus/$name/." "$corpus/"; fi
    dict=()
    if [ -f "$HERE/dict/$name.dict" ]; then dict=("-dict=$HERE/dict/$name.dict"); fi
    log="$WORK/$name/fuzz.log"
    set +e
    "$exe" "$corpus" "${dict[@]}" -artifact_prefix="$artifacts" \
        -max_total_time="$SECONDS_EACH" -runs="$RUNS" -timeout=10 -rss_limit_mb=4096 -malloc_limit_mb=1024 \
        -max_len=262144 -print_final_stats=1 -close_fd_mask=1 >"$log" 2>&1 &
    pid=$!
    wait "$pid"
    rc=$?
    set -e
    # The harness's scratch directory for path-based readers (FuzzInput.scratch).
    rm -rf "/dev/shm/bitgpt-fuzz-$pid" "${TMPDIR:-/tmp}/bitgpt-fuzz-$pid" 2>/dev/null || true
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -n 1 || true)
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -n 1 || true)
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
    cov=$(echo "$last" | grep -o 'cov: [0-9]*' | grep -o '[0-9]*' || true)
    ft=$(echo "$last" | grep -o 'ft: [0-9]*' | grep -o '[0-9]*' || true)
    # slow-unit-* files are libFuzzer's note of its slowest input (over 10 s of wall time, which
    # a starved process on a loaded machine can reach); a real hang is a timeout-* from -timeout.
    crashes=$(ls "$artifacts" 2>/dev/null | grep -v '^slow-unit-' || true)
    slow=$(ls "$artifacts" 2>/dev/null | grep '^slow-unit-' || true)
    if [ "$rc" = 0 ] && [ -z "$crashes" ]; then
        result=ok
    else
        result="FAILED (exit $rc)"
        FAILED=1
    fi
    printf '%-22s %12s %10s %8s %8s  %s\n' "$name" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$result"
    for u in $slow; do echo "    note: slowest input kept (not a failure): $artifacts$u"; done
    if [ "$result" != ok ]; then
        grep -E 'ERROR: |SUMMARY: |Fatal error|==[0-9]+== ' "$log" | head -n 5 | sed 's/^/    /'
        for c in $crashes; do echo "    input: $artifacts$c"; done
        echo "    log: $log"
    fi
done
if [ "$FAILED" = 0 ] && [ -z "$KEEP" ]; then rm -rf "$WORK"; else echo "work directory: $WORK"; fi
exit "$FAILED"
