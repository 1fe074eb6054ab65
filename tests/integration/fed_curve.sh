#!/bin/bash
# Transport security with real processes over tcp://127.0.0.1 (security.curve):
#  - a client whose key is in security.authorized_clients trains and the run completes;
#  - a client with an unknown key and a plaintext client are refused: each exits
#    non-zero with the reason, and the coordinator logs a "refused" event with the
#    peer address (and the refused key); the admitted one's "registered" event names
#    its key;
#  - a secret key file readable by others is refused, naming the file;
#  - `fedtail run` with security.curve = true and no keys set up just works: it makes
#    its own keys in RUN_DIR/keys (directory 0700, secrets 0600).
source "$(dirname "$0")/fed_lib.sh"
INI=$(small_ini)
K=$WORK/keys
umask 022
"$FEDTAIL" keygen --out "$K" --name server > /dev/null
"$FEDTAIL" keygen --out "$K" --name alice > /dev/null
"$FEDTAIL" keygen --out "$K" --name mallory > /dev/null
mkdir -p "$K/authorized"
cp "$K/alice.pub" "$K/authorized/"

CO_SETS=(--set security.curve=true --set "security.server_secret_key=$K/server.secret"
         --set "security.authorized_clients=$K/authorized" --set federation.rounds=2)
client_sets() { # NAME
    echo --set security.curve=true --set "security.server_public_key=$K/server.pub" \
        --set "security.client_secret_key=$K/$1.secret"
}

# A free port: bind, and try another one if the coordinator could not.
CO=""
for _ in 1 2 3 4 5; do
    PORT=$((20000 + RANDOM % 30000))
    "$FEDTAIL" coordinator "$INI" "${CO_SETS[@]}" --bind "tcp://127.0.0.1:$PORT" \
        --out "$WORK/co" --quiet 2> "$WORK/co.log" &
    CO=$!
    sleep 0.5
    if kill -0 $CO 2>/dev/null; then break; fi
    wait $CO || true
    grep -q "cannot bind" "$WORK/co.log" || { cat "$WORK/co.log"; fail "coordinator did not start"; }
    CO=""
done
[ -n "$CO" ] || fail "no free port found"
EP=tcp://127.0.0.1:$PORT

# Unknown key: refused by ZAP; the client says why and gives up at once.
status=0
timeout 20 "$FEDTAIL" client --connect "$EP" $(client_sets mallory) --wait 15 --quiet \
    2> "$WORK/mallory.log" || status=$?
[ $status -ne 0 ] && [ $status -ne 124 ] || fail "unknown-key client exited $status"
grep -q "refused this client" "$WORK/mallory.log" || { cat "$WORK/mallory.log"; fail "no refusal message"; }
# Plaintext: the handshake fails (mechanism mismatch).
status=0
timeout 20 "$FEDTAIL" client --connect "$EP" --wait 15 --quiet 2> "$WORK/plain.log" || status=$?
[ $status -ne 0 ] && [ $status -ne 124 ] || fail "plaintext client exited $status"
grep -Eq "mechanism mismatch|keeps failing" "$WORK/plain.log" || { cat "$WORK/plain.log"; fail "no mismatch message"; }

# The authorized client trains; the run completes.
"$FEDTAIL" client --connect "$EP" $(client_sets alice) --wait 30 --quiet || fail "alice exited $?"
wait $CO || { cat "$WORK/co.log"; fail "coordinator exited $?"; }
[ "$(wc -l < "$WORK/co/metrics.csv")" -eq 3 ] || fail "expected 2 metric rows"
grep -q '"event":"start".*"curve":true' "$WORK/co/events.jsonl" || fail "start event does not say curve"
# The registered event names the key the process was admitted with (Z85).
alice=$(tr -d '\n' < "$K/alice.pub")
grep -qF '"event":"registered"' "$WORK/co/events.jsonl" || fail "no registered event"
grep '"event":"registered"' "$WORK/co/events.jsonl" | grep -vqF "\"curve_key\":\"$alice\"" &&
    fail "a registered event without alice's key: $(grep registered "$WORK/co/events.jsonl")"
mallory=$(tr -d '\n' < "$K/mallory.pub")
python3 - "$WORK/co/events.jsonl" "$mallory" <<'PY' || fail "refused events missing or wrong"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
ref = [e for e in ev if e["event"] == "refused"]
print("refused events:", ref)
key = [e for e in ref if e.get("key") == sys.argv[2]]
assert key and key[0]["address"].startswith("127.0.0.1"), "no refusal of mallory's key with its address"
assert key[0]["reason"] == "client key not authorized"
# Whichever end notices the mismatch first closes: the coordinator sees either the
# mismatch or a handshake the peer broke off.
plain = [e for e in ref if "mechanism mismatch" in e["reason"] or e["reason"].startswith("handshake failed")]
assert plain, "no refusal of the plaintext client"
# The address of a connection that fails before ZAP is read when it is accepted; a
# connection refused faster than the handler thread wakes is "unknown".
assert all(e["address"].startswith("127.0.0.1:") or e["address"] == "unknown" for e in plain), plain
PY
grep -qF "refused unknown client key $mallory from 127.0.0.1" "$WORK/co.log" || fail "no WARN log of the refused key"

# A world-readable secret key is refused before anything binds.
cp "$K/server.secret" "$WORK/loose.secret"
chmod 644 "$WORK/loose.secret"
if "$FEDTAIL" coordinator "$INI" "${CO_SETS[@]}" --set "security.server_secret_key=$WORK/loose.secret" \
    --bind "tcp://127.0.0.1:$PORT" --out "$WORK/loose" --quiet 2> "$WORK/loose.log"; then
    fail "coordinator accepted a secret key with mode 0644"
fi
grep -q "loose.secret has mode 0644" "$WORK/loose.log" || { cat "$WORK/loose.log"; fail "message does not name the file and mode"; }
# ... and a client's too.
cp "$K/alice.secret" "$WORK/alice-loose.secret"
chmod 640 "$WORK/alice-loose.secret"
if "$FEDTAIL" client --connect "$EP" --set security.curve=true --set "security.server_public_key=$K/server.pub" \
    --set "security.client_secret_key=$WORK/alice-loose.secret" --wait 2 --quiet 2> "$WORK/cl-loose.log"; then
    fail "client accepted a secret key with mode 0640"
fi
grep -q "alice-loose.secret has mode 0640" "$WORK/cl-loose.log" || { cat "$WORK/cl-loose.log"; fail "client message does not name the file"; }

# fedtail run with CURVE on and nothing set up: its own keys, and the run completes.
"$FEDTAIL" run "$INI" --set security.curve=true --set federation.rounds=2 --procs 2 \
    --out "$WORK/run" --quiet --no-report || fail "fedtail run with security.curve failed"
grep -q '"event":"start".*"curve":true' "$WORK/run/events.jsonl" || fail "fedtail run did not use CURVE"
[ "$(stat -c %a "$WORK/run/keys")" = 700 ] || fail "keys directory is not 0700"
for f in "$WORK/run/keys"/*.secret; do
    [ "$(stat -c %a "$f")" = 600 ] || fail "$f is not 0600"
done
grep -q "^server_secret_key = $WORK/run/keys/server.secret" "$WORK/run/config.ini" ||
    fail "config.ini does not name the run's server key"
echo "PASS: CURVE allow-list (authorized trains; unknown key and plaintext refused with the peer address), key modes, fedtail run with its own keys"
