#!/bin/bash
# Local-training throughput, fedtail vs PyTorch 1.13, one core each, side by side:
# runs bench_train and the PyTorch peer alternately REPEATS times (default 5) and
# prints, per model and batch, the median samples/s of each (min-max), the ratio, and
# achieved GFLOP/s as a share of the sgemm peak measured in the same runs.
# usage: bench/train_vs_torch.sh [BUILD_DIR] [REPEATS] [MODEL BATCH STEPS ...]
set -euo pipefail
build="${1:-build}"
repeats="${2:-5}"
shift $(( $# > 2 ? 2 : $# )) || true
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
here="$(cd "$(dirname "$0")" && pwd)"
for ((i = 0; i < repeats; i++)); do
    taskset -c 0 "$build/bench/bench_train" "$@" >>"$out"
    taskset -c 0 /usr/bin/python3 "$here/peers/torch_train.py" "$@" >>"$out"
done
/usr/bin/python3 - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
peak = [r["gflops"] for r in rows if r["what"] == "sgemm"]
pk = statistics.median(peak)
blas = next(r["blas"] for r in rows if r["what"] == "sgemm")
print(f"single-core sgemm (n=1024, {blas}): median {pk:.1f} GFLOP/s (min {min(peak):.1f}, max {max(peak):.1f})\n")
print(f"{'model':12} {'batch':>5} {'fedtail samples/s':>22} {'PyTorch samples/s':>22} {'ratio':>6} {'fedtail GFLOP/s':>16} {'% of sgemm':>10}")
keys = sorted({(r["model"], r["batch"]) for r in rows if r["what"] == "train"}, key=lambda k: (["lenet5","paper-lenet","vgg9"].index(k[0]), k[1]))
for model, batch in keys:
    def pick(impl, f):
        return [r[f] for r in rows if r["what"] == "train" and r["impl"] == impl and r["model"] == model and r["batch"] == batch]
    ft, pt, gf = pick("fedtail", "samples_per_s"), pick("pytorch", "samples_per_s"), pick("fedtail", "gflops")
    if not ft or not pt:
        continue
    mf, mp = statistics.median(ft), statistics.median(pt)
    print(f"{model:12} {batch:5d} {mf:9.0f} ({min(ft):.0f}-{max(ft):.0f}) {mp:9.0f} ({min(pt):.0f}-{max(pt):.0f}) {mf/mp:6.2f} {statistics.median(gf):16.1f} {100*statistics.median(gf)/pk:9.0f}%")
PY
