#!/bin/bash
# report.html renders in headless Chromium (Debian's chromium) without errors: a
# real run's report is loaded, its DOM must hold the verdict (before the summary
# table), the inline SVG plots with the attack rounds shaded, the per-client
# decision strip with the attacker rows marked, the update-norm distribution with the
# attackers' updates marked, a screenshot must be drawn, and
# Chromium must log no page errors. A comparison of that run with a second arm
# (another defense) must show both verdicts, shaded comparison plots and the
# configuration difference. Every PNG has its SVG beside it. A sweep's sweep.html
# renders with every heatmap cell linked to its run's report.
set -euo pipefail
: "${FEDTAIL:?}"
browser="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$browser" ]; then
    echo "chromium not installed: skipped"
    exit 77
fi
tmp="$(mktemp -d)"
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

arm() { # NAME DEFENSE: one short attacked run
    "$FEDTAIL" run --set data.dataset=synthetic --set data.synthetic_train=400 \
        --set data.synthetic_test=100 --set model.name=mlp --set model.hidden=16 \
        --set federation.num_clients=8 --set federation.clients_per_round=4 \
        --set federation.rounds=3 --set federation.local_epochs=1 --set defense.name="$2" \
        --set attack.method=pgd --set attack.fl_mode=every-round --set attack.honest_edge_holders=0 \
        --set attack.edge_size=10 --set attack.clean_points=20 \
        --out "$tmp/$1" --procs 1 --quiet >"$tmp/$1.txt" 2>&1 || fail "run $1: $(tail -5 "$tmp/$1.txt")"
}
arm run fedavg
arm run2 median
"$FEDTAIL" report "$tmp/run" "$tmp/run2" --out "$tmp/cmp" >"$tmp/cmp.txt" 2>&1 ||
    fail "report: $(tail -5 "$tmp/cmp.txt")"
