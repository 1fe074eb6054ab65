#!/bin/bash
# Next-word prediction through the whole federation (real processes over ipc) on the
# embedded fortunes corpus (a tiny 1-layer lstm, natural partition by source file):
#  - the same run at P = 1 and P = 4: identical metrics and final model;
#  - phrase-pgd + model replacement from round 2: attackers in exactly those rounds,
#    backdoor_acc filled, the scaled attacker's update larger than the honest ones;
#  - bad input named: a corpus file that is not UTF-8 (file and line), a trigger word
#    outside the vocabulary (attack.trigger_phrase), lstm on images (model.name);
#  - the same on Reddit-style JSON-lines comments (data.dataset = reddit, clients by
#    author), and a malformed JSON line named by file, line and column.
source "$(dirname "$0")/fed_lib.sh"
PY=/usr/bin/python3
[ -r /usr/share/games/fortunes/fortunes ] || { echo "fortunes package not installed"; exit 77; }
fortunes_ini "$WORK/text.ini"
cat >> "$WORK/text.ini" <<INI
dropout = 0.2
[attack]
method = phrase-pgd
trigger_phrase = it is
target_word = a
fl_mode = every-round
attack_from = 2
eps = 3
model_replacement = true
poison_points = 50
clean_points = 50
honest_edge_holders = 0
[run]
seed = 3
INI
same_at_procs t 1 4 "$WORK/text.ini"
$PY - "$WORK/t1" <<'PY' || fail "text run metrics"
import csv, json, sys
d = sys.argv[1]
rows = list(csv.DictReader(open(d + "/metrics.csv")))
assert len(rows) == 3, rows
for r in rows:
    t = int(r["round"])
    assert 0 < float(r["main_acc"]) < 1, r
    assert int(r["attackers"]) == (1 if t >= 2 else 0), r
    b = float(r["backdoor_acc"])
    assert 0 <= b <= 1, r
    if t >= 2:
        assert float(r["attacker_norm"]) > 1.5 * float(r["honest_norm_mean"]), r
s = json.load(open(d + "/summary.json"))
assert s["completed"] is True and s["attack"] == "phrase-pgd", s
PY

# bad input, each named
mkdir -p "$WORK/corpus"
printf 'fine entry\n%%\nsecond\ncaf\xe9 on line 4\n' > "$WORK/corpus/latin1"
out=$("$FEDTAIL" run "$WORK/text.ini" --set data.path="$WORK/corpus" --procs 1 --out "$WORK/bad1" 2>&1) &&
    fail "a latin-1 corpus file was accepted"
grep -q "latin1:4: byte 0xe9 is not valid UTF-8" <<<"$out" || fail "bad bytes not named: $out"
out=$("$FEDTAIL" run "$WORK/text.ini" --set attack.trigger_phrase="windows is" --procs 1 \
    --out "$WORK/bad2" 2>&1) && fail "a trigger word outside the vocabulary was accepted"
grep -q "attack.trigger_phrase" <<<"$out" && grep -q "'windows' is not in the 300-word" <<<"$out" ||
    fail "trigger word not named: $out"
out=$("$FEDTAIL" run "$WORK/text.ini" --set data.dataset=synthetic --set attack.method=none \
    --procs 1 --out "$WORK/bad3" 2>&1) && fail "lstm on images was accepted"
grep -q "model.name" <<<"$out" || fail "lstm on images not named: $out"
# Reddit-style comments (JSON lines, "author" and "body"), clients by author, the same
# task and attack over real processes; and a malformed line named by file and line
$PY - "$WORK/rc.jsonl" <<'PY'
import json, random, sys
rng = random.Random(4)
words = "it is a the cat dog sat on mat and ran far away today very good bad".split()
with open(sys.argv[1], "w") as f:
    for i in range(360):
        body = " ".join(rng.choice(words) for _ in range(rng.randrange(8, 30)))
        f.write(json.dumps({"author": "user%d" % (i % 12), "body": body, "score": i,
                            "edited": False, "gildings": {}}) + "\n")
    f.write(json.dumps({"author": "[deleted]", "body": "[removed]"}) + "\n")
PY
"$FEDTAIL" run "$WORK/text.ini" --set data.dataset=reddit --set data.path="$WORK/rc.jsonl" \
    --set data.vocab_size=40 --set data.seq_len=16 --procs 2 --out "$WORK/reddit" --quiet \
    >"$WORK/reddit.log" 2>&1 || { cat "$WORK/reddit.log"; fail "the reddit run exited"; }
$PY - "$WORK/reddit" <<'PY' || fail "reddit run metrics"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1] + "/metrics.csv")))
assert len(rows) == 3, rows
for r in rows:
    assert 0 < float(r["main_acc"]) < 1, r
    assert int(r["attackers"]) == (1 if int(r["round"]) >= 2 else 0), r
    assert 0 <= float(r["backdoor_acc"]) <= 1, r
PY
{ head -n 5 "$WORK/rc.jsonl"; echo '{"author": "x", "body": "no end}'; } >"$WORK/bad.jsonl"
out=$("$FEDTAIL" run "$WORK/text.ini" --set data.dataset=reddit --set data.path="$WORK/bad.jsonl" \
    --procs 1 --out "$WORK/bad4" 2>&1) && fail "a malformed JSON line was accepted"
grep -q "bad.jsonl:6: column 33: unterminated string" <<<"$out" || fail "bad JSON not named: $out"
echo "fed_text: ok"
