#!/usr/bin/env bash
# Installs what BitGPT needs on a fresh Debian machine that has Swift: system libraries
# (SentencePiece, OpenBLAS, Open MPI), build and test tools (pkg-config, valgrind), and the Python packages
# the reference implementations and parity tests use. Safe to run again.
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq pkg-config libsentencepiece-dev libprotobuf-dev sentencepiece \
    libopenblas-dev libopenmpi-dev openmpi-bin valgrind python3 python3-pip >/dev/null
python3 -m pip install --quiet --disable-pip-version-check -r tools/requirements.txt
