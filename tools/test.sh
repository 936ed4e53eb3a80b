#!/usr/bin/env bash
# The whole test suite: the Swift tests (format, kernels, runtime parity against tools/reference.py,
# tokenizers, converter, CLIs), then the C API checks (tools/test-capi.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
swift test
tools/test-capi.sh
