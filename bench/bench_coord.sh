#!/bin/bash
# bench_coord: what the coordinator costs a round.
#
# Part 1, overhead: `fedtail run --procs P` on Fashion-MNIST / lenet5 with K = 10 and
# K = 100 clients per round (all else as experiments/fedavg-fmnist.ini). With more
# tasks than processes the round cannot be shorter than its busiest process, so
#   overhead = round_s - max over processes of the sum of its tasks' train_s
# (events.jsonl "update" events carry process and train_s; with one task per process
# this is bench_round.sh's round_s - train_max_s). Reported as a share of round_s,
# with the evaluation of the global model (eval_s) and without it (eval_s taken out
# of both the overhead and the round where the evaluation ran in line). K = 10 runs
# twice: with run.eval_async on (the default: the coordinator evaluates round t on a
# thread while round t+1 trains, so eval_s is not in round_s) and off (in line), and
# the wall time of rounds 2..R of both says what overlapping saves end to end. Round 1
# (process start-up, data loading) is left out of the statistics.
#
# Part 2, transfer: vgg9 (N = 9.2M, 36.9 MB) on synthetic CIFAR-shaped data with
# 8 client processes, 8 clients per round, one local step of batch 1 (negligible
# compute) and an 8-image test set: the round is almost only broadcast (8 models out)
# and collection (8 updates in). Throughput = (bytes_sent + bytes_received) /
# (round_s - train_max_s - aggregate_s - eval_s), and the phases from events.jsonl:
# round start -> last task handed (models queued on the socket), last task -> last
# update validated.
#
# usage: bench/bench_coord.sh [BUILD_DIR]
# env: PROCS (2), ROUNDS10 (11), ROUNDS100 (4), ROUNDSVGG (6), PARTS ("1 2"),
#      KS ("10 100": clients per round in part 1), KEEP (a directory to keep the run
#      directories in)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../build}"
PROCS=${PROCS:-2}
PARTS=${PARTS:-1 2}
out="${KEEP:-$(mktemp -d /tmp/ft_bench_coord_XXXXXX)}"
mkdir -p "$out"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$out"' EXIT
exp="$here/../experiments/fedavg-fmnist.ini"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

analyse() { # run-dir label
    /usr/bin/python3 - "$1" "$2" <<'PY'
import csv, json, statistics as st, sys
d, label = sys.argv[1], sys.argv[2]
rows = {int(r["round"]): r for r in csv.DictReader(open(f"{d}/metrics.csv"))}
busy, start, end = {}, {}, {}
for line in open(f"{d}/events.jsonl"):
    e = json.loads(line)
    if e["event"] == "update":
        key = (e["round"], e["process"])
        busy[key] = busy.get(key, 0.0) + e["train_s"]
    elif e["event"] == "round_start":
        start.setdefault(e["round"], e["t"])
    elif e["event"] == "round_end":
        end[e["round"]] = e["t"]
res = []
for t, r in sorted(rows.items()):
    if t == 1:
        continue
    rs, ev, ag = float(r["round_s"]), float(r["eval_s"] or 0), float(r["aggregate_s"] or 0)
    # in line: the round ended before the next began (else eval_s overlapped round t+1)
    in_line = t + 1 not in start or end[t] <= start[t + 1]
    ev_in = ev if in_line else 0.0
    crit = max(v for (rt, _), v in busy.items() if rt == t)
    ov = rs - crit
    res.append((rs, crit, ev, ag, ov, ov / rs, (ov - ev_in) / (rs - ev_in), in_line))
col = lambda i: [x[i] for x in res]
def m(v, pct=False):
    f = 100 if pct else 1
    return f"{f * st.median(v):.2f} ({f * min(v):.2f}-{f * max(v):.2f})"
print(f"{label}: {len(res)} rounds (2..{len(res) + 1}), evaluation in line in "
      f"{sum(x[7] for x in res)}")
print(f"  wall s, rounds 2..{len(res) + 1}      {sum(col(0)):.2f}")
print(f"  round_s                 {m(col(0))}")
print(f"  busiest process train_s {m(col(1))}")
print(f"  eval_s                  {m(col(2))}")
print(f"  aggregate_s             {m(col(3))}")
print(f"  overhead s              {m(col(4))}")
print(f"  overhead % of round     {m(col(5), True)}   (with evaluation)")
print(f"  overhead % excl. eval   {m(col(6), True)}   (eval_s out of overhead and round)")
PY
}

