# A single-node Slurm cluster for the launcher tests (sourced, not run): munged with a
# generated key, slurmctld and slurmd from a generated slurm.conf, every file (state,
# spool, logs, sockets) under $1. The node is `localhost` with this machine's cores;
# the plug-ins are the ones that work in a container without cgroups
# (proctrack/linuxproc, task/none). slurm_cluster_start exports SLURM_CONF so that
# sbatch, srun, squeue and scancel talk to this cluster; slurm_cluster_stop stops
# every daemon it started (by pid).
SLURM_CLUSTER_PIDS=()

# A free TCP port on 127.0.0.1 (the kernel's choice).
slurm_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# slurm_cluster_start DIR: starts the cluster, waits until its node is idle.
# Returns 1 (with the logs on stderr) when it does not come up within 30 s.
slurm_cluster_start() {
    local dir=$1 cores
    cores=$(nproc)
    mkdir -p "$dir/state" "$dir/spool"
    chmod 700 "$dir"
    # munge: a random key, its own socket (AuthInfo points slurm at it).
    head -c 1024 /dev/urandom > "$dir/munge.key"
    chmod 400 "$dir/munge.key"
    munged --key-file="$dir/munge.key" --socket="$dir/munge.sock" \
        --pid-file="$dir/munged.pid" --log-file="$dir/munged.log" \
        --seed-file="$dir/munged.seed" --force || return 1
    SLURM_CLUSTER_PIDS+=("$(cat "$dir/munged.pid")")
    local ctld_port slurmd_port
    ctld_port=$(slurm_free_port)
    slurmd_port=$(slurm_free_port)
    cat > "$dir/slurm.conf" <<CONF
ClusterName=fedtailtest
SlurmctldHost=localhost
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge.sock
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
KillWait=5
MinJobAge=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cores State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
    export SLURM_CONF=$dir/slurm.conf
    slurmctld -f "$SLURM_CONF" -i || { cat "$dir/slurmctld.log" >&2; return 1; }
    slurmd -f "$SLURM_CONF" -N localhost || { cat "$dir/slurmd.log" >&2; return 1; }
    local i
    for i in $(seq 1 150); do
        [ -s "$dir/slurmctld.pid" ] && [ -s "$dir/slurmd.pid" ] && break
        sleep 0.2
    done
    SLURM_CLUSTER_PIDS+=("$(cat "$dir/slurmctld.pid")" "$(cat "$dir/slurmd.pid")")
    for i in $(seq 1 150); do
        if [ "$(sinfo -h -n localhost -o %t 2>/dev/null)" = idle ]; then return 0; fi
        sleep 0.2
    done
    echo "slurm_cluster: the node did not become idle" >&2
    sinfo -N -l >&2 || true
    tail -n 20 "$dir/slurmctld.log" "$dir/slurmd.log" >&2
    return 1
}

# Stops every daemon slurm_cluster_start started (slurmd, slurmctld, munged).
slurm_cluster_stop() {
    local pid i
    for pid in "${SLURM_CLUSTER_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${SLURM_CLUSTER_PIDS[@]}"; do
        for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    done
    SLURM_CLUSTER_PIDS=()
}
