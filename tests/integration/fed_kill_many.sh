#!/bin/bash
# SIGKILL of client processes at random points (seeded: FT_TEST_SEED): three of four
# processes die at random tasks, one after another, until one is left. Their tasks
# are handed to the survivors and, since training depends only on (config, round,
# client), the metrics equal those of an undisturbed run. Then every process dies:
# the run stops with a clear error, keeps its last complete round resumable, and
# `fedtail run --resume` finishes it — still with the same metrics.
source "$(dirname "$0")/fed_lib.sh"
SEED=${FT_TEST_SEED:-$RANDOM}
echo "seed $SEED (rerun with FT_TEST_SEED=$SEED)"
RANDOM=$SEED
INI=$(small_ini)
SETS=(--set federation.rounds=6 --set run.checkpoint_every=1)
"$FEDTAIL" run "$INI" "${SETS[@]}" --procs 1 --out "$WORK/ref" --quiet --no-report || fail "reference run failed"
results "$WORK/ref/metrics.csv" > "$WORK/ref.results"

# Alive and not a zombie waiting to be reaped.
alive() { [ -r "/proc/$1/stat" ] && ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$1/stat" 2>/dev/null; }

pid_of() { # process number -> pid
    grep "\"event\":\"registered\"" "$1" | grep "\"process\":$2," | sed 's/.*"pid":\([0-9]*\).*/\1/'
}

# Kills the process of the task event number $2 (of run dir $1) and of later task
# events, one kill per listed number, sparing the last live process unless $3 = all.
kill_at() { # DIR "N1 N2 ..." [all]
    local dir=$1 ev=$1/events.jsonl killed=""
    for at in $2; do
        for _ in $(seq 1 2000); do
            n=$(grep -cs '"event":"task"' "$ev" || true)
            [ "${n:-0}" -ge "$at" ] && break
            sleep 0.01
        done
        local live=()
        for p in $(grep -s '"event":"registered"' "$ev" | sed 's/.*"pid":\([0-9]*\).*/\1/'); do
            alive "$p" && live+=("$p")
        done
        # Spare the last live process; a kill point reached before a second process
        # has registered is skipped (not the end of the kills).
        [ "${3:-}" = all ] || [ ${#live[@]} -gt 1 ] || continue
        # Nobody left to kill (with `all`, the earlier kill can take the last two: a
        # loaded machine may let the survivor fall silent and be presumed dead too).
        [ ${#live[@]} -gt 0 ] || break
        proc=$(grep '"event":"task"' "$ev" | sed -n "${at}p" | sed 's/.*"process":\([0-9]*\).*/\1/')
        victim=$(pid_of "$ev" "$proc")
        alive "$victim" || victim=${live[0]}
        kill -9 "$victim" 2>/dev/null && killed="$killed $victim"
    done
    echo "killed:$killed"
}

# Three kills at random tasks (of 24), in order.
# (drawn here: bash reseeds RANDOM in subshells)
picks=()
while [ ${#picks[@]} -lt 3 ]; do
    p=$((1 + RANDOM % 20))
    [[ " ${picks[*]} " == *" $p "* ]] || picks+=("$p")
done
points=$(printf '%s\n' "${picks[@]}" | sort -n | tr '\n' ' ')
all1=$((5 + RANDOM % 10))
all2=$((15 + RANDOM % 5))
echo "killing at tasks: $points"
"$FEDTAIL" run "$INI" "${SETS[@]}" --procs 4 --out "$WORK/many" --quiet --no-report &
RUN=$!
kill_at "$WORK/many" "$points"
wait $RUN || fail "run did not complete after three client processes were killed (exit $?)"
dead=$(grep -c '"event":"process_dead"' "$WORK/many/events.jsonl" || true)
echo "process_dead events: $dead"
[ "$dead" -ge 1 ] || fail "no process_dead event"
results "$WORK/many/metrics.csv" > "$WORK/many.results"
diff "$WORK/ref.results" "$WORK/many.results" || fail "metrics differ from the undisturbed run"

# Every process dies: a clear error, then --resume completes the run.
"$FEDTAIL" run "$INI" "${SETS[@]}" --procs 2 --out "$WORK/all" --quiet --no-report 2> "$WORK/all.log" &
RUN=$!
kill_at "$WORK/all" "$all1 $all2" all
status=0
wait $RUN || status=$?
[ $status -ne 0 ] || fail "the run reported success although every client process died"
grep -q "all 2 client processes exited" "$WORK/all.log" || { cat "$WORK/all.log"; fail "no clear error when every client died"; }
"$FEDTAIL" run --resume "$WORK/all" --procs 2 --quiet --no-report || fail "resume after every client died failed"
results "$WORK/all/metrics.csv" > "$WORK/all.results"
diff "$WORK/ref.results" "$WORK/all.results" || fail "metrics differ after resuming"
echo "PASS: run survives random SIGKILLs down to one process; all dead -> clear error, resumable"
