#!/bin/bash
# bench_soak: does the coordinator's memory or descriptor count creep over a long run
# under hostile traffic?
#
# `fedtail coordinator` on tcp://127.0.0.1 runs ROUNDS rounds (500) with CLIENTS
# virtual clients (1,000), K per round (10), served by PROCS `fedtail client --pool`
# processes: an mlp (one hidden layer of 64, N = 50,890) on synthetic 1x28x28 data,
# 20 samples per client, EPOCHS local epochs of batch 1 (the knob for the round's
# length: 60 gives rounds of ~0.2 s on a loaded 2-core machine, 20 of ~0.07 s). Meanwhile bench/soak_traffic (built beside
# fedtail) sends RATE hostile messages a second over 8 DEALER sockets — malformed
# and mutated frames (its built-in messages and fuzz/corpus/fuzz_wire), frames of the
# wrong shape, stale and misattributed Updates of the right N and layout, foreign
# message types — plus HELLO_RATE Hellos a second, CHURN_RATE reconnects a second and
# an oversized frame (run.max_message_mb = 2) every 5 s. Every SAMPLE_S seconds the
# coordinator's VmRSS (/proc/PID/status), open descriptors (/proc/PID/fd) and
# threads are sampled.
#
# Prints min / median / max of each, the least-squares slope over the whole run and
# over its second half (the first half includes start-up: the training set is loaded
# before it is released), the rejected count and the generator's tally; writes
# OUT/soak.csv (t_s, round, rss_kib, fds, threads) and, with gnuplot, OUT/soak.png and
# OUT/soak.svg. It reports and asserts nothing (caps on processes and connections
# are another change's business).
#
# usage: bench/bench_soak.sh [BUILD_DIR]
# env: ROUNDS (500), CLIENTS (1000), K (10), EPOCHS (60), PROCS (2), RATE (200; 0: no
#      hostile traffic, a baseline),
#      HELLO_RATE (1), CHURN_RATE (10), SAMPLE_S (1), SEED (1: the generator's),
#      OUT (BUILD_DIR/bench/soak: the CSV, plots, logs and the run directory)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$(cd "${1:-$here/../build}" && pwd)"
ROUNDS=${ROUNDS:-500}
CLIENTS=${CLIENTS:-1000}
K=${K:-10}
EPOCHS=${EPOCHS:-60}
PROCS=${PROCS:-2}
RATE=${RATE:-200}
HELLO_RATE=${HELLO_RATE:-1}
CHURN_RATE=${CHURN_RATE:-10}
SAMPLE_S=${SAMPLE_S:-1}
SEED=${SEED:-1}
OUT=${OUT:-$build/bench/soak}
mkdir -p "$OUT"
rm -rf "$OUT/run" "$OUT/soak.csv" "$OUT"/*.log
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

cat > "$OUT/soak.ini" <<INI
[federation]
num_clients = $CLIENTS
clients_per_round = $K
rounds = $ROUNDS
local_epochs = $EPOCHS
batch_size = 1
lr = 0.01
partition = iid
[data]
dataset = synthetic
synthetic_train = $((20 * CLIENTS))
synthetic_test = 200
synthetic_shape = 1,28,28
[model]
name = mlp
hidden = 64
[run]
seed = 7
max_message_mb = 2
INI
port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
EP=tcp://127.0.0.1:$port

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
"$build/fedtail" coordinator "$OUT/soak.ini" --bind "$EP" --out "$OUT/run" --quiet \
    2> "$OUT/coord.log" &
CO=$!
pids+=($CO)
for ((p = 0; p < PROCS; p++)); do
    "$build/fedtail" client --connect "$EP" --wait 60 --quiet 2> "$OUT/client$p.log" &
    pids+=($!)
done
TR=
if [ "$RATE" != 0 ]; then
    "$build/bench/soak_traffic" --connect "$EP" --pid $CO --rate "$RATE" \
        --hello-rate "$HELLO_RATE" --churn-rate "$CHURN_RATE" --max-message-mb 2 --seed "$SEED" \
        --corpus "$here/../fuzz/corpus/fuzz_wire" > "$OUT/traffic.txt" 2> "$OUT/traffic.log" &
    TR=$!
    pids+=($TR)
fi

echo "t_s,round,rss_kib,fds,threads" > "$OUT/soak.csv"
t0=${EPOCHREALTIME/./}
while kill -0 $CO 2>/dev/null; do
    rss=$(awk '/^VmRSS:/ {print $2}' /proc/$CO/status 2>/dev/null || true)
    thr=$(awk '/^Threads:/ {print $2}' /proc/$CO/status 2>/dev/null || true)
    fds=$( (ls /proc/$CO/fd 2>/dev/null || true) | wc -l)
    rows=$( (wc -l < "$OUT/run/metrics.csv") 2>/dev/null || echo 1)
    us=$((${EPOCHREALTIME/./} - t0))
    [ -n "$rss" ] && [ "$fds" -gt 0 ] &&
        printf '%d.%06d,%d,%s,%s,%s\n' $((us / 1000000)) $((us % 1000000)) \
            $((rows > 0 ? rows - 1 : 0)) "$rss" "$fds" "$thr" >> "$OUT/soak.csv"
    sleep "$SAMPLE_S"
done
status=0
wait $CO || status=$?
[ -z "$TR" ] || wait $TR || true
for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
pids=()
[ $status = 0 ] || echo "the coordinator exited $status (see $OUT/coord.log)" >&2

/usr/bin/python3 - "$OUT" <<'PY'
import collections, csv, json, re, statistics as st, sys
out = sys.argv[1]
rows = [{k: float(v) for k, v in r.items()} for r in csv.DictReader(open(f"{out}/soak.csv"))]
metrics = list(csv.DictReader(open(f"{out}/run/metrics.csv")))
ev = [json.loads(l) for l in open(f"{out}/run/events.jsonl")]
def slope(xs, ys):
    mx, my = st.mean(xs), st.mean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else float("nan")
half = [r for r in rows if r["t_s"] >= rows[-1]["t_s"] / 2]
wall = rows[-1]["t_s"]
print(f"soak: {len(metrics)} rounds in {wall:.0f} s, {len(rows)} samples, "
      f"completed {json.load(open(f'{out}/run/summary.json'))['completed']}")
print(f"{'':14} {'min':>9} {'median':>9} {'max':>9} {'slope/min':>10} {'2nd half':>10}")
for key, label, f in (("rss_kib", "RSS MiB", 1 / 1024), ("fds", "open fds", 1),
                      ("threads", "threads", 1)):
    v = [r[key] * f for r in rows]
    s1 = 60 * slope([r["t_s"] for r in rows], v)
    s2 = 60 * slope([r["t_s"] for r in half], [r[key] * f for r in half])
    print(f"{label:14} {min(v):9.2f} {st.median(v):9.2f} {max(v):9.2f} {s1:+10.3f} {s2:+10.3f}")
per100 = 100 * slope([r["round"] for r in half], [r["rss_kib"] / 1024 for r in half])
print(f"RSS slope per 100 rounds (2nd half): {per100:+.3f} MiB")
kinds = collections.Counter(e["event"] for e in ev)
reasons = collections.Counter()  # (message, reason with the numbers taken out)
for e in ev:
    if e["event"] == "rejected":
        reasons[(e.get("message", "?"), re.sub(r"[0-9]+", "N", e.get("reason", ""))[:64])] += 1
print(f"rejected (metrics.csv): {sum(int(m['rejected']) for m in metrics)}, "
      f"registered: {kinds['registered']}, process_dead: {kinds['process_dead']}, "
      f"timeouts: {kinds['timeout']}")
print("rejected events by message and reason (top 8; at most 5 of each kind a round are"
      " written, the rest counted in metrics.csv):")
for (m, r), n in reasons.most_common(8):
    print(f"  {n:7d}  {m}: {r}")
PY
if [ -n "$TR" ]; then cat "$OUT/traffic.txt"; else echo "no hostile traffic (RATE=0)"; fi

if command -v gnuplot >/dev/null; then
    for term in png svg; do
        if [ $term = png ]; then
            hdr="set terminal pngcairo size 900,480 font 'sans,11'"
        else
            hdr="set terminal svg size 800,420 dynamic font 'sans,12' background '#ffffff'"
        fi
        gnuplot <<GP
$hdr
set output '$OUT/soak.$term'
set datafile separator ','
set title 'coordinator under hostile traffic: $ROUNDS rounds, $CLIENTS clients, $RATE msg/s'
set xlabel 'seconds'
set ylabel 'RSS (MiB)'
set y2label 'open fds'
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
set key bottom right
plot '$OUT/soak.csv' every ::1 using 1:(\$3/1024) with lines lw 2 title 'RSS', \
     '' every ::1 using 1:4 axes x1y2 with lines lw 2 title 'open fds'
GP
    done
    echo "plots: $OUT/soak.png $OUT/soak.svg (csv: $OUT/soak.csv)"
else
    echo "gnuplot not found: no plot (csv: $OUT/soak.csv)"
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
