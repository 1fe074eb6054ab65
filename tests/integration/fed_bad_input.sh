#!/bin/bash
# Bad input refused at once with a message naming the file (issue 16, item 6):
#  - a malformed *.pub in security.authorized_clients (beside a good one): the
#    coordinator names that file and says what is wrong with it;
#  - a key set twice in one experiment file: the file, both lines and the key (--set
#    still overrides a key the file sets once);
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

echo "PASS: bad input refused, each message naming the file"
