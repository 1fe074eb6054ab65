#!/bin/bash
# Crafted checkpoints with a recomputed SHA-256 are not believed. A run of 6 rounds
# with checkpoints every 2 leaves checkpoint-a (round 6) and checkpoint-b (round 4);
# the newest is patched to round = 999 and its digest recomputed the way the format
# does (tests/integration/ckpt_patch.py). `fedtail run --resume` must skip it naming
# the file and the field, fall back to round 4, recompute rounds 5-6, and leave files
# equal to the uninterrupted run's (metrics, final.ckpt, summary.json with
# "rounds": 6). Then both checkpoints are crafted (round = 999, elapsed = nan): the
# resume starts over and still ends with the same files.
source "$(dirname "$0")/fed_lib.sh"
PATCH="$(dirname "$0")/ckpt_patch.py"
INI=$(small_ini)
SETS=(--set federation.rounds=6 --set run.checkpoint_every=2)
"$FEDTAIL" run "$INI" "${SETS[@]}" --procs 2 --out "$WORK/ref" --quiet --no-report ||
    fail "reference run failed"
cp -r "$WORK/ref" "$WORK/run"
newest=$(grep '"event":"checkpoint"' "$WORK/run/events.jsonl" | tail -1 | sed 's/.*"file":"\([^"]*\)".*/\1/')
older=$([ "$newest" = checkpoint-a.ckpt ] && echo checkpoint-b.ckpt || echo checkpoint-a.ckpt)
python3 "$PATCH" "$WORK/run/$newest" round 999 || fail "could not craft $newest"
# The crafted file is whole: its digest verifies (so only the field check refuses it).
python3 "$PATCH" --verify "$WORK/run/$newest" || fail "the crafted file's digest does not verify"

check_same() {
    results "$WORK/ref/metrics.csv" > "$WORK/ref.results"
    results "$WORK/run/metrics.csv" > "$WORK/run.results"
    diff "$WORK/ref.results" "$WORK/run.results" || fail "$1: metrics differ from the uninterrupted run"
    [ "$(wc -l < "$WORK/run/metrics.csv")" -eq 7 ] || fail "$1: metrics.csv has not 6 rows"
    cmp "$WORK/ref/final.ckpt" "$WORK/run/final.ckpt" || fail "$1: final model differs"
    diff "$WORK/ref/summary.json" "$WORK/run/summary.json" || fail "$1: summary.json differs"
    grep -q '"rounds": 6,' "$WORK/run/summary.json" || fail "$1: summary.json does not say 6 rounds"
    python3 - "$WORK/run/events.jsonl" <<'PY' || fail "$1: events.jsonl is not whole JSON lines"
import json, sys
for line in open(sys.argv[1]):
    json.loads(line)
PY
}

"$FEDTAIL" run --resume "$WORK/run" --procs 2 --no-report > "$WORK/resume.log" 2>&1 ||
    { cat "$WORK/resume.log"; fail "resume with a crafted checkpoint failed"; }
grep -q "$newest: field round = 999" "$WORK/resume.log" ||
    { cat "$WORK/resume.log"; fail "no warning naming $newest and the field round"; }
grep -q "resuming .* after round 4" "$WORK/resume.log" ||
    { cat "$WORK/resume.log"; fail "did not fall back to round 4"; }
grep -q "\"event\":\"resumed\",\"round\":4,\"checkpoint\":\"$older\"" "$WORK/run/events.jsonl" ||
    fail "no resumed event for round 4 from $older"
check_same "fallback"

# Both slots crafted: nothing to resume from, the run starts over.
newest=$(grep '"event":"checkpoint"' "$WORK/run/events.jsonl" | tail -1 | sed 's/.*"file":"\([^"]*\)".*/\1/')
older=$([ "$newest" = checkpoint-a.ckpt ] && echo checkpoint-b.ckpt || echo checkpoint-a.ckpt)
python3 "$PATCH" "$WORK/run/$newest" round 999 || fail "could not craft $newest"
python3 "$PATCH" "$WORK/run/$older" elapsed nan || fail "could not craft $older"
"$FEDTAIL" run --resume "$WORK/run" --procs 2 --no-report > "$WORK/resume2.log" 2>&1 ||
    { cat "$WORK/resume2.log"; fail "resume with two crafted checkpoints failed"; }
grep -q "$older: field elapsed = nan" "$WORK/resume2.log" ||
    { cat "$WORK/resume2.log"; fail "no warning naming $older and the field elapsed"; }
grep -q "starts over from round 1" "$WORK/resume2.log" ||
    { cat "$WORK/resume2.log"; fail "the run did not start over"; }
check_same "start over"
echo "PASS: a crafted checkpoint (round = 999, elapsed = nan) is refused naming the field; the resume falls back or starts over and the files match"
