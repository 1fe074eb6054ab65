#!/bin/bash
# The live view (issue 24): `fedtail run --serve 127.0.0.1:0` on a short attacked
# run; headless Chromium (driven over DevTools by live_browser.py) loads the page
# while rounds go by and its DOM is dumped twice: the accuracy curves must have
# gained points between the dumps, the strip must show the round's sampled clients
# (K of them, the ids the events file says were sampled), the closed round's strip
# the attacker marked, the attack rounds shaded. /metrics.csv fetched mid-run must
# be the first lines of the run's metrics.csv, /metrics.json the same rows; fixed
# routes only (404), GET only (405). Then the same run without --serve: its
# metrics (all but the timing and byte columns) must be identical, and its run
# directory must hold the same files.
source "$(dirname "$0")/fed_lib.sh"
browser="$(command -v chromium || command -v chromium-browser || true)"
[ -n "$browser" ] || { echo "SKIP: chromium not installed"; exit 77; }
HERE="$(cd "$(dirname "$0")" && pwd)"
INI=$(small_ini)
cat >>"$INI" <<'INI'
[attack]
method = pgd
fl_mode = every-round
honest_edge_holders = 0
edge_size = 10
clean_points = 20
INI
sets=(--set federation.rounds=16 --set run.eval_async=false)
"$FEDTAIL" run "$INI" "${sets[@]}" --out "$WORK/live" --procs 2 --quiet --no-report \
    --serve 127.0.0.1:0 >"$WORK/live.out" 2>"$WORK/live.err" &
RUN=$!
for _ in $(seq 300); do [ -s "$WORK/live/live.url" ] && break; sleep 0.1; done
[ -s "$WORK/live/live.url" ] || fail "no live.url: $(cat "$WORK/live.err")"
URL=$(cat "$WORK/live/live.url")
grep -q "live view on $URL" "$WORK/live.err" || fail "the address was not printed: $(cat "$WORK/live.err")"
case "$URL" in http://127.0.0.1:*/) ;; *) fail "loopback URL expected, got $URL" ;; esac

# Scripts' routes, mid-run, once a row is in (beside the browser: both start at once).
python3 - "$URL" "$WORK/mid.csv" "$WORK/mid.json" <<'PY' &
import json, sys, time, urllib.request, urllib.error
url, csv_out, json_out = sys.argv[1:]
for _ in range(300):
    if urllib.request.urlopen(url + "metrics.csv", timeout=10).read().count(b"\n") >= 2:
        break
    time.sleep(0.1)
open(csv_out, "wb").write(urllib.request.urlopen(url + "metrics.csv", timeout=10).read())
doc = json.load(urllib.request.urlopen(url + "metrics.json", timeout=10))
json.dump(doc, open(json_out, "w"))
for path, code in (("nope", 404), ("..%2fconfig.ini", 404), ("../config.ini", 404)):
    try:
        urllib.request.urlopen(url + path, timeout=10)
        sys.exit(f"/{path} served")
    except urllib.error.HTTPError as e:
        assert e.code == code, (path, e.code)
req = urllib.request.Request(url + "metrics.csv", data=b"x=1", method="POST")
try:
    urllib.request.urlopen(req, timeout=10)
    sys.exit("POST served")
except urllib.error.HTTPError as e:
    assert e.code == 405, e.code
PY
ROUTES=$!
# While the run goes: two DOM dumps, the second once the curve has 2 more points.
# Chromium starts as soon as the server is up, so that it is certainly in time.
pts='+document.querySelector("polyline.main").getAttribute("data-points")'
python3 "$HERE/live_browser.py" "$browser" "$URL" "$WORK/profile" \
    "(window.first = $pts) >= 1 && document.querySelector(\".strip.current .client\")=$WORK/dom1.html" \
    "$pts >= window.first + 2=$WORK/dom2.html" 2>"$WORK/browser.err" ||
    fail "browser: $(tail -5 "$WORK/browser.err")"
python3 - "$WORK/dom1.html" "$WORK/dom2.html" "$WORK/strip.txt" <<'PY' || fail "page content"
import re, sys
def curve(dom, name):
    m = re.search(r'<polyline class="curve %s" points="([^"]*)"[^>]*data-points="(\d+)"' % name, dom)
    assert m, f"no {name} curve"
    assert len(m.group(1).split()) == int(m.group(2)), "data-points is not the polyline's"
    return int(m.group(2))
def strip(dom, cls):
    m = re.search(r'<div class="strip %s" data-round="(\d+)">((?:<span[^>]*>[^<]*</span>)*)</div>' % cls, dom)
    assert m, f"no {cls} strip"
    return int(m.group(1)), re.findall(r'<span class="([^"]*)" data-id="(\d+)"', m.group(2))
d1, d2 = (open(f).read() for f in sys.argv[1:3])
n1, n2 = curve(d1, "main"), curve(d2, "main")
print(f"main-accuracy points: {n1}, then {n2}")
assert n1 >= 1 and n2 >= n1 + 2, f"the curves did not gain points ({n1} -> {n2})"
assert curve(d2, "backdoor") == n2, "the backdoor curve lags the main one"
r, cur = strip(d2, "current")
assert len(cur) == 4, f"the strip shows {len(cur)} clients, K = 4"
assert all(c == "client" for c, _ in cur), "the running round's attackers are shown"
rc, closed = strip(d2, "closed")
assert rc < r + 1 and len(closed) == 4, (rc, closed)
assert sum("attacker" in c.split() for c, _ in closed) == 1, f"one attacker per round: {closed}"
assert all(set(c.split()) & {"kept", "dropped", "clipped", "reweighted"} for c, _ in closed)
assert d2.count('class="attack-round"') >= n2, "attack rounds not shaded (each round is one)"
assert "the backdoor" in d2 and "update norms in round" in d2, "no verdict or norms"
open(sys.argv[3], "w").write(f"{r} {' '.join(i for _, i in cur)}\n{rc} " +
                             " ".join(i + ("*" if "attacker" in c else "") for c, i in closed) + "\n")
