#!/bin/bash
# FLDetector keeps windows across rounds (the L-BFGS pairs, each client's last update
# and scores): a coordinator SIGKILLed after round 5 and resumed with `fedtail run
# --resume` from its round-4 checkpoint must finish bit-identical to an uninterrupted
# run, which needs that state in the checkpoint (state_save / state_load). Every
# client takes part in every round (as the reference assumes), the window is 2 and
# scoring starts at once, so rounds 3+ are scored and rounds 5+ clustered.
source "$(dirname "$0")/fed_lib.sh"
INI=$(small_ini)
SETS=(--set federation.num_clients=4 --set federation.clients_per_round=4
    --set federation.rounds=8 --set run.checkpoint_every=2 --set defense.name=fldetector
    --set defense.fld_window=2 --set defense.fld_start=0)
"$FEDTAIL" run "$INI" "${SETS[@]}" --procs 2 --out "$WORK/ref" --quiet --no-report ||
    fail "reference run failed"
"$FEDTAIL" run "$INI" "${SETS[@]}" --procs 2 --out "$WORK/run" --quiet --no-report &
kill_after_rows $! "$WORK/run" 5
rows=$(($(wc -l < "$WORK/run/metrics.csv") - 1))
echo "coordinator killed after $rows rows"
[ "$rows" -lt 8 ] || fail "the run finished before the kill"
sleep 0.3
"$FEDTAIL" run --resume "$WORK/run" --procs 2 --quiet --no-report || fail "resume failed (exit $?)"
grep -q '"event":"resumed"' "$WORK/run/events.jsonl" || fail "no resumed event"
results "$WORK/ref/metrics.csv" > "$WORK/ref.results"
results "$WORK/run/metrics.csv" > "$WORK/run.results"
diff "$WORK/ref.results" "$WORK/run.results" || fail "resumed metrics differ from the uninterrupted run"
cmp "$WORK/ref/final.ckpt" "$WORK/run/final.ckpt" || fail "final model differs after resume"
echo "PASS: fldetector resumed bit-identically (its windows travel in the checkpoint)"