for d in run run2 cmp; do
    for png in "$tmp/$d"/*.png; do
        [ -s "${png%.png}.svg" ] || fail "no SVG beside $png"
    done
done
[ -s "$tmp/run/report.html" ] || fail "no report.html"

flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
    --disable-background-networking --disable-component-update --disable-sync
    --user-data-dir="$tmp/profile" --enable-logging=stderr --v=0)
url="file://$tmp/run/report.html"
timeout 120 "$browser" "${flags[@]}" --dump-dom "$url" >"$tmp/dom.html" 2>"$tmp/dom.err" ||
    fail "chromium --dump-dom failed: $(tail -5 "$tmp/dom.err")"
dom="$tmp/dom.html"
grep -q '<table id="summary"' "$dom" || fail "no summary table in the rendered DOM"
# The verdict comes first: its section precedes the summary table.
v=$(grep -bo '<section id="verdict">' "$dom" | head -1 | cut -d: -f1)
t=$(grep -bo '<table id="summary"' "$dom" | head -1 | cut -d: -f1)
[ -n "$v" ] && [ "$v" -lt "$t" ] || fail "no verdict before the summary table"
grep -Eq 'class="verdict"><span class="swatch"[^>]*></span><b>run</b>: main [0-9.]+%, backdoor' "$dom" ||
    fail "verdict line missing"
[ "$(grep -o "<svg" "$dom" | wc -l)" -ge 3 ] || fail "inline SVG plots missing from the DOM"
# every-round attack: every plot over rounds has the attack-round shading
grep -q "rgb(246, 213, 213)" "$dom" || fail "no attack-round shading in the plots"
grep -q 'class="attack-rounds"' "$dom" || fail "no attack-round legend"
grep -q '<table class="strip"' "$dom" || fail "no per-client decision strip"
grep -q '<tr class="attacker"><th class="attacker">attacker ' "$dom" || fail "no attacker row in the strip"
# the update-norm distribution: honest boxes per round, the attacker's updates in red
python3 - "$dom" <<'PY' || fail "no norm distribution with the attackers marked"
import re, sys
dom = open(sys.argv[1]).read()
m = re.search(r'<figure id="plot-norm_dist"><svg(.*?)</figure>', dom, re.S)
assert m, "no norm_dist figure"
fig = m.group(1)
assert "attacker update" in fig and "honest median" in fig, "legend"
assert re.search(r"rgb\(214,\s*39,\s*40\)", fig), "no red attacker points"
assert re.search(r"rgb\(\s*31,\s*119,\s*180\)", fig), "no honest boxes"
PY
timeout 120 "$browser" "${flags[@]}" --dump-dom "file://$tmp/cmp/report.html" >"$tmp/cmp.html" \
    2>"$tmp/cmp.err" || fail "chromium --dump-dom of the comparison failed"
[ "$(grep -c 'class="verdict"' "$tmp/cmp.html")" -eq 2 ] || fail "comparison: not one verdict per arm"
[ "$(grep -o "<svg" "$tmp/cmp.html" | wc -l)" -ge 2 ] || fail "comparison plots missing"
grep -q "rgb(246, 213, 213)" "$tmp/cmp.html" || fail "comparison plots without attack rounds shaded"
grep -q '<code>defense.name</code></td><td>fedavg</td><td>median</td>' "$tmp/cmp.html" ||
    fail "comparison: no configuration difference"
for a in arm1 arm2; do # each arm's own plots, inline
    grep -q "<figure id=\"plot-${a}_norms\"><svg" "$tmp/cmp.html" || fail "comparison: no $a norms plot"
    grep -q "<figure id=\"plot-${a}_norm_dist\"><svg" "$tmp/cmp.html" ||
        fail "comparison: no $a norm distribution"
done
timeout 120 "$browser" "${flags[@]}" --window-size=1000,1600 --screenshot="$tmp/shot.png" \
    "$url" >/dev/null 2>"$tmp/shot.err" || fail "chromium --screenshot failed"
[ "$(stat -c %s "$tmp/shot.png")" -gt 10000 ] || fail "screenshot is empty"
# sweep.html: a 2x2 sweep; every heatmap cell rendered in the DOM is a link to a
# report.html that exists, on a coloured background.
cat >"$tmp/base.ini" <<'INI'
[federation]
num_clients = 8
clients_per_round = 4
rounds = 2
local_epochs = 1
[data]
dataset = synthetic
synthetic_train = 400
synthetic_test = 100
[model]
name = mlp
hidden = 16
[attack]
method = pgd
fl_mode = every-round
honest_edge_holders = 0
edge_size = 10
clean_points = 20
INI
printf '[sweep]\nbase = base.ini\nname = s\n[grid]\nattack.eps = 2, 4\ndefense.name = fedavg, median\n' \
    >"$tmp/grid.ini"
"$FEDTAIL" sweep "$tmp/grid.ini" --out "$tmp/sweep" --jobs 2 >"$tmp/sweep.txt" 2>&1 ||
    fail "sweep: $(tail -5 "$tmp/sweep.txt")"
timeout 120 "$browser" "${flags[@]}" --dump-dom "file://$tmp/sweep/sweep.html" >"$tmp/sweep.dom" \
    2>"$tmp/sweep.err" || fail "chromium --dump-dom of sweep.html failed"
cells=$(grep -o '<td class="cell"' "$tmp/sweep.dom" | wc -l)
[ "$cells" -eq 16 ] || fail "sweep.html: $cells cells, not 4 tables of 2x2"
hrefs=$(grep -o '<td class="cell" style="background:#[0-9a-f]\{6\};color:#[0-9a-f]*"><a href="[^"]*">' \
    "$tmp/sweep.dom" | sed 's/.*href="\([^"]*\)".*/\1/')
[ "$(wc -l <<<"$hrefs")" -eq "$cells" ] || fail "sweep.html: not every cell is a coloured link"
for h in $hrefs; do
    [ -s "$tmp/sweep/$h" ] && [[ "$h" == */report.html ]] || fail "sweep.html links to missing $h"
done
[ "$(sort -u <<<"$hrefs" | wc -l)" -eq 4 ] || fail "sweep.html: the cells do not link to the 4 runs"
grep -q '<th>fedavg (baseline)</th>' "$tmp/sweep.dom" || fail "sweep.html: no fedavg baseline column"
# Page errors (not the browser's own start-up chatter about D-Bus and the like).
if grep -E "CONSOLE|Uncaught|Failed to load resource|net::ERR_" "$tmp/dom.err" "$tmp/shot.err" "$tmp/cmp.err" "$tmp/sweep.err"; then
    fail "chromium reported page errors"
fi
echo "report renders in chromium: ok"
