#!/bin/bash
# fedtail keygen from the command line: files and modes, refusing to overwrite,
# usage errors. Run by ctest from the build directory ($FEDTAIL is the executable).
set -u
fedtail="${FEDTAIL:-./fedtail}"
dir="$(mktemp -d /tmp/ft_keygen_cli.XXXXXX)"
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

umask 022
"$fedtail" keygen --out "$dir/keys" --name server > "$dir/out.txt" || fail "keygen failed"
grep -q "public key: $dir/keys/server.pub" "$dir/out.txt" || fail "no public key path printed"
[ "$(stat -c %a "$dir/keys/server.secret")" = 600 ] || fail "secret key mode is not 600"
[ "$(stat -c %a "$dir/keys/server.pub")" = 644 ] || fail "public key mode is not 644"
[ "$(stat -c %a "$dir/keys")" = 700 ] || fail "new key directory mode is not 700"
[ "$(stat -c %s "$dir/keys/server.pub")" = 41 ] || fail "public key file is not 40 chars + newline"
grep -Eq '^[]0-9a-zA-Z.:+=^!/*?&<>()@%$#{}[-]{40}$' "$dir/keys/server.pub" || fail "public key is not Z85"

before="$(cat "$dir/keys/server.secret")"
if "$fedtail" keygen --out "$dir/keys" --name server 2> "$dir/err.txt"; then
    fail "keygen overwrote an existing key"
fi
grep -q "already exists" "$dir/err.txt" || fail "no 'already exists' message"
[ "$before" = "$(cat "$dir/keys/server.secret")" ] || fail "existing secret key changed"

# Default name: this host's name.
"$fedtail" keygen --out "$dir/keys" > /dev/null || fail "keygen without --name failed"
[ "$(ls "$dir/keys"/*.pub | wc -l)" = 2 ] || fail "no second public key with the host name"

"$fedtail" keygen --help | grep -q "usage: fedtail keygen" || fail "--help"
"$fedtail" keygen 2> /dev/null
[ $? = 2 ] || fail "missing --out is not a usage error"
"$fedtail" keygen --out "$dir/k2" --name ../x 2> "$dir/err.txt" && fail "bad name accepted"
grep -q "key name" "$dir/err.txt" || fail "no message for a bad name"
echo "keygen_cli: ok"
