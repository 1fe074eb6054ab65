#!/bin/bash
# Attacks and defenses through the whole federation (real processes over ipc):
#  - pgd + model replacement: attackers in exactly the scheduled rounds, backdoor_acc
#    filled, the scaled attacker's update larger than the honest ones, summary.json;
#  - the same at P = 1 and P = 2: identical metrics and final model;
#  - krum: the scaled attacker is dropped (attackers_kept = 0) and every update has a
#    decision event joined with the ground truth;
#  - run.save_updates: the saved round replays through `fedtail aggregate` (fedavg)
#    to exactly the global model's change; every saved round of the fedavg and krum
#    runs, replayed with the ground truth saved beside it, prints the detection
#    figures of that round's metrics.csv row (attackers kept, honest dropped, the
#    attacker's weight and norm share, TPR/FPR), and R.json carries them.
source "$(dirname "$0")/fed_lib.sh"
PY=/usr/bin/python3
attack_ini() {
    cat > "$WORK/attack.ini" <<INI
[federation]
num_clients = 12
clients_per_round = 6
rounds = 4
local_epochs = 1
batch_size = 16
lr = 0.05
partition = dirichlet
alpha = 0.5
min_size = 5
heartbeat_s = 0.2
round_timeout = 60
[data]
dataset = synthetic
synthetic_train = 600
synthetic_test = 200
synthetic_shape = 1,28,28
[model]
name = mlp
hidden = 32
[attack]
method = pgd
edge_size = 5
attack_freq = 2
model_replacement = true
eps = 2
honest_edge_holders = 0
[run]
seed = 7
INI
    echo "$WORK/attack.ini"
}
INI=$(attack_ini)
same_at_procs pgd 1 2 "$INI" --set run.save_updates=true
$PY - "$WORK/pgd1" <<'PY' || fail "pgd + replacement run"
import csv, json, math, sys
d = sys.argv[1]
rows = list(csv.DictReader(open(d + "/metrics.csv")))
assert len(rows) == 4, rows
for r in rows:
    t = int(r["round"])
    want = 1 if t % 2 == 1 else 0          # attack_from 1, attack_freq 2
    assert int(r["attackers"]) == want, (t, r["attackers"])
    b = float(r["backdoor_acc"])
    assert 0 <= b <= 1, r
    assert 0 <= float(r["target_class_acc"]) <= 1, r
    if want:
        assert float(r["attacker_norm"]) > 1.5 * float(r["honest_norm_mean"]), r
        # fedavg does not select: no detection counts, the attacker's FedAvg share
        assert float(r["attacker_weight"]) > 0, r
        assert 0 < float(r["attacker_norm_share"]) <= 1, r
    else:
        assert r["attacker_norm"] == "" and r["attacker_weight"] == "", r
    assert r["attackers_kept"] == "" and r["honest_dropped"] == "", r
s = json.load(open(d + "/summary.json"))
assert s["completed"] is True and s["rounds"] == 4, s
assert s["attack"] == "pgd" and s["defense"] == "fedavg", s
assert s["defense_selects"] is False, s
assert s["attacker_updates"] == 2 and s["detection_tpr"] is None and s["detection_fpr"] is None, s
w = [float(r["attacker_weight"]) for r in rows if r["attacker_weight"]]
assert abs(s["attacker_weight_mean"] - sum(w) / len(w)) < 1e-6, s
ev = [json.loads(l) for l in open(d + "/events.jsonl")]
dec = [e for e in ev if e["event"] == "decision"]
assert dec and all("detected" not in e and e["decision"] == "kept" for e in dec), dec[:3]
for r in rows:  # the row's attacker_weight is the attacker's decision weight
    att = [e for e in dec if e["round"] == int(r["round"]) and e["attacker"]]
    if att:
        assert abs(sum(e["weight"] for e in att) - float(r["attacker_weight"])) < 1e-6, (att, r)
assert s["final_main_acc"] == float(rows[-1]["main_acc"]), s
assert s["peak_backdoor_acc"] == max(float(r["backdoor_acc"]) for r in rows), s
ev = [json.loads(l) for l in open(d + "/events.jsonl")]
tasks = [e for e in ev if e["event"] == "task" and e["attacker"]]
assert sorted({e["round"] for e in tasks}) == [1, 3], tasks
assert all(e["client"] == 11 for e in tasks), tasks   # fixed-freq: the top id
starts = [e for e in ev if e["event"] == "round_start"]
assert all(e["round_samples"] > 0 for e in starts), starts
print("pgd:", [(r["round"], r["attackers"], r["attacker_norm"], r["honest_norm_mean"], r["backdoor_acc"]) for r in rows])
PY

