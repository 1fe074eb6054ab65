#!/bin/bash
# Bad input refused at once with a message naming the file (issue 16, item 6):
#  - a malformed *.pub in security.authorized_clients (beside a good one): the
#    coordinator names that file and says what is wrong with it;
#  - a key set twice in one experiment file: the file, both lines and the key (--set
#    still overrides a key the file sets once);
#  - IDX images of a shape the model cannot take (8x8 for lenet5), and a test set of
#    another shape than the training set: refused at set-up naming the image file,
#    its HxWxC and the model (before: a layer error, or a coordinator/client "model
#    mismatch");
#  - a refused experiment leaves no run directory: fedtail run and coordinator,
#    with --out and with the default runs/run-DATE, refused at the config, at data
#    loading, at the bind, with security.curve's local keys, and in a run.compare
#    variant; an existing directory (and what is in it) stays.
source "$(dirname "$0")/fed_lib.sh"
INI=$(small_ini)

# expect_fail TEXT CMD...: CMD exits non-zero (not by the timeout), its output has TEXT.
expect_fail() {
    local text=$1
    shift
    local rc=0
    timeout 60 "$@" > "$WORK/out.log" 2>&1 || rc=$?
    [ "$rc" -ne 124 ] || fail "hung: $*"
    [ "$rc" -ne 0 ] || { cat "$WORK/out.log"; fail "accepted: $*"; }
    grep -qF -- "$text" "$WORK/out.log" ||
        { cat "$WORK/out.log"; fail "the message does not say '$text': $*"; }
}

# A malformed key in the allow-list, beside a good one.
K=$WORK/keys
umask 022
"$FEDTAIL" keygen --out "$K" --name server > /dev/null
"$FEDTAIL" keygen --out "$K" --name alice > /dev/null
mkdir "$K/authorized"
cp "$K/alice.pub" "$K/authorized/"
echo "not-a-key" > "$K/authorized/bob.pub"
CURVE=(--set security.curve=true --set "security.server_secret_key=$K/server.secret"
       --set "security.authorized_clients=$K/authorized")
expect_fail "$K/authorized/bob.pub: key of 9 characters, expected 40 (Z85)" \
    "$FEDTAIL" coordinator "$INI" "${CURVE[@]}" --bind tcp://127.0.0.1:1 --out "$WORK/co1" --quiet
grep -qF "key security.authorized_clients = '$K/authorized'" "$WORK/out.log" ||
    { cat "$WORK/out.log"; fail "the message does not name the key"; }
grep -c "security.authorized_clients" "$WORK/out.log" | grep -qx 1 ||
    { cat "$WORK/out.log"; fail "the message repeats itself (formatted into its own buffer)"; }
: > "$K/authorized/bob.pub"
expect_fail "$K/authorized/bob.pub: key of 0 characters, expected 40 (Z85)" \
    "$FEDTAIL" coordinator "$INI" "${CURVE[@]}" --bind tcp://127.0.0.1:1 --out "$WORK/co1" --quiet
rm "$K/authorized/bob.pub"

# A key twice in one file.
cp "$INI" "$WORK/dup.ini"
printf '[federation]\nrounds = 5\n' >> "$WORK/dup.ini"
line=$(wc -l < "$WORK/dup.ini")
expect_fail "$WORK/dup.ini:$line: key federation.rounds is already set on line 4" \
    "$FEDTAIL" run "$WORK/dup.ini" --help
"$FEDTAIL" run "$INI" --set federation.rounds=1 --set federation.rounds=2 --procs 1 \
    --out "$WORK/over" --quiet --no-report > /dev/null 2>&1 || fail "--set over the file failed"
[ "$(wc -l < "$WORK/over/metrics.csv")" -eq 3 ] || fail "--set federation.rounds=2 did not win"

# Images of the wrong shape, as IDX files written here (random pixels).
mkidx() { # DIR TRAIN_HxW TEST_HxW
    mkdir -p "$1"
    python3 - "$@" <<'PY'
import random, struct, sys
d = sys.argv[1]
for split, shape, n in (("train", sys.argv[2], 120), ("t10k", sys.argv[3], 40)):
    h, w = map(int, shape.split("x"))
    rng = random.Random(n)
    with open(f"{d}/{split}-images-idx3-ubyte", "wb") as f:
        f.write(struct.pack(">IIII", 0x803, n, h, w) + bytes(rng.randrange(256) for _ in range(n * h * w)))
    with open(f"{d}/{split}-labels-idx1-ubyte", "wb") as f:
        f.write(struct.pack(">II", 0x801, n) + bytes(rng.randrange(10) for _ in range(n)))
PY
}
mkidx "$WORK/m8" 8x8 8x8
mkidx "$WORK/m32" 28x28 32x32
MN=(--set data.dataset=mnist --set federation.num_clients=4 --set federation.clients_per_round=2
    --set federation.min_size=1 --set federation.rounds=1)
