#!/bin/bash
# One short end-to-end run under valgrind memcheck — the coordinator and, through
# --trace-children, its client process: 0 errors and no definite leaks. It runs with
# security.curve (ZAP thread, socket monitors) and a checkpoint every round, then a
# --resume of the finished run (checkpoint restore path).
# Skipped (77) without valgrind, on an ASan build (the two do not mix), and on a CUDA
# build (valgrind takes minutes to load the CUDA libraries; build with
# -DFT_CUDA=OFF to run it).
source "$(dirname "$0")/fed_lib.sh"
command -v valgrind >/dev/null || { echo "SKIP: valgrind not installed"; exit 77; }
ldd "$FEDTAIL" > "$WORK/ldd.txt" # (not piped into grep -q: SIGPIPE under pipefail)
if grep -q libasan "$WORK/ldd.txt"; then echo "SKIP: ASan build"; exit 77; fi
if grep -q libcudart "$WORK/ldd.txt"; then echo "SKIP: CUDA build (slow under valgrind)"; exit 77; fi
cat > "$WORK/tiny.ini" <<INI
[federation]
num_clients = 4
clients_per_round = 2
rounds = 2
local_epochs = 1
batch_size = 16
lr = 0.05
heartbeat_s = 5
round_timeout = 120
[data]
dataset = synthetic
synthetic_train = 200
synthetic_test = 50
synthetic_shape = 1,8,8
[model]
name = mlp
hidden = 16
[defense]
name = foolsgold
[run]
seed = 3
checkpoint_every = 1
[security]
curve = true
INI
VG=(valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
    --trace-children=yes --child-silent-after-fork=yes)
run_vg() { # LOG ARGS...
    local log=$1
    shift
    if ! "${VG[@]}" "$FEDTAIL" "$@" > "$log" 2>&1; then
        grep -E "==[0-9]+== (Invalid|Conditional|Syscall|.*definitely lost|ERROR SUMMARY)" -A12 "$log" | head -80
        fail "valgrind reported errors (or the run failed): fedtail $*"
    fi
    local n
    n=$(grep -c "ERROR SUMMARY: 0 errors" "$log" || true)
    [ "$n" -ge 2 ] || { tail -20 "$log"; fail "expected the coordinator and a client under valgrind, saw $n clean summaries"; }
}
run_vg "$WORK/run.log" run "$WORK/tiny.ini" --procs 1 --out "$WORK/run" --quiet --no-report
[ "$(wc -l < "$WORK/run/metrics.csv")" -eq 3 ] || fail "the run under valgrind did not write 2 rows"
# --resume of the finished run restores the last checkpoint (nothing left to train:
# only the coordinator's own summary line is expected, so check it alone).
"${VG[@]}" "$FEDTAIL" run --resume "$WORK/run" --procs 1 --quiet --no-report > "$WORK/resume.log" 2>&1 ||
    { grep -E "==[0-9]+== " "$WORK/resume.log" | head -60; fail "valgrind reported errors on --resume"; }
grep -q "ERROR SUMMARY: 0 errors" "$WORK/resume.log" || fail "no valgrind summary for --resume"
echo "PASS: valgrind memcheck: 0 errors, no definite leaks (run with CURVE and checkpoints, and --resume)"
