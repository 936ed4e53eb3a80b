#!/bin/sh
# LoRA figures of docs/training.md ("LoRA training"): fine-tune the shipped ternary Llama
# (models/shakespeare-bpe-llama-t2.bgpt) with LoRA on text it has never seen (this repository's
# README.md and docs/architecture.md: English technical prose, not verse), and report
#   1. the val loss on that text before and after, and the adapter's size   (loss part)
#   2. peak RSS of the LoRA run against full fine-tuning of the same model  (memory part)
#   3. decode speed with and without the adapter (lm-run --lora)             (speed part: needs a quiet machine)
# Usage: tools/lora_figures.sh [loss|memory|speed|all]   (default: loss memory)
# Environment: BIN (folder of lm-train and lm-run, default .build/release), OUT (work folder),
# ITERS (LoRA steps, default 100), THREADS (default 1).
set -eu
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release}
OUT=${OUT:-/tmp/bitgpt-lora-figures}
ITERS=${ITERS:-100}
THREADS=${THREADS:-1}
MODEL=models/shakespeare-bpe-llama-t2.bgpt
PARTS=${*:-loss memory}
mkdir -p "$OUT"
TEXT="$OUT/text.txt"
cat README.md docs/architecture.md > "$TEXT"

for part in $PARTS; do
case "$part" in
loss|all)
    rm -rf "$OUT/lora"
    "$BIN/lm-train" --data "$TEXT" --out "$OUT/lora" --init-from "$MODEL" --lora-rank 8 --lora-alpha 16 \
        --max-iters "$ITERS" --batch-size 8 --eval-interval "$ITERS" --eval-iters 20 --warmup-iters 10 \
        --lr 3e-3 --min-lr 3e-4 --log-interval 0 --threads "$THREADS" | tee "$OUT/lora.log"
    echo "val loss before/after: $(grep '^step ' "$OUT/lora.log" | sed 's/.*val loss //' | tr '\n' ' ')"
    echo "adapter: $(wc -c < "$OUT/lora/adapter.safetensors") bytes ($MODEL: $(wc -c < "$MODEL") bytes)"
    ;;
esac
case "$part" in
memory|all)
    # Same model, data, batch and steps; only what trains differs.
    for kind in full lora; do
        extra=""; [ "$kind" = lora ] && extra="--lora-rank 8 --lora-alpha 16"
        rm -rf "$OUT/mem-$kind"
        # shellcheck disable=SC2086
        "$BIN/lm-train" --data "$TEXT" --out "$OUT/mem-$kind" --init-from "$MODEL" $extra --max-iters 2 \
            --batch-size 12 --eval-interval 2 --eval-iters 1 --log-interval 0 --threads "$THREADS" | grep '^peak RSS'
    done
    ;;
esac
case "$part" in
speed|all)
    # Needs a quiet machine; greedy decode of 256 tokens, base alone and with the adapter.
    "$BIN/lm-run" "$MODEL" -p "The model" -n 256 --temperature 0 -t "$THREADS"
    "$BIN/lm-run" "$MODEL" -p "The model" -n 256 --temperature 0 -t "$THREADS" --lora "$OUT/lora/adapter.safetensors"
    ;;
esac
done
