#!/usr/bin/env bash
# The whole test suite: the Swift tests (format, kernels, runtime parity against tools/reference.py,
# tokenizers, converter, trainer, CLIs), the tokenizer parity battery against the Python reference
# implementations (tiktoken, HF tokenizers, sentencepiece), then the C API checks.
set -euo pipefail
cd "$(dirname "$0")/.."
swift test
swift build --product lm-tokenize
python3 tools/tokenizer_parity.py --bin "$(swift build --show-bin-path)/lm-tokenize"
tools/test-capi.sh
