#!/usr/bin/env bash
# fedtail run --launcher slurm against a REAL single-node Slurm cluster that this
# script starts (slurm_cluster.sh) and stops: a 3-round run through sbatch with 2
# client tasks gives metrics identical to the same run on this machine; its live
# page (--serve) answers while the job runs, at the address written to live.url; with
# security.curve the keys are made in RUN_DIR/keys (secrets 0600) and the metrics are
# the same; a run cancelled (scancel) mid-way resumes with --resume and ends with the same
# metrics. Without sbatch/slurmctld/munged it skips (77), unless
# FT_REQUIRE_CLUSTER_TESTS=1 (the CI): then it fails, since a skip is not a pass.
source "$(dirname "$0")/fed_lib.sh"
source "$(dirname "$0")/slurm_cluster.sh"
for cmd in sbatch srun squeue scancel slurmctld slurmd munged; do
    if ! command -v "$cmd" >/dev/null; then
        [ "${FT_REQUIRE_CLUSTER_TESTS:-0}" = 1 ] && fail "$cmd is missing (packages slurm-wlm, munge)"
        echo "SKIP: $cmd is missing"; exit 77
    fi
done
trap 'slurm_cluster_stop; rm -rf "$WORK"' EXIT
slurm_cluster_start "$WORK/cluster" || fail "the test cluster did not start"
# 3 tasks on a machine that may have 2 cores: the coordinator mostly waits.
export SBATCH_OVERCOMMIT=1

ini=$(small_ini)
# The page and CURVE jobs run 15 rounds, not small_ini's 3: the page is asked while the
# job runs, and a 3-round job could end (and close its page) between live.url appearing
# and the request.
live_ini="$WORK/live.ini"
sed 's/^rounds = 3$/rounds = 15/' "$ini" > "$live_ini"
grep -q '^rounds = 15$' "$live_ini" || fail "small_ini changed: set live.ini's rounds here"
"$FEDTAIL" run "$live_ini" --procs 2 --out "$WORK/local" --quiet --no-report >/dev/null 2>&1 \
    || fail "local run failed"

# The same run as a Slurm job: 1 coordinator task + 2 client tasks, with the page.
"$FEDTAIL" run "$live_ini" --launcher slurm --procs-per-node 3 --out "$WORK/slurm" --no-report \
    --serve '*:0' > "$WORK/slurm.out" 2> "$WORK/slurm.err" &
pid=$!
url=""
for _ in $(seq 1 300); do
    [ -s "$WORK/slurm/live.url" ] && { url=$(head -n1 "$WORK/slurm/live.url"); break; }
    kill -0 $pid 2>/dev/null || break
    sleep 0.1
done
[ -n "$url" ] || { cat "$WORK/slurm.err" "$WORK"/slurm/launch/slurm-*.out >&2; fail "no live.url while the job ran"; }
case "$url" in http://"$(hostname)":*'?token='*) ;; *) fail "live.url '$url' does not name the node with a token";; esac
json_url=$(echo "$url" | sed 's#/?token=#/metrics.json?token=#')
python3 -c 'import sys,urllib.request; d=urllib.request.urlopen(sys.argv[1], timeout=10).read(); assert d.startswith(b"{") or d.startswith(b"["), d[:80]' "$json_url" \
    || fail "the live page did not answer on $json_url"
wait $pid || { cat "$WORK/slurm.err" "$WORK"/slurm/launch/slurm-*.out >&2; fail "slurm run failed"; }
grep -q "submitted job" "$WORK/slurm.err" || fail "no job id printed"
grep -q "live view on http://$(hostname):" "$WORK/slurm.err" || fail "the page's address was not printed"
[ "$(head -n1 "$WORK/slurm/launch/live.url" 2>/dev/null)" = "$url" ] ||
    fail "launch/live.url does not keep the page's address"
[ -x "$WORK/slurm/launch/job.sh" ] || fail "the batch script was not saved"
[ "$(results "$WORK/local/metrics.csv")" = "$(results "$WORK/slurm/metrics.csv")" ] \
    || fail "slurm metrics differ from the local run's"

# CURVE on the cluster: the coordinator task makes the keys in RUN_DIR/keys (secrets
# 0600), the clients use them, and the run is the local one still.
"$FEDTAIL" run "$live_ini" --launcher slurm --procs-per-node 3 --out "$WORK/curve" --no-report \
    --set security.curve=true > "$WORK/curve.out" 2> "$WORK/curve.err" ||
    { cat "$WORK/curve.err" "$WORK"/curve/launch/slurm-*.out >&2; fail "slurm run with CURVE failed"; }
