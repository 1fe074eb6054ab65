#!/bin/bash
# defense.name = local-dp in a federated run: the honest clients clip their updates to
# defense.norm_bound before sending (client/ft_local_dp.c), so every honest row the
# coordinator saved (run.save_updates) has norm <= M, while the pgd + replacement
# attacker's does not (it does not follow the protocol); the server averages, and
# `fedtail aggregate --defense local-dp` replays the round's aggregate as FedAvg of
# the saved rows. With σ > 0 the honest norms rise to about sqrt(M² + N σ²).
source "$(dirname "$0")/fed_lib.sh"
PY=/usr/bin/python3
mlp_ini "$WORK/ldp.ini" per_round=6
cat >> "$WORK/ldp.ini" <<INI
[attack]
method = pgd
edge_size = 4
attack_freq = 1
model_replacement = true
honest_edge_holders = 0
[defense]
name = local-dp
norm_bound = 0.01
[run]
seed = 3
save_updates = true
INI
for sd in 0 0.001; do
    "$FEDTAIL" run "$WORK/ldp.ini" --procs 2 --out "$WORK/s$sd" --quiet \
        --set defense.stddev=$sd >/dev/null 2>"$WORK/s$sd.err" ||
        fail "local-dp (stddev $sd): run failed: $(cat "$WORK/s$sd.err")"
    $PY - "$WORK/s$sd" "$sd" <<'PY' || fail "local-dp (stddev $sd): norms"
import json, sys, numpy as np
d, sd = sys.argv[1], float(sys.argv[2])
ev = [json.loads(l) for l in open(d + "/events.jsonl")]
for t in (1, 2):
    U = np.load(d + "/updates/round_%04d.npy" % t).astype(np.float64)
    dec = sorted((e for e in ev if e["event"] == "decision" and e["round"] == t),
                 key=lambda e: e["client"])
    assert len(dec) == U.shape[0], (len(dec), U.shape)
    norms = np.linalg.norm(U, axis=1)
    att = np.array([e["attacker"] for e in dec])
    assert att.sum() == 1, att
    want = np.sqrt(0.01 ** 2 + U.shape[1] * sd * sd)
    hon = norms[~att]
    if sd == 0:
        assert np.all(hon <= 0.01 * (1 + 1e-5)) and np.all(hon > 0.0099), hon
    else:
        assert np.all(np.abs(hon - want) < 0.1 * want), (hon, want)
    assert norms[att][0] > 10 * want, norms
print("ok")
PY
done
# the offline replay of round 2 is FedAvg over the saved (privatised) rows
"$FEDTAIL" aggregate --defense local-dp --updates "$WORK/s0/updates/round_0002.npy" \
    --counts "$WORK/s0/updates/round_0002_counts.npy" --out "$WORK/agg.npy" --quiet ||
    fail "local-dp aggregate"
$PY - "$WORK" <<'PY' || fail "local-dp aggregate is not FedAvg"
import sys, numpy as np
w = sys.argv[1]
U = np.load(w + "/s0/updates/round_0002.npy").astype(np.float64)
c = np.load(w + "/s0/updates/round_0002_counts.npy").astype(np.float64)
assert np.allclose(np.load(w + "/agg.npy"), np.average(U, axis=0, weights=c), atol=1e-7)
PY
echo "fed_local_dp: ok"