if [[ " $PARTS " == *" 1 "* ]]; then
    for k in ${KS:-10 100}; do
        rounds=$([ "$k" = 10 ] && echo "${ROUNDS10:-11}" || echo "${ROUNDS100:-4}")
        for async in true $([ "$k" = 10 ] && echo false); do
            "$build/fedtail" run "$exp" --procs "$PROCS" --quiet --no-report \
                --out "$out/k$k-$async" --set model.name=lenet5 \
                --set federation.clients_per_round="$k" --set federation.rounds="$rounds" \
                --set run.eval_async="$async" >/dev/null
            analyse "$out/k$k-$async" \
                "lenet5, Fashion-MNIST, K = $k per round, $PROCS processes, eval_async $async"
            echo "  (load average after: $(cut -d' ' -f1-3 /proc/loadavg))"
        done
    done
fi

if [[ " $PARTS " == *" 2 "* ]]; then
    "$build/fedtail" run "$exp" --procs 8 --quiet --no-report --out "$out/vgg9" \
        --set model.name=vgg9 --set data.dataset=synthetic --set data.synthetic_shape=3,32,32 \
        --set data.synthetic_train=8 --set data.synthetic_test=8 \
        --set federation.num_clients=8 --set federation.clients_per_round=8 \
        --set federation.local_epochs=1 --set federation.batch_size=1 \
        --set federation.rounds="${ROUNDSVGG:-6}" >/dev/null
    /usr/bin/python3 - "$out/vgg9" <<'PY'
import csv, json, statistics as st, sys
d = sys.argv[1]
rows = list(csv.DictReader(open(f"{d}/metrics.csv")))
ev = [json.loads(l) for l in open(f"{d}/events.jsonl")]
start = next(e for e in ev if e["event"] == "start")
n = start["num_params"]
res = []
for r in rows:
    t = int(r["round"])
    if t == 1:
        continue
    t0 = next(e["t"] for e in ev if e["event"] == "round_start" and e["round"] == t)
    tasks = [e for e in ev if e["event"] == "task" and e["round"] == t]
    ups = [e["t"] for e in ev if e["event"] == "update" and e["round"] == t]
    sent = [e for e in tasks if e["model_sent"]]
    bs, br = float(r["bytes_sent"]), float(r["bytes_received"])
    rs, tm = float(r["round_s"]), float(r["train_max_s"])
    ag, es = float(r["aggregate_s"] or 0), float(r["eval_s"] or 0)
    wire = rs - tm - ag - es
    res.append(dict(rs=rs, wire=wire, gbs=(bs + br) / wire / 1e9, bs=bs, br=br, ag=ag, es=es, tm=tm,
                    models=len(sent), dispatch=max(e["t"] for e in tasks) - t0,
                    collect=max(ups) - max(e["t"] for e in tasks)))
def m(k, f=1.0, p=3):
    v = [x[k] * f for x in res]
    return f"{st.median(v):.{p}f} ({min(v):.{p}f}-{max(v):.{p}f})"
print(f"vgg9 transfer, 8 processes, 8 clients per round, N = {n} ({n * 4 / 1e6:.1f} MB), "
      f"{len(res)} rounds (2..{len(res) + 1})")
print(f"  models sent per round     {m('models', p=0)}")
print(f"  MB sent / received        {m('bs', 1e-6, 1)} / {m('br', 1e-6, 1)}")
print(f"  round_s                   {m('rs')}")
print(f"  train_max_s               {m('tm')}")
print(f"  aggregate_s / eval_s      {m('ag')} / {m('es')}")
print(f"  round start -> last task  {m('dispatch')} s (models queued)")
print(f"  last task -> last update  {m('collect')} s")
print(f"  non-compute time          {m('wire')} s")
print(f"  throughput (out+in)       {m('gbs', 1, 2)} GB/s")
PY
    echo "  (load average after: $(cut -d' ' -f1-3 /proc/loadavg))"
fi
