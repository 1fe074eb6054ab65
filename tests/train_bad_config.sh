#!/bin/bash
# fedtail train refuses bad configuration with exit code 1 and a message that names
# the file, the line and the key (or the --set / key at fault).
set -u
FEDTAIL=${FEDTAIL:-./fedtail}
tmp=$(mktemp -d /tmp/ft_train_bad.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

expect_fail() { # expect_fail WORDS... -- ARGS...
    local words=()
    while [ "$1" != "--" ]; do words+=("$1"); shift; done
    shift
    "$FEDTAIL" train "$@" --out "$tmp/out" >"$tmp/stdout" 2>"$tmp/stderr"
    local rc=$?
    [ $rc -eq 1 ] || fail "exit code $rc (want 1) for: $* ($(cat "$tmp/stderr"))"
    for w in "${words[@]}"; do
        grep -qF -- "$w" "$tmp/stderr" || fail "message lacks '$w' for: $*: $(cat "$tmp/stderr")"
    done
}

printf '[train]\nepochs = 1\n\n[model]\nname = lenet5\ndepth = 7\n' >"$tmp/bad.ini"
expect_fail "$tmp/bad.ini:6" "depth" -- "$tmp/bad.ini"
printf '[train]\nepochs = two\n' >"$tmp/badval.ini"
expect_fail "$tmp/badval.ini:2" "train.epochs" -- "$tmp/badval.ini"
expect_fail "nope.ini" -- "$tmp/nope.ini"
expect_fail "--set" "bogus" -- --set train.bogus=1
expect_fail "model.name" -- --set model.name=resnet
expect_fail "train.epochs" -- --set data.dataset=synthetic --set train.epochs=0
expect_fail "train.lr" -- --set data.dataset=synthetic --set train.lr=-1
expect_fail "model.hidden" -- --set data.dataset=synthetic --set model.name=mlp --set model.hidden=1,x
expect_fail "--frobnicate" -- --frobnicate
# lenet5 cannot take a 1x8x8 input: named as a model problem
expect_fail "model.name" -- --set data.dataset=synthetic --set data.synthetic_shape=1,8,8
# A diverging run fails and leaves no model behind (nothing for a cache to reuse).
rm -rf "$tmp/out"
expect_fail "diverged" -- --set data.dataset=synthetic --set model.name=mlp --set train.lr=1e6 \
    --set train.epochs=1
[ -e "$tmp/out/config.ini" ] || fail "the diverging run did not start"
[ ! -e "$tmp/out/model.ckpt" ] || fail "a diverged model was saved"
"$FEDTAIL" train --help >"$tmp/help" 2>&1 || fail "--help exit code"
grep -q 'usage: fedtail train' "$tmp/help" || fail "--help text"
echo "train_bad_config: ok"
