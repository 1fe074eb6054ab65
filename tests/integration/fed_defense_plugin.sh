#!/bin/bash
# A defense plug-in end to end (issue 20, docs/write-a-defense.md): the example
# examples/defense_median.c built with the documented `cc -shared` line passes
# `fedtail selftest-defense`; a short federated run with --set defense.plugin=
# completes and its accuracy columns equal the built-in median's on the same run
# (the plug-in computes the same coordinate-wise median); and the errors: a missing
# file, a .so without the symbol, a wrong ABI version, defense.name naming another
# rule, and a plug-in that breaks the contract (selftest exits 1).
source "$(dirname "$0")/fed_lib.sh"
SRC=${FT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
command -v cc >/dev/null || { echo "skip: no cc"; exit 77; }
cd "$WORK"

# 0. The page's example is the file, and its build line is the one below.
DOC="$SRC/docs/write-a-defense.md"
sed -n '/^```c$/,/^```$/p' "$DOC" | sed '1d;$d' >doc.c
cmp -s doc.c "$SRC/examples/defense_median.c" || fail "docs/write-a-defense.md's example is not examples/defense_median.c"
grep -qxF 'cc -shared -fPIC -O2 -I include examples/defense_median.c -o defense_median.so -lm' "$DOC" ||
    fail "docs/write-a-defense.md lost the documented cc line"

# 1. The documented build line (from the source tree), the self-test.
(cd "$SRC" && cc -shared -fPIC -O2 -I include examples/defense_median.c -o "$WORK/defense_median.so" -lm) ||
    fail "the documented cc line does not build the example"
"$FEDTAIL" selftest-defense ./defense_median.so >st.txt 2>st.err || fail "selftest: $(cat st.txt st.err)"
grep -q "passes the defense contract" st.txt || fail "selftest output: $(cat st.txt)"

# 2. A federated run with the plug-in equals one with the built-in median.
mlp_ini exp.ini clients=10 per_round=5 train=400
cat >> exp.ini <<INI
[run]
seed = 5
INI
"$FEDTAIL" run exp.ini --procs 2 --out plug --quiet --no-report \
    --set defense.plugin=./defense_median.so >/dev/null 2>plug.err || fail "plug-in run: $(cat plug.err)"
"$FEDTAIL" run exp.ini --procs 2 --out builtin --quiet --no-report \
    --set defense.name=median >/dev/null 2>builtin.err || fail "median run: $(cat builtin.err)"
/usr/bin/env python3 - plug/metrics.csv builtin/metrics.csv <<'PY' || fail "plug-in and median differ"
import csv, sys
a, b = (list(csv.DictReader(open(p))) for p in sys.argv[1:3])
assert len(a) == len(b) == 2, (len(a), len(b))
cols = [k for k in a[0] if "acc" in k or k == "main_loss"]
assert cols, a[0].keys()
for ra, rb in zip(a, b):
    for k in cols:
        assert ra[k] == rb[k], (ra["round"], k, ra[k], rb[k])
print("equal:", cols)
PY
grep -q "median-plugin" plug/events.jsonl plug/*.json 2>/dev/null ||
    grep -rq "median-plugin" plug/ || fail "the plug-in's name is nowhere in the run's files"

# 3. Errors, each naming the file.
expect_error() { # expect_error WHAT PATTERN CMD...
    local what=$1 pat=$2
    shift 2
    if "$@" >err.out 2>&1; then fail "$what: accepted"; fi
    grep -q -- "$pat" err.out || fail "$what: message: $(cat err.out)"
}
expect_error "missing file" "nothere.so: cannot load" \
    "$FEDTAIL" selftest-defense ./nothere.so
expect_error "missing file (run)" "nothere.so: cannot load" \
    "$FEDTAIL" run exp.ini --out bad1 --quiet --no-report --set defense.plugin=./nothere.so
[ ! -e bad1/metrics.csv ] || fail "a run started with a missing plug-in"
echo 'int not_a_defense(void) { return 0; }' >nosym.c
cc -shared -fPIC nosym.c -o nosym.so
expect_error "missing symbol" "nosym.so: not a defense plug-in: it does not export fedtail_defense_plugin" \
    "$FEDTAIL" selftest-defense ./nosym.so
/usr/bin/python3 -c "import numpy as np
np.save('u.npy', np.array([[1,5,0],[2,-1,9],[30,2,1],[4,4,4]], dtype=np.float32))
np.save('c.npy', np.ones(4, dtype=np.float32))" || fail "numpy"
"$FEDTAIL" aggregate --set defense.plugin=./defense_median.so --updates u.npy --counts c.npy \
    --out po.npy >/dev/null 2>agg.err || fail "aggregate with the plug-in: $(cat agg.err)"
"$FEDTAIL" aggregate --defense median --updates u.npy --counts c.npy --out mo.npy >/dev/null ||
    fail "aggregate median"
cmp po.npy mo.npy || fail "fedtail aggregate: the plug-in's median differs from median's"
expect_error "missing symbol (aggregate)" "nosym.so: not a defense plug-in" \
    "$FEDTAIL" aggregate --set defense.plugin=./nosym.so --updates u.npy --counts c.npy --out o.npy
sed 's/\.abi_version = FEDTAIL_DEFENSE_ABI_VERSION/.abi_version = FEDTAIL_DEFENSE_ABI_VERSION + 1/' \
    "$SRC/examples/defense_median.c" >abi.c
cc -shared -fPIC -I "$SRC/include" abi.c -o abi.so -lm
expect_error "wrong ABI" "abi.so: defense plug-in ABI version 2, this fedtail speaks 1" \
    "$FEDTAIL" selftest-defense ./abi.so
expect_error "defense.name and defense.plugin" "leave defense.name out or say plugin" \
    "$FEDTAIL" run exp.ini --out bad2 --quiet --no-report \
    --set defense.plugin=./defense_median.so --set defense.name=krum
expect_error "defense.name = plugin without a file" "a plug-in needs defense.plugin" \
    "$FEDTAIL" selftest-defense --defense plugin
# defense.name = plugin is accepted (the documented alternative)
"$FEDTAIL" selftest-defense ./defense_median.so --set defense.name=plugin >/dev/null 2>&1 ||
    fail "defense.name = plugin refused"
# A plug-in whose weights do not sum to 1 fails the self-test (exit status 1).
sed 's|\.weight = (float)(share\[i\] / (double)N)|.weight = (float)(2 * share[i] / (double)N)|' \
    "$SRC/examples/defense_median.c" >badw.c
cc -shared -fPIC -I "$SRC/include" badw.c -o badw.so -lm
set +e
"$FEDTAIL" selftest-defense ./badw.so >badw.txt 2>&1
rc=$?
set -e
[ "$rc" = 1 ] || fail "a contract-breaking plug-in: exit $rc: $(cat badw.txt)"
grep -q "weights sum to" badw.txt || fail "badw message: $(cat badw.txt)"
# 4. cmake --install puts the header and fedtail.pc in place; the example builds
# against the installed header alone, through pkg-config.
if [ -n "${FT_BUILD_DIR:-}" ] && command -v pkg-config >/dev/null; then
    cmake --install "$FT_BUILD_DIR" --prefix "$WORK/prefix" >install.log 2>&1 ||
        fail "cmake --install: $(cat install.log)"
    [ -f "$WORK/prefix/include/fedtail/defense.h" ] || fail "no installed fedtail/defense.h"
    export PKG_CONFIG_PATH="$WORK/prefix/lib/pkgconfig"
    pkg-config --exists fedtail || fail "pkg-config does not find fedtail.pc"
    cflags=$(echo $(pkg-config --cflags fedtail))
    [ "$cflags" = "-I$WORK/prefix/include" ] || [ "$(cd "${cflags#-I}" && pwd)" = "$WORK/prefix/include" ] ||
        fail "fedtail.pc's include dir: $cflags"
    # shellcheck disable=SC2046
    cc -shared -fPIC $cflags "$WORK/prefix/share/fedtail/examples/defense_median.c" \
        -o installed.so $(pkg-config --libs fedtail) || fail "building against the installed header"
    "$FEDTAIL" selftest-defense ./installed.so >/dev/null 2>&1 || fail "installed build: selftest"
fi
echo "ok"
