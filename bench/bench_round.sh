#!/bin/bash
# bench_round: coordination overhead of a federated round. Runs fedtail run with K
# clients per round on P = K client processes (one task each, so the round cannot
# be shorter than its slowest client) and prints, per round and on average:
#   overhead = round_s - slowest client's training seconds (train_max_s)
# as a share of round time, split into evaluation, aggregation and the rest
# (dispatch, model/update transfer, validation, waiting).
# Usage: bench/bench_round.sh [FEDTAIL] ; env: K (default: cores), ROUNDS (5),
# DATASET (fashion-mnist), MODEL (lenet5), EXTRA (more --set arguments).
set -euo pipefail
FEDTAIL=${1:-$(cd "$(dirname "$0")/.." && pwd)/build/fedtail}
K=${K:-$(nproc)}
ROUNDS=${ROUNDS:-5}
OUT=$(mktemp -d /tmp/ft_bench_round_XXXXXX)
trap 'rm -rf "$OUT"' EXIT
"$FEDTAIL" run --procs "$K" --out "$OUT/run" --quiet \
    --set federation.clients_per_round="$K" --set federation.rounds="$ROUNDS" \
    --set data.dataset="${DATASET:-fashion-mnist}" --set model.name="${MODEL:-lenet5}" \
    ${EXTRA:-}
python3 - "$OUT/run/metrics.csv" "$K" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print(f"bench_round: K = P = {sys.argv[2]} client processes, {len(rows)} rounds")
print(f"{'round':>5} {'round_s':>9} {'slowest':>9} {'eval_s':>8} {'agg_s':>8} {'overhead':>9} {'share':>7} {'excl.eval':>9}")
tot = {"r": 0, "t": 0, "e": 0, "a": 0}
for r in rows:
    rs, tm, ev, ag = (float(r[k] or 0) for k in ("round_s", "train_max_s", "eval_s", "aggregate_s"))
    ov = rs - tm
    ex = (ov - ev) / (rs - ev) if rs > ev else 0
    print(f"{r['round']:>5} {rs:9.3f} {tm:9.3f} {ev:8.3f} {ag:8.4f} {ov:9.3f} {100*ov/rs:6.1f}% {100*ex:8.1f}%")
    for k, v in zip("rtea", (rs, tm, ev, ag)):
        tot[k] += v
ov = tot["r"] - tot["t"]
print(f"mean coordination overhead: {100*ov/tot['r']:.1f}% of round time "
      f"({100*(ov-tot['e'])/(tot['r']-tot['e']):.1f}% not counting evaluation of the global model)")
PY
