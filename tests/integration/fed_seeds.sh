#!/bin/bash
# run.seeds / --seeds: a 2-round experiment with 2 seeds x 2 arms (synthetic data).
#  1. The layout DIR/<arm>/seed-S, each a complete run with its seed-complete marker.
#  2. Seed S of an arm equals a plain run with run.seed = S and the arm's settings
#     (config.ini and final.ckpt byte for byte, metrics.csv in every column but the
#     timing/byte counts, which no two runs share).
#  3. summary.json and the printed verdict: mean and sample std (n - 1) recomputed
#     here from each seed's metrics.csv, not by the code under test; `fedtail report`
#     on the seeds directory (or on its arms) draws the same mean ± std page.
#  4. Running the same command again skips every seed and changes no file; a
#     different config over the same --out is refused; bad lists are refused naming
#     run.seeds before anything runs.
#  5. fedtail sweep --seeds: CELL/seed-S, summary.csv's means and *_std recomputed
#     here, a resumed sweep skips, one more seed runs only that seed.
source "$(dirname "$0")/fed_lib.sh"
PY=/usr/bin/python3
cd "$WORK"
cat >exp.ini <<'INI'
[federation]
num_clients = 8
clients_per_round = 4
rounds = 2
local_epochs = 1
[data]
dataset = synthetic
synthetic_train = 400
synthetic_test = 100
[model]
name = mlp
hidden = 16
[attack]
method = blackbox
edge_size = 8
source_class = 2
honest_edge_holders = 2
[run]
compare = plain: defense.name=fedavg; robust: defense.name=median
INI

# 1. layout
"$FEDTAIL" run exp.ini --seeds 1,2 --out cmp --procs 2 >run1.out 2>run1.err || fail "run: $(cat run1.err)"
for arm in plain robust; do
    for s in 1 2; do
        for f in metrics.csv config.ini final.ckpt summary.json seed-complete; do
            [ -s "cmp/$arm/seed-$s/$f" ] || fail "missing cmp/$arm/seed-$s/$f"
        done
        grep -q "^seed = $s$" "cmp/$arm/seed-$s/config.ini" || fail "$arm seed-$s: run.seed not $s"
        grep -q "^seeds = $" "cmp/$arm/seed-$s/config.ini" || fail "$arm seed-$s: run.seeds not emptied"
    done
done
[ "$(ls cmp/plain | wc -l)" = 2 ] || fail "plain holds more than its seeds: $(ls cmp/plain)"
[ -s cmp/summary.json ] && [ -s cmp/report.html ] || fail "no summary.json / report.html"
grep -q "median" cmp/robust/seed-1/config.ini || fail "arm setting not applied"

# 2. seed 2 of robust = a plain run with run.seed = 2 and the arm's setting
"$FEDTAIL" run exp.ini --set run.compare= --set run.seed=2 --set defense.name=median \
    --out plain2 --procs 1 --quiet --no-report || fail "plain run"
cmp cmp/robust/seed-2/config.ini plain2/config.ini || fail "config.ini differs from the plain run's"
cmp cmp/robust/seed-2/final.ckpt plain2/final.ckpt || fail "final model differs from the plain run's"
results cmp/robust/seed-2/metrics.csv >a.results
results plain2/metrics.csv >b.results
cmp a.results b.results || fail "metrics differ from the plain run's: $(diff a.results b.results)"
results cmp/plain/seed-1/metrics.csv >c.results
cmp -s a.results c.results && fail "two different runs have equal metrics: the check is blind"

# 3. the numbers, recomputed from metrics.csv
$PY - cmp run1.out <<'PY' || fail "summary numbers"
import csv, json, math, sys
d, printed = sys.argv[1], open(sys.argv[2]).read()
def col(rows, k):
    return [float(r[k]) for r in rows if r[k] != ""]
def stat(xs):
    m = sum(xs) / len(xs)
    return m, math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))
s = json.load(open(d + "/summary.json"))
assert s["seeds"] == [1, 2], s["seeds"]
assert [a["label"] for a in s["arms"]] == ["plain", "robust"], s["arms"]
for arm in s["arms"]:
    rows = [list(csv.DictReader(open(f"{d}/{arm['dir']}/seed-{k}/metrics.csv"))) for k in (1, 2)]
    want = {
        "final_main_acc": stat([float(r[-1]["main_acc"]) for r in rows]),
        "final_backdoor_acc": stat([float(r[-1]["backdoor_acc"]) for r in rows]),
        "peak_backdoor_acc": stat([max(col(r, "backdoor_acc")) for r in rows]),
    }
    assert arm["n"] == 2 and arm["rounds"] == 2, arm
    for k, (m, sd) in want.items():
        got = arm[k]
        assert got["n"] == 2, (k, got)
        assert abs(got["mean"] - m) < 1e-6 and abs(got["std"] - sd) < 1e-6, (arm["label"], k, got, m, sd)
    m, sd = want["final_main_acc"]
    text = f"main {100 * m:.1f} ± {100 * sd:.1f}%"
    line = [l for l in printed.splitlines() if l.strip().startswith(arm["label"] + " ")]
    assert line and text in line[0], (text, line)
    words = "the backdoor LANDS" if want["final_backdoor_acc"][0] >= 0.5 else None
    if words is None and want["peak_backdoor_acc"][0] < 0.5:
        words = "the backdoor did not land within 2 rounds"
    assert words is None or words in line[0], (words, line)
    assert "STOPPED" not in printed
