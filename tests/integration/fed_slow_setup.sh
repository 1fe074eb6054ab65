#!/bin/bash
# A client process keeps sending heartbeats while it sets up (loads Fashion-MNIST,
# partitions it, mines the edge-case set: about a second), so a coordinator with a
# short heartbeat period (dead after 5 x 0.1 s of silence) never presumes it dead.
source "$(dirname "$0")/fed_lib.sh"
cat > "$WORK/slow.ini" <<INI
[federation]
num_clients = 20
clients_per_round = 2
rounds = 1
heartbeat_s = 0.1
[data]
dataset = fashion-mnist
test_limit = 200
[model]
name = mlp
hidden = 8
[attack]
method = blackbox
INI
"$FEDTAIL" run "$WORK/slow.ini" --procs 2 --out "$WORK/run" --quiet --no-report ||
    fail "run exited $?"
if grep '"event":"process_dead"' "$WORK/run/events.jsonl"; then
    fail "a process setting up was presumed dead"
fi
echo "PASS: no process presumed dead while setting up"
