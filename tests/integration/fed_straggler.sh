#!/bin/bash
# A straggler: one of two client processes (fixed client sets, so only it can train
# its clients) is stopped with SIGSTOP while it holds a task. At round_timeout the
# round closes with the other process's updates (min_clients = 2); after SIGCONT
# the straggler's late update is rejected as stale — a "rejected" event, counted in
# the metrics' rejected column — and never aggregated; the run completes.
source "$(dirname "$0")/fed_lib.sh"
INI=$(small_ini)
EP=ipc://$WORK/c.sock
"$FEDTAIL" coordinator "$INI" --bind "$EP" --out "$WORK/co" --quiet \
    --set federation.num_clients=4 --set federation.clients_per_round=4 \
    --set federation.min_clients=2 --set federation.round_timeout=3 \
    --set federation.heartbeat_s=2 --set federation.rounds=4 2> "$WORK/co.log" &
CO=$!
"$FEDTAIL" client --connect "$EP" --clients 0-1 --quiet --wait 30 &
A=$!
"$FEDTAIL" client --connect "$EP" --clients 2-3 --quiet --wait 30 &
B=$!
EV=$WORK/co/events.jsonl
# B's process number, then a task handed to it.
proc=""
for _ in $(seq 1 1000); do
    proc=$(grep -s "\"event\":\"registered\".*\"pid\":$B," "$EV" | sed 's/.*"process":\([0-9]*\).*/\1/' || true)
    [ -n "$proc" ] && grep -q "\"event\":\"task\".*\"process\":$proc," "$EV" && break
    sleep 0.01
done
[ -n "$proc" ] || { kill $CO $A $B; fail "process B never got a task"; }
kill -STOP $B
echo "stopped process $proc (pid $B)"
for _ in $(seq 1 2000); do
    grep -q '"event":"timeout"' "$EV" && break
    sleep 0.01
done
grep -q '"event":"timeout"' "$EV" || { kill -CONT $B; kill $CO $A $B; fail "no round timed out"; }
sleep 0.3
kill -CONT $B
wait $CO || { cat "$WORK/co.log"; fail "coordinator exited $?"; }
wait $A || fail "client A exited $?"
wait $B || fail "client B exited $?"
python3 - "$EV" "$WORK/co/metrics.csv" "$proc" <<'PY' || fail "straggler handling wrong"
import csv, json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
rows = {int(r["round"]): r for r in csv.DictReader(open(sys.argv[2]))}
b = int(sys.argv[3])
t = [e for e in ev if e["event"] == "timeout"][0]
r = t["round"]
print("timed out:", t)
assert int(rows[r]["clients"]) == 2 and int(rows[r]["sampled"]) == 4, rows[r]
# no update of B's clients was aggregated in round r
assert not [e for e in ev if e["event"] == "update" and e["round"] == r and e["process"] == b]
stale = [e for e in ev if e["event"] == "rejected" and e.get("process") == b and "stale" in e["reason"]]
print("stale:", stale)
assert stale, "no stale rejection from the straggler"
assert not [e for e in ev if e["event"] == "process_dead"], "the straggler was presumed dead"
# the rejection is counted in the metrics of the round during which it arrived
assert sum(int(x["rejected"]) for x in rows.values()) >= len(stale), rows
assert len(rows) == 4 and [e for e in ev if e["event"] == "complete"]
# after waking up, the straggler trains again: a later round has all 4 updates
assert r == 4 or any(int(rows[k]["clients"]) == 4 for k in rows if k > r), rows
PY
echo "PASS: a stopped straggler's round closed at the deadline; its late update was rejected as stale"
