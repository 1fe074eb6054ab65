#!/usr/bin/env bash
# tests/gpu/check.sh: the one script to run on a machine with an NVIDIA GPU. It
#   1. configures and builds fedtail with CUDA (Release) into build-gpu/,
#   2. runs the gpu-labelled tests (every CUDA op against the CPU reference) and
#      insists they really ran (not skipped),
#   3. runs the kernel benchmark (each variant validated before it is timed),
#   4. runs the same 20-round Fashion-MNIST federated experiment on the GPU and on
#      the CPU with the same seed: the last round's main accuracy must agree within
#      1 point,
#   5. prints training samples/s per model (lenet5, paper-lenet, vgg9 on synthetic
#      CIFAR-shaped data; the lstm on the fortunes corpus), CPU vs GPU,
#   6. runs 5 rounds of federated next-word prediction (the lstm,
#      experiments/text/fortunes-nextword.ini) on the GPU and on the CPU: main
#      accuracy within 1 point, and the same final model at 1 and 2 GPU client
#      processes (skipped where the fortunes corpus is not installed),
#   7. batched clients (docs/gpu.md, "Batched clients"): K clients trained at once
#      against one by one on the GPU (test_train_batch_cuda, not skipped), the
#      round benchmark bench_batch with the issue's targets (MET/MISSED lines; a
#      missed target is reported, not a failure), and the federated run of step 4
#      with run.batch_clients = 5 in one process: main_acc within 1 point of the
#      one-by-one GPU run, every round; and the target as a federated round
#      (lenet5 Fashion-MNIST, 10 of 100 clients a round): median round_s batched
#      against one by one (MET/MISSED lines again).
# It stops at the first failing step with the step's log tail. Sized to finish in
# under 5 minutes on one H200 with 16 cores before step 5's lstm and steps 6 and 7
# were added (an estimated 3-4 minutes more, not yet timed on a device).
# docs/gpu.md explains the numbers.
#
# Usage: tests/gpu/check.sh            (from anywhere; BUILD=dir to build elsewhere)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build-gpu}
WORK=$BUILD/gpu-check
JOBS=$(nproc 2>/dev/null || echo 4)
T0=$(date +%s)
rm -rf "$WORK"
mkdir -p "$WORK"

fail() {
    echo "check.sh: FAILED: $*" >&2
    exit 1
}

# step NAME TIMEOUT_S CMD...: runs CMD with its output in $WORK/NAME.log; on failure
# shows the log tail and stops.
step() {
    local name=$1 limit=$2
    shift 2
    local t
    t=$(date +%s)
    printf '== %-28s ' "$name"
    if timeout "$limit" "$@" >"$WORK/$name.log" 2>&1; then
        echo "ok ($(($(date +%s) - t)) s)"
    else
        local rc=$?
        echo "FAILED (exit $rc$([ $rc = 124 ] && echo ", timed out after ${limit} s"))"
        echo "---- last lines of $WORK/$name.log ----" >&2
        tail -n 40 "$WORK/$name.log" >&2
        fail "step '$name': $*"
    fi
}

# Column COL of the last row of a CSV file (header names the columns).
last_value() {
    awk -F, -v col="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i; next }
                         NF { v = $c } END { if (!c) exit 2; print v }' "$1" ||
        fail "$1 has no column '$2'"
}

# "ok D" or "MISMATCH D": the GPU and CPU accuracies G and C (main_acc, which may be a
# fraction or a percentage) differ by D points, ok when at most 1.
points_verdict() { # G C
    awk -v g="$1" -v c="$2" 'BEGIN {
        s = (g <= 1 && c <= 1) ? 100 : 1; d = (g - c) * s; if (d < 0) d = -d;
        printf "%s %.2f", d <= 1 ? "ok" : "MISMATCH", d }'
}

if ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L >"$WORK/gpus.txt" 2>&1; then
    fail "no NVIDIA GPU visible (nvidia-smi -L failed); this script needs one"
fi
echo "GPU: $(head -n 1 "$WORK/gpus.txt")"

step configure 300 cmake -S "$ROOT" -B "$BUILD" -DFT_CUDA=ON -DCMAKE_BUILD_TYPE=Release
step build 300 cmake --build "$BUILD" -j "$JOBS"
FEDTAIL=$BUILD/fedtail
[ -x "$FEDTAIL" ] || fail "$FEDTAIL was not built"

