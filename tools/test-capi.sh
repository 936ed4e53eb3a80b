#!/usr/bin/env bash
# The C API checks, as a C user runs them: install libbitgpt under a temporary prefix, build the
# C programs of tools/c-example with plain `cc` and pkg-config only, and check that
#   - generate.c prints exactly what `lm-run --cache-type f32` prints with the same settings (the
#     library's KV cache is F32);
#   - errors.c's error-path checks and threads.c's two-thread check pass;
#   - all three run clean under valgrind memcheck (no errors, no leaks of any kind once the Swift
#     runtime's "possibly lost" caches are suppressed by tools/valgrind/swift.supp).
# Uses the model in models/ and the debug build of lm-run (made by `swift build` / `swift test`).
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"

tools/install-libbitgpt.sh "$prefix" >/dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
for p in generate errors threads; do
    cc -std=c11 -Wall -Werror -O1 tools/c-example/$p.c $(pkg-config --cflags --libs bitgpt) -lpthread -o "$work/$p"
done
echo "libbitgpt: $(stat -c %s "$prefix/lib/libbitgpt.so.1") bytes; needs: $(ldd "$prefix/lib/libbitgpt.so.1" | awk '{print $1}' | grep -v vdso | tr '\n' ' ')"

swift build --product lm-run >/dev/null
bin="$(swift build --show-bin-path)"
model="models/shakespeare-char-t2.bgpt"

passed=0; failed=0
check() { if "$@"; then passed=$((passed + 1)); echo "ok   $name"; else failed=$((failed + 1)); echo "FAIL $name"; fi; }

name="libbitgpt.so.1 needs only README's system libraries (readelf -d: libc, libm, libstdc++, libgcc_s, libsentencepiece)"
only_readme_libs() {
    ! readelf -d "$prefix/lib/libbitgpt.so.1" | grep '(NEEDED)' |
        grep -v -E '\[(libc\.so\.6|libm\.so\.6|libstdc\+\+\.so\.6|libgcc_s\.so\.1|libsentencepiece\.so\.0|ld-linux[^]]*)\]'
}
check only_readme_libs

name="C example output is byte-identical to lm-run (greedy and sampled)"
same() {
    "$work/generate" "$model" "To be, or not" 80 42 0.8 40 > "$work/c1.txt" &&
    "$bin/lm-run" "$model" --prompt "To be, or not" --num-samples 1 --max-new-tokens 80 --seed 42 --temperature 0.8 --top-k 40 --cache-type f32 > "$work/s1.txt" &&
    cmp "$work/c1.txt" "$work/s1.txt" &&
    "$work/generate" "$model" "ROMEO:" 200 1 0 > "$work/c2.txt" &&
    "$bin/lm-run" "$model" --prompt "ROMEO:" --num-samples 1 --max-new-tokens 200 --seed 1 --temperature 0 --cache-type f32 > "$work/s2.txt" &&
    cmp "$work/c2.txt" "$work/s2.txt"
}
check same

name="error paths (errors.c)"
check "$work/errors" "$model" "$work" > "$work/errors.txt"
tail -1 "$work/errors.txt"
name="two threads on one model equal serial (threads.c)"
check "$work/threads" "$model" > "$work/threads.txt"

vg() { valgrind --quiet --error-exitcode=9 --leak-check=full --suppressions=tools/valgrind/swift.supp "$@" > /dev/null 2>> "$work/valgrind.txt"; }
if command -v valgrind > /dev/null; then
    name="valgrind memcheck: generate.c"; check vg "$work/generate" "$model" "Hi" 20 3
    name="valgrind memcheck: errors.c"; check vg "$work/errors" "$model" "$work"
    name="valgrind memcheck: threads.c"; check vg "$work/threads" "$model"
else
    echo "FAIL valgrind is not installed"; failed=$((failed + 1))
fi
[ "$failed" = 0 ] || { cat "$work/errors.txt" "$work/threads.txt" "$work/valgrind.txt" 2>/dev/null | tail -60; }
echo "capi: $passed passed, $failed failed"
[ "$failed" = 0 ]