expect_fail "$WORK/m8/t10k-images-idx3-ubyte: images are 8x8x1, the model \`lenet5\` cannot take them: layer 3" \
    "$FEDTAIL" run "$INI" "${MN[@]}" --set "data.path=$WORK/m8" --procs 1 --out "$WORK/r8" --quiet --no-report
grep -qF "(model.name at $INI:$(grep -n "^name = lenet5" "$INI" | cut -d: -f1))" "$WORK/out.log" || { cat "$WORK/out.log"; fail "model.name not named"; }
expect_fail "$WORK/m8/train-images-idx3-ubyte: images are 8x8x1, the model \`lenet5\` cannot take them" \
    "$FEDTAIL" train "$INI" "${MN[@]}" --set "data.path=$WORK/m8" --out "$WORK/t8" --quiet
expect_fail "$WORK/m32/train-images-idx3-ubyte: images are 28x28x1, the model \`lenet5\` expects 32x32x1 (the test set, $WORK/m32/t10k-images-idx3-ubyte)" \
    "$FEDTAIL" run "$INI" "${MN[@]}" --set "data.path=$WORK/m32" --procs 1 --out "$WORK/r32" --quiet --no-report
expect_fail "$WORK/m32/t10k-images-idx3-ubyte: images are 32x32x1, the model \`lenet5\` expects 28x28x1 (the training set, $WORK/m32/train-images-idx3-ubyte)" \
    "$FEDTAIL" train "$INI" "${MN[@]}" --set "data.path=$WORK/m32" --out "$WORK/t32" --quiet

# No run directory after a refused experiment.
mkdir "$WORK/cwd"
cd "$WORK/cwd"
no_dirs() { # what the command was
    [ -z "$(ls -A "$WORK/cwd")" ] || { ls -lR "$WORK/cwd"; fail "a directory was left: $1"; }
}
BAD_DATA=(--set data.dataset=mnist --set data.path="$WORK/nonexistent")
expect_fail "federation.lr = '-1': must be > 0" "$FEDTAIL" run "$INI" --set federation.lr=-1 --procs 1 --quiet
no_dirs "run, bad lr, default directory"
expect_fail "federation.lr = '-1': must be > 0" "$FEDTAIL" run "$INI" --set federation.lr=-1 --procs 1 --quiet --out out/run
no_dirs "run, bad lr, --out"
expect_fail "unknown attack 'nosuch'" "$FEDTAIL" run "$INI" --set attack.method=nosuch --procs 1 --quiet
no_dirs "run, unknown attack"
expect_fail "data.path = $WORK/nonexistent: directory not found" "$FEDTAIL" run "$INI" "${BAD_DATA[@]}" --procs 1 --quiet
no_dirs "run, missing data"
expect_fail "data.path = $WORK/nonexistent: directory not found" "$FEDTAIL" run "$INI" "${BAD_DATA[@]}" \
    --set security.curve=true --procs 1 --quiet --out a/b
no_dirs "run, missing data, security.curve (local keys)"
expect_fail "run.compare (second): key federation.lr = '-3': must be > 0" "$FEDTAIL" run "$INI" \
    --set "run.compare=first: federation.lr=0.1; second: federation.lr=-3" --procs 1 --quiet
no_dirs "run.compare, a bad second variant"
expect_fail "federation.lr = '-1': must be > 0" "$FEDTAIL" coordinator "$INI" --set federation.lr=-1 \
    --bind tcp://127.0.0.1:1 --quiet
no_dirs "coordinator, bad lr, default directory"
expect_fail "data.path = $WORK/nonexistent: directory not found" "$FEDTAIL" coordinator "$INI" \
    "${BAD_DATA[@]}" --bind tcp://127.0.0.1:1 --quiet --out c/d
no_dirs "coordinator, missing data, --out"
expect_fail "cannot bind tcp://192.0.2.1:5555" "$FEDTAIL" coordinator "$INI" --bind tcp://192.0.2.1:5555 \
    --quiet --out c/d
no_dirs "coordinator, bind refused"
mkdir mine
echo keep > mine/note.txt
expect_fail "federation.lr = '-1': must be > 0" "$FEDTAIL" run "$INI" --set federation.lr=-1 --procs 1 --quiet --out mine
expect_fail "cannot bind tcp://192.0.2.1:5555" "$FEDTAIL" coordinator "$INI" --bind tcp://192.0.2.1:5555 \
    --quiet --out mine
[ "$(ls -A mine)" = note.txt ] || { ls -l mine; fail "an existing directory was changed"; }
cd "$WORK"

echo "PASS: bad input refused, each message naming the file"
