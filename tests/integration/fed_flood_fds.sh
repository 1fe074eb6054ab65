#!/bin/bash
# Descriptor floods against a real coordinator whose open-file limit is 1024
# (ulimit -n 1024), over tcp://127.0.0.1, while two client processes train:
#  - plaintext: 1,100 ZeroMQ sockets that connect, finish the handshake, answer
#    heartbeats and reconnect when dropped;
#  - CURVE: 1,100 raw TCP connections that never begin the handshake, each reopened
#    as soon as the coordinator closes it.
# The connection guard keeps at most federation.max_peers (256) of them open, so
# the coordinator stays below its limit, every round completes, final.ckpt and
# summary.json are written, and its peak VmRSS stays within 2x the peak of the same
# run undisturbed (measured first). Before the guard, the descriptors ran out
# ("Too many open files"), the checkpoint failed and the run with it.
source "$(dirname "$0")/fed_lib.sh"
CO=""
FL=""
trap 'for p in $CO $FL; do kill $p 2> /dev/null || true; done; rm -rf "$WORK"' EXIT
FLOOD=${FT_BUILD_DIR:-$(dirname "$FEDTAIL")}/tests/flood_peer
[ -x "$FLOOD" ] || fail "no $FLOOD"
INI=$(small_ini)
# Under ASan the quarantine holds freed memory back, so the 2x memory bound is the
# plain build's to check (as in fed_flood_hello.sh); everything else is checked here.
ASAN=0
libs=$(ldd "$FEDTAIL" 2> /dev/null || true) # (not piped into grep -q: SIGPIPE under pipefail)
case "$libs" in *libasan*) ASAN=1 ;; esac
ROUNDS=20
# Rounds long enough (about 0.5 s each on an idle machine) that the flood, started
# once both clients registered, reaches its peak with rounds to spare.
EPOCHS=8
K=$WORK/keys
"$FEDTAIL" keygen --out "$K" --name server > /dev/null
"$FEDTAIL" keygen --out "$K" --name alice > /dev/null
mkdir -p "$K/authorized"
cp "$K/alice.pub" "$K/authorized/"
CURVE_CO=(--set security.curve=true --set "security.server_secret_key=$K/server.secret"
          --set "security.authorized_clients=$K/authorized")
CURVE_CL=(--set security.curve=true --set "security.server_public_key=$K/server.pub"
          --set "security.client_secret_key=$K/alice.secret")

# start_co OUT SETS...: a coordinator with 1024 descriptors on a free port (CO, PORT).
start_co() {
    local out=$1
    shift
    CO=""
    for _ in 1 2 3 4 5; do
        PORT=$((20000 + RANDOM % 30000))
        (ulimit -n 1024 && exec "$FEDTAIL" coordinator "$INI" --bind "tcp://127.0.0.1:$PORT" \
            --out "$out" --quiet --no-report --set federation.rounds=$ROUNDS \
            --set federation.round_timeout=30 --set federation.local_epochs=$EPOCHS "$@" \
            2> "$out.log") &
        CO=$!
        for _ in $(seq 1 300); do
            grep -qs '"event":"start"' "$out/events.jsonl" && return 0
            kill -0 $CO 2> /dev/null || break
            sleep 0.05
        done
        wait $CO || true
        grep -q "cannot bind" "$out.log" || { cat "$out.log"; fail "coordinator did not start"; }
    done
    fail "no free port found"
}