# ctest counts a skipped test as passed, so the op tests also run directly: exit 77
# (no device found by CUDA) is a failure here.
step gpu-tests 120 ctest --test-dir "$BUILD" -L gpu --output-on-failure
step kernel-parity 120 "$BUILD/tests/test_kernels_cuda"
FT_SOURCE_DIR=$ROOT step lstm-parity 120 "$BUILD/tests/test_lstm_cuda"
step kernel-bench 180 "$BUILD/bench/bench_kernels_cuda"
sed -n '1,200p' "$WORK/kernel-bench.log"

# Federated: 20 rounds, 20 clients, 5 per round, 6000 training / 2000 test images.
FED=(--set federation.rounds=20 --set federation.num_clients=20
    --set federation.clients_per_round=5 --set data.dataset=fashion-mnist
    --set data.train_limit=6000 --set data.test_limit=2000 --set run.seed=1)
# FT_CUDA_TRACE: every process that starts the CUDA back end appends a line, which
# proves the "GPU" run did not fall back to the CPU.
FT_CUDA_TRACE=$WORK/fed-cuda.trace step fed-cuda 150 "$FEDTAIL" run "${FED[@]}" \
    --set run.device=cuda --procs 2 --out "$WORK/fed-cuda" --quiet
[ -s "$WORK/fed-cuda.trace" ] ||
    fail "the run.device=cuda federated run never started the CUDA back end (CPU fallback?)"
echo "   CUDA back end started by $(wc -l <"$WORK/fed-cuda.trace") process(es)"
# The coordinator evaluates on a thread of its own while the next round trains
# (run.eval_async, the default): on the GPU that thread drives the CUDA back end. The
# in-line run must agree round by round (within 1 point: GPU training itself need
# not be bit-reproducible, but an evaluation on the wrong device or data would not
# come close).
step fed-cuda-inline 150 "$FEDTAIL" run "${FED[@]}" --set run.device=cuda --procs 2 \
    --set run.eval_async=false --out "$WORK/fed-cuda-inline" --quiet
paste -d, "$WORK/fed-cuda/metrics.csv" "$WORK/fed-cuda-inline/metrics.csv" | awk -F, '
    NR == 1 { for (i = 1; i <= NF; i++) if ($i == "main_acc") { a = a ? a : i; b = i } next }
    { d = $a - $b; if (d < 0) d = -d; if (d > m) m = d }
    END { exit !(a && b != a && m <= 0.01) }' ||
    fail "run.eval_async on CUDA changed main_acc by more than 1 point (fed-cuda*/metrics.csv)"
echo "   evaluation on its own thread: main_acc within 1 point of in line, every round"
step fed-cpu 150 "$FEDTAIL" run "${FED[@]}" --set run.device=cpu --procs 5 \
    --out "$WORK/fed-cpu" --quiet
acc_gpu=$(last_value "$WORK/fed-cuda/metrics.csv" main_acc)
acc_cpu=$(last_value "$WORK/fed-cpu/metrics.csv" main_acc)
verdict=$(points_verdict "$acc_gpu" "$acc_cpu")
echo "federated Fashion-MNIST, last round main_acc: GPU $acc_gpu, CPU $acc_cpu (difference ${verdict#* } points)"
[ "${verdict%% *}" = ok ] || fail "GPU and CPU main accuracy differ by more than 1 point"

# Centralised training throughput on synthetic CIFAR-shaped data (3x32x32).
TRAIN=(--set data.dataset=synthetic --set "data.synthetic_shape=3,32,32"
    --set data.synthetic_test=200 --set train.epochs=1 --set run.seed=1)
printf '\n%-12s %14s %14s %8s\n' model "CPU samples/s" "GPU samples/s" speedup >"$WORK/table.txt"
for model in lenet5 paper-lenet vgg9; do
    n=4000
    [ "$model" = vgg9 ] && n=2000
    step "train-$model-cpu" 120 "$FEDTAIL" train "${TRAIN[@]}" --set model.name=$model \
        --set data.synthetic_train=$n --set run.device=cpu --set run.threads="$JOBS" \
        --out "$WORK/train-$model-cpu" --quiet
    FT_CUDA_TRACE=$WORK/train-$model.trace step "train-$model-cuda" 120 "$FEDTAIL" train \
        "${TRAIN[@]}" --set model.name=$model --set data.synthetic_train=$((n * 4)) \
        --set run.device=cuda \
        --out "$WORK/train-$model-cuda" --quiet
    [ -s "$WORK/train-$model.trace" ] || fail "train $model on cuda did not use the CUDA back end"
    cpu=$(last_value "$WORK/train-$model-cpu/metrics.csv" samples_per_s)
    gpu=$(last_value "$WORK/train-$model-cuda/metrics.csv" samples_per_s)
    awk -v m="$model" -v c="$cpu" -v g="$gpu" \
        'BEGIN { printf("%-12s %14.0f %14.0f %7.1fx\n", m, c, g, (c > 0) ? g / c : 0) }' \
        >>"$WORK/table.txt"
