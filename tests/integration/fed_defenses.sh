#!/bin/bash
# Every registered defense (the list `fedtail aggregate --help` prints from the
# registry) completes a short federated run under a pgd + model-replacement attack,
# with one decision event per update joined with the ground truth, the
# attackers_kept / honest_dropped columns consistent with them, and summary.json.
# FLTrust and FLARE run with the root set held out of the clients; DeepSight and FLARE
# with the coordinator's model probe. A defense whose keys do
# not fit K (krum with K <= 2f + 2) fails when the experiment is loaded, naming the
# key, before any round.
source "$(dirname "$0")/fed_lib.sh"
PY=/usr/bin/python3
mlp_ini "$WORK/def.ini"
cat >> "$WORK/def.ini" <<INI
[attack]
method = pgd
edge_size = 4
attack_freq = 1
model_replacement = true
honest_edge_holders = 0
[defense]
root_size = 40
[run]
seed = 3
INI
names=$("$FEDTAIL" aggregate --help 2>&1 | sed -n 's/.*Defenses: //p' | tr -d ',')
[ "$(echo $names | wc -w)" -ge 10 ] || fail "could not list the defenses: '$names'"
for d in $names; do
    "$FEDTAIL" run "$WORK/def.ini" --procs 2 --out "$WORK/$d" --quiet --set defense.name=$d \
        >/dev/null 2>"$WORK/$d.err" || fail "defense $d: run failed: $(cat "$WORK/$d.err")"
    $PY - "$WORK/$d" "$d" <<'PY' || fail "defense $d: outputs"
import csv, json, sys
d, name = sys.argv[1], sys.argv[2]
rows = list(csv.DictReader(open(d + "/metrics.csv")))
assert len(rows) == 2, rows
ev = [json.loads(l) for l in open(d + "/events.jsonl")]
dec = [e for e in ev if e["event"] == "decision"]
for r in rows:
    t = int(r["round"])
    mine = [e for e in dec if e["round"] == t]
    assert len(mine) == int(r["clients"]), (t, len(mine))
    att = [e for e in mine if e["attacker"]]
    assert len(att) == int(r["attackers"]) == 1, (t, att)
    selects = name in ("krum", "multi-krum", "bulyan", "dnc", "signguard", "flame", "rflbat",
                       "fldetector", "lasa", "deepsight", "flare")
    if selects:  # detection counts only for rules that keep or drop whole updates
        assert int(r["attackers_kept"]) == sum(not e["detected"] for e in att), r
        assert int(r["honest_dropped"]) == sum(
            e["decision"] == "dropped" for e in mine if not e["attacker"]), r
    else:
        assert r["attackers_kept"] == "" and r["honest_dropped"] == "", r
        assert all("detected" not in e for e in mine), mine
    assert all(e["decision"] in ("kept", "dropped", "reweighted", "clipped") for e in mine), mine
    # every rule's weights sum to 1 (centered clipping: at most 1, its centre holds
    # the rest); the row's attacker_weight is the attacker's
    total = sum(e["weight"] for e in mine)
    # (rlr: signed, 1 - 2 x its share of flipped coordinates)
    if name in ("centered-clipping", "rlr"):
        assert total <= 1 + 1e-5, total
    else:
        assert abs(total - 1) < 1e-5, total
    assert abs(float(r["attacker_weight"]) - sum(e["weight"] for e in att)) < 1e-6, r
    share = float(r["attacker_norm_share"])
    norms = sum(e["contribution"] for e in mine)
    assert abs(share - sum(e["contribution"] for e in att) / norms) < 1e-5, (share, norms)
    assert r["backdoor_acc"] != "" and r["main_acc"] != "", r
s = json.load(open(d + "/summary.json"))
assert s["defense"] == name and s["completed"] is True and s["attacker_updates"] == 2, s
assert s["defense_selects"] is selects, s
assert (s["detection_tpr"] is not None) == selects, s
assert (s["detection_fpr"] is not None) == selects, s
f = lambda v: "  -  " if v is None else f"{v:.2f}"
print(f"| {name} | {f(s['detection_tpr'])} | {f(s['detection_fpr'])} | "
      f"{s['attacker_weight_mean']:.3f} | {s['attacker_norm_share_mean']:.3f} | "
      f"{s['final_backdoor_acc']:.2f} | {s['final_main_acc']:.2f} |")
PY
done
grep -q '"root_size":40' "$WORK/fltrust/events.jsonl" || fail "fltrust: no root set"
grep -q '"root_size":40' "$WORK/flare/events.jsonl" || fail "flare: no server set"
# load-time check: krum needs K > 2f + 2
if "$FEDTAIL" run "$WORK/def.ini" --procs 1 --out "$WORK/bad" --quiet --set defense.name=krum \
    --set federation.clients_per_round=4 >/dev/null 2>"$WORK/bad.err"; then
    fail "krum with K = 4, f = 1 accepted"
fi
grep -q "defense.f" "$WORK/bad.err" || fail "krum error does not name the key: $(cat "$WORK/bad.err")"
[ ! -s "$WORK/bad/metrics.csv" ] || [ "$(wc -l < "$WORK/bad/metrics.csv")" -le 1 ] \
    || fail "krum misconfiguration ran rounds"
echo "PASS: every defense completes a run under attack with decisions in its outputs"
