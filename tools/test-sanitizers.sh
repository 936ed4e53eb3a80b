#!/usr/bin/env bash
# Sanitizer runs (issue 9, "Hardening"):
#   1. the Swift test suite under AddressSanitizer + LeakSanitizer, with the C and C++
#      targets (CBitGPTKernels, CSentencePieceShim, CBitGPT) also under UndefinedBehaviorSanitizer
#      (swiftc has no -sanitize=undefined on Linux; Swift code traps on overflow and bad indices
#      by itself in debug builds). Left out ($asan_skip): the suites that only drive whole lm-train
#      runs (many iterations, MPI, signals, fine-tuning): the code they run is the trainer's layers,
#      checkpoints and data, which the trainer's unit suites (gradients, NumPy references,
#      checkpoint files, LoRA) run under the sanitizers; the whole runs stay in the plain swift test;
#   2. the C examples of tools/c-example against that libbitgpt.so, built with
#      -fsanitize=address,undefined (generate.c must still print what lm-run prints);
#   3. the threading tests (concurrent BGPTWriters, every pool-split path on 1-3 threads in
#      ThreadAgreementTests: forward per dtype, batch decoder, LoRA update; lm-run's thread pool,
#      the C API two-thread example) under ThreadSanitizer.
# Every finding fails the run: halt_on_error for all three, -fno-sanitize-recover for UBSan.
# Usage: tools/test-sanitizers.sh [asan|tsan|all]   (default all; build folders .build-asan, .build-tsan)
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-all}"
clang=/opt/swift/usr/bin/clang
[ -x "$clang" ] || clang="$(dirname "$(readlink -f "$(command -v swift)")")/clang"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
model="models/shakespeare-char-t2.bgpt"
t0=$SECONDS
stamp() { echo "== $1 ($((SECONDS - t0)) s, load $(cut -d' ' -f1-3 /proc/loadavg))"; }

# Leaks are checked (LSan works here without extra privileges); see tools/sanitizers/lsan.supp.
# detect_stack_use_after_return stays off: it multiplies stack use of the deep Swift test stacks.
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:strict_string_checks=1:detect_odr_violation=0"
export LSAN_OPTIONS="suppressions=$PWD/tools/sanitizers/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"
# The HTTP server (Hummingbird, SwiftNIO) is left out of the instrumented builds: it adds minutes to
# each and its tests run in the plain swift test (Package.swift, `withServer`).
export BITGPT_NO_SERVER=1
# The SIGKILL test checks file states, not memory; it runs in the plain `swift test`.
export BITGPT_SKIP_KILL_TEST="sanitizer build: the crash-safety test runs in the plain swift test"
# An instrumented libbitgpt cannot be linked into a plain C program nor run under valgrind.
export BITGPT_SKIP_VALGRIND_TEST="sanitizer build: the valgrind test runs in the plain swift test"

ubsan=(-Xcc -fsanitize=undefined -Xcc -fno-sanitize-recover=undefined
       -Xcxx -fsanitize=undefined -Xcxx -fno-sanitize-recover=undefined
       -Xswiftc -Xclang-linker -Xswiftc -fsanitize=undefined)
asan=(--sanitize=address "${ubsan[@]}" --scratch-path .build-asan)
tsan=(--sanitize=thread --scratch-path .build-tsan)
asan_skip='TrainingRunTests|DataParallelRunTests|InterruptTests|RunFixesTests|InitFromTests|SubwordTests'

# cc_example NAME BUILD_DIR SANITIZERS: a C example linked against BUILD_DIR/libbitgpt.so.
# The static TSan runtime intercepts libdispatch, so it needs libdispatch and the blocks runtime
# (shipped with Swift) on the link line.
cc_example() {
    local extra=()
    swiftlib="$(dirname "$clang")/../lib/swift/linux"
    [ "$3" = thread ] && extra=(-L "$swiftlib" -ldispatch -lBlocksRuntime -Wl,-rpath,"$swiftlib")
    "$clang" -std=c11 -Wall -Werror -O1 -g -fno-omit-frame-pointer -fsanitize="$3" -fno-sanitize-recover=all \
        -I Sources/CBitGPT/include "tools/c-example/$1.c" -L "$2" -lbitgpt -Wl,-rpath,"$PWD/$2" "${extra[@]}" -lpthread \
        -o "$work/$1" > "$work/cc-$1.txt" 2>&1 || { grep -v "Cannot export local symbol" "$work/cc-$1.txt"; return 1; }
}

