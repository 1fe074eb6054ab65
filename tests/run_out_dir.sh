#!/bin/bash
# fedtail run's files (issue 20 items 1 and 7), on tiny synthetic data:
#  - every arm of a comparison starts from ONE pre-trained model whose pool left out
#    the edge points of every arm (here only one arm attacks; the base does not);
#  - the cache is absolute in config.ini and lives beside the run (DIR/../cache);
#  - an --out that holds a run is refused unless --force; --resume is named;
#  - fedtail report marks an incomplete run.
set -euo pipefail
: "${FEDTAIL:?}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
mkdir runs
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
[attack]
edge_size = 8
source_class = 2
honest_edge_holders = 2
[run]
compare = clean: defense.name=fedavg; attacked: attack.method=blackbox
INI
fail() { echo "FAIL: $*"; exit 1; }
init_of() { sed -n 's/^init *= *//p' "$1"; }

# 1. One model for both arms, pre-trained without the attacked arm's edge set.
"$FEDTAIL" run exp.ini --out runs/cmp --procs 1 --no-report >cmp.txt 2>cmp.err ||
    fail "compare: $(cat cmp.err)"
[ "$(grep -c 'pre-training mlp' cmp.err)" = 1 ] || fail "not one pre-training: $(cat cmp.err)"
grep -q "edge-case points held out" cmp.err || fail "edge points not held out: $(cat cmp.err)"
clean_init=$(init_of runs/cmp/clean/config.ini)
att_init=$(init_of runs/cmp/attacked/config.ini)
[ -n "$clean_init" ] && [ "$clean_init" = "$att_init" ] ||
    fail "arms start from different models: '$clean_init' vs '$att_init'"
# The cache is absolute and beside the run: runs/cache, not the working directory's.
case "$clean_init" in "$tmp"/runs/cache/pretrain-mlp-*/model.ckpt) ;;
    *) fail "cache path $clean_init is not $tmp/runs/cache/..." ;; esac
grep -q "^cache_dir *= *$tmp/runs/cache$" runs/cmp/attacked/config.ini ||
    fail "config.ini cache_dir: $(grep cache_dir runs/cmp/attacked/config.ini)"
[ ! -e cache ] || fail "a cache in the working directory"
# What was held out, counted by the attacked arm's coordinator (independently of the
# pre-training): its edge points and its backdoor test set.
start=$(grep '"event":"start"' runs/cmp/attacked/events.jsonl)
held=$(( $(sed 's/.*"edge_points":\([0-9]*\).*/\1/' <<<"$start") + \
         $(sed 's/.*"backdoor_test":\([0-9]*\).*/\1/' <<<"$start") ))
[ "$held" -ge 8 ] || fail "edge set of $held points"
meta="$(dirname "$clean_init")/pool.json"
grep -q "\"pool_n\":$((400 - held))[,}]" "$meta" || fail "pool $(cat "$meta"), want $((400 - held))"
# A single run of the attacked arm alone needs exactly that model.
"$FEDTAIL" run exp.ini --out runs/alone --procs 1 --no-report --set run.compare= \
    --set attack.method=blackbox >alone.txt 2>alone.err || fail "single run: $(cat alone.err)"
grep -q "reusing the pre-trained model" alone.err || fail "single run trained its own model"
[ "$(init_of runs/alone/config.ini)" = "$clean_init" ] || fail "single run: another model"
# Two arms with edge sets of two classes: the model saw neither (the union held out).
"$FEDTAIL" run exp.ini --out runs/two --procs 1 --no-report --set "run.compare=a: \
attack.method=blackbox attack.source_class=2; b: attack.method=blackbox attack.source_class=3" \
    >two.txt 2>two.err || fail "two-class compare: $(cat two.err)"
held_of() {
    local st
    st=$(grep '"event":"start"' "$1/events.jsonl")
    echo $(( $(sed 's/.*"edge_points":\([0-9]*\).*/\1/' <<<"$st") + \
             $(sed 's/.*"backdoor_test":\([0-9]*\).*/\1/' <<<"$st") ))
}
two_init=$(init_of runs/two/a/config.ini)
[ "$two_init" = "$(init_of runs/two/b/config.ini)" ] || fail "two arms, two models"
want=$((400 - $(held_of runs/two/a) - $(held_of runs/two/b)))
grep -q "\"pool_n\":$want[,}]" "$(dirname "$two_init")/pool.json" ||
    fail "two-class pool $(cat "$(dirname "$two_init")/pool.json"), want $want"
