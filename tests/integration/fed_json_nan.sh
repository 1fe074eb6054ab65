#!/bin/bash
# JSON output never holds NaN or Infinity literals. A run whose model diverges to NaN
# (federation.lr = 1000: the loss is NaN from round 1): every line of `--json`
# stdout, of events.jsonl and summary.json parses with python3's json module with
# parse_constant refusing NaN / Infinity / -Infinity (json.loads accepts them by
# default). Non-finite values are null. (`fedtail train` stops when its loss
# diverges, so its --json lines carry no NaN to test here; its writer shares
# ft_json_num, tested in test_common.)
source "$(dirname "$0")/fed_lib.sh"
INI=$(small_ini)
"$FEDTAIL" run "$INI" --set federation.lr=1000 --set run.on_nonfinite=continue --set run.checkpoint_every=1 --procs 2 \
    --out "$WORK/run" --json --no-report > "$WORK/run.out" 2> "$WORK/run.err" ||
    { cat "$WORK/run.err"; fail "the diverging run failed"; }
python3 - "$WORK" <<'PY' || fail "JSON output holds a non-finite literal"
import json, sys
work = sys.argv[1]

def strict(text, where):
    def refuse(name):
        raise ValueError(f"{where}: {name} is not JSON")
    return json.loads(text, parse_constant=refuse)

def lines(path):
    n = 0
    for i, line in enumerate(open(path), 1):
        strict(line, f"{path}:{i}")
        n += 1
    return n

assert lines(f"{work}/run.out") == 3, "one --json line per round"
assert lines(f"{work}/run/events.jsonl") > 0
summary = strict(open(f"{work}/run/summary.json").read(), "summary.json")
rows = [strict(l, "run.out") for l in open(f"{work}/run.out")]
# the model really is NaN: its loss is null, not dropped
assert all("main_loss" in r and r["main_loss"] is None for r in rows), rows
ends = [strict(l, "events") for l in open(f"{work}/run/events.jsonl")]
ends = [e for e in ends if e["event"] == "round_end"]
assert len(ends) == 3 and all(e["main_loss"] is None for e in ends), ends
assert summary["rounds"] == 3, summary
PY
# A NaN model is no checkpoint to resume from: the coordinator keeps none and says so.
grep -q '"event":"checkpoint_skipped"' "$WORK/run/events.jsonl" || fail "no checkpoint_skipped event"
[ ! -e "$WORK/run/checkpoint-a.ckpt" ] || fail "a checkpoint of a NaN model was written"
echo "PASS: --json lines, events.jsonl and summary.json of a NaN run are strict JSON (null for NaN)"
