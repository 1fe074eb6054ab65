#!/bin/bash
# Batched clients (run.batch_clients / fedtail client --batch-clients): a process
# that trains up to K tasks of a round at once gives the run exactly what training
# them one by one gives — the same metrics and the same final model — on the CPU,
# where the batch's updates are bit-identical (tests/test_train_batch.c).
#   1. lenet5, 1 process: one by one vs run.batch_clients = 4. The batched process
#      registers 4 times (4 "registered" events with one pid), and its tasks really
#      were trained together (the updates of a batch report the same train_s).
#   2. mlp with a pgd attacker every round, 2 processes with 3 lanes each vs 1 by 1:
#      the attacker's task falls back to one-by-one training inside the batch loop.
#   3. a coordinator that takes fewer connections (federation.max_peers = 2) than
#      the lanes asked for (4): the process warns, batches what registered, and the
#      run's results are still the one-by-one ones.
#   4. run.batch_clients = 0 (as many as fit the device's memory) on the CPU, which
#      cannot say how much it has: one task at a time, one registration a process.
#   5. the lstm (where the fortunes corpus is installed) cannot be batched: the
#      process says so, registers once and trains one task at a time.
source "$(dirname "$0")/fed_lib.sh"
PY=/usr/bin/python3

# same_batched NAME K RUN_ARGS...: one by one (batch_clients 1) and with K.
same_batched() {
    local name=$1 k=$2 b
    shift 2
    for b in 1 "$k"; do
        "$FEDTAIL" run "$@" --set run.batch_clients="$b" --out "$WORK/$name$b" --quiet \
            >"$WORK/$name$b.log" 2>&1 || { cat "$WORK/$name$b.log"; fail "$name (batch $b) exited"; }
    done
    [ "$(results "$WORK/${name}1/metrics.csv")" = "$(results "$WORK/$name$k/metrics.csv")" ] ||
        fail "$name: metrics differ between one by one and batch_clients = $k"
    cmp -s "$WORK/${name}1/final.ckpt" "$WORK/$name$k/final.ckpt" ||
        fail "$name: the final model differs between one by one and batch_clients = $k"
}

# batched_evidence DIR PROCS K: at most PROCS pids, each registered at most K times
# and one K times (a short run may end before a later process registers), and some
# update shares its train_s with another of its round and process (one batch).
batched_evidence() {
    $PY - "$1" "$2" "$3" <<'PYEOF' || fail "$1: no sign of batched training"
import collections, json, sys
d, procs, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ev = [json.loads(l) for l in open(d + "/events.jsonl")]
reg = collections.Counter(e["pid"] for e in ev if e["event"] == "registered")
assert 1 <= len(reg) <= procs and max(reg.values()) == k, reg
pid = {e["process"]: e["pid"] for e in ev if e["event"] == "registered"}
same = collections.Counter((e["round"], pid[e["process"]], e["train_s"])
                           for e in ev if e["event"] == "update")
assert max(same.values()) >= 2, same
PYEOF
}

ini=$(small_ini)
same_batched lenet 4 "$ini" --procs 1
batched_evidence "$WORK/lenet4" 1 4

mlp_ini "$WORK/att.ini" per_round=6 rounds=3
cat >> "$WORK/att.ini" <<INI
[attack]
method = pgd
edge_size = 4
attack_freq = 1
honest_edge_holders = 0
[run]
seed = 5
INI
same_batched att 3 "$WORK/att.ini" --procs 2
batched_evidence "$WORK/att3" 2 3
grep -q '"attacker":true' "$WORK/att3/events.jsonl" || fail "att: no attacker task ran"
"$FEDTAIL" run "$WORK/att.ini" --procs 1 --set run.batch_clients=4 --set federation.max_peers=2 \
    --out "$WORK/capped" --quiet >"$WORK/capped.log" 2>&1 ||
    { cat "$WORK/capped.log"; fail "capped: exited"; }
grep -q "batched clients: lane 2 not registered" "$WORK/capped.log" ||
    fail "capped: no warning that a lane did not register"
[ "$(grep -c '"event":"registered"' "$WORK/capped/events.jsonl")" = 2 ] ||
    fail "capped: expected 2 registrations"
[ "$(results "$WORK/att1/metrics.csv")" = "$(results "$WORK/capped/metrics.csv")" ] ||
    fail "capped: metrics differ from one by one"

"$FEDTAIL" run "$WORK/att.ini" --procs 2 --set run.batch_clients=0 --out "$WORK/auto" --quiet \
    >"$WORK/auto.log" 2>&1 || { cat "$WORK/auto.log"; fail "auto: exited"; }
[ "$(grep -c '"event":"registered"' "$WORK/auto/events.jsonl")" -le 2 ] ||
    fail "auto: a CPU process registered lanes"
[ "$(results "$WORK/att1/metrics.csv")" = "$(results "$WORK/auto/metrics.csv")" ] ||
    fail "auto: metrics differ from one by one"

if [ -r /usr/share/games/fortunes/fortunes ]; then
    fortunes_ini "$WORK/text.ini" clients=6 per_round=3 rounds=2 vocab=200 seq_len=16 emb=8 \
        hidden=8
    cat >> "$WORK/text.ini" <<INI
[run]
seed = 3
INI
    same_batched text 3 "$WORK/text.ini" --procs 1
    grep -q "model lstm cannot be batched; training one task at a time" "$WORK/text3.log" ||
        fail "text: the lstm fallback was not logged"
    [ "$(grep -c '"event":"registered"' "$WORK/text3/events.jsonl")" = 1 ] ||
        fail "text: the lstm process registered lanes"
else
    echo "(fortunes corpus not installed: the lstm fallback part skipped)"
fi
echo "PASS: batched clients give the one-by-one metrics and final model"
