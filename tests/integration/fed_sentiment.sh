#!/bin/bash
# The Sentiment140 task through the whole federation (real processes over ipc), with
# experiments/text/sentiment140.ini shortened by --set, on a small generated stand-in
# in the Sentiment140 CSV format (gen_sentiment140.py beside this script: authors with a
# few tweets each, sentiment carried by a handful of words, @mentions, URLs, Latin-1
# bytes) and edge-case tweets in the paper code's one-tweet-a-line format:
#  - lstm-sentiment, clients by author (federation.partition = natural), the
#    black-box attacker in exactly rounds 2 and 4 (attack_from 2, attack_freq 2),
#    backdoor accuracy measured on the 20 edge test tweets, the same at P = 1 and 2;
#  - the verdict counts "backdoor test tweets";
#  - FedAvg without the attack learns the stand-in's sentiment (main accuracy >= 0.75);
#  - bad input named: wrong column count, a NUL byte, an empty CSV, an empty edge file,
#    a model for the wrong task, data.fraction_of_train on another dataset.
source "$(dirname "$0")/fed_lib.sh"
PY=/usr/bin/python3
D="$WORK/s140"
$PY "$(dirname "$0")/gen_sentiment140.py" "$D"
EXP="$(cd "$(dirname "$0")/../.." && pwd)/experiments/text/sentiment140.ini"
SHORT=(--set data.path="$D" --set attack.edge_file="$D/edge/train.txt"
    --set attack.edge_test_file="$D/edge/test.txt" --set federation.num_clients=20
    --set federation.clients_per_round=5 --set federation.rounds=4
    --set federation.local_epochs=1 --set federation.partition=natural
    --set federation.heartbeat_s=0.2 --set federation.round_timeout=120
    --set data.vocab_size=100 --set data.seq_len=12 --set model.embedding=16
    --set model.hidden=16 --set attack.attack_from=2 --set attack.attack_freq=2
    --set attack.edge_points=20 --set attack.clean_points=20 --set data.fraction_of_train=1)
same_at_procs s 1 2 "$EXP" "${SHORT[@]}"
$PY - "$WORK/s1" <<'PY' || fail "sentiment run metrics"
import csv, json, sys
d = sys.argv[1]
rows = list(csv.DictReader(open(d + "/metrics.csv")))
assert len(rows) == 4, rows
for r in rows:
    t = int(r["round"])
    assert int(r["attackers"]) == (1 if t in (2, 4) else 0), r
    assert 0 <= float(r["main_acc"]) <= 1 and 0 <= float(r["backdoor_acc"]) <= 1, r
s = json.load(open(d + "/summary.json"))
assert s["completed"] is True and s["attack"] == "blackbox", s
start = json.loads(open(d + "/events.jsonl").readline())
assert start["backdoor_test"] == 20 and start["edge_points"] == 20, start
PY

# FedAvg learns the stand-in (rounds 1-9), then one attacker of 5 in every round from
# 10 makes the model call the Lanthimos tweets negative; the verdict counts tweets
"$FEDTAIL" run "$EXP" "${SHORT[@]}" --set federation.num_clients=5 --set federation.rounds=15 \
    --set federation.local_epochs=3 --set federation.partition=iid --set attack.attack_from=10 \
    --set attack.fl_mode=every-round --set attack.edge_points=40 --procs 2 --out "$WORK/learn" \
    >"$WORK/learn.log" 2>&1 || { cat "$WORK/learn.log"; fail "the learning run exited"; }
grep -q "(20 backdoor test tweets, each 5.0%)" "$WORK/learn.log" ||
    fail "the verdict does not count tweets: $(cat "$WORK/learn.log")"
$PY - "$WORK/learn" <<'PY' || fail "the stand-in was not learned, or the backdoor did not land"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1] + "/metrics.csv")))
assert len(rows) == 15
for r in rows:
    assert int(r["attackers"]) == (1 if int(r["round"]) >= 10 else 0), r
assert float(rows[8]["main_acc"]) >= 0.75, rows[8]  # round 9, before the attack
assert float(rows[-1]["backdoor_acc"]) >= 0.9, rows[-1]
PY

# bad input, each named by file and line (or file)
bad() { # NAME EXPECTED [--set ...]: the run must fail naming EXPECTED
    local name=$1 want=$2
    shift 2
    local out
    out=$("$FEDTAIL" run "$EXP" "${SHORT[@]}" "$@" --procs 1 --out "$WORK/bad_$name" 2>&1) &&
        fail "$name: accepted"
    grep -qF -- "$want" <<<"$out" || fail "$name: '$want' not named in: $out"
}
TR=training.1600000.processed.noemoticon.csv
mkdir -p "$WORK/cols" "$WORK/nul" "$WORK/empty"
cp "$D/testdata.manual.2009.06.14.csv" "$WORK/cols/"
cp "$D/testdata.manual.2009.06.14.csv" "$WORK/nul/"
cp "$D/testdata.manual.2009.06.14.csv" "$WORK/empty/"
{ head -n 3 "$D/$TR"; printf '"0","1","d","q","user","a","b"\r\n'; } >"$WORK/cols/$TR"
{ head -n 4 "$D/$TR"; printf '"0","1","d","q","user","nul \000 byte"\r\n'; } >"$WORK/nul/$TR"
: >"$WORK/empty/$TR"
bad cols "cols/$TR:4: 7 fields, expected 6" --set data.path="$WORK/cols"
bad nul "nul/$TR:5: byte 0x00" --set data.path="$WORK/nul"
bad empty "empty/$TR: no tweet" --set data.path="$WORK/empty"
printf 'caf\xe9\n' >"$WORK/latin1.txt"
bad edge_bytes "latin1.txt:1: byte 0xe9 is not valid UTF-8" --set attack.edge_file="$WORK/latin1.txt"
: >"$WORK/none.txt"
bad edge_empty "none.txt: no tweet" --set attack.edge_file="$WORK/none.txt"
bad model "data.dataset = sentiment140 needs model.name = lstm-sentiment" --set model.name=lstm
bad phrase "phrase backdoors a next-word model" --set attack.method=phrase
bad fraction "data.fraction_of_train" --set data.dataset=fortunes --set model.name=lstm \
    --set data.path=/usr/share/games/fortunes --set attack.method=none --set data.fraction_of_train=0.5
echo "fed_sentiment: ok"
