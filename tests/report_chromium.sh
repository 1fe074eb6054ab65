#!/bin/bash
# report.html renders in headless Chromium (Debian's chromium) without errors: a
# real run's report is loaded, its DOM must hold the summary table and the inline
# SVG plots, a screenshot must be drawn, and Chromium must log no page errors.
set -euo pipefail
: "${FEDTAIL:?}"
browser="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$browser" ]; then
    echo "chromium not installed: skipped"
    exit 77
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$FEDTAIL" run --set data.dataset=synthetic --set data.synthetic_train=400 \
    --set data.synthetic_test=100 --set model.name=mlp --set model.hidden=16 \
    --set federation.num_clients=8 --set federation.clients_per_round=4 \
    --set federation.rounds=3 --set federation.local_epochs=1 \
    --set attack.method=pgd --set attack.fl_mode=every-round --set attack.honest_edge_holders=0 \
    --set attack.edge_size=10 --set attack.clean_points=20 \
    --out "$tmp/run" --procs 1 --quiet >"$tmp/run.txt" 2>&1 || fail "run: $(tail -5 "$tmp/run.txt")"
[ -s "$tmp/run/report.html" ] || fail "no report.html"

flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
    --disable-background-networking --disable-component-update --disable-sync
    --user-data-dir="$tmp/profile" --enable-logging=stderr --v=0)
url="file://$tmp/run/report.html"
timeout 120 "$browser" "${flags[@]}" --dump-dom "$url" >"$tmp/dom.html" 2>"$tmp/dom.err" ||
    fail "chromium --dump-dom failed: $(tail -5 "$tmp/dom.err")"
grep -q "<table" "$tmp/dom.html" || fail "no summary table in the rendered DOM"
[ "$(grep -o "<svg" "$tmp/dom.html" | wc -l)" -ge 2 ] || fail "inline SVG plots missing from the DOM"
timeout 120 "$browser" "${flags[@]}" --window-size=1000,1600 --screenshot="$tmp/shot.png" \
    "$url" >/dev/null 2>"$tmp/shot.err" || fail "chromium --screenshot failed"
[ "$(stat -c %s "$tmp/shot.png")" -gt 10000 ] || fail "screenshot is empty"
# Page errors (not the browser's own start-up chatter about D-Bus and the like).
if grep -E "CONSOLE|Uncaught|Failed to load resource|net::ERR_" "$tmp/dom.err" "$tmp/shot.err"; then
    fail "chromium reported page errors"
fi
echo "report renders in chromium: ok"
