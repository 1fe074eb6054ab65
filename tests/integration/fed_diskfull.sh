#!/bin/bash
# The run directory cannot be written:
#  - a file where the output directory should be: a clear error naming the path;
#  - the disk fills up mid-run (a 48 KiB tmpfs in a private mount namespace): the run
#    stops with an error naming the file and "No space left on device"; metrics.csv
#    and events.jsonl end with a complete line, every checkpoint on disk is whole (its
#    SHA-256 verifies); after space is freed, `fedtail run --resume` finishes the run
#    with the metrics of an undisturbed one.
# Needs `unshare -m` and tmpfs (root); skipped (77) where unavailable.
if [ -z "${FT_IN_NS:-}" ]; then
    if ! unshare -m --propagation private true 2>/dev/null; then
        echo "SKIP: unshare -m unavailable (needs root)"
        exit 77
    fi
    FT_IN_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
source "$(dirname "$0")/fed_lib.sh"
trap 'umount "$WORK/mnt" 2>/dev/null; rm -rf "$WORK"' EXIT
cat > "$WORK/tiny.ini" <<INI
[federation]
num_clients = 6
clients_per_round = 3
rounds = 40
local_epochs = 1
batch_size = 16
lr = 0.05
heartbeat_s = 0.5
round_timeout = 60
[data]
dataset = synthetic
synthetic_train = 300
synthetic_test = 60
synthetic_shape = 1,8,8
[model]
name = mlp
hidden = 16
[run]
seed = 5
checkpoint_every = 3
INI
INI=$WORK/tiny.ini

# 1. A file where the directory should be.
touch "$WORK/notadir"
if "$FEDTAIL" run "$INI" --procs 1 --out "$WORK/notadir/run" --quiet --no-report 2> "$WORK/e1.log"; then
    fail "run into a path under a regular file succeeded"
fi
grep -q "$WORK/notadir" "$WORK/e1.log" || { cat "$WORK/e1.log"; fail "the error does not name the path"; }

# 2. The disk fills up mid-run.
"$FEDTAIL" run "$INI" --procs 1 --out "$WORK/ref" --quiet --no-report || fail "reference run failed"
mkdir -p "$WORK/mnt"
mount -t tmpfs -o size=48k tmpfs "$WORK/mnt" || { echo "SKIP: cannot mount tmpfs"; exit 77; }
status=0
"$FEDTAIL" run "$INI" --procs 1 --out "$WORK/mnt/run" --quiet --no-report 2> "$WORK/e2.log" || status=$?
cat "$WORK/e2.log"
[ $status -ne 0 ] || fail "the run succeeded on a full disk (make the tmpfs smaller?)"
grep -Eq "^fedtail: $WORK/mnt/run/(metrics.csv|events.jsonl|checkpoint-[ab].ckpt): .*No space left on device" "$WORK/e2.log" ||
    fail "the error does not name the file and the cause"
R=$WORK/mnt/run
tail -c 1 "$R/metrics.csv" | od -c | grep -q '\\n' || fail "metrics.csv ends mid-line"
python3 - "$R" <<'PY' || fail "files damaged by the full disk"
import csv, glob, hashlib, json, os, sys
d = sys.argv[1]
rows = list(csv.reader(open(os.path.join(d, "metrics.csv"))))
assert len(rows) >= 2 and all(len(r) == len(rows[0]) for r in rows), "ragged metrics.csv"
for line in open(os.path.join(d, "events.jsonl")):
    json.loads(line)
ck = glob.glob(os.path.join(d, "checkpoint-?.ckpt"))
assert ck, "no checkpoint survived"
for f in ck:
    b = open(f, "rb").read()
    assert hashlib.sha256(b[:-32]).digest() == b[-32:], f + " is torn"
tmp = [f for f in os.listdir(d) if ".tmp." in f]
assert not tmp, "temporary files left: %s" % tmp
print("metrics rows before the disk filled:", len(rows) - 1, "; checkpoints:", [os.path.basename(f) for f in ck])
PY
# Free space, resume: the run completes as if nothing happened.
mount -o remount,size=4m "$WORK/mnt" || fail "cannot grow the tmpfs"
"$FEDTAIL" run --resume "$R" --procs 1 --quiet --no-report || fail "resume after the disk was freed failed"
results "$WORK/ref/metrics.csv" > "$WORK/ref.results"
results "$R/metrics.csv" > "$WORK/run.results"
diff "$WORK/ref.results" "$WORK/run.results" || fail "metrics differ after resuming"
echo "PASS: unwritable and full output directories: clear errors, whole files, resumable"