PY
grep -q "mean ± sample std over seeds 1,2" run1.out || fail "verdict header: $(cat run1.out)"
grep -qE "^\([0-9]+ backdoor test images?, each [0-9.]+%\)" run1.out || fail "no test set size: $(cat run1.out)"
grep -q "sample standard deviation" cmp/report.html || fail "report.html does not say which std"
grep -q "<tr><td>plain</td><td>2</td><td>2</td><td>[0-9.]* ± [0-9.]*%</td>" cmp/report.html ||
    fail "report.html has no mean ± std row for plain"
# 3b. fedtail report on the seeds directory draws what the run drew (mean ± std per
# arm, the arms in run.compare's order); on the arms' directories, one group each;
# a seeds directory beside a plain run is refused.
"$FEDTAIL" report cmp --out rep >rep.out 2>&1 || fail "report on the seeds directory: $(cat rep.out)"
grep -q "mean ± sample std over the seeds" rep.out || fail "report: $(cat rep.out)"
cmp rep/report.html cmp/report.html || fail "fedtail report's seeds page differs from the run's"
for f in compare_main.svg compare_backdoor.svg; do [ -s "rep/$f" ] || fail "report: no $f"; done
"$FEDTAIL" report cmp/robust cmp/plain --out two >two.out 2>&1 || fail "report on two arms: $(cat two.out)"
for arm in plain robust; do
    row=$(grep -o "<tr><td>$arm</td><td>2</td><td>2</td><td>[0-9.]* ± [0-9.]*%</td>" cmp/report.html)
    grep -qF "$row" two/report.html || fail "report of cmp/$arm: no row $row"
done
r=$(grep -bo "<tr><td>robust</td>" two/report.html | head -1 | cut -d: -f1)
p=$(grep -bo "<tr><td>plain</td>" two/report.html | head -1 | cut -d: -f1)
[ "$r" -lt "$p" ] || fail "report of two arms: not in the order given"
if "$FEDTAIL" report cmp plain2 --out mixed >mixed.out 2>&1; then fail "seeds beside a plain run accepted"; fi
grep -q "hold runs over seeds and the others single runs" mixed.out || fail "mixed: $(cat mixed.out)"

# 4. again: every seed skipped, no file changed
find cmp -name metrics.csv -o -name final.ckpt | sort | xargs sha256sum >before.sha
"$FEDTAIL" run exp.ini --seeds 1,2 --out cmp --procs 2 >run2.out 2>run2.err || fail "rerun: $(cat run2.err)"
[ "$(grep -c 'already complete, skipped' run2.err)" = 4 ] || fail "rerun did not skip: $(cat run2.err)"
find cmp -name metrics.csv -o -name final.ckpt | sort | xargs sha256sum >after.sha
cmp before.sha after.sha || fail "rerun changed files"
if "$FEDTAIL" run exp.ini --seeds 1,2 --set federation.lr=0.5 --out cmp >diff.out 2>diff.err; then
    fail "a different config over finished seeds was accepted"
fi
grep -q "holds a finished run of a different configuration" diff.err || fail "refusal: $(cat diff.err)"
for bad in "" "1,,2" "1,1" "1,x" "-1" "$(seq -s, 1 33)"; do
    if "$FEDTAIL" run exp.ini --seeds "$bad" --out badout 2>bad.err; then fail "--seeds $bad accepted"; fi
    grep -q "run.seeds" bad.err || fail "--seeds $bad: message does not name run.seeds: $(cat bad.err)"
    [ ! -e badout ] || fail "--seeds $bad left a directory"
done
if "$FEDTAIL" run exp.ini --set "run.compare=a: run.seed=3" --seeds 1 --out badout 2>bad.err; then
    fail "an arm setting run.seed under run.seeds was accepted"
fi
if "$FEDTAIL" run exp.ini --set "run.compare=a: run.seeds=1,2" --out badout 2>bad.err; then
    fail "an arm setting run.seeds was accepted"
fi
grep -q "run.compare (a) sets run.seeds" bad.err || fail "arm run.seeds: $(cat bad.err)"
if "$FEDTAIL" sweep grid_unused.ini --seeds "" 2>bad.err; then fail "sweep --seeds '' accepted"; fi
grep -q "run.seeds" bad.err || fail "sweep --seeds '': $(cat bad.err)"
# Interrupted after its first seed (Ctrl-C), then run again: the finished seeds are
# skipped, the rest run, and every seed ends as in the uninterrupted run.
"$FEDTAIL" run exp.ini --seeds 1,2 --out intr --procs 2 --quiet --no-report >/dev/null 2>intr.err &
pid=$!
for _ in $(seq 600); do [ -e intr/plain/seed-1/seed-complete ] && break; sleep 0.05; done
kill -INT $pid 2>/dev/null || true
set +e
wait $pid
rc=$?
set -e
[ $rc = 130 ] || [ $rc = 0 ] || fail "interrupted run exited $rc: $(cat intr.err)"
"$FEDTAIL" run exp.ini --seeds 1,2 --out intr --procs 2 --no-report >/dev/null 2>intr2.err ||
    fail "run after the interruption: $(cat intr2.err)"
