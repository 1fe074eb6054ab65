#!/bin/bash
# SIGKILL of a client process mid-round: its task is handed to another process, the
# run completes, the events say what happened, and — since training depends only on
# (config, round, client) — the metrics equal those of an undisturbed run.
source "$(dirname "$0")/fed_lib.sh"
INI=$(small_ini)
"$FEDTAIL" run "$INI" --procs 1 --out "$WORK/ref" --quiet || fail "reference run failed"
# Slow the clients down a little so that a task is surely in flight when we kill.
"$FEDTAIL" run "$INI" --procs 3 --out "$WORK/kill" --quiet --set federation.rounds=3 \
    --set federation.local_epochs=1 &
RUN=$!
victim=""
for _ in $(seq 1 400); do
    if [ -f "$WORK/kill/events.jsonl" ] && grep -q '"event":"task"' "$WORK/kill/events.jsonl"; then
        # the process that got the most recent task
        proc=$(grep '"event":"task"' "$WORK/kill/events.jsonl" | tail -1 | sed 's/.*"process":\([0-9]*\).*/\1/')
        pid=$(grep '"event":"registered"' "$WORK/kill/events.jsonl" | grep "\"process\":$proc," | sed 's/.*"pid":\([0-9]*\).*/\1/')
        if [ -n "$pid" ]; then
            kill -9 "$pid" && victim=$pid
            break
        fi
    fi
    sleep 0.02
done
[ -n "$victim" ] || { kill $RUN; fail "no task seen to interrupt"; }
echo "killed client process $victim"
wait $RUN || fail "run did not complete after a client was killed (exit $?)"
grep '"event":"process_dead"' "$WORK/kill/events.jsonl" || fail "no process_dead event"
results "$WORK/ref/metrics.csv" > "$WORK/ref.results"
results "$WORK/kill/metrics.csv" > "$WORK/kill.results"
diff "$WORK/ref.results" "$WORK/kill.results" || fail "metrics differ from the undisturbed run"

# Ctrl-C (SIGINT to the whole process group, as a terminal sends it): every child
# stops, the files are complete, the exit status is non-zero.
set -m
"$FEDTAIL" run "$INI" --procs 2 --out "$WORK/int" --quiet --set federation.rounds=50 &
RUN=$!
set +m
for _ in $(seq 1 500); do
    [ -f "$WORK/int/metrics.csv" ] && [ "$(wc -l < "$WORK/int/metrics.csv")" -ge 2 ] && break
    sleep 0.02
done
kill -INT -- -$RUN
status=0
wait $RUN || status=$?
[ $status -eq 130 ] || fail "interrupted run exited $status, expected 130"
sleep 0.5
if pgrep -f "client --connect ipc://$WORK/int" >/dev/null; then fail "client processes left behind"; fi
grep -q '"event":"stopped"' "$WORK/int/events.jsonl" || fail "no stopped event"
tail -c 1 "$WORK/int/metrics.csv" | od -c | grep -q '\\n' || fail "metrics.csv ends mid-line"
[ -s "$WORK/int/final.ckpt" ] || fail "no final.ckpt after interrupt"
echo "PASS: run completed after SIGKILL of a client, metrics unchanged; Ctrl-C leaves complete files"
