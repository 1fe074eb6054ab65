#!/bin/bash
# The probe rules (deepsight, flare) in a federated run and offline: the coordinator's
# model probe (coordinator/ft_probe.c) and `fedtail aggregate --global` (cli/
# cmd_aggregate.c, the same probe over the experiment's model, flare's server set the
# root set drawn again from the config) give the same decisions and weights for a
# saved round, and the replay without --global is refused naming the option. The
# attacker (pgd + model replacement, boosted ~8x) gets no weight from flare.
source "$(dirname "$0")/fed_lib.sh"
PY=/usr/bin/python3
mlp_ini "$WORK/p.ini"
cat >> "$WORK/p.ini" <<INI
[attack]
method = pgd
edge_size = 4
attack_freq = 1
model_replacement = true
honest_edge_holders = 0
[defense]
root_size = 40
ds_samples = 16
[run]
seed = 3
save_updates = true
INI
for d in deepsight flare; do
    "$FEDTAIL" run "$WORK/p.ini" --procs 2 --out "$WORK/$d" --quiet --set defense.name=$d \
        >/dev/null 2>"$WORK/$d.err" || fail "defense $d: run failed: $(cat "$WORK/$d.err")"
    u="$WORK/$d/updates/round_0002"
    [ -s "${u}_global.npy" ] || fail "$d: no round_0002_global.npy saved"
    "$FEDTAIL" aggregate "$WORK/$d/config.ini" --defense $d --round 2 --updates "$u.npy" \
        --counts "${u}_counts.npy" --global "${u}_global.npy" --out "$WORK/$d.npy" \
        --report "$WORK/$d.json" --quiet 2>"$WORK/$d.agg" || fail "$d replay: $(cat "$WORK/$d.agg")"
    $PY - "$WORK/$d" "$WORK/$d.json" "$d" <<'PY' || fail "$d: the replay differs from the run"
import json, sys
run, rep, name = sys.argv[1], json.load(open(sys.argv[2])), sys.argv[3]
ev = [json.loads(l) for l in open(run + "/events.jsonl")]
dec = sorted((e for e in ev if e["event"] == "decision" and e["round"] == 2),
             key=lambda e: e["client"])
off = rep["clients"]
assert len(dec) == len(off) == 8, (len(dec), len(off))
for a, b in zip(dec, off):
    assert a["decision"] == b["decision"], (a, b)
    assert abs(a["weight"] - b["weight"]) < 1e-6, (a, b)
if name == "flare":
    assert all(e["weight"] == 0 for e in dec if e["attacker"]), dec
PY
done
err=$("$FEDTAIL" aggregate "$WORK/p.ini" --defense flare --updates "$WORK/flare/updates/round_0002.npy" \
    --counts "$WORK/flare/updates/round_0002_counts.npy" --out "$WORK/bad.npy" 2>&1) \
    && fail "flare without --global accepted"
echo "$err" | grep -q -- "--global" || fail "flare without --global: $err"
echo "PASS: deepsight and flare replay offline as they ran"
