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
# fedtail report on the comparison's directory draws the comparison the run drew.
"$FEDTAIL" report out1 --out rep1 >rep1.txt 2>&1 || fail "report on the comparison: $(cat rep1.txt)"
cmp rep1/report.html out1/report.html || fail "fedtail report's comparison differs from the run's"
[ -s rep1/compare_main.svg ] && [ -s rep1/arm2_norm_dist.svg ] || fail "report: comparison plots missing"
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
# A --set that a variant overrides again is an error naming the key, the --set and
# the variant (it used to run fedavg for --set defense.name=krumm); a typo in it is
# caught even though every arm overrides the key.
if "$FEDTAIL" run exp.ini --set defense.name=median --out out4 2>over.err; then
    fail "--set overridden by a variant accepted"
fi
grep -q "\-\-set defense.name=median is overridden by run.compare variant 'plain' (defense.name=fedavg)" \
    over.err || fail "override message: $(cat over.err)"
[ ! -e out4 ] || fail "a refused comparison left its directory"
if "$FEDTAIL" run exp.ini --set defense.name=krumm --out out5 2>typo.err; then
    fail "--set typo accepted"
fi
grep -q "krumm" typo.err && grep -q "defense.name" typo.err || fail "typo message: $(cat typo.err)"
grep -q "overridden" typo.err && fail "typo reported as an override, not as a typo: $(cat typo.err)"
# A single run (no run.compare) is checked as whole before its pre-training too: a
# typo in a value, a rule its K cannot run, an unknown attack — each refused with
# nothing pre-trained, mined or made.
for bad in defense.name=krumm defense.f=3 attack.method=pgdd; do
    if "$FEDTAIL" run exp.ini --set run.compare= --set defense.name=krum \
        --set attack.honest_edge_holders=0 --set "$bad" \
        --set run.cache_dir=cache_single --out out6 2>single.err; then
        fail "single run with $bad accepted"
    fi
    grep -q "key ${bad%%=*}" single.err || fail "single run, $bad: $(cat single.err)"
    grep -q "pre-training" single.err && fail "single run, $bad: pre-trained before the check"
    [ ! -e cache_single ] && [ ! -e out6 ] || fail "single run, $bad: left a cache or a directory"
done

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
# Run names hold commas: summary.csv quotes them, so a CSV reader sees one cell each.
python3 - sweep/summary.csv <<'PY' || fail "summary.csv cells: $(cat sweep/summary.csv)"
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
assert all(len(r) == len(rows[0]) for r in rows), rows
names = sorted(r[0] for r in rows[1:])
assert names == [f"defense.name={d},run.seed={s}" for d in ("fedavg", "trimmed-mean") for s in (1, 2)], names
assert all(r[1] in ("fedavg", "trimmed-mean") and r[2] in ("1", "2") for r in rows[1:]), rows
PY
[ -s sweep/heatmap_main.png ] || fail "no heatmap"
[ "$(grep -c '^| defense.name=' sweep/summary.md)" -eq 4 ] || fail "summary.md rows: $(cat sweep/summary.md)"
# Run names keep the section; [i/N] is the run's place in the grid whatever order
# the runs end in; a progress line with the ETA over the whole grid after each.
grep -q '^\[1/4\] defense.name=fedavg,run.seed=1: main ' sweep1.txt || fail "[1/4] not run 1: $(cat sweep1.txt)"
grep -q '^\[4/4\] defense.name=trimmed-mean,run.seed=2: main ' sweep1.txt || fail "[4/4] not run 4"
[ "$(grep -c '^sweep grid: [1-4]/4 done, [0-9] running, .* elapsed, ETA ' sweep1.txt)" -eq 4 ] ||
    fail "no progress line per run: $(cat sweep1.txt)"
grep -q '^sweep grid: 4/4 done, 0 running, .*ETA 0s$' sweep1.txt || fail "last progress line"
for d in fedavg trimmed-mean; do
    for r in 1 2; do
        [ -s "sweep/defense.name=$d,run.seed=$r/report.html" ] || fail "no report.html in cell $d,$r"
    done
done
[ -s sweep/sweep.html ] || fail "no sweep.html"
# 4 tables (backdoor, main, their differences vs run.seed = 1) of 2x2 cells, each linked.
[ "$(grep -o '<td class="cell"[^>]*><a href="defense.name=[a-z-]*,run.seed=[12]/report.html">' \
    sweep/sweep.html | wc -l)" -eq 16 ] || fail "sweep.html cells not all linked: $(cat sweep/sweep.html)"
grep -q '<th>1 (baseline)</th>' sweep/sweep.html || fail "no baseline column (run.seed = 1)"
"$FEDTAIL" sweep grid.ini --out sweep >sweep2.txt || fail "resumed sweep"
[ "$(grep -c 'already complete' sweep2.txt)" -eq 4 ] || fail "resume re-ran runs: $(cat sweep2.txt)"
# A sweep started before run names kept the section resumes in its old directories.
mkdir old && mv sweep/defense.name=fedavg,run.seed=1 old/name=fedavg_seed=1
mv sweep/defense.name=fedavg,run.seed=2 old/name=fedavg_seed=2
rm -rf sweep/defense.name=trimmed-mean,run.seed=2 && mv sweep/defense.name=trimmed-mean,run.seed=1 old/name=trimmed-mean_seed=1
rm -f old/*/report.html
"$FEDTAIL" sweep grid.ini --out old --jobs 1 >sweep3.txt || fail "old sweep resumed: $(cat sweep3.txt)"
[ "$(grep -c 'already complete' sweep3.txt)" -eq 3 ] || fail "old names not recognised: $(cat sweep3.txt)"
grep -q '^\[1/4\] name=fedavg_seed=1: already complete' sweep3.txt || fail "old name not kept"
grep -q '^\[4/4\] defense.name=trimmed-mean,run.seed=2: main' sweep3.txt || fail "new cell not run"
grep -q 'href="name=fedavg_seed=1/report.html"' old/sweep.html || fail "old cell not linked to a rendered report"
[ "$(grep -c '^"\?name=\|^"\?defense.name=' old/summary.csv)" -eq 4 ] || fail "old summary: $(cat old/summary.csv)"

printf '[sweep]\nbase = exp.ini\n[grid]\nrun.seed = 1, two\n' >badgrid.ini
if "$FEDTAIL" sweep badgrid.ini --out s2 2>badgrid.err; then fail "bad grid accepted"; fi
grep -q "badgrid.ini:4" badgrid.err || fail "bad grid message: $(cat badgrid.err)"
# A grid value the run would refuse (a typo, a rule its K cannot run) fails the sweep
# before any cell runs, naming the cell — not after the cells before it ran.
for set in "" "defense.f = 3"; do
    bad=krum
    [ -n "$set" ] || bad=krumm
    printf "[sweep]\nbase = exp.ini\n[grid]\ndefense.name = fedavg, %s\n[set]\nrun.compare =\n%s\n" \
        "$bad" "$set" >typogrid.ini
    if "$FEDTAIL" sweep typogrid.ini --out s3 >typogrid.out 2>typogrid.err; then
        fail "sweep with a bad cell ($bad, $set) accepted"
    fi
    grep -q "typogrid.ini: run defense.name=$bad (2 of 2): .*; nothing was run" typogrid.err ||
        fail "bad cell message: $(cat typogrid.err)"
    [ ! -e s3 ] || fail "a refused sweep ran or made its directory: $(ls s3)"
done
echo "run compare + sweep: ok"
