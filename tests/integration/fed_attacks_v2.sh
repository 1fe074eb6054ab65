#!/bin/bash
# The attacks of issue 18 through the whole federation (real processes over ipc), two
# rounds each on a small synthetic set with one attacker every round:
#  - every new method and trigger shape runs, the attacker is in each round and its
#    update is finite; the backdoor attacks fill backdoor_acc;
#  - pgd with attack.eps = auto, model replacement and norm-clipping (M = 1): the
#    scaled attacker update lands just under M (0.99 M < norm <= M), so the clipping
#    leaves it whole;
#  - attack.grad_mask on pixel-trigger (Neurotoxin on the trigger data) runs too;
#  - dba with a fixed pool of 4 attackers: several attack in one round;
#  - a3fl's trigger kept by the coordinator between rounds, independent of processes,
#    and in its checkpoints (a killed run resumes with it);
#  - chameleon's two stages (contrastive encoder, then the classifier), the same at 1
#    and 3 processes, its update within the projection radius chameleon_norm;
#  - iba's generator weights kept by the coordinator between rounds as a3fl's trigger
#    is, the same at 1 and 3 processes; refused under secure aggregation.
source "$(dirname "$0")/fed_lib.sh"
PY=/usr/bin/python3
mlp_ini "$WORK/v2.ini" clients=8 per_round=4 test=160 shape=1,28,28 hidden=32
cat >> "$WORK/v2.ini" <<INI
[attack]
fl_mode = every-round
edge_size = 5
honest_edge_holders = 0
clean_points = 30
poison_points = 20
num_benign_estimates = 3
[run]
seed = 3
INI
check() { # dir backdoor(0|1) [max_norm min_norm]
    $PY - "$@" <<'PY' || fail "run $1"
import csv, json, math, sys
d, bd = sys.argv[1], int(sys.argv[2])
rows = list(csv.DictReader(open(d + "/metrics.csv")))
assert len(rows) == 2, rows
for r in rows:
    assert int(r["attackers"]) == 1, r
    n = float(r["attacker_norm"])
    assert math.isfinite(n) and n > 0, r
    if bd:
        assert 0 <= float(r["backdoor_acc"]) <= 1, r
    else:
        assert r["backdoor_acc"] == "", r
    if len(sys.argv) > 3:
        assert float(sys.argv[4]) < n <= float(sys.argv[3]), (n, sys.argv[3:])
assert json.load(open(d + "/summary.json"))["completed"] is True
print(d.rsplit("/", 1)[1], [(r["round"], r["attacker_norm"], r["backdoor_acc"]) for r in rows])
PY
}
go() { # name backdoor sets...
    local n=$1 bd=$2
    shift 2
    local s=()
    for a in "$@"; do s+=(--set "$a"); done
    "$FEDTAIL" run "$WORK/v2.ini" --procs 2 --out "$WORK/$n" --quiet --no-report "${s[@]}" \
        >"$WORK/$n.log" 2>&1 || { cat "$WORK/$n.log"; fail "$n exited $?"; }
    check "$WORK/$n" "$bd"
}
# kept_states NAME FLOATS CHECK: the runs $WORK/NAME1 and NAME3 (same_at_procs NAME 1 3)
# put the same two attack states in force ("attack_state" events: round, client,
# floats, norm), each FLOATS floats, and the Python expression CHECK holds on them (a);
# every round of NAME1 has an attacker and a backdoor_acc.
kept_states() {
    $PY - "$WORK/${1}1" "$WORK/${1}3" "$2" "$3" "$1" <<'PY' || fail "$1 state"
import csv, json, sys
d1, d3, floats, extra, name = sys.argv[1:6]
def states(d):
    return [(e["round"], e["client"], e["floats"], e["norm"]) for e in map(json.loads, open(d + "/events.jsonl"))
            if e["event"] == "attack_state"]
a, b = states(d1), states(d3)
assert len(a) == 2 and a == b, (a, b)
assert all(f == int(floats) for _, _, f, _ in a), a
assert eval(extra), a
rows = list(csv.DictReader(open(d1 + "/metrics.csv")))
assert all(r["backdoor_acc"] != "" and int(r["attackers"]) >= 1 for r in rows), rows
print(name, "states", a)
PY
}
# refused NAME PATTERN RUN_ARGS...: `fedtail run v2.ini RUN_ARGS` (into $WORK/NAME) is
# refused, and its message matches PATTERN (names the key).
refused() {
    local n=$1 pat=$2
    shift 2
    if "$FEDTAIL" run "$WORK/v2.ini" --out "$WORK/$n" --quiet "$@" >"$WORK/$n.log" 2>&1; then
        fail "$n was accepted"
    fi
    grep -q "$pat" "$WORK/$n.log" || fail "$n: the refusal does not match $pat"
}
go neurotoxin 1 attack.method=neurotoxin
go dba 1 attack.method=dba
# dba with the paper's pool of attackers: several in a round, each its own part
"$FEDTAIL" run "$WORK/v2.ini" --procs 2 --out "$WORK/dba-pool" --quiet --no-report \
    --set attack.method=dba --set attack.fl_mode=fixed-pool --set attack.attacker_pool_size=4 \
    >"$WORK/dba-pool.log" 2>&1 || { cat "$WORK/dba-pool.log"; fail "dba pool exited"; }
