#!/usr/bin/env bash
# The launcher's command line: bad options are refused with a message naming them,
# --dry-run prints and saves the batch script without submitting, a missing sbatch
# is a clear error, and a job that dies before its coordinator binds is reported so.
source "$(dirname "$0")/fed_lib.sh"
ini=$(small_ini)
expect_error() { # expect_error "message part" args...
    local want=$1; shift
    if "$FEDTAIL" run "$ini" "$@" --out "$WORK/x" > "$WORK/o" 2> "$WORK/e"; then
        fail "accepted: $*"
    fi
    grep -qF -- "$want" "$WORK/e" || { cat "$WORK/e" >&2; fail "no '$want' for: $*"; }
}
expect_error "--launcher pbs: expected slurm, mpirun or local" --launcher pbs
expect_error "--nodes needs --launcher slurm or --launcher mpirun" --nodes 2
expect_error "--dry-run needs --launcher" --dry-run
expect_error "--nodes 0: expected an integer in [1, 4096]" --launcher slurm --nodes 0
expect_error "--procs-per-node x: expected an integer" --launcher slurm --procs-per-node x
expect_error "--partition is a Slurm option" --launcher mpirun --partition gpu
expect_error "--time 1h: expected minutes" --launcher slurm --time 1h
expect_error "at least 2 tasks are needed" --launcher slurm --procs-per-node 1
expect_error "--procs is for local runs" --launcher slurm --procs 2
expect_error "run.compare runs several" --launcher slurm --set 'run.compare=a: defense.name=fedavg; b: defense.name=median'

# --dry-run: the script on stdout and in the run directory; nothing submitted.
PATH=/nonexistent "$FEDTAIL" run "$ini" --launcher slurm --nodes 2 --procs-per-node 4 \
    --gpus-per-proc 1 --partition gpu --time 30 --out "$WORK/dry" --dry-run > "$WORK/dry.out" \
    2> "$WORK/dry.err" || { cat "$WORK/dry.err" >&2; fail "--dry-run failed"; }
for want in "#SBATCH --nodes=2" "#SBATCH --ntasks=8" "#SBATCH --ntasks-per-node=4" \
    "#SBATCH --partition=gpu" "#SBATCH --time=30" "#SBATCH --gpus-per-task=1" \
    "#SBATCH --chdir=$WORK/dry" "exec srun " "fleet-task --out '$WORK/dry'" "--device cuda"; do
    grep -qF -- "$want" "$WORK/dry.out" || fail "--dry-run script lacks '$want'"
done
cmp -s "$WORK/dry.out" "$WORK/dry/launch/job.sh" || fail "the printed script is not the saved one"
[ -f "$WORK/dry/launch/experiment.ini" ] || fail "no experiment.ini saved"
[ ! -f "$WORK/dry/launch/job_id" ] || fail "--dry-run submitted a job"

# No sbatch on PATH: a clear error.
if PATH=/nonexistent "$FEDTAIL" run "$ini" --launcher slurm --out "$WORK/nosb" 2> "$WORK/e"; then
    fail "ran without sbatch"
fi
grep -q "sbatch is not on PATH" "$WORK/e" || { cat "$WORK/e" >&2; fail "no clear error without sbatch"; }

# A scheduler that refuses: its own message is passed on.
mkdir -p "$WORK/bin"
printf '#!/bin/sh\necho "sbatch: error: invalid partition specified: nope" >&2\nexit 1\n' > "$WORK/bin/sbatch"
chmod +x "$WORK/bin/sbatch"
if PATH="$WORK/bin:$PATH" "$FEDTAIL" run "$ini" --launcher slurm --out "$WORK/refused" 2> "$WORK/e"; then
    fail "a refused submission succeeded"
fi
grep -q "sbatch refused the job (exit 1): sbatch: error: invalid partition specified: nope" "$WORK/e" \
    || { cat "$WORK/e" >&2; fail "the scheduler's message was not passed on"; }

# A job whose tasks die before the coordinator binds (a fake sbatch/squeue: the
# job "ran" and left nothing): reported as such, exit 1.
printf '#!/bin/sh\necho 4242\n' > "$WORK/bin/sbatch"
printf '#!/bin/sh\nexit 0\n' > "$WORK/bin/squeue"
chmod +x "$WORK/bin/sbatch" "$WORK/bin/squeue"
if PATH="$WORK/bin:$PATH" "$FEDTAIL" run "$ini" --launcher slurm --out "$WORK/died" 2> "$WORK/e"; then
    fail "a job that never ran succeeded"
fi
grep -q "the job ended before the coordinator bound its socket: see $WORK/died/launch/slurm-4242.out" "$WORK/e" \
    || { cat "$WORK/e" >&2; fail "no clear error for a job that died before binding"; }

# fleet-task outside a launcher: refused, naming the variables.
if "$FEDTAIL" fleet-task --out "$WORK/ft" --launch-id 1 2> "$WORK/e"; then fail "fleet-task ran outside a launcher"; fi
grep -q "SLURM_PROCID" "$WORK/e" || fail "fleet-task's error does not name SLURM_PROCID"
# A client task whose coordinator failed before binding says so.
mkdir -p "$WORK/ft/launch"
echo "77 1" > "$WORK/ft/launch/exit"; echo "cannot bind tcp://*:1: Permission denied" > "$WORK/ft/launch/error"
if SLURM_PROCID=1 "$FEDTAIL" fleet-task --out "$WORK/ft" --launch-id 77 --wait 5 2> "$WORK/e"; then fail "client ran without a coordinator"; fi
grep -q "the coordinator ended before it bound: cannot bind" "$WORK/e" || { cat "$WORK/e" >&2; fail "client did not pass the coordinator's error on"; }
# ... and one that finds no coordinator within --wait gives up naming the file.
if SLURM_PROCID=1 "$FEDTAIL" fleet-task --out "$WORK/ft" --launch-id 78 --wait 1 2> "$WORK/e"; then fail "client waited forever"; fi
grep -q "no coordinator published .*coordinator.endpoint within 1 s" "$WORK/e" || { cat "$WORK/e" >&2; fail "no deadline error"; }
echo "launcher_cli: OK"
