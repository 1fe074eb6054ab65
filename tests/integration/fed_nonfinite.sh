#!/bin/bash
# A destroyed global model with real processes (fedtail run over ipc://, fedtail
# coordinator + fedtail client): a Gaussian attacker with noise_std = 3e38 sends an
# update with Inf entries (a quarter of N(0, 3e38^2) draws exceed FLT_MAX) in round
# 2, and FedAvg leaves every parameter NaN/Inf.
#  - default run.on_nonfinite = stop: exit status 3 after round 2, the verdict says
#    "the model was destroyed in round 2" (stdout and report.html), the event, the
#    nonfinite_params column and summary.json say it, final.ckpt is written, and
#    --resume refuses (it would only repeat round 2);
#  - run.on_nonfinite = continue: the run completes (exit 0), still recorded; its
#    --json progress stays valid JSON (a NaN loss is null);
#  - run.compare fedavg vs median: both arms run, each gets its verdict (median's
#    model stays finite), exit status 3;
#  - fedtail coordinator exits 3 as well;
#  - fedtail sweep counts exit status 3 as a finished run (its outcome): the line
#    says so, summary.csv has model_destroyed_round, a second sweep skips it.
source "$(dirname "$0")/fed_lib.sh"
PY=/usr/bin/python3
mlp_ini "$WORK/nf.ini" clients=8 per_round=4 rounds=4 train=400 shape=1,8,8
cat >> "$WORK/nf.ini" <<INI
[attack]
method = gaussian
noise_std = 3e38
attack_from = 2
attack_freq = 10
edge_size = 5
honest_edge_holders = 0
[run]
seed = 7
INI

# check DIR ROUNDS COMPLETED: metrics, events and summary of a run whose model round
# 2 destroyed.
check() {
    $PY - "$@" <<'PY' || fail "run files of $1"
import csv, json, sys
d, rounds, completed = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "true"
rows = list(csv.DictReader(open(d + "/metrics.csv")))
assert len(rows) == rounds, (len(rows), rounds)
assert int(rows[0]["nonfinite_params"]) == 0, rows[0]
for r in rows[1:]:
    assert int(r["nonfinite_params"]) > 0, r
ev = [json.loads(l) for l in open(d + "/events.jsonl")]
md = [e for e in ev if e["event"] == "model_destroyed"]
assert len(md) == 1 and md[0]["round"] == 2, md
assert md[0]["nonfinite"] == int(rows[1]["nonfinite_params"]) and md[0]["defense"] == "fedavg", md
s = json.load(open(d + "/summary.json"))
assert s["model_destroyed_round"] == 2 and s["completed"] is completed, s
assert s["rounds"] == rounds and s["rounds_planned"] == 4, s
PY
}

# 1. The default: the run stops after round 2 with exit status 3.
set +e
"$FEDTAIL" run "$WORK/nf.ini" --procs 2 --out "$WORK/stop" --quiet >"$WORK/stop.out" 2>"$WORK/stop.err"
rc=$?
set -e
[ $rc -eq 3 ] || fail "destroyed model: exit $rc, not 3: $(cat "$WORK/stop.err")"
check "$WORK/stop" 2 false
grep -q "verdict: the model was destroyed in round 2" "$WORK/stop.out" || fail "verdict: $(cat "$WORK/stop.out")"
if grep -q "LANDS\|STOPPED" "$WORK/stop.out"; then fail "verdict claims a backdoor outcome"; fi
grep -q "round 2 destroyed the global model" "$WORK/stop.err" || fail "no message: $(cat "$WORK/stop.err")"
grep -q "the model was destroyed in round 2" "$WORK/stop/report.html" || fail "report.html has no verdict"
[ -s "$WORK/stop/final.ckpt" ] || fail "no final.ckpt"
grep -q '"event":"stopped"' "$WORK/stop/events.jsonl" || fail "no stopped event"
set +e
"$FEDTAIL" run --resume "$WORK/stop" --procs 1 --quiet >/dev/null 2>"$WORK/resume.err"
rc=$?
set -e
[ $rc -eq 1 ] || fail "resume of a destroyed run: exit $rc"
grep -q "resuming would only repeat that" "$WORK/resume.err" || fail "resume: $(cat "$WORK/resume.err")"

# 2. run.on_nonfinite = continue: every round runs, the run completes, still recorded.
"$FEDTAIL" run "$WORK/nf.ini" --set run.on_nonfinite=continue --procs 2 --out "$WORK/cont" \
    --quiet >"$WORK/cont.out" 2>"$WORK/cont.err" || fail "continue: exit $?: $(cat "$WORK/cont.err")"
