#!/bin/bash
# fedtail train end to end on a small synthetic dataset: exit code, output files,
# the metrics.csv header and rows, a loadable checkpoint whose meta names the run,
# and determinism (same seed, byte-identical model.ckpt).
set -u
FEDTAIL=${FEDTAIL:-./fedtail}
tmp=$(mktemp -d /tmp/ft_train_smoke.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

common=(--set data.dataset=synthetic --set data.synthetic_train=300 --set data.synthetic_test=100
        --set data.synthetic_shape=1,28,28 --set model.name=lenet5 --set train.epochs=1
        --set train.batch_size=16 --set run.eval_batch=50)

"$FEDTAIL" train "${common[@]}" --out "$tmp/a" >"$tmp/a.out" 2>"$tmp/a.err" ||
    fail "fedtail train exited $?: $(cat "$tmp/a.err")"
for f in config.ini model.ckpt metrics.csv; do
    [ -s "$tmp/a/$f" ] || fail "missing $f"
done
head -1 "$tmp/a/metrics.csv" | grep -q '^epoch,train_loss,test_acc,test_loss,samples_per_s' ||
    fail "metrics.csv header: $(head -1 "$tmp/a/metrics.csv")"
[ "$(wc -l <"$tmp/a/metrics.csv")" -eq 2 ] || fail "metrics.csv should have one row per epoch"
row=$(sed -n 2p "$tmp/a/metrics.csv")
echo "$row" | grep -Eq '^1,[0-9.]+,[01]\.[0-9]+,[0-9.]+,[0-9.]+' || fail "bad row: $row"
grep -q '^name *= *lenet5' "$tmp/a/config.ini" || grep -q 'lenet5' "$tmp/a/config.ini" ||
    fail "config.ini lacks the model"
grep -q 'synthetic' "$tmp/a/config.ini" || fail "config.ini lacks the dataset"
# the checkpoint: magic and meta (model name, dataset, epochs, test_acc)
head -c 8 "$tmp/a/model.ckpt" | grep -q 'FTCKPT01' || fail "model.ckpt magic"
for k in model=lenet5 dataset=synthetic epochs=1 test_acc=; do
    grep -aq "$k" "$tmp/a/model.ckpt" || fail "model.ckpt meta lacks $k"
done
grep -q 'test accuracy' "$tmp/a.out" || fail "no summary line on stdout"
grep -q 'epoch 1/1' "$tmp/a.err" || fail "no progress on stderr"

# --quiet: nothing on stderr; same seed: identical checkpoint
"$FEDTAIL" train "${common[@]}" --quiet --out "$tmp/b" >/dev/null 2>"$tmp/b.err" ||
    fail "second run failed"
[ ! -s "$tmp/b.err" ] || fail "--quiet still wrote to stderr: $(cat "$tmp/b.err")"
cmp -s "$tmp/a/model.ckpt" "$tmp/b/model.ckpt" || fail "same seed, different model.ckpt"
"$FEDTAIL" train "${common[@]}" --set run.seed=2 --quiet --out "$tmp/c" >/dev/null 2>&1 ||
    fail "third run failed"
cmp -s "$tmp/a/model.ckpt" "$tmp/c/model.ckpt" && fail "different seed, same model.ckpt"

# an mlp, with --json output
"$FEDTAIL" train --set data.dataset=synthetic --set model.name=mlp --set model.hidden=32,16 \
    --set train.epochs=2 --json --out "$tmp/d" >"$tmp/d.out" 2>/dev/null || fail "mlp run failed"
[ "$(grep -c '"epoch":' "$tmp/d.out")" -eq 2 ] || fail "--json: $(cat "$tmp/d.out")"
[ "$(wc -l <"$tmp/d/metrics.csv")" -eq 3 ] || fail "mlp metrics.csv rows"
echo "train_smoke: ok"
