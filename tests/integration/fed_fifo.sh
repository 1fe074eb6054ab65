#!/bin/bash
# A FIFO where fedtail reads a file is refused at once, naming it, instead of
# blocking in open() until a writer comes: federation.init, an IDX data file, the
# experiment INI, a resumable checkpoint. `timeout` only guards the script against
# a hang (exit 124 is a failure here); the assertions are the exit status and the
# message.
source "$(dirname "$0")/fed_lib.sh"
INI=$(small_ini)
mkfifo "$WORK/init.ckpt" "$WORK/exp.ini"
mkdir "$WORK/mnist"
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    mkfifo "$WORK/mnist/$f"
done

# refused FILE CMD...: CMD exits non-zero (not by the timeout) saying FILE is a FIFO.
refused() {
    local file=$1
    shift
    local rc=0
    timeout 60 "$@" > "$WORK/out.log" 2>&1 || rc=$?
    [ "$rc" -ne 124 ] || fail "hung on the FIFO $file: $*"
    [ "$rc" -ne 0 ] || { cat "$WORK/out.log"; fail "accepted the FIFO $file: $*"; }
    grep -q "$file: not a regular file (a FIFO)" "$WORK/out.log" ||
        { cat "$WORK/out.log"; fail "the message does not name the FIFO $file"; }
}

refused "$WORK/init.ckpt" "$FEDTAIL" run "$INI" --set federation.init="$WORK/init.ckpt" \
    --procs 1 --out "$WORK/r1" --quiet --no-report
refused "$WORK/mnist/train-images-idx3-ubyte" "$FEDTAIL" train "$INI" --set data.dataset=mnist \
    --set data.path="$WORK/mnist" --out "$WORK/r2" --quiet
refused "$WORK/exp.ini" "$FEDTAIL" run "$WORK/exp.ini" --out "$WORK/r3" --quiet --no-report

# A resumable checkpoint replaced by a FIFO: skipped like a damaged file, naming it;
# the other slot is used.
"$FEDTAIL" run "$INI" --set federation.rounds=4 --set run.checkpoint_every=2 --procs 2 \
    --out "$WORK/run" --quiet --no-report || fail "the run failed"
newest=$(grep '"event":"checkpoint"' "$WORK/run/events.jsonl" | tail -1 | sed 's/.*"file":"\([^"]*\)".*/\1/')
rm "$WORK/run/$newest"
mkfifo "$WORK/run/$newest"
rc=0
timeout 60 "$FEDTAIL" run --resume "$WORK/run" --procs 2 --no-report > "$WORK/resume.log" 2>&1 || rc=$?
[ "$rc" -ne 124 ] || fail "--resume hung on the FIFO $newest"
[ "$rc" -eq 0 ] || { cat "$WORK/resume.log"; fail "--resume failed (exit $rc)"; }
grep -q "$newest: not a regular file (a FIFO)" "$WORK/resume.log" ||
    { cat "$WORK/resume.log"; fail "no warning naming the FIFO $newest"; }
grep -q "resuming .* after round 2" "$WORK/resume.log" ||
    { cat "$WORK/resume.log"; fail "did not resume from the other checkpoint"; }
echo "PASS: FIFOs as federation.init, a data file, the INI and a checkpoint are refused at once, named"