PY

wait $ROUTES || fail "HTTP routes"
wait $RUN || fail "run exited $?: $(tail -5 "$WORK/live.err")"
# The strips are what events.jsonl says: the round's tasks, the attackers marked.
python3 - "$WORK/live/events.jsonl" "$WORK/strip.txt" <<'PY' || fail "strip vs events.jsonl"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
(r, *cur), (rc, *closed) = (l.split() for l in open(sys.argv[2]))
tasks = lambda t: {e["client"]: e["attacker"] for e in ev if e["event"] == "task" and e["round"] == t}
assert sorted(map(int, cur)) == sorted(tasks(int(r))), (cur, tasks(int(r)))
got = {int(c.rstrip("*")): c.endswith("*") for c in closed}
assert got == tasks(int(rc)), (got, tasks(int(rc)))
PY
[ ! -e "$WORK/live/live.url" ] || fail "live.url left behind"
lines=$(wc -l <"$WORK/mid.csv")
[ "$lines" -ge 2 ] || fail "mid-run metrics.csv has no row"
head -n "$lines" "$WORK/live/metrics.csv" | cmp -s - "$WORK/mid.csv" ||
    fail "/metrics.csv is not the run's metrics.csv so far"
# /metrics.json was fetched just after /metrics.csv, so a round may have closed in
# between: its rows are the run's first rows, at least as many as /metrics.csv held.
python3 - "$WORK/mid.json" "$WORK/mid.csv" "$WORK/live/metrics.csv" <<'PY' ||
import csv, json, sys
doc = json.load(open(sys.argv[1]))
mid = list(csv.DictReader(open(sys.argv[2])))
rows = list(csv.DictReader(open(sys.argv[3])))
arm = doc["arms"][0]
assert arm["label"] == "run" and arm["rounds"] == 16 and arm["k"] == 4, arm
assert len(mid) <= len(arm["rows"]) <= len(rows), (len(mid), len(arm["rows"]), len(rows))
for j, c in zip(arm["rows"], rows):
    for k, v in c.items():
        assert (j[k] is None) == (v == ""), (k, j[k], v)
        if v != "":
            assert abs(float(v) - j[k]) <= 1e-7 * max(1, abs(j[k])), (k, j[k], v)
PY
    fail "/metrics.json differs from /metrics.csv"

# The page changes nothing: the same run without --serve.
"$FEDTAIL" run "$INI" "${sets[@]}" --out "$WORK/plain" --procs 2 --quiet --no-report \
    >"$WORK/plain.out" 2>&1 || fail "plain run: $(tail -5 "$WORK/plain.out")"
[ "$(results "$WORK/live/metrics.csv")" = "$(results "$WORK/plain/metrics.csv")" ] ||
    fail "metrics with --serve differ from metrics without"
[ "$(wc -l <"$WORK/live/metrics.csv")" -eq 17 ] || fail "expected 16 rounds"
[ "$(cd "$WORK/live" && ls)" = "$(cd "$WORK/plain" && ls)" ] || fail "run directories differ"
# A comparison (as experiments/demo.ini): every arm on the one page, the arm not yet
# run announced from the start; /metrics.json holds the first arm's rows while the
# second runs, /metrics.csv an arm column.
"$FEDTAIL" run "$INI" --set federation.rounds=4 --set run.eval_async=false \
    --set "run.compare=plain: defense.name=fedavg; median: defense.name=median" \
    --out "$WORK/cmp" --procs 2 --quiet --no-report --serve 127.0.0.1:0 >"$WORK/cmp.out" 2>&1 &
CMP=$!
for _ in $(seq 300); do [ -s "$WORK/cmp/live.url" ] && break; sleep 0.1; done
python3 - "$(cat "$WORK/cmp/live.url")" <<'PY' || fail "comparison page"
import json, sys, time, urllib.request
url = sys.argv[1]
get = lambda p: urllib.request.urlopen(url + p, timeout=10).read()
arms = json.loads(get("metrics.json"))["arms"]
assert [a["label"] for a in arms] == ["plain", "median"], arms
assert arms[1]["rounds"] == 4, arms[1]   # planned, before it starts
for _ in range(600):
    arms = json.loads(get("metrics.json"))["arms"]
    if arms[1]["rows"]:
        break
    time.sleep(0.05)
assert arms[0]["status"] == "complete" and len(arms[0]["rows"]) == 4, arms[0]["status"]
assert arms[1]["defense"] == "median" and arms[1]["status"] == "running", arms[1]
csv = get("metrics.csv").decode().splitlines()
assert csv[0].startswith("arm,round,main_acc,"), csv[0]
assert [l.split(",")[0] for l in csv[1:5]] == ['"plain"'] * 4 and csv[5].startswith('"median",1,')
PY
wait $CMP || fail "comparison run: $(tail -5 "$WORK/cmp.out")"
echo "PASS: the live page grew while the run went on; metrics identical with and without --serve"