# An arm may not change what shapes the shared model.
if "$FEDTAIL" run exp.ini --out runs/bad --set "run.compare=a: train.epochs=2; b: defense.name=median" \
    2>bad.err; then fail "an arm changing train.epochs was accepted"; fi
grep -q "arm 'a' sets train.epochs" bad.err || fail "arm message: $(cat bad.err)"

# 2. An --out holding a run is refused, --force overwrites it.
if "$FEDTAIL" run exp.ini --out runs/alone --procs 1 --no-report --set run.compare= \
    >again.txt 2>again.err; then fail "overwrote runs/alone"; fi
grep -q "runs/alone already holds a run (runs/alone/config.ini)" again.err ||
    fail "refusal message: $(cat again.err)"
grep -q -- "--force" again.err && grep -q -- "--resume runs/alone" again.err ||
    fail "refusal names no way on: $(cat again.err)"
if "$FEDTAIL" run exp.ini --out runs/cmp --procs 1 --no-report 2>again2.err; then
    fail "overwrote the comparison runs/cmp"
fi
grep -q "runs/cmp already holds a run (runs/cmp/[a-z]*/config.ini)" again2.err ||
    fail "compare refusal message: $(cat again2.err)"
if "$FEDTAIL" coordinator exp.ini --bind "ipc://$tmp/c.sock" --out runs/alone \
    --set run.compare= 2>coord.err; then fail "coordinator overwrote runs/alone"; fi
grep -q "runs/alone already holds a run" coord.err || fail "coordinator: $(cat coord.err)"
"$FEDTAIL" run exp.ini --out runs/alone --procs 1 --no-report --set run.compare= --force \
    >force.txt 2>force.err || fail "--force: $(cat force.err)"
# A directory without a run is fine.
mkdir -p runs/empty && touch runs/empty/notes.txt
"$FEDTAIL" run exp.ini --out runs/empty --procs 1 --no-report --set run.compare= \
    >empty.txt 2>empty.err || fail "an --out with no run in it: $(cat empty.err)"

# 3. fedtail report marks incomplete runs, in its output and in report.html.
"$FEDTAIL" report runs/alone >rep.txt 2>&1 || true
! grep -q INCOMPLETE rep.txt runs/alone/report.html || fail "a complete run marked incomplete"
cp -r runs/alone runs/killed       # killed: no summary.json, one round of two
rm runs/killed/summary.json runs/killed/report.html
sed -i '$d' runs/killed/metrics.csv
"$FEDTAIL" report runs/killed >rep.txt 2>&1 || true
grep -q "runs/killed: INCOMPLETE run (1 of 2 rounds, no summary.json)" rep.txt ||
    fail "report output: $(cat rep.txt)"
grep -q "INCOMPLETE (1 of 2 rounds, no summary.json)" runs/killed/report.html ||
    fail "report.html does not mark the killed run"
cp -r runs/alone runs/stopped      # interrupted: its summary says not completed
sed -i 's/"completed": true/"completed": false/' runs/stopped/summary.json
"$FEDTAIL" report runs/stopped runs/alone --out runs/both >rep.txt 2>&1 || true
grep -q "runs/stopped: INCOMPLETE run (2 of 2 rounds, not completed)" rep.txt ||
    fail "report output (not completed): $(cat rep.txt)"
[ "$(grep -c INCOMPLETE runs/both/report.html)" = 1 ] || fail "compare report marks"
cp -r runs/alone runs/short        # its metrics end before federation.rounds
sed -i '$d' runs/short/metrics.csv
"$FEDTAIL" report runs/short >rep.txt 2>&1 || true
grep -q "runs/short: INCOMPLETE run (1 of 2 rounds)" rep.txt || fail "short run: $(cat rep.txt)"
echo "run out dir: ok"
