#!/bin/bash
# The coordinator killed with SIGKILL at a random round (seeded: FT_TEST_SEED), then
# `fedtail run --resume RUN_DIR`: the run finishes and metrics.csv, final.ckpt and
# summary.json equal those of an uninterrupted run (every metrics column but timings
# and bytes). FoolsGold keeps per-client history across rounds, so this also checks
# that the defense's state travels in the checkpoint. Then the newest checkpoint is
# damaged: a resume falls back to the previous one and still matches.
source "$(dirname "$0")/fed_lib.sh"
SEED=${FT_TEST_SEED:-$RANDOM}
echo "seed $SEED (rerun with FT_TEST_SEED=$SEED)"
RANDOM=$SEED
INI=$(small_ini)
SETS=(--set federation.rounds=8 --set run.checkpoint_every=2 --set defense.name=foolsgold)
"$FEDTAIL" run "$INI" "${SETS[@]}" --procs 2 --out "$WORK/ref" --quiet --no-report ||
    fail "reference run failed"

# Kill after a random number of rows in [1, 6]: sometimes right after a checkpoint,
# sometimes a round past it (that row is recomputed).
rows=$((1 + RANDOM % 6))
"$FEDTAIL" run "$INI" "${SETS[@]}" --procs 2 --out "$WORK/run" --quiet --no-report &
RUN=$!
for _ in $(seq 1 3000); do
    n=$( (wc -l < "$WORK/run/metrics.csv") 2>/dev/null || echo 0)
    [ "$n" -gt "$rows" ] && break
    kill -0 $RUN 2>/dev/null || break
    sleep 0.01
done
kill -9 $RUN 2>/dev/null || fail "the run ended before the kill after $rows rows"
wait $RUN 2>/dev/null || true
echo "coordinator killed after $(($(wc -l < "$WORK/run/metrics.csv") - 1)) rows"
sleep 0.3
if pgrep -f "client --connect ipc://$WORK/run" >/dev/null; then fail "client processes outlived the coordinator"; fi
tail -c 1 "$WORK/run/metrics.csv" | od -c | grep -q '\\n' || fail "metrics.csv ends mid-line after SIGKILL"

had_ckpt=$(find "$WORK/run" -name "checkpoint-?.ckpt" | wc -l)
"$FEDTAIL" run --resume "$WORK/run" --procs 2 --quiet --no-report || fail "resume failed (exit $?)"
# Killed before the first checkpoint: the resume starts over (with a warning).
if [ "$had_ckpt" -gt 0 ]; then
    grep -q '"event":"resumed"' "$WORK/run/events.jsonl" || fail "no resumed event"
fi
results "$WORK/ref/metrics.csv" > "$WORK/ref.results"
results "$WORK/run/metrics.csv" > "$WORK/run.results"
diff "$WORK/ref.results" "$WORK/run.results" || fail "resumed metrics differ from the uninterrupted run"
cmp "$WORK/ref/final.ckpt" "$WORK/run/final.ckpt" || fail "final model differs after resume"
diff "$WORK/ref/summary.json" "$WORK/run/summary.json" || fail "summary.json differs after resume"
python3 - "$WORK/run/events.jsonl" <<'PY' || fail "events.jsonl is not whole JSON lines"
import json, sys
for line in open(sys.argv[1]):
    json.loads(line)
PY

# A torn newest checkpoint (one byte flipped): detected by its digest, the previous
# one is used, the rounds after it are recomputed, and the result still matches.
newest=$(grep '"event":"checkpoint"' "$WORK/run/events.jsonl" | tail -1 | sed 's/.*"file":"\([^"]*\)".*/\1/')
size=$(stat -c %s "$WORK/run/$newest")
printf '\xff' | dd of="$WORK/run/$newest" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
"$FEDTAIL" run --resume "$WORK/run" --procs 2 --no-report > "$WORK/resume2.log" 2>&1 ||
    { cat "$WORK/resume2.log"; fail "resume with a damaged checkpoint failed"; }
grep -q "damaged checkpoint" "$WORK/resume2.log" || { cat "$WORK/resume2.log"; fail "no warning about the damaged checkpoint"; }
grep -q "resuming .* after round 6" "$WORK/resume2.log" || { cat "$WORK/resume2.log"; fail "did not fall back to round 6"; }
results "$WORK/run/metrics.csv" > "$WORK/run2.results"
diff "$WORK/ref.results" "$WORK/run2.results" || fail "metrics differ after falling back to the older checkpoint"
cmp "$WORK/ref/final.ckpt" "$WORK/run/final.ckpt" || fail "final model differs after the fallback"

# --resume takes the run's own config: overrides are refused.
if "$FEDTAIL" run --resume "$WORK/run" --set federation.rounds=9 --quiet 2>/dev/null; then
    fail "--resume accepted --set"
fi
echo "PASS: SIGKILLed coordinator resumed bit-identically; a torn checkpoint falls back to the previous one"