# run NAME FLOOD_ARGS|none -- CO_SETS... -- CLIENT_SETS...: a run with two clients,
# flooded once both registered; prints "peak_rss_kB peak_fds" of the coordinator.
run() {
    local name=$1 mode=$2
    shift 2
    [ "$1" = "--" ] && shift
    local co=() cl=()
    while [ "$1" != "--" ]; do co+=("$1"); shift; done
    shift
    cl=("$@")
    local out=$WORK/$name
    # run is called as $(run ...): a subshell, with its own processes to stop.
    trap 'for p in $CO $FL; do kill $p 2> /dev/null || true; done' EXIT
    start_co "$out" "${co[@]}"
    local ep=tcp://127.0.0.1:$PORT
    "$FEDTAIL" client --connect "$ep" "${cl[@]}" --quiet --wait 30 2> "$out.c1.log" &
    local c1=$!
    "$FEDTAIL" client --connect "$ep" "${cl[@]}" --quiet --wait 30 2> "$out.c2.log" &
    local c2=$!
    for _ in $(seq 1 600); do
        [ "$(grep -c '"event":"registered"' "$out/events.jsonl")" -ge 2 ] && break
        sleep 0.05
    done
    FL=""
    case $mode in
    zmq) "$FLOOD" zmq "$ep" 1100 120 > "$out.flood" & FL=$! ;;
    raw) "$FLOOD" raw 127.0.0.1 "$PORT" 1100 120 > "$out.flood" & FL=$! ;;
    esac
    local rss=0 fds=0 r f
    while kill -0 $CO 2> /dev/null; do
        r=$(awk '$1 == "VmRSS:" {print $2}' "/proc/$CO/status" 2> /dev/null || true)
        f=$(ls "/proc/$CO/fd" 2> /dev/null | wc -l)
        [ -n "$r" ] && [ "$r" -gt $rss ] && rss=$r
        [ "$f" -gt $fds ] && fds=$f
        sleep 0.1
    done
    local status=0
    wait $CO || status=$?
    CO=""
    if [ -n "$FL" ]; then kill $FL 2> /dev/null || true; wait $FL || true; FL=""; fi
    wait $c1 || true
    wait $c2 || true
    [ $status -eq 0 ] || { tail -5 "$out.log" >&2; fail "$name: coordinator exited $status"; }
    [ "$(($(wc -l < "$out/metrics.csv") - 1))" -eq $ROUNDS ] || fail "$name: not every round"
    grep -q '"completed": true' "$out/summary.json" || fail "$name: summary.json not complete"
    [ -s "$out/final.ckpt" ] || fail "$name: no final.ckpt"
    echo "$rss $fds"
}

# check NAME PEAK_RSS PEAK_FDS BASE_RSS: the flood reached the coordinator during
# the run, which stayed below its descriptor limit and within 2x the memory.
check() {
    local out=$WORK/$1
    echo "$1: peak VmRSS $2 kB (undisturbed $4 kB), peak descriptors $3 of 1024"
    echo "$1: VmRSS $4 -> $2 kB, descriptors $3" >> "$WORK/numbers"
    [ "$3" -lt 1024 ] || fail "$1: the coordinator reached its descriptor limit"
    if [ $ASAN = 1 ]; then
        echo "$1: (ASan build: the 2x memory bound is checked by the plain build)"
    else
        [ "$2" -le $((2 * $4)) ] || fail "$1: peak VmRSS $2 kB > 2 x $4 kB"
    fi
    python3 - "$out/events.jsonl" $ROUNDS <<'PY' || fail "$1: the flood did not overlap the run"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
rounds = int(sys.argv[2])
ref = [e for e in ev if e["event"] == "connections_refused"]
assert ref, "no connections_refused event"
first = ref[0]["round"]
print("  refused:", sum(e["refused"] for e in ref), "first in round", first, "of", rounds)
assert first <= rounds - 5, "the flood began too late to matter"
assert all(e["max_peers"] == 256 for e in ref)
PY
}

base=$(run base none -- --)
base_rss=${base% *}
echo "undisturbed: peak VmRSS $base_rss kB, peak descriptors ${base#* }"
plain=$(run plain zmq -- --)
check plain ${plain% *} ${plain#* } "$base_rss"
curve=$(run curve raw -- "${CURVE_CO[@]}" -- "${CURVE_CL[@]}")
check curve ${curve% *} ${curve#* } "$base_rss"
cat "$WORK/numbers"
echo "PASS: 1,100-connection floods: below the descriptor limit, within 2x memory, run complete"
