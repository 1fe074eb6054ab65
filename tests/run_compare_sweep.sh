#!/bin/bash
# fedtail run with run.compare + federation.init = pretrain (cached), and fedtail
# sweep (summary, resumption, validation), on tiny synthetic data.
set -euo pipefail
: "${FEDTAIL:?}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
cat >exp.ini <<'INI'
[federation]
num_clients = 8
clients_per_round = 4
rounds = 2
local_epochs = 1
init = pretrain
[data]
dataset = synthetic
synthetic_train = 400
synthetic_test = 100
[model]
name = mlp
hidden = 16
[train]
epochs = 1
[run]
compare = plain: defense.name=fedavg; robust: defense.name=median
cache_dir = cache
INI
fail() { echo "FAIL: $*"; exit 1; }

"$FEDTAIL" run exp.ini --out out1 --procs 2 >run1.txt 2>run1.err || fail "run exited $?"
grep -q "pre-training mlp" run1.err || fail "no pre-training message"
grep -qE "^  plain +main [0-9.]+%" run1.txt || fail "no verdict line for plain: $(cat run1.txt)"
grep -qE "^  robust +main [0-9.]+%" run1.txt || fail "no verdict line for robust"
for f in out1/plain/metrics.csv out1/robust/metrics.csv out1/report.html out1/compare_main.png; do
    [ -s "$f" ] || fail "missing $f"
done
grep -q "median" out1/robust/config.ini || fail "variant setting not applied"
python3 -c 'import json,sys; a=json.load(open(sys.argv[1]))["arms"]; assert [x["label"] for x in a] == ["plain", "robust"] and a[1]["n"] == 1 and a[1]["final_main_acc"]["std"] is None, a' out1/summary.json || fail "compare summary.json: $(cat out1/summary.json)"
grep -q "<svg" out1/report.html || fail "report has no inline plot"
ls cache/pretrain-mlp-*/model.ckpt >/dev/null || fail "no cached model"

"$FEDTAIL" run exp.ini --out out2 --procs 1 --no-report >run2.txt 2>run2.err || fail "second run"
grep -q "reusing the pre-trained model" run2.err || fail "cache not reused"
[ ! -e out2/report.html ] || fail "--no-report wrote a report"

# With an edge-case attack the pre-training set is the honest pool: the mined edge
# points (the attacker's and the held-out backdoor test set) are in no one's training
# data, the starting model's included, so it is a model of its own in the cache.
"$FEDTAIL" run exp.ini --out out_edge --procs 1 --no-report --set run.compare= \
    --set attack.method=blackbox --set attack.edge_size=8 --set attack.source_class=2 \
    --set attack.honest_edge_holders=2 \
    >edge.txt 2>edge.err || fail "edge-case run: $(cat edge.err)"
grep -q "edge-case points held out" edge.err || fail "edge points not held out: $(cat edge.err)"
[ "$(ls -d cache/pretrain-mlp-* | wc -l)" = 2 ] || fail "edge-case pretrain shares the clean cache"
start=$(grep '"event":"start"' out_edge/events.jsonl)
held=$(( $(sed 's/.*"edge_points":\([0-9]*\).*/\1/' <<<"$start") + \
         $(sed 's/.*"backdoor_test":\([0-9]*\).*/\1/' <<<"$start") ))
[ "$held" -ge 8 ] || fail "edge set of $held points"
grep -q "on synthetic[^,]*, $((400 - held)) training" edge.err ||
    fail "pre-training did not use 400 - $held samples: $(grep training edge.err)"
# `fedtail train` of the same experiment holds out the same points.
"$FEDTAIL" train exp.ini --out train_edge --set attack.method=blackbox \
    --set attack.edge_size=8 --set attack.source_class=2 --set attack.honest_edge_holders=2 \
    >train.txt 2>train.err || fail "fedtail train with an attack: $(cat train.err)"
grep -q "held out ($((400 - held)) training samples remain)" train.err ||
    fail "fedtail train did not hold out the edge points: $(cat train.err)"

# A bad variant is refused before anything runs, naming the key.
if "$FEDTAIL" run exp.ini --set "run.compare=x: defense.nam=krum" --out out3 2>bad.err; then
    fail "bad variant accepted"
fi
grep -q "nam" bad.err || fail "bad variant message: $(cat bad.err)"

cat >grid.ini <<'INI'
[sweep]
base = exp.ini
[grid]
defense.name = fedavg, trimmed-mean
run.seed = 1, 2
[set]
run.compare =
federation.init = random
INI
"$FEDTAIL" sweep grid.ini --out sweep --jobs 2 >sweep1.txt || fail "sweep exited $?"
[ "$(wc -l <sweep/summary.csv)" -eq 5 ] || fail "summary rows: $(cat sweep/summary.csv)"
head -1 sweep/summary.csv | grep -q "^run,defense.name,run.seed,final_main_acc" || fail "summary header"
[ -s sweep/heatmap_main.png ] || fail "no heatmap"
[ "$(grep -c '^| method\|^| name=' sweep/summary.md)" -eq 4 ] || fail "summary.md rows: $(cat sweep/summary.md)"
"$FEDTAIL" sweep grid.ini --out sweep >sweep2.txt || fail "resumed sweep"
[ "$(grep -c 'already complete' sweep2.txt)" -eq 4 ] || fail "resume re-ran runs: $(cat sweep2.txt)"

printf '[sweep]\nbase = exp.ini\n[grid]\nrun.seed = 1, two\n' >badgrid.ini
if "$FEDTAIL" sweep badgrid.ini --out s2 2>badgrid.err; then fail "bad grid accepted"; fi
grep -q "badgrid.ini:4" badgrid.err || fail "bad grid message: $(cat badgrid.err)"
echo "run compare + sweep: ok"
