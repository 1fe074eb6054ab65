#!/usr/bin/env bash
# fedtail run --launcher mpirun: mpirun -np 3 starts the fleet (rank 0 the coordinator,
# ranks 1-2 clients, from OMPI_COMM_WORLD_RANK) and the metrics equal the same run on
# this machine with 2 client processes. Without mpirun it skips (77), unless
# FT_REQUIRE_CLUSTER_TESTS=1 (the CI): then it fails.
source "$(dirname "$0")/fed_lib.sh"
if ! command -v mpirun >/dev/null; then
    [ "${FT_REQUIRE_CLUSTER_TESTS:-0}" = 1 ] && fail "mpirun is missing (package openmpi-bin)"
    echo "SKIP: mpirun is missing"; exit 77
fi
# This test may run as root in a container with fewer cores than ranks.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
ini=$(small_ini)
"$FEDTAIL" run "$ini" --procs 2 --out "$WORK/local" --quiet --no-report >/dev/null 2>&1 \
    || fail "local run failed"
"$FEDTAIL" run "$ini" --launcher mpirun --procs-per-node 3 --out "$WORK/mpi" --no-report \
    > "$WORK/mpi.out" 2> "$WORK/mpi.err" || { cat "$WORK/mpi.err" >&2; fail "mpirun run failed"; }
grep -q "exec mpirun -np 3 " "$WORK/mpi/launch/mpirun.sh" || fail "mpirun.sh not saved"
grep -q "complete, results in" "$WORK/mpi.err" || fail "no completion line"
[ "$(results "$WORK/local/metrics.csv")" = "$(results "$WORK/mpi/metrics.csv")" ] \
    || fail "mpirun metrics differ from the local run's"
echo "fed_mpirun: OK"
