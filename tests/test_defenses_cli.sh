#!/bin/bash
# `fedtail aggregate` end to end: the issue's golden values (paper code: Krum,
# Multi-Krum, RFA, NDC) through the command line to 1e-4, the JSON report, and
# load-time errors (bad f for K, unknown defense, fltrust without a server update),
# and the Defenses v2 rules (issue 17) on a planted blatant attacker.
# Inputs are written with /usr/bin/python3 + numpy (python3-numpy); skipped (77)
# where that is missing.
set -u
PY=/usr/bin/python3
"$PY" -c "import numpy" 2>/dev/null || { echo "skip: no python3-numpy"; exit 77; }
: "${FEDTAIL:?FEDTAIL not set}"
T=$(mktemp -d /tmp/ft_agg_XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$PY" - "$T" <<'PYEOF' || fail "writing inputs"
import sys, numpy as np
t = sys.argv[1]
U = np.array([[10,0,0],[1,0,0],[0,1,0],[1,1,0],[0,0,1]], dtype=np.float32)
np.save(t + "/U.npy", U)
np.save(t + "/C.npy", np.array([10,10,10,10,20], dtype=np.float32))
np.save(t + "/Ceq.npy", np.array([1,1,1,1,1], dtype=np.int64))
np.save(t + "/D.npy", np.array([[3,4,0]], dtype=np.float32))
np.save(t + "/D1.npy", np.array([1], dtype=np.float32))
np.save(t + "/S.npy", np.array([1,1,0], dtype=np.float32))
PYEOF

check() { # check OUT.npy "a,b,c"
    "$PY" - "$1" "$2" <<'PYEOF' || fail "$1 != $2"
import sys, numpy as np
got = np.load(sys.argv[1]); want = np.array([float(x) for x in sys.argv[2].split(",")])
assert got.dtype == np.float32 and got.shape == want.shape, (got.dtype, got.shape)
assert np.max(np.abs(got - want)) <= 1e-4, (got, want)
PYEOF
}

"$FEDTAIL" aggregate --defense krum --set defense.f=1 --updates "$T/U.npy" --counts "$T/C.npy" \
    --out "$T/krum.npy" --report "$T/krum.json" || fail "krum run"
check "$T/krum.npy" "1,1,0"
"$PY" - "$T/krum.json" <<'PYEOF' || fail "krum report"
import sys, json
r = json.load(open(sys.argv[1]))
assert r["defense"] == "krum" and r["K"] == 5 and r["N"] == 3
c = r["clients"]
assert [x["decision"] for x in c] == ["dropped"] * 3 + ["kept", "dropped"], c
assert abs(c[0]["score"] - 163) < 1e-3 and abs(c[3]["score"] - 2) < 1e-3, c
assert c[3]["weight"] == 1
PYEOF

"$FEDTAIL" aggregate --defense multi-krum --updates "$T/U.npy" --counts "$T/C.npy" \
    --out "$T/mk.npy" --quiet || fail "multi-krum run"
check "$T/mk.npy" "0.4,0.4,0.4"
"$FEDTAIL" aggregate --defense rfa --updates "$T/U.npy" --counts "$T/Ceq.npy" \
    --out "$T/rfa.npy" --quiet || fail "rfa run"
check "$T/rfa.npy" "0.8614,0.5313,0.1338"
"$FEDTAIL" aggregate --defense norm-clipping --set defense.norm_bound=2 --updates "$T/D.npy" \
    --counts "$T/D1.npy" --out "$T/ndc.npy" --report "$T/ndc.json" --quiet || fail "ndc run"
check "$T/ndc.npy" "1.2,1.6,0"
grep -q '"decision": "clipped", "clip_factor": 0.4' "$T/ndc.json" || fail "ndc report"
grep -q '"selects": false' "$T/ndc.json" || fail "ndc report: selects"
"$FEDTAIL" aggregate --defense fltrust --updates "$T/U.npy" --counts "$T/C.npy" \
    --server-update "$T/S.npy" --out "$T/flt.npy" --quiet || fail "fltrust run"

# Defenses v2 (issue 17) through the command line: a planted blatant attacker (row 4:
# -10x row 0) among 10 honest updates. rlr and crfl against inline NumPy ports of the
# references; the filtering rules (dnc, signguard, flame, rflbat, bucketing+krum) give
# the attacker no weight; every output finite.
"$PY" - "$T" <<'PYEOF' || fail "writing v2 inputs"
import sys, numpy as np
t = sys.argv[1]
r = np.random.default_rng(5)
mu = r.normal(size=40)
U = (mu + 0.3 * r.normal(size=(11, 40))).astype(np.float32)
U[4] = -10 * U[0]
C = r.integers(1, 10, size=11).astype(np.float32)
np.save(t + "/V.npy", U)
np.save(t + "/VC.npy", C)
avg = np.average(U.astype(np.float64), axis=0, weights=C)
lr = np.where(np.abs(np.sign(U).sum(0)) >= 4, 1.0, -1.0)
np.save(t + "/rlr_want.npy", lr * avg)
np.save(t + "/crfl_want.npy", avg * min(1.0, 1.0 / np.linalg.norm(avg)))
PYEOF
"$FEDTAIL" aggregate --defense rlr --set defense.theta=4 --updates "$T/V.npy" \
    --counts "$T/VC.npy" --out "$T/rlr.npy" --quiet || fail "rlr run"
check "$T/rlr.npy" "$("$PY" -c "import numpy as n,sys; print(','.join('%.9g' % x for x in n.load(sys.argv[1])))" "$T/rlr_want.npy")"
"$FEDTAIL" aggregate --defense crfl --set defense.norm_bound=1 --set defense.stddev=0 \
    --updates "$T/V.npy" --counts "$T/VC.npy" --out "$T/crfl.npy" --quiet || fail "crfl run"
check "$T/crfl.npy" "$("$PY" -c "import numpy as n,sys; print(','.join('%.9g' % x for x in n.load(sys.argv[1])))" "$T/crfl_want.npy")"
for spec in "dnc --set defense.f=1 --set defense.dnc_b=20" "signguard" "flame" "rflbat" \
    "bucketing --set defense.inner=krum --set defense.f=1" "lasa" "lasa --layers 20,4b,12,4b"; do
    name=${spec%% *}
    # shellcheck disable=SC2086
    "$FEDTAIL" aggregate --defense $spec --updates "$T/V.npy" --counts "$T/VC.npy" \
        --out "$T/$name.npy" --report "$T/$name.json" --quiet || fail "$name run"
    "$PY" - "$T/$name.npy" "$T/$name.json" <<'PYEOF' || fail "$name: attacker kept or output not finite"
import sys, json, numpy as np
out = np.load(sys.argv[1]); r = json.load(open(sys.argv[2]))
assert out.shape == (40,) and np.all(np.isfinite(out)), out
c = r["clients"][4]
assert c["decision"] == "dropped" and c["weight"] == 0, c
assert abs(sum(x["weight"] for x in r["clients"]) - 1) < 1e-5, r["clients"]
PYEOF
done

# lasa reads --layers (the layer-wise filters then differ from one whole-vector layer),
# and a layout that does not sum to N is refused with the option named.
"$FEDTAIL" aggregate --defense lasa --updates "$T/V.npy" --counts "$T/VC.npy" \
    --out "$T/lasa1.npy" --quiet || fail "lasa one layer"
"$FEDTAIL" aggregate --defense lasa --layers 20,4b,12,4b --updates "$T/V.npy" \
    --counts "$T/VC.npy" --out "$T/lasa4.npy" --quiet || fail "lasa four layers"
"$PY" -c "import numpy as n,sys; sys.exit(n.allclose(n.load(sys.argv[1]), n.load(sys.argv[2])))" \
    "$T/lasa1.npy" "$T/lasa4.npy" || fail "lasa: --layers changed nothing"
err=$("$FEDTAIL" aggregate --defense lasa --layers 20,4b,12 --updates "$T/V.npy" \
    --counts "$T/VC.npy" --out "$T/bad.npy" 2>&1) && fail "lasa: --layers summing to 36 accepted"
echo "$err" | grep -q "layers.*sum to 36" || fail "lasa --layers message: $err"

# Load-time errors: clear messages, non-zero exit, no output file.
err=$("$FEDTAIL" aggregate --defense krum --set defense.f=2 --updates "$T/U.npy" \
    --counts "$T/C.npy" --out "$T/bad.npy" 2>&1) && fail "krum f=2 with K=5 accepted"
echo "$err" | grep -q "K > 2f + 2" || fail "krum message: $err"
[ ! -e "$T/bad.npy" ] || fail "output written on error"
err=$("$FEDTAIL" aggregate --defense nosuch --updates "$T/U.npy" --counts "$T/C.npy" \
    --out "$T/bad.npy" 2>&1) && fail "unknown defense accepted"
echo "$err" | grep -q "bulyan" || fail "unknown-defense message lacks the valid names: $err"
err=$("$FEDTAIL" aggregate --defense fltrust --updates "$T/U.npy" --counts "$T/C.npy" \
    --out "$T/bad.npy" 2>&1) && fail "fltrust without server update accepted"
echo "$err" | grep -q "server-update" || fail "fltrust message: $err"
err=$("$FEDTAIL" aggregate --defense median --updates "$T/U.npy" --counts "$T/D1.npy" \
    --out "$T/bad.npy" 2>&1) && fail "count mismatch accepted"
echo "$err" | grep -q "sample counts" || fail "count message: $err"
echo "ok"
