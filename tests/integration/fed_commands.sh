#!/bin/bash
# fedtail coordinator + fedtail client over tcp on loopback, one process per fixed
# client set (--clients), gives the same metrics as fedtail run; a client that
# cannot reach a coordinator gives up with an error.
source "$(dirname "$0")/fed_lib.sh"
INI=$(small_ini)
PORT=$((20000 + RANDOM % 20000))
"$FEDTAIL" run "$INI" --procs 2 --out "$WORK/ref" --quiet || fail "reference run failed"
"$FEDTAIL" coordinator "$INI" --bind "tcp://127.0.0.1:$PORT" --out "$WORK/co" --quiet &
CO=$!
"$FEDTAIL" client --connect "tcp://127.0.0.1:$PORT" --clients 0-5 --quiet &
C1=$!
"$FEDTAIL" client --connect "tcp://127.0.0.1:$PORT" --clients 6-11 --device cpu --quiet &
C2=$!
wait $CO || fail "coordinator exited $?"
wait $C1 || fail "client 1 exited $?"
wait $C2 || fail "client 2 exited $?"
results "$WORK/ref/metrics.csv" > "$WORK/ref.results"
results "$WORK/co/metrics.csv" > "$WORK/co.results"
diff "$WORK/ref.results" "$WORK/co.results" || fail "coordinator/client metrics differ from run"
# bad usage and an unreachable coordinator
if "$FEDTAIL" client --quiet 2>/dev/null; then fail "client without --connect succeeded"; fi
if "$FEDTAIL" client --connect "tcp://127.0.0.1:1" --wait 1 --quiet 2>"$WORK/err"; then
    fail "client without a coordinator succeeded"
fi
grep -q "no welcome" "$WORK/err" || fail "unexpected message: $(cat "$WORK/err")"
if "$FEDTAIL" run --set federation.clients_per_round=200 --quiet --out "$WORK/bad" 2>"$WORK/err"; then
    fail "bad config accepted"
fi
grep -q "federation.clients_per_round" "$WORK/err" || fail "error does not name the key"
# more client processes than the coordinator admits: refused before anything runs
if "$FEDTAIL" run "$INI" --procs 3 --set federation.max_peers=2 --quiet --out "$WORK/peers" \
    2> "$WORK/err"; then
    fail "--procs 3 with federation.max_peers = 2 accepted"
fi
grep -q "federation.max_peers.*fewer than --procs 3" "$WORK/err" || fail "unexpected: $(cat "$WORK/err")"
# --device is this process's choice: asking for CUDA where there is none is a clear
# error from the client (the coordinator's experiment says cpu).
if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi >/dev/null 2>&1; then
    PORT=$((PORT + 1))
    "$FEDTAIL" coordinator "$INI" --bind "tcp://127.0.0.1:$PORT" --out "$WORK/co2" --quiet &
    CO=$!
    if timeout 60 "$FEDTAIL" client --connect "tcp://127.0.0.1:$PORT" --device cuda --quiet \
        2>"$WORK/err"; then
        fail "--device cuda without a GPU succeeded"
    fi
    kill "$CO" 2>/dev/null
    wait "$CO" 2>/dev/null || true
    grep -q "no CUDA device\|back end not built" "$WORK/err" ||
        fail "--device cuda message: $(cat "$WORK/err")"
fi
echo "PASS: coordinator + fixed-set clients over tcp"
