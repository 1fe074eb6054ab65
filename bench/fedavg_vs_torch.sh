#!/bin/bash
# End-to-end federated run, fedtail vs a single-process PyTorch 1.13 loop, side by side:
# FedAvg on Fashion-MNIST, 100 clients, 10 per round, 2 local epochs of batch-32 SGD
# (lr 0.01, momentum 0.9), IID, test-set evaluation every round
# (experiments/fedavg-fmnist.ini with model.name = MODEL).
#   fedtail: `fedtail run --procs 2` — 2 client processes, 1 BLAS thread each, plus the
#            coordinator (which evaluates while the clients are idle);
#   PyTorch: bench/peers/torch_fedavg.py, one process, torch.set_num_threads(2).
# Both therefore use the machine's 2 cores. The peer runs with OMP_WAIT_POLICY=PASSIVE
# (override with OMP_WAIT_POLICY=...): with OpenMP's default spin-waiting, 2 threads on
# a shared, loaded machine run 10x slower than 1 thread, which would measure the
# machine, not PyTorch. Runs the two alternately REPEATS times and
# prints, per implementation, the median seconds per round (min-max over all rounds
# of all runs), the medians of the training and evaluation phases, the final test
# accuracy of each run, the total wall time, and the speed-up (PyTorch/fedtail, medians).
# usage: bench/fedavg_vs_torch.sh [BUILD_DIR]
# env: ROUNDS (20), REPEATS (1), MODEL (paper-lenet), PROCS (2), THREADS (torch, 2),
#      OMP_WAIT_POLICY (PASSIVE),
#      KEEP (a directory to keep the run directories and peer logs in)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../build}"
ROUNDS=${ROUNDS:-20}
REPEATS=${REPEATS:-1}
MODEL=${MODEL:-paper-lenet}
PROCS=${PROCS:-2}
THREADS=${THREADS:-2}
out="${KEEP:-$(mktemp -d /tmp/ft_fedavg_vs_torch_XXXXXX)}"
mkdir -p "$out"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$out"' EXIT
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $("$build/fedtail" version | tr '\n' ' ')" >&2
for ((i = 0; i < REPEATS; i++)); do
    t0=$(date +%s.%N)
    "$build/fedtail" run "$here/../experiments/fedavg-fmnist.ini" --procs "$PROCS" --quiet \
        --no-report --out "$out/fedtail-$i" --set model.name="$MODEL" \
        --set federation.rounds="$ROUNDS" >/dev/null
    t1=$(date +%s.%N)
    echo "{\"impl\":\"fedtail\",\"what\":\"total\",\"run\":$i,\"total_s\":$(echo "$t1 - $t0" | bc)}" >>"$out/totals.jsonl"
    OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE} /usr/bin/python3 "$here/peers/torch_fedavg.py" --model "$MODEL" --rounds "$ROUNDS" \
        --threads "$THREADS" >"$out/pytorch-$i.jsonl"
    echo "repeat $((i + 1))/$REPEATS done, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
done
/usr/bin/python3 - "$out" "$REPEATS" "$MODEL" "$ROUNDS" "$PROCS" "$THREADS" <<'PY'
import csv, json, statistics as st, sys
out, reps, model, rounds, procs, threads = sys.argv[1], int(sys.argv[2]), *sys.argv[3:]
runs = {"fedtail": [], "pytorch": []}
totals = {"fedtail": [], "pytorch": []}
def in_line_rounds(events):
    """Rounds whose evaluation ran in line (ended before the next round began); the
    others overlapped the next round's training (run.eval_async), so their eval_s
    is not part of round_s."""
    start, end = {}, {}
    for line in open(events):
        e = json.loads(line)
        if e["event"] == "round_start":
            start.setdefault(e["round"], e["t"])
        elif e["event"] == "round_end":
            end[e["round"]] = e["t"]
    return {t for t in end if t + 1 not in start or end[t] <= start[t + 1]}

for i in range(reps):
    rows = list(csv.DictReader(open(f"{out}/fedtail-{i}/metrics.csv")))
    in_line = in_line_rounds(f"{out}/fedtail-{i}/events.jsonl")
    runs["fedtail"].append([{"round_s": float(r["round_s"]), "eval_s": float(r["eval_s"]),
                             "main_acc": float(r["main_acc"]),
                             "eval_in_round": int(r["round"]) in in_line} for r in rows])
    lines = [json.loads(l) for l in open(f"{out}/pytorch-{i}.jsonl") if l.startswith("{")]
    runs["pytorch"].append([l for l in lines if "round" in l])
    totals["pytorch"] += [l["total_s"] for l in lines if l.get("what") == "total"]
totals["fedtail"] = [json.loads(l)["total_s"] for l in open(f"{out}/totals.jsonl")]

def med(v):
    return f"{st.median(v):7.2f} ({min(v):.2f}-{max(v):.2f})"

print(f"FedAvg, Fashion-MNIST, {model}, 100 clients, 10/round, 2 local epochs, batch 32; "
      f"{rounds} rounds x {reps} run(s)")
print(f"fedtail: --procs {procs} (1 BLAS thread each); PyTorch: 1 process, {threads} threads\n")
print(f"{'':8} {'s/round median (min-max)':>27} {'train+agg s/round':>18} {'eval s/round':>13} "
      f"{'final acc per run':>20} {'total s (median)':>17}")
res = {}
for impl, rs in runs.items():
    rt = [r["round_s"] for run in rs for r in run]
    ev = [r["eval_s"] for run in rs for r in run]
    tr = [r["round_s"] - (r["eval_s"] if r.get("eval_in_round", True) else 0)
          for run in rs for r in run]
    acc = " ".join(f"{100 * run[-1]['main_acc']:.2f}" for run in rs)
    res[impl] = (st.median(rt), st.median(tr), st.median(ev), [run[-1]["main_acc"] for run in rs])
    print(f"{impl:8} {med(rt):>27} {st.median(tr):18.2f} {st.median(ev):13.2f} {acc:>20} "
          f"{st.median(totals[impl]):17.1f}")
f, p = res["fedtail"], res["pytorch"]
print("(fedtail evaluates round t while round t+1 trains, run.eval_async: its eval s/round is "
      "not in its s/round except in the last round and checkpoint rounds)")
print(f"\nspeed-up (PyTorch / fedtail, median s/round): {p[0] / f[0]:.2f}x "
      f"(training phase {p[1] / f[1]:.2f}x, evaluation {p[2] / f[2]:.2f}x); total wall time "
      f"{st.median(totals['pytorch']) / st.median(totals['fedtail']):.2f}x")
gap = 100 * abs(st.median(f[3]) - st.median(p[3]))
print(f"final accuracy difference: {gap:.2f} points ({'within' if gap <= 1 else 'OUTSIDE'} 1 point)")
PY
