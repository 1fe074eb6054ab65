#!/bin/bash
# bench_secagg: what secure aggregation (security.secure_aggregation, docs/security.md)
# costs the coordinator, side by side with the plain run in one invocation: peak
# resident memory (ru_maxrss from GNU time) and the per-round time (median round_s of
# rounds 2..R-1 from metrics.csv; the first round warms up, the last evaluates in
# line), and the protocol's own share (median secagg_s of the "secagg" events: ROSTER
# to the unmasked sum). For each model and K every sampled client is a different one
# (num_clients = K) with 6 Fashion-MNIST samples, 1 local epoch of batch 32; the
# coordinator (`fedtail coordinator --bind ipc://...`) and PROCS clients run as
# separate commands.
# usage: bench/bench_secagg.sh [BUILD_DIR]; env: MODELS ("lenet5 paper-lenet"),
#        KS ("10 30 100"), PROCS (2), ROUNDS (5), KEEP (a directory to keep the runs)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$(cd "${1:-$here/../build}" && pwd)"
MODELS=${MODELS:-lenet5 paper-lenet}
KS=${KS:-10 30 100}
PROCS=${PROCS:-2}
ROUNDS=${ROUNDS:-5}
out="${KEEP:-$(mktemp -d /tmp/ft_bench_secagg_XXXXXX)}"
mkdir -p "$out"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$out"' EXIT
exp="$here/../experiments/fedavg-fmnist.ini"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

for model in $MODELS; do
    for k in $KS; do
        for mode in plain secagg; do
            d="$out/$model-$k-$mode"
            rm -rf "$d"
            mkdir -p "$d"
            sets=(--set model.name="$model" --set federation.num_clients="$k"
                  --set federation.clients_per_round="$k" --set federation.rounds="$ROUNDS"
                  --set federation.local_epochs=1 --set data.train_limit=$((6 * k))
                  --set data.test_limit=500 --set federation.init=random)
            [ "$mode" = secagg ] && sets+=(--set security.secure_aggregation=on)
            /usr/bin/time -f "%M %e" -o "$d/coord.time" "$build/fedtail" coordinator "$exp" \
                --bind "ipc://$d/coord.sock" --out "$d/run" --quiet --no-report "${sets[@]}" \
                >/dev/null &
            coord=$!
            pids=()
            for ((p = 0; p < PROCS; p++)); do
                "$build/fedtail" client --connect "ipc://$d/coord.sock" --wait 60 --quiet \
                    >/dev/null &
                pids+=($!)
            done
            wait "$coord"
            for p in "${pids[@]}"; do wait "$p"; done
        done
    done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

/usr/bin/python3 - "$out" "$MODELS" "$KS" "$ROUNDS" <<'PY'
import csv, json, statistics, sys
out, models, ks, rounds = sys.argv[1], sys.argv[2].split(), sys.argv[3].split(), int(sys.argv[4])
def run(model, k, mode):
    d = f"{out}/{model}-{k}-{mode}"
    rss_kb, _ = open(d + "/coord.time").read().split()[-2:]
    rows = list(csv.DictReader(open(d + "/run/metrics.csv")))
    mid = [float(r["round_s"]) for r in rows[1:rounds - 1]]
    ev = [json.loads(l) for l in open(d + "/run/events.jsonl")]
    sa = [e["secagg_s"] for e in ev if e["event"] == "secagg" and e["outcome"] == "ok"][1:rounds - 1]
    n = next(e["num_params"] for e in ev if e["event"] == "start")
    return int(rss_kb) / 1024, statistics.median(mid), statistics.median(sa) if sa else None, n
print("| model | N | K | coordinator peak RSS plain | secure | round_s plain (median) | secure | ratio | protocol (secagg_s) |")
print("|---|---|---|---|---|---|---|---|---|")
for m in models:
    for k in ks:
        pm, pt, _, n = run(m, k, "plain")
        sm, st, sa, _ = run(m, k, "secagg")
        print(f"| {m} | {n} | {k} | {pm:.0f} MiB | {sm:.0f} MiB | {pt:.2f} s | {st:.2f} s | "
              f"{st / pt:.2f} | {sa:.2f} s |")
PY
