#!/usr/bin/env bash
# The whole test suite: the Swift tests (format, kernels, runtime parity against tools/reference.py,
# tokenizers, converter, trainer incl. 2 MPI ranks, CLIs, the SIGKILL crash-safety test), the
# tokenizer parity battery against the Python reference implementations (tiktoken, HF tokenizers,
# sentencepiece), the C API checks, the test suite (less the whole lm-train run suites) and C
# examples again under AddressSanitizer,
# LeakSanitizer and (C code) UndefinedBehaviorSanitizer and the threading tests under
# ThreadSanitizer, then a 60-second libFuzzer run of every parser harness.
set -euo pipefail
cd "$(dirname "$0")/.."
swift test
swift build --product lm-tokenize
python3 tools/tokenizer_parity.py --bin "$(swift build --show-bin-path)/lm-tokenize"
tools/test-capi.sh
tools/test-sanitizers.sh
tools/fuzz/run.sh --seconds 60