"$FEDTAIL" run "$INI" --procs 2 --out "$WORK/krum" --quiet --set defense.name=krum \
    --set run.save_updates=true >/dev/null || fail "krum run exited $?"
$PY - "$WORK/krum" <<'PY' || fail "krum run"
import csv, json, sys
d = sys.argv[1]
rows = list(csv.DictReader(open(d + "/metrics.csv")))
ev = [json.loads(l) for l in open(d + "/events.jsonl")]
dec = [e for e in ev if e["event"] == "decision"]
assert len(dec) == sum(int(r["clients"]) for r in rows), len(dec)
for r in rows:
    t = int(r["round"])
    mine = [e for e in dec if e["round"] == t]
    assert sum(e["decision"] == "kept" for e in mine) == 1, mine   # Krum keeps one
    att = [e for e in mine if e["attacker"]]
    assert len(att) == int(r["attackers"]), (att, r)
    if att:
        assert int(r["attackers_kept"]) == 0, r                    # the scaled one is dropped
        assert all(e["decision"] == "dropped" and e["detected"] for e in att), att
    honest_dropped = sum(e["decision"] == "dropped" for e in mine if not e["attacker"])
    assert int(r["honest_dropped"]) == honest_dropped, r
    if att:
        assert float(r["attacker_weight"]) == 0 and float(r["attacker_norm_share"]) == 0, r
s = json.load(open(d + "/summary.json"))
assert s["defense"] == "krum" and s["defense_selects"] is True and s["detection_tpr"] == 1.0, s
assert s["attacker_weight_mean"] == 0, s
assert abs(s["detection_fpr"] - s["honest_dropped"] / s["honest_updates"]) < 1e-9, s
print("krum: tpr", s["detection_tpr"], "fpr", round(s["detection_fpr"], 3))
PY