grep -q "plain, seed 1: already complete, skipped" intr2.err || fail "seed 1 ran again: $(cat intr2.err)"
for arm in plain robust; do
    for s in 1 2; do
        [ -e "intr/$arm/seed-$s/seed-complete" ] || fail "intr/$arm/seed-$s not finished"
        results "intr/$arm/seed-$s/metrics.csv" >i.results
        results "cmp/$arm/seed-$s/metrics.csv" >u.results
        cmp i.results u.results || fail "$arm seed $s differs after the interruption"
    done
done

set +e
"$FEDTAIL" coordinator exp.ini --bind "ipc://$WORK/co.sock" --seeds 1,2 --out coout 2>co.err
rc=$?
"$FEDTAIL" coordinator exp.ini --bind "ipc://$WORK/co.sock" --set run.seeds=1,2 --out coout 2>co2.err
rc2=$?
set -e
[ $rc = 2 ] && [ $rc2 = 2 ] && [ ! -e coout ] || fail "fedtail coordinator with seeds: $rc $rc2"
grep -q "run.seeds runs several experiments" co2.err || fail "coordinator: $(cat co2.err)"

# 5. sweep
cat >grid.ini <<'INI'
[sweep]
base = exp.ini
[grid]
defense.name = fedavg, median
[set]
run.compare =
INI
"$FEDTAIL" sweep grid.ini --out sw --jobs 2 --seeds 1,2 >sw1.out || fail "sweep: $(cat sw1.out)"
for c in defense.name=fedavg defense.name=median; do
    for s in 1 2; do [ -s "sw/$c/seed-$s/seed-complete" ] || fail "missing sw/$c/seed-$s"; done
done
# The sweep's cell median runs what the comparison's arm robust ran.
results sw/defense.name=median/seed-2/metrics.csv >s.results
cmp a.results s.results || fail "sweep cell differs from the comparison's arm"
check_sweep() {
    $PY - sw "$1" <<'PY' || fail "sweep summary.csv: $(cat sw/summary.csv)"
import csv, json, math, sys
d, n = sys.argv[1], int(sys.argv[2])
rows = list(csv.DictReader(open(d + "/summary.csv")))
assert len(rows) == 2, rows
js = json.load(open(d + "/summary.json"))
assert js["seeds"] == list(range(1, n + 1)), js["seeds"]
for r in rows:
    assert int(r["seeds"]) == n, r
    fin = [float(list(csv.DictReader(open(f"{d}/{r['run']}/seed-{k}/metrics.csv")))[-1]["main_acc"])
           for k in range(1, n + 1)]
    m = sum(fin) / n
    sd = math.sqrt(sum((x - m) ** 2 for x in fin) / (n - 1))
    assert abs(float(r["final_main_acc"]) - m) < 5e-5, (r, m)
    assert abs(float(r["final_main_acc_std"]) - sd) < 5e-5, (r, sd)
    arm = [a for a in js["arms"] if a["label"] == r["run"]][0]
    assert arm["n"] == n and abs(arm["final_main_acc"]["mean"] - m) < 1e-6, (arm, m)
    assert abs(arm["final_main_acc"]["std"] - sd) < 1e-6, (arm, sd)
PY
}
check_sweep 2
# sweep.html links each cell to the report over its seeds.
for c in fedavg median; do
    [ -s "sw/defense.name=$c/report.html" ] || fail "no report.html over the seeds of cell $c"
    grep -q "href=\"defense.name=$c/report.html\"" sw/sweep.html || fail "sweep.html: cell $c not linked"
done
grep -q " ± " sw/summary.md || fail "summary.md has no mean ± std"
"$FEDTAIL" sweep grid.ini --out sw --jobs 2 --seeds 1,2 >sw2.out || fail "sweep again"
[ "$(grep -c 'already complete' sw2.out)" = 2 ] || fail "sweep again re-ran: $(cat sw2.out)"
sha256sum sw/defense.name=fedavg/seed-1/metrics.csv >sw.sha
"$FEDTAIL" sweep grid.ini --out sw --jobs 2 --seeds 1,2,3 >sw3.out || fail "sweep with seed 3"
sha256sum -c --quiet sw.sha || fail "seed 1 ran again"
[ -s sw/defense.name=fedavg/seed-3/seed-complete ] || fail "seed 3 not run"
check_sweep 3
echo "PASS: seeds layout, determinism, mean ± std recomputed, skip on rerun, sweep --seeds"