check "$WORK/cont" 4 true
grep -q "verdict: the model was destroyed in round 2" "$WORK/cont.out" || fail "continue verdict"

# --json: one valid JSON object per round even when the loss is NaN (null), with
# nonfinite_params.
"$FEDTAIL" run "$WORK/nf.ini" --set run.on_nonfinite=continue --procs 2 --out "$WORK/json" \
    --quiet --json >"$WORK/json.out" 2>/dev/null || fail "--json: exit $?"
$PY - "$WORK/json.out" <<'PY' || fail "--json output: $(cat "$WORK/json.out")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
assert [r["round"] for r in rows] == [1, 2, 3, 4], rows
assert rows[0]["nonfinite_params"] == 0 and all(r["nonfinite_params"] > 0 for r in rows[1:]), rows
PY

# 3. run.compare: the destroyed arm does not hide the other one.
set +e
"$FEDTAIL" run "$WORK/nf.ini" --set "run.compare=avg: defense.name=fedavg; med: defense.name=median" \
    --procs 2 --out "$WORK/cmp" --quiet >"$WORK/cmp.out" 2>"$WORK/cmp.err"
rc=$?
set -e
[ $rc -eq 3 ] || fail "compare: exit $rc, not 3: $(cat "$WORK/cmp.err")"
check "$WORK/cmp/avg" 2 false
$PY - "$WORK/cmp/med" <<'PY' || fail "median arm"
import csv, json, sys
d = sys.argv[1]
rows = list(csv.DictReader(open(d + "/metrics.csv")))
assert len(rows) == 4 and all(int(r["nonfinite_params"]) == 0 for r in rows), rows
s = json.load(open(d + "/summary.json"))
assert s["completed"] is True and s["model_destroyed_round"] is None, s
PY
grep -q "^  avg .*the model was destroyed in round 2" "$WORK/cmp.out" || fail "avg verdict: $(cat "$WORK/cmp.out")"
grep "^  med " "$WORK/cmp.out" | grep -q "main .* after 4 rounds" || fail "med verdict: $(cat "$WORK/cmp.out")"
if grep "^  med " "$WORK/cmp.out" | grep -q destroyed; then fail "med verdict says destroyed"; fi
grep -q "1 of 2 arms ended with a destroyed model" "$WORK/cmp.err" || fail "compare: $(cat "$WORK/cmp.err")"

# 4. fedtail coordinator exits 3 too (its client then sees the Shutdown and exits 0).
SOCK="ipc://$WORK/co.sock"
"$FEDTAIL" coordinator "$WORK/nf.ini" --bind "$SOCK" --out "$WORK/co" --quiet 2>"$WORK/co.err" &
CO=$!
"$FEDTAIL" client --connect "$SOCK" --quiet &
CL=$!
set +e
wait $CO
rc=$?
wait $CL
crc=$?
set -e
[ $rc -eq 3 ] || fail "fedtail coordinator: exit $rc, not 3: $(cat "$WORK/co.err")"
[ $crc -eq 0 ] || fail "client after a destroyed model: exit $crc"
check "$WORK/co" 2 false
# 5. fedtail sweep: a destroyed run is an outcome, not a failure.
printf '[sweep]\nbase = %s\n[grid]\ndefense.name = fedavg, median\n' "$WORK/nf.ini" >"$WORK/grid.ini"
"$FEDTAIL" sweep "$WORK/grid.ini" --out "$WORK/sw" --jobs 1 --procs 1 >"$WORK/sw.out" 2>&1 ||
    fail "sweep: exit $?: $(cat "$WORK/sw.out")"
grep -q "name=fedavg: the model was destroyed in round 2" "$WORK/sw.out" || fail "sweep: $(cat "$WORK/sw.out")"
grep -q "name=median: main " "$WORK/sw.out" || fail "sweep median: $(cat "$WORK/sw.out")"
$PY - "$WORK/sw/summary.csv" <<'PY' || fail "sweep summary.csv: $(cat "$WORK/sw/summary.csv")"
import csv, sys
rows = {r["defense.name"]: r for r in csv.DictReader(open(sys.argv[1]))}
assert rows["fedavg"]["model_destroyed_round"] == "2", rows
assert rows["median"]["model_destroyed_round"] == "", rows
PY
"$FEDTAIL" sweep "$WORK/grid.ini" --out "$WORK/sw" --jobs 1 --procs 1 >"$WORK/sw2.out" 2>&1 || fail "sweep again"
[ "$(grep -c "already complete, skipped" "$WORK/sw2.out")" -eq 2 ] || fail "sweep again: $(cat "$WORK/sw2.out")"
echo "PASS: a destroyed model stops the run (exit 3), continue completes, compare runs every arm, sweep records it"