# The ground truth beside each saved round: the offline replay's detection figures
# are the run's, round by round (the truth file is found beside round_NNNN.npy).
for arm in pgd1:fedavg krum:krum; do
    run=${arm%%:*} rule=${arm#*:}
    for u in "$WORK/$run"/updates/round_000?.npy; do
        "$FEDTAIL" aggregate --defense "$rule" --updates "$u" --counts "${u%.npy}_counts.npy" \
            --out "$WORK/replay.npy" --report "${u%.npy}_replay.json" >> "$WORK/$run.replay" \
            || fail "aggregate $rule on $u exited $?"
    done
done
$PY - "$WORK" <<'PY' || fail "the replayed detection figures are not the run's"
import csv, json, re, sys
w = sys.argv[1]
for run, selects in (("pgd1", False), ("krum", True)):
    rows = {int(r["round"]): r for r in csv.DictReader(open(f"{w}/{run}/metrics.csv"))}
    lines = [l for l in open(f"{w}/{run}.replay") if l.startswith("round ")]
    assert len(lines) == len(rows) == 4, (run, lines)
    for l in lines:
        t = int(l.split()[1])
        got = dict(re.findall(r"(\w+)=(\S+)", l))
        r = rows[t]
        truth = json.load(open(f"{w}/{run}/updates/round_{t:04d}.json"))
        assert truth["round"] == t and truth["sampled"] == int(r["sampled"]), truth
        assert len(truth["clients"]) == int(r["clients"]), truth
        assert sum(c["attacker"] for c in truth["clients"]) == int(r["attackers"]), (truth, r)
        for col in ("attackers", "attackers_kept", "honest_dropped", "attacker_weight",
                    "attacker_norm_share"):
            assert got[col] == (r[col] or "n/a"), (run, t, col, got[col], r[col])
        att, kept, hd = int(r["attackers"]), r["attackers_kept"], r["honest_dropped"]
        honest = int(r["clients"]) - att
        want_tpr = f"{(att - int(kept)) / att:.8g}" if selects and att else "n/a"
        want_fpr = f"{int(hd) / honest:.8g}" if selects and honest else "n/a"
        assert (got["tpr"], got["fpr"]) == (want_tpr, want_fpr), (run, t, got, r)
        rep = json.load(open(f"{w}/{run}/updates/round_{t:04d}_replay.json"))
        assert [c["client"] for c in rep["clients"]] == [c["client"] for c in truth["clients"]]
        assert [c["attacker"] for c in rep["clients"]] == [c["attacker"] for c in truth["clients"]]
        assert rep["round"] == t and rep["detection"]["attackers"] == att, rep
        if selects and att:
            assert rep["detection"]["tpr"] == 1.0, rep   # krum drops the scaled attacker
    print(run, "replay:", [l.split(": ", 1)[1].strip() for l in lines][:2])
PY
"$FEDTAIL" aggregate --defense krum --updates "$WORK/krum/updates/round_0001.npy" \
    --counts "$WORK/krum/updates/round_0001_counts.npy" --out "$WORK/replay.npy" --round 2 \
    2> "$WORK/round.err" && fail "aggregate took --round 2 for a round-1 truth"
grep -q "round_0001.json is round 1" "$WORK/round.err" || fail "round mismatch: $(cat "$WORK/round.err")"
sed 's/"row": 1,/"row": 7,/' "$WORK/krum/updates/round_0001.json" > "$WORK/bad_truth.json"
"$FEDTAIL" aggregate --defense krum --updates "$WORK/krum/updates/round_0001.npy" \
    --counts "$WORK/krum/updates/round_0001_counts.npy" --out "$WORK/replay.npy" \
    --truth "$WORK/bad_truth.json" 2> "$WORK/truth.err" && fail "aggregate took a bad truth file"
grep -q "bad_truth.json: line 7: expected" "$WORK/truth.err" || fail "bad truth: $(cat "$WORK/truth.err")"

# save_updates: round 1 of a run started from a known model replays exactly.
"$FEDTAIL" run "$INI" --procs 2 --out "$WORK/g1" --quiet --set federation.rounds=1 >/dev/null \
    || fail "g1 run exited $?"
"$FEDTAIL" run "$INI" --procs 2 --out "$WORK/g2" --quiet --set federation.rounds=1 \
    --set federation.init="$WORK/g1/final.ckpt" --set run.save_updates=true >/dev/null \
    || fail "save_updates run exited $?"
[ -s "$WORK/g2/updates/round_0001.npy" ] || fail "no updates saved"
[ -s "$WORK/g2/updates/round_0001_counts.npy" ] || fail "no counts saved"
"$FEDTAIL" aggregate --defense fedavg --updates "$WORK/g2/updates/round_0001.npy" \
    --counts "$WORK/g2/updates/round_0001_counts.npy" --out "$WORK/delta.npy" --quiet \
    || fail "fedtail aggregate refused the saved updates"
"$FEDTAIL" aggregate --defense krum --updates "$WORK/g2/updates/round_0001.npy" \
    --counts "$WORK/g2/updates/round_0001_counts.npy" --out "$WORK/krum.npy" \
    --report "$WORK/krum.json" --quiet || fail "aggregate krum refused the saved updates"
$PY - "$WORK" <<'PY' || fail "saved updates do not replay"
import csv, sys
import numpy as np
w = sys.argv[1]
def params(path):
    b = open(path, "rb").read()
    n = int(np.frombuffer(b[44:52], "<u8")[0])      # magic 8, version 4, hash 32, N
    return np.frombuffer(b[len(b) - 32 - 4 * n:len(b) - 32], "<f4")
g1, g2 = params(w + "/g1/final.ckpt"), params(w + "/g2/final.ckpt")
U = np.load(w + "/g2/updates/round_0001.npy")
C = np.load(w + "/g2/updates/round_0001_counts.npy")
D = np.load(w + "/delta.npy")
rows = list(csv.DictReader(open(w + "/g2/metrics.csv")))
assert U.shape == (int(rows[0]["clients"]), g1.size), U.shape
assert C.shape == (U.shape[0],) and (C > 0).all(), C
err = np.abs((g2 - g1) - D).max()
ref = np.abs(((C / C.sum())[:, None] * U).sum(0) - D).max()
print("replay: K x N =", U.shape, "max |(G2 - G1) - aggregate| =", err, "vs numpy fedavg", ref)
assert err <= 1e-5 and ref <= 1e-5, (err, ref)
PY
echo "PASS: attacks and defenses through the federation"
