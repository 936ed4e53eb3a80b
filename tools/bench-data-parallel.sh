#!/usr/bin/env bash
# Tokens/s of lm-train on 1 process against 2 MPI ranks on this machine (docs/training.md,
# "Data parallel over MPI"). Usage: tools/bench-data-parallel.sh TEXT [ROUNDS] [ITERS]
# Needs a release build (swift build -c release --product lm-train) and Open MPI's mpirun.
# Runs the configurations interleaved ROUNDS times (load drift hits all alike) and prints each
# run's tokens/s, then the median per configuration and the max |Δloss| of 2 ranks vs 1.
set -euo pipefail
text=${1:?usage: $0 TEXT [ROUNDS] [ITERS]}
rounds=${2:-3}
iters=${3:-100}
bin=$(dirname "$0")/../.build/release/lm-train
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
flags=(--data "$text" --n-layer 4 --n-head 4 --n-embd 128 --block-size 64 --batch-size 12 --lr 1e-3
       --min-lr 1e-4 --warmup-iters 100 --lr-decay-iters 2000 --max-iters "$iters" --eval-iters 1
       --eval-interval 1000 --checkpoint-interval 0)
mpi=(mpirun --oversubscribe --allow-run-as-root --bind-to none --mca btl self,vader
     --mca btl_vader_single_copy_mechanism none --mca pml ob1 --mca mpi_yield_when_idle 1)
"$bin" "${flags[@]}" --max-iters 0 --out "$out/warm" >/dev/null   # token cache
run() {  # name, command...
    local name=$1; shift
    local tps
    tps=$("$@" --out "$out/$name" | sed -n 's/^done: .* \([0-9]*\) tokens\/s.*/\1/p')
    echo "$name $tps $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "$tps" >> "$out/$name.tps"
}
for r in $(seq "$rounds"); do
    run 1rank-1thread "$bin" "${flags[@]}" --threads 1
    run 1rank-2threads "$bin" "${flags[@]}" --threads 2
    run 2ranks-1thread "${mpi[@]}" -np 2 "$bin" "${flags[@]}" --threads 1
done
for name in 1rank-1thread 1rank-2threads 2ranks-1thread; do
    echo "median $name $(sort -n "$out/$name.tps" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}') tokens/s"
done
python3 - "$out/1rank-1thread/loss.csv" "$out/2ranks-1thread/loss.csv" <<'PY'
import sys
rows = [dict(((l.split(',')[0], l.split(',')[1]), float(l.split(',')[2])) for l in open(p).read().split('\n')[1:] if l) for p in sys.argv[1:]]
print('max |dloss| 2 ranks vs 1: %.3g over %d rows' % (max(abs(rows[0][k] - rows[1][k]) for k in rows[0]), len(rows[0])))
PY
