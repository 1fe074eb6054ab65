#!/bin/bash
# fedtail certify (CRFL's test-time certification) end to end: a short federated run
# under defense.name = crfl, then M noisy copies of its final model vote on the test
# points. Checks: every point's radius in the CSV is the NumPy port's radius
# (tests/fixtures/defenses/gen_crfl_certify.py, the authors' certify code) of its vote
# counts under the stated threat model, for both bounds; the certified accuracy at
# each radius is the CSV's count and falls with the radius; the votes add up; a rerun
# is identical (the copies' noise is keyed by run.seed); a model not trained with crfl,
# a missing --model and a bad --bound are refused with the reason.
source "$(dirname "$0")/fed_lib.sh"
PY=/usr/bin/python3
FIX=${FT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/fixtures/defenses
mlp_ini "$WORK/c.ini" rounds=3
cat >> "$WORK/c.ini" <<INI
[defense]
name = crfl
norm_bound = 20
stddev = 0.01
[run]
seed = 3
INI
"$FEDTAIL" run "$WORK/c.ini" --procs 2 --out "$WORK/run" --quiet >/dev/null 2>"$WORK/run.err" ||
    fail "crfl run failed: $(cat "$WORK/run.err")"
threat=(--attackers 1 --attack-round 2 --round 3 --gamma 8 --poison-frac 0.5 --weight 0.125
        --local-iters 5)
for bound in hoeffding clopper-pearson; do
    "$FEDTAIL" certify "$WORK/c.ini" --model "$WORK/run/final.ckpt" --samples 40 --sigma 0.02 \
        --alpha 0.01 --bound $bound --test-n 60 --radii 0,0.0005,0.001,0.0015,0.002 "${threat[@]}" \
        --csv "$WORK/$bound.csv" --json >"$WORK/$bound.json" 2>"$WORK/$bound.err" ||
        fail "certify ($bound) failed: $(cat "$WORK/$bound.err")"
    $PY - "$FIX" "$WORK/$bound.csv" "$WORK/$bound.json" $bound <<'PY' || fail "certify ($bound)"
import csv, json, math, sys
sys.path.insert(0, sys.argv[1])
import gen_crfl_certify as ref
rows = list(csv.DictReader(open(sys.argv[2])))
summ = json.load(open(sys.argv[3]))
how = 0 if sys.argv[4] == "hoeffding" else 1
assert len(rows) == 60 == summ["test_n"], (len(rows), summ)
t = dict(sigma_train=0.01, sigma_test=0.02, rho=20.0, eta=0.05, tau=5.0, T=3, t_adv=2, R=1,
         w2=0.125 ** 2, gamma=8.0, q=0.5)
for r in rows:
    na, nb = int(r["n_a"]), int(r["n_b"])
    assert na + nb <= 40 and na >= nb, r
    pa, pb = ref.bounds(na, nb, 40, 0.01, how)
    want = ref.radius(t, pa, pb)
    got = float(r["radius"])
    assert abs(got - want) <= 1e-6 * (1 + abs(want)), (r, want)
    assert int(r["correct"]) == (r["top"] == r["label"]), r
cert = summ["certified"]
for c in cert:
    n = sum(1 for r in rows if int(r["correct"]) and float(r["radius"]) >= c["radius"])
    assert abs(c["accuracy"] - n / 60) < 1e-8, (c, n)
assert all(a["accuracy"] >= b["accuracy"] for a, b in zip(cert, cert[1:])), cert
assert cert[0]["accuracy"] <= summ["smoothed_accuracy"] <= 1, summ
assert sum(float(r["radius"]) > 0 for r in rows) > 10, "too few certified points to check"
PY
done
"$FEDTAIL" certify "$WORK/c.ini" --model "$WORK/run/final.ckpt" --samples 40 --sigma 0.02 \
    --alpha 0.01 --test-n 60 --radii 0,0.0005,0.001,0.0015,0.002 "${threat[@]}" --csv "$WORK/again.csv" \
    --json >/dev/null 2>&1 || fail "rerun failed"
cmp -s "$WORK/hoeffding.csv" "$WORK/again.csv" || fail "a rerun gives other votes"
# refusals, each with its reason
if "$FEDTAIL" certify "$WORK/c.ini" --set defense.name=fedavg --model "$WORK/run/final.ckpt" \
    >/dev/null 2>"$WORK/e1"; then fail "certified a model not trained with crfl"; fi
grep -q "defense.name" "$WORK/e1" || fail "no reason: $(cat "$WORK/e1")"
if "$FEDTAIL" certify "$WORK/c.ini" >/dev/null 2>"$WORK/e2"; then fail "ran without --model"; fi
grep -q -- "--model" "$WORK/e2" || fail "no reason: $(cat "$WORK/e2")"
if "$FEDTAIL" certify "$WORK/c.ini" --model "$WORK/run/final.ckpt" --bound wald \
    >/dev/null 2>"$WORK/e3"; then fail "took --bound wald"; fi
grep -q "clopper-pearson" "$WORK/e3" || fail "no reason: $(cat "$WORK/e3")"
echo "PASS: fedtail certify gives the reference's radii"