done
# The lstm (fortunes-nextword.ini's model: V 2,000, T 16, 2 layers of 64, tied) on
# the fortunes corpus, Debian's fortunes package (data/ft_text*.c).
HAVE_FORTUNES=0
[ -r /usr/share/games/fortunes/fortunes ] && HAVE_FORTUNES=1
LSTM=(--set data.dataset=fortunes --set data.vocab_size=2000 --set data.seq_len=16
    --set model.name=lstm --set model.embedding=64 --set model.hidden=64
    --set model.layers=2 --set model.tied=true --set model.dropout=0.2
    --set data.test_limit=500 --set train.epochs=1 --set run.seed=1)
if [ $HAVE_FORTUNES = 1 ]; then
    step train-lstm-cpu 120 "$FEDTAIL" train "${LSTM[@]}" --set data.train_limit=4000 \
        --set run.device=cpu --set run.threads="$JOBS" --out "$WORK/train-lstm-cpu" --quiet
    FT_CUDA_TRACE=$WORK/train-lstm.trace step train-lstm-cuda 120 "$FEDTAIL" train \
        "${LSTM[@]}" --set data.train_limit=16000 --set run.device=cuda \
        --out "$WORK/train-lstm-cuda" --quiet
    [ -s "$WORK/train-lstm.trace" ] || fail "train lstm on cuda did not use the CUDA back end"
    cpu=$(last_value "$WORK/train-lstm-cpu/metrics.csv" samples_per_s)
    gpu=$(last_value "$WORK/train-lstm-cuda/metrics.csv" samples_per_s)
    awk -v m=lstm -v c="$cpu" -v g="$gpu" \
        'BEGIN { printf("%-12s %14.0f %14.0f %7.1fx\n", m, c, g, (c > 0) ? g / c : 0) }' \
        >>"$WORK/table.txt"
else
    echo "lstm         (skipped: /usr/share/games/fortunes not installed)" >>"$WORK/table.txt"
fi
cat "$WORK/table.txt"
echo "(CPU: run.threads=$JOBS; batch size train.batch_size default; logs in $WORK)"

# Federated next-word prediction, GPU vs CPU, same seed: 5 rounds of
# fortunes-nextword.ini (43 clients, 10 per round).
if [ $HAVE_FORTUNES = 1 ]; then
    TEXT=("$ROOT/experiments/text/fortunes-nextword.ini" --set federation.rounds=5)
    FT_CUDA_TRACE=$WORK/fed-text-cuda.trace step fed-text-cuda 150 "$FEDTAIL" run "${TEXT[@]}" \
        --set run.device=cuda --procs 2 --out "$WORK/fed-text-cuda" --quiet
    [ -s "$WORK/fed-text-cuda.trace" ] ||
        fail "the run.device=cuda text run never started the CUDA back end (CPU fallback?)"
    step fed-text-cpu 150 "$FEDTAIL" run "${TEXT[@]}" --set run.device=cpu --procs 5 \
        --out "$WORK/fed-text-cpu" --quiet
    acc_gpu=$(last_value "$WORK/fed-text-cuda/metrics.csv" main_acc)
    acc_cpu=$(last_value "$WORK/fed-text-cpu/metrics.csv" main_acc)
    verdict=$(points_verdict "$acc_gpu" "$acc_cpu")
    echo "federated fortunes next-word, round 5 main_acc: GPU $acc_gpu, CPU $acc_cpu (difference ${verdict#* } points)"
    [ "${verdict%% *}" = ok ] || fail "GPU and CPU next-word accuracy differ by more than 1 point"
    # No atomics anywhere in the lstm's CUDA path (docs/gpu.md "Text ops") and cuBLAS on
    # one stream: the same run with one client process must give the same final model.
    step fed-text-cuda-p1 150 "$FEDTAIL" run "${TEXT[@]}" --set run.device=cuda --procs 1 \
        --out "$WORK/fed-text-cuda-p1" --quiet
    cmp -s "$WORK/fed-text-cuda/final.ckpt" "$WORK/fed-text-cuda-p1/final.ckpt" ||
        fail "the CUDA next-word run's final model differs between 2 and 1 client processes"
    echo "   CUDA next-word run: the same final model at 1 and 2 client processes"