if [ "$what" = all ] || [ "$what" = asan ]; then
    stamp "ASan+UBSan: build"
    rc=0; swift build --build-tests "${asan[@]}" > "$work/asan-build.txt" 2>&1 || rc=$?
    grep -E "error:|Build complete" "$work/asan-build.txt" || true
    [ "$rc" = 0 ] || { tail -30 "$work/asan-build.txt"; echo "FAIL asan build"; exit 1; }
    stamp "ASan+UBSan: swift test"
    rc=0; swift test --skip-build "${asan[@]}" --skip "$asan_skip" > "$work/asan-test.txt" 2>&1 || rc=$?
    grep -E "^✘|Test run with|skipped|SUMMARY: " "$work/asan-test.txt" || true
    [ "$rc" = 0 ] || { echo "FAIL swift test under ASan+UBSan (exit $rc)"; grep -B2 -A40 -E "ERROR: (Address|Leak)Sanitizer|runtime error" "$work/asan-test.txt" | head -150; tail -20 "$work/asan-test.txt"; exit 1; }

    stamp "ASan+UBSan: C examples"
    for p in generate errors threads; do cc_example "$p" .build-asan/debug address,undefined; done
    "$work/generate" "$model" "To be, or not" 60 42 0.8 40 > "$work/c1.txt"
    .build-asan/debug/lm-run "$model" --prompt "To be, or not" --num-samples 1 --max-new-tokens 60 --seed 42 --temperature 0.8 --top-k 40 --cache-type f32 > "$work/s1.txt"
    cmp "$work/c1.txt" "$work/s1.txt" || { echo "FAIL generate.c differs from lm-run under ASan"; exit 1; }
    mkdir -p "$work/errors-dir"
    "$work/errors" "$model" "$work/errors-dir" > "$work/errors.txt" 2>&1 || { tail -60 "$work/errors.txt"; echo "FAIL errors.c under ASan"; exit 1; }
    "$work/threads" "$model" > "$work/threads.txt" 2>&1 || { tail -60 "$work/threads.txt"; echo "FAIL threads.c under ASan"; exit 1; }
    echo "ok   C examples under ASan+UBSan+LSan: generate.c = lm-run, $(tail -1 "$work/errors.txt"), threads.c $(tail -1 "$work/threads.txt")"
fi

if [ "$what" = all ] || [ "$what" = tsan ]; then
    stamp "TSan: build"
    rc=0; swift build --build-tests "${tsan[@]}" > "$work/tsan-build.txt" 2>&1 || rc=$?
    grep -E "error:|Build complete" "$work/tsan-build.txt" || true
    [ "$rc" = 0 ] || { tail -30 "$work/tsan-build.txt"; echo "FAIL tsan build"; exit 1; }
    stamp "TSan: threading tests"
    rc=0; swift test --skip-build "${tsan[@]}" --filter 'BGPTWriterTests|GeneratorTests|ThreadAgreementTests|LMRunTests' > "$work/tsan-test.txt" 2>&1 || rc=$?
    grep -E "^✘|Test run with|SUMMARY: " "$work/tsan-test.txt" || true
    [ "$rc" = 0 ] || { echo "FAIL threading tests under TSan (exit $rc)"; grep -A50 "WARNING: ThreadSanitizer" "$work/tsan-test.txt" | head -150; tail -20 "$work/tsan-test.txt"; exit 1; }
    stamp "TSan: threads.c"
    cc_example threads .build-tsan/debug thread
    "$work/threads" "$model" > "$work/threads.txt" 2>&1 || { tail -80 "$work/threads.txt"; echo "FAIL threads.c under TSan"; exit 1; }
    echo "ok   threads.c under TSan: $(tail -1 "$work/threads.txt")"
fi
stamp "sanitizers: all passed"
