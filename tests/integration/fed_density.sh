#!/bin/bash
# attack.edge_miner = density through fedtail run (real processes): the feature model is
# pre-trained on the whole training set into run.cache_dir, the training set's log
# densities are written beside it (density-gmm.npy, one float per sample) and reused by a
# second run, every process mines the same set from them, and events.jsonl reports the
# miner and Definition 1's p (edge_p >= edge_p_min > 0). Synthetic data, an mlp.
source "$(dirname "$0")/fed_lib.sh"
PY=/usr/bin/python3
mlp_ini "$WORK/d.ini" clients=8 per_round=4 train=600 test=200 shape=1,8,8
cat >> "$WORK/d.ini" <<INI
[train]
epochs = 1
[attack]
method = pgd
edge_miner = density
edge_size = 12
attack_freq = 1
eps = 2
honest_edge_holders = 0
[run]
seed = 3
cache_dir = $WORK/cache
INI
"$FEDTAIL" run "$WORK/d.ini" --out "$WORK/r1" --no-report > "$WORK/r1.log" 2>&1 || {
    cat "$WORK/r1.log"
    fail "density run exited"
}
grep -q "feature densities of the training set" "$WORK/r1.log" || fail "no density computed"
ls "$WORK"/cache/pretrain-mlp-*/density-gmm.npy > /dev/null || fail "no density-gmm.npy"
"$FEDTAIL" run "$WORK/d.ini" --out "$WORK/r2" --no-report > "$WORK/r2.log" 2>&1 || fail "rerun"
results "$WORK/r1/metrics.csv" > "$WORK/r1.res"
results "$WORK/r2/metrics.csv" > "$WORK/r2.res"
diff "$WORK/r1.res" "$WORK/r2.res" || fail "a rerun from the cached densities differs"
grep -q "reusing the feature densities" "$WORK/r2.log" || fail "densities not reused"
$PY - "$WORK" <<'PY' || fail "density run results"
import glob, json, sys
import numpy as np
w = sys.argv[1]
s = np.load(glob.glob(w + "/cache/pretrain-mlp-*/density-gmm.npy")[0])
assert s.shape == (600,) and np.isfinite(s).all(), s.shape
start = [json.loads(l) for l in open(w + "/r1/events.jsonl") if '"start"' in l][0]
assert start["edge_miner"] == "density", start
assert 0 < start["edge_p_min"] <= start["edge_p"] <= 1, start
assert start["edge_points"] + start["backdoor_test"] == 12, start
for r in ("r1", "r2"):
    rows = open(w + "/" + r + "/metrics.csv").read().splitlines()
    assert len(rows) == 3, rows
PY
echo PASS
