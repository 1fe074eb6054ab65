#!/bin/bash
# A multi-host run across two network namespaces joined by a veth pair: the
# coordinator in one, a client process in the other, over tcp. Needs root and
# `ip netns`; skipped (exit 77) where namespaces are unavailable.
source "$(dirname "$0")/fed_lib.sh"
NS1=ftc$$
NS2=ftk$$
cleanup() {
    ip netns del $NS1 2>/dev/null || true
    ip netns del $NS2 2>/dev/null || true
    rm -rf "$WORK"
}
if ! command -v ip >/dev/null || ! ip netns add $NS1 2>/dev/null; then
    echo "SKIP: network namespaces unavailable (needs root and iproute2)"
    exit 77
fi
trap cleanup EXIT
ip netns add $NS2 || { echo "SKIP: cannot create a second namespace"; exit 77; }
ip link add veth$$a type veth peer name veth$$b || { echo "SKIP: veth unavailable"; exit 77; }
ip link set veth$$a netns $NS1
ip link set veth$$b netns $NS2
ip -n $NS1 addr add 10.77.0.1/24 dev veth$$a
ip -n $NS2 addr add 10.77.0.2/24 dev veth$$b
ip -n $NS1 link set veth$$a up
ip -n $NS2 link set veth$$b up
ip -n $NS1 link set lo up
ip -n $NS2 link set lo up
INI=$(small_ini)
ip netns exec $NS1 "$FEDTAIL" coordinator "$INI" --bind tcp://10.77.0.1:5555 --out "$WORK/co" \
    --quiet &
CO=$!
ip netns exec $NS2 "$FEDTAIL" client --connect tcp://10.77.0.1:5555 --quiet --wait 60 &
CL=$!
wait $CO || fail "coordinator exited $?"
wait $CL || fail "client exited $?"
[ "$(wc -l < "$WORK/co/metrics.csv")" -eq 4 ] || fail "expected 3 metric rows"
grep -q '"event":"complete"' "$WORK/co/events.jsonl" || fail "no complete event"
echo "PASS: coordinator and client in separate network namespaces"
