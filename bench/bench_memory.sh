#!/bin/bash
# bench_memory: peak resident memory (ru_maxrss, from GNU time) of the coordinator and
# of each client process, per model, against the bar
#     coordinator peak RSS <= (K + 3) x N x 4 bytes + 64 MiB
# (K updates of a round, the global model, its previous copy and one scratch vector, plus
# a fixed allowance), which must not depend on the number of registered clients.
#
# For each model the coordinator (`fedtail coordinator --bind ipc://...`) and PROCS
# clients (`fedtail client --connect ...`) run as separate commands, each under
# /usr/bin/time, for 2 rounds with K = 100 clients per round, once with
# federation.num_clients = 10000 and once with 100 (same local work: the training set
# is cut so every client holds the same number of samples in both runs).
#   lenet5, paper-lenet: Fashion-MNIST, 10000 clients x 6 samples (data.train_limit =
#                        600 for the 100-client run), 2 local epochs of batch 32
#   vgg9:                synthetic 3x32x32 data, 2 samples per client, 1 local epoch
#                        of batch 2, 100 test images
# usage: bench/bench_memory.sh [BUILD_DIR]; env: MODELS ("lenet5 paper-lenet vgg9"),
#        CLIENTS ("10000 100"), PROCS (2), KEEP (a directory to keep the runs in)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$(cd "${1:-$here/../build}" && pwd)"
MODELS=${MODELS:-lenet5 paper-lenet vgg9}
CLIENTS=${CLIENTS:-10000 100}
PROCS=${PROCS:-2}
K=100
out="${KEEP:-$(mktemp -d /tmp/ft_bench_memory_XXXXXX)}"
mkdir -p "$out"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$out"' EXIT
exp="$here/../experiments/fedavg-fmnist.ini"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

for model in $MODELS; do
    for nc in $CLIENTS; do
        d="$out/$model-$nc"
        rm -rf "$d"
        mkdir -p "$d"
        if [ "$model" = vgg9 ]; then
            data=(--set data.dataset=synthetic --set "data.synthetic_shape=3,32,32"
                  --set data.synthetic_train=$((2 * nc)) --set data.synthetic_test=100
                  --set federation.local_epochs=1 --set federation.batch_size=2)
        else
            data=(--set data.train_limit=$((6 * nc)))
        fi
        sets=(--set model.name="$model" --set federation.num_clients="$nc"
              --set federation.clients_per_round="$K" --set federation.rounds=2 "${data[@]}")
        /usr/bin/time -f "%M %e" -o "$d/coord.time" "$build/fedtail" coordinator "$exp" \
            --bind "ipc://$d/coord.sock" --out "$d/run" --quiet "${sets[@]}" >/dev/null &
        coord=$!
        pids=()
        for ((p = 0; p < PROCS; p++)); do
            /usr/bin/time -f "%M %e" -o "$d/client$p.time" "$build/fedtail" client \
                --connect "ipc://$d/coord.sock" --wait 60 --quiet >/dev/null &
            pids+=($!)
        done
        wait "$coord"
        for p in "${pids[@]}"; do wait "$p"; done
    done
done

/usr/bin/python3 - "$out" "$K" "$PROCS" "$MODELS" "$CLIENTS" <<'PY'
import json, sys
out, K, procs, models, clients = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].split(), sys.argv[5].split()
MiB = 1024 * 1024
print(f"peak RSS (MiB), K = {K} clients per round, 2 rounds, {procs} client processes")
print(f"{'model':12} {'N':>9} {'registered':>10} {'coordinator':>12} {'bar':>8} {'verdict':>8} "
      f"{'client (max)':>13}")
for model in models:
    for nc in clients:
        d = f"{out}/{model}-{nc}"
        n = next(json.loads(l)["num_params"] for l in open(f"{d}/run/events.jsonl")
                 if '"start"' in l)
        coord = int(open(f"{d}/coord.time").read().split()[0]) * 1024
        cl = max(int(open(f"{d}/client{p}.time").read().split()[0]) * 1024 for p in range(procs))
        bar = (K + 3) * n * 4 + 64 * MiB
        print(f"{model:12} {n:9d} {nc:>10} {coord / MiB:12.1f} {bar / MiB:8.1f} "
              f"{'ok' if coord <= bar else 'OVER':>8} {cl / MiB:13.1f}")
PY