grep -q '"event":"start".*"curve":true' "$WORK/curve/events.jsonl" || fail "CURVE was not on"
[ -d "$WORK/curve/keys" ] || fail "no RUN_DIR/keys"
n_secret=0
for f in "$WORK"/curve/keys/*secret*; do
    [ -e "$f" ] || continue
    n_secret=$((n_secret + 1))
    [ "$(stat -c %a "$f")" = 600 ] || fail "$f is mode $(stat -c %a "$f"), not 0600"
done
[ "$n_secret" -ge 2 ] || fail "expected the server's and the clients' secret keys, found $n_secret"
[ "$(results "$WORK/local/metrics.csv")" = "$(results "$WORK/curve/metrics.csv")" ] \
    || fail "slurm metrics with CURVE differ from the local run's"

# Cancelled mid-way, then resumed: the same metrics as the uninterrupted run.
slow_ini="$WORK/slow.ini"
sed 's/^rounds = 3/rounds = 6/' "$ini" > "$slow_ini"
printf 'checkpoint_every = 1\n' >> "$slow_ini"
"$FEDTAIL" run "$slow_ini" --procs 2 --out "$WORK/local6" --quiet --no-report >/dev/null 2>&1 \
    || fail "local 6-round run failed"
"$FEDTAIL" run "$slow_ini" --launcher slurm --procs-per-node 3 --out "$WORK/cancel" \
    --no-report --no-wait 2> "$WORK/cancel.err" || fail "submission failed"
job=$(cat "$WORK/cancel/launch/job_id")
for _ in $(seq 1 600); do
    [ -f "$WORK/cancel/metrics.csv" ] && [ "$(wc -l < "$WORK/cancel/metrics.csv")" -ge 3 ] && break
    sleep 0.1
done
scancel "$job"
for _ in $(seq 1 300); do squeue -h -j "$job" 2>/dev/null | grep -q . || break; sleep 0.2; done
rows=$(($(wc -l < "$WORK/cancel/metrics.csv") - 1))
[ "$rows" -lt 6 ] || fail "the job finished before it was cancelled ($rows rounds)"
"$FEDTAIL" run --resume "$WORK/cancel" --launcher slurm --no-report > /dev/null 2> "$WORK/resume.err" \
    || { cat "$WORK/resume.err" "$WORK"/cancel/launch/slurm-*.out >&2; fail "resumed job failed"; }
[ "$(results "$WORK/local6/metrics.csv")" = "$(results "$WORK/cancel/metrics.csv")" ] \
    || fail "cancelled + resumed metrics differ from the uninterrupted run's"

# A 2x2 sweep as a job array: one cell finished beforehand is skipped; --status shows
# every cell done; the dependent job built the summary and sweep.html.
cp "$ini" "$WORK/base.ini"
cat > "$WORK/grid.ini" <<INI
[sweep]
base = base.ini
[grid]
defense.name = fedavg, median
run.seed = 1, 2
INI
(cd "$WORK" && "$FEDTAIL" sweep grid.ini --out "$WORK/sweep" --procs 1 --dry-run > "$WORK/dry_local.out")
first=$(sed -n 's/^\[1\/4\] \(.*\): would run$/\1/p' "$WORK/dry_local.out")
[ -n "$first" ] || fail "no first cell name in: $(cat "$WORK/dry_local.out")"
"$FEDTAIL" run "$ini" --set defense.name=fedavg --set run.seed=1 --out "$WORK/sweep/$first" --procs 1 \
    --quiet --no-report >/dev/null 2>&1 || fail "first cell by hand failed"
echo complete > "$WORK/sweep/$first/sweep-complete"
(cd "$WORK" && "$FEDTAIL" sweep grid.ini --out "$WORK/sweep" --procs 1 --launcher slurm \
    --max-parallel 2 > "$WORK/sweep.out" 2> "$WORK/sweep.err") \
    || { cat "$WORK/sweep.out" "$WORK/sweep.err" "$WORK"/sweep/launch/*.out >&2; fail "slurm sweep failed"; }
grep -q "#SBATCH --array=1,2,3%2" "$WORK/sweep/launch/sweep.sh" || fail "the finished cell was not skipped: $(grep array "$WORK/sweep/launch/sweep.sh")"
"$FEDTAIL" sweep --status "$WORK/sweep" > "$WORK/status.out"
grep -q "4 done, 0 running, 0 failed, 0 pending" "$WORK/status.out" || fail "status: $(cat "$WORK/status.out")"
[ -f "$WORK/sweep/summary.csv" ] && [ -f "$WORK/sweep/sweep.html" ] || fail "the report job built no summary"
[ "$(grep -c '^"\?name=\|^"\?defense.name=' "$WORK/sweep/summary.csv")" -eq 4 ] || fail "summary: $(cat "$WORK/sweep/summary.csv")"
echo "fed_slurm: OK (job $job cancelled after $rows rounds, resumed; sweep array of 3 cells)"