else
    echo "federated next-word run skipped: /usr/share/games/fortunes not installed"
fi

# Batched clients. The parity test exits 77 when CUDA finds no device: a failure here.
echo
step batch-parity 120 "$BUILD/tests/test_train_batch_cuda"
grep -E 'largest parameter difference' "$WORK/batch-parity.log" |
    awk '{ d = $NF == "absolute)" ? $(NF - 3) : $NF; if (d + 0 > m) m = d + 0 }
         END { printf "   batched vs one by one on the GPU: largest parameter difference %.2g\n", m }'
step batch-bench 300 "$BUILD/bench/bench_batch" --device cuda
grep -vE '^device:' "$WORK/batch-bench.log"
FT_CUDA_TRACE=$WORK/fed-batched.trace step fed-cuda-batched 150 "$FEDTAIL" run "${FED[@]}" \
    --set run.device=cuda --set run.batch_clients=5 --procs 1 --out "$WORK/fed-cuda-batched" \
    --quiet
[ -s "$WORK/fed-batched.trace" ] || fail "the batched federated run never started the CUDA back end"
[ "$(grep -c '"event":"registered"' "$WORK/fed-cuda-batched/events.jsonl")" -ge 5 ] ||
    fail "run.batch_clients=5: the client process did not register 5 lanes"
paste -d, "$WORK/fed-cuda/metrics.csv" "$WORK/fed-cuda-batched/metrics.csv" | awk -F, '
    NR == 1 { for (i = 1; i <= NF; i++) if ($i == "main_acc") { a = a ? a : i; b = i } next }
    { d = $a - $b; if (d < 0) d = -d; if (d > m) m = d }
    END { printf "   federated, run.batch_clients=5 vs one by one: largest main_acc difference %.4f\n", m
          exit !(a && b != a && m <= 0.01) }' ||
    fail "run.batch_clients=5 on CUDA changed main_acc by more than 1 point (fed-cuda*/metrics.csv)"
# The target as a federated round: lenet5 on Fashion-MNIST, 100 clients, 10 a round,
# 2 local epochs, batch 32, one process on the GPU, batched (K = 10) and one by one.
# round_s from metrics.csv, median of rounds 2-6 (round 1 warms up).
ROUND=(--set data.dataset=fashion-mnist --set model.name=lenet5 --set federation.rounds=6
    --set federation.num_clients=100 --set federation.clients_per_round=10
    --set federation.local_epochs=2 --set federation.batch_size=32 --set run.seed=1
    --set run.device=cuda --procs 1 --quiet)
step fed-round-batched 180 "$FEDTAIL" run "${ROUND[@]}" --set run.batch_clients=10 \
    --out "$WORK/fed-round-batched"
step fed-round-alone 300 "$FEDTAIL" run "${ROUND[@]}" --set run.batch_clients=1 \
    --out "$WORK/fed-round-alone"
median_round() {
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "round_s") c = i; next }
             NR > 2 && NF { print $c }' "$1" | sort -g | awk '{ v[NR] = $1 }
             END { print NR ? v[int((NR + 1) / 2)] : "nan" }'
}
rb=$(median_round "$WORK/fed-round-batched/metrics.csv")
ra=$(median_round "$WORK/fed-round-alone/metrics.csv")
awk -v b="$rb" -v a="$ra" 'BEGIN {
    x = (b > 0) ? a / b : 0
    printf("   federated lenet5 Fashion-MNIST, 10 of 100 clients, 2 epochs, batch 32: round_s batched %.3f, one by one %.3f (%.2fx)\n", b, a, x)
    printf("target federated round batched <= 0.15 s: %s (%.3f s)\n", (b <= 0.15) ? "MET" : "MISSED", b)
    printf("target federated round batched >= 5x one by one: %s (%.2fx)\n", (x >= 5) ? "MET" : "MISSED", x) }'
echo "check.sh: all GPU checks passed in $(($(date +%s) - T0)) s"
