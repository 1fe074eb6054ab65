#!/bin/bash
# A multi-host run across two network namespaces joined by a veth pair: the
# coordinator in one, a client process in the other, over tcp. Needs root and
# `ip netns`; skipped (exit 77) where namespaces are unavailable.
source "$(dirname "$0")/fed_lib.sh"
netns_pair ftc 10.77.0
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
