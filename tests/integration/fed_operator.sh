#!/bin/bash
# What an operator running fedtail coordinator and clients by hand sees (issue 20
# item 9): a client started before its coordinator says it waits for it (the
# address); a client whose next task cannot come yet says it waits for the next
# round; each client ends with a line of rounds served, updates sent and seconds;
# fedtail coordinator ends with the plots, report.html and verdict of fedtail run
# (measuring tests such as fed_flood_fds pass --no-report: their stdout is data).
source "$(dirname "$0")/fed_lib.sh"
INI=$(small_ini)
PORT=$((20000 + RANDOM % 20000))
EP=tcp://127.0.0.1:$PORT
SETS=(--set federation.num_clients=4 --set federation.clients_per_round=4 --set federation.rounds=2)

# Up to 120 s (a loaded machine) for a line matching $2 in file $1.
await() {
    for _ in $(seq 600); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.2
    done
    fail "no '$2' in $1: $(cat "$1")"
}

# A serves client 0 only; it starts first, so it waits for the coordinator.
"$FEDTAIL" client --connect "$EP" --clients 0 --wait 60 2>"$WORK/a.log" &
A=$!
await "$WORK/a.log" "waiting for the coordinator at $EP (up to 60 s)"
"$FEDTAIL" coordinator "$INI" "${SETS[@]}" --bind "$EP" --out "$WORK/co" --quiet \
    >"$WORK/co.out" 2>"$WORK/co.log" &
CO=$!
# Round 1 needs clients 1-3 too, which no process serves yet: A trains client 0,
# then its next request is held and it says so.
await "$WORK/a.log" "waiting for a task from $EP: round 1 of 2 done here, waiting for round 2"
"$FEDTAIL" client --connect "$EP" --pool --wait 60 2>"$WORK/b.log" &
B=$!
wait $CO || fail "coordinator exited $?: $(cat "$WORK/co.log")"
wait $A || fail "client A exited $?"
wait $B || fail "client B exited $?"

# Closing lines: A serves client 0 alone, so one update in each round it served
# (round 1 surely; round 2's client 0 may go to the pool process B); the two sent the
# 8 updates of 2 rounds x 4 clients between them.
line='done: \([12]\) rounds served, \([0-9]*\) updates sent, [0-9]*\.[0-9] s (the run is over)'
a_rounds=$(sed -n "s/.*process [0-9]* $line/\1/p" "$WORK/a.log")
a_sent=$(sed -n "s/.*process [0-9]* $line/\2/p" "$WORK/a.log")
b_sent=$(sed -n "s/.*process [0-9]* $line/\2/p" "$WORK/b.log")
[ -n "$a_rounds" ] && [ "$a_rounds" = "$a_sent" ] || fail "client A's closing line: $(cat "$WORK/a.log")"
[ -n "$b_sent" ] && [ $((a_sent + b_sent)) -eq 8 ] ||
    fail "closing lines do not add up to 8 updates: $(cat "$WORK/a.log" "$WORK/b.log")"

# The coordinator's end: plots, report.html and the verdict, as fedtail run.
[ -s "$WORK/co/report.html" ] || fail "fedtail coordinator wrote no report.html"
ls "$WORK/co"/*.png >/dev/null 2>&1 || fail "fedtail coordinator drew no plots"
grep -qi "main-task accuracy after 2 rounds" "$WORK/co.out" || fail "no verdict on stdout: $(cat "$WORK/co.out")"
grep -q "plots and report: $WORK/co/report.html" "$WORK/co.out" || fail "no report line"
echo "operator view: ok"