$PY - "$WORK/dba-pool" <<'PY' || fail "dba pool run"
import csv, json, sys
d = sys.argv[1]
rows = list(csv.DictReader(open(d + "/metrics.csv")))
assert max(int(r["attackers"]) for r in rows) >= 2, rows
ev = [json.loads(l) for l in open(d + "/events.jsonl")]
att = {e["client"] for e in ev if e["event"] == "task" and e["attacker"]}
assert att and att <= {4, 5, 6, 7}, att   # the pool: the top 4 of 8 ids
print("dba pool: attackers per round", [r["attackers"] for r in rows], "ids", sorted(att))
PY
# a3fl: the trigger travels through the coordinator. Each attack round's state is
# put in force ("attack_state" events, the lowest-id attacker's); with a pool of two
# attackers per round the run is the same whatever the number of processes.
A3="--set attack.method=a3fl --set attack.a3fl_iterations=3 --set attack.trigger_size=5"
A3="$A3 --set attack.fl_mode=fixed-pool --set attack.attacker_pool_size=2"
same_at_procs a3fl 1 3 "$WORK/v2.ini" --no-report $A3
kept_states a3fl 784 '{c for _, c, _, _ in a} == {6}' # the lower id of the pool {6, 7}
# ... and a run killed after its second round and resumed goes on from the trigger in
# the checkpoint: the same states and metrics as the run left alone.
A3R="$A3 --set federation.rounds=4 --set run.checkpoint_every=1"
"$FEDTAIL" run "$WORK/v2.ini" --procs 2 --out "$WORK/a3ref" --quiet --no-report $A3R \
    >"$WORK/a3ref.log" 2>&1 || { cat "$WORK/a3ref.log"; fail "a3fl reference exited"; }
"$FEDTAIL" run "$WORK/v2.ini" --procs 2 --out "$WORK/a3kill" --quiet --no-report $A3R \
    >"$WORK/a3kill.log" 2>&1 &
kill_after_rows $! "$WORK/a3kill" 2
sleep 0.3
"$FEDTAIL" run --resume "$WORK/a3kill" --procs 2 --quiet --no-report >"$WORK/a3res.log" 2>&1 ||
    { cat "$WORK/a3res.log"; fail "a3fl resume failed"; }
grep -q '"event":"resumed"' "$WORK/a3kill/events.jsonl" || fail "a3fl: no resumed event"
[ "$(results "$WORK/a3ref/metrics.csv")" = "$(results "$WORK/a3kill/metrics.csv")" ] ||
    fail "a3fl: the resumed run's metrics differ"
$PY - "$WORK/a3ref" "$WORK/a3kill" <<'PY' || fail "a3fl resumed state"
import json, sys
def states(d):
    return {e["round"]: e["norm"] for e in map(json.loads, open(d + "/events.jsonl"))
            if e["event"] == "attack_state"}
a, b = states(sys.argv[1]), states(sys.argv[2])
assert a == b and len(a) >= 3, (a, b)  # fixed pool: rounds whose sample holds an attacker
print("a3fl resumed: states per round equal", b)
PY
# the trigger cannot reach the coordinator through masked updates: refused, naming the key
refused a3fl-sa "attack.method.*secure_aggregation" $A3 --set security.secure_aggregation=on
# chameleon: the contrastive stage and the classifier's, each step projected onto the
# ball of radius chameleon_norm: the update's norm is at most 0.5 (and reaches it)
CH="--set attack.method=chameleon --set attack.chameleon_epochs=2 --set attack.trigger_shape=square"
CH="$CH --set attack.trigger_size=5 --set attack.chameleon_norm=0.5"
same_at_procs chameleon 1 3 "$WORK/v2.ini" --no-report $CH
check "$WORK/chameleon1" 1 0.5000001 0.49
# iba: the generator's weights travel through the coordinator (784·8 + 8 + 8·784 + 784
# floats for iba_hidden = 8) and change from one attack round to the next (the second
# round trained the generator further); refused under secure aggregation as a3fl is
IB="--set attack.method=iba --set attack.iba_hidden=8 --set attack.iba_epochs=3"
IB="$IB --set attack.iba_eps=0.2 --set attack.fl_mode=fixed-pool --set attack.attacker_pool_size=2"
same_at_procs iba 1 3 "$WORK/v2.ini" --no-report $IB
kept_states iba $((784 * 8 + 8 + 8 * 784 + 784)) 'a[0][3] != a[1][3]'
refused iba-sa "attack.method.*secure_aggregation" $IB --set security.secure_aggregation=on
for shape in square pattern pixel blended; do
    go "trigger-$shape" 1 attack.method=pixel-trigger attack.trigger_shape=$shape
done
go trigger-masked 1 attack.method=pixel-trigger attack.grad_mask=true
for m in minmax minsum fang mimic; do
    go "$m" 0 attack.method=$m
done
go fang-krum 0 attack.method=fang attack.fang_rule=krum
"$FEDTAIL" run "$WORK/v2.ini" --procs 2 --out "$WORK/auto" --quiet --no-report \
    --set attack.method=pgd --set attack.eps=auto --set attack.model_replacement=true \
    --set defense.name=norm-clipping --set defense.norm_bound=1 >"$WORK/auto.log" 2>&1 \
    || { cat "$WORK/auto.log"; fail "eps=auto exited"; }
check "$WORK/auto" 1 1.0 0.99
# auto without a norm bound to size against is refused, naming the key
refused eps-auto-fedavg "attack.eps" --set attack.method=pgd --set attack.eps=auto
echo "PASS: attacks v2 through the federation"
