# Shared helpers for the federation integration tests (sourced, not run).
# FEDTAIL is the executable under test (set by ctest; defaults to build/fedtail).
set -euo pipefail
FEDTAIL=${FEDTAIL:-$(cd "$(dirname "$0")/../.." && pwd)/build/fedtail}
WORK=$(mktemp -d /tmp/ft_fed_XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# A small experiment: synthetic data, a tiny lenet5, a few quick rounds.
small_ini() {
    cat > "$WORK/small.ini" <<INI
[federation]
num_clients = 12
clients_per_round = 4
rounds = 3
local_epochs = 1
batch_size = 16
lr = 0.05
partition = dirichlet
alpha = 0.5
min_size = 5
heartbeat_s = 0.2
round_timeout = 60
[data]
dataset = synthetic
synthetic_train = 600
synthetic_test = 200
synthetic_shape = 1,28,28
[model]
name = lenet5
[run]
seed = 7
INI
    echo "$WORK/small.ini"
}

# The [federation], [data] and [model] sections most federation tests share — a small
# mlp on synthetic data, quick rounds, a short heartbeat — into FILE; the caller
# appends its own [attack], [defense], [run] (cat >> FILE). Settings as key=value:
# clients (federation.num_clients, 12), per_round (clients_per_round, 8), rounds (2),
# train and test (synthetic sizes, 480 and 100), shape (1,12,12), hidden (16).
mlp_ini() { # FILE [key=value ...]
    local file=$1 kv clients=12 per_round=8 rounds=2 train=480 test=100 shape=1,12,12 hidden=16
    shift
    for kv in "$@"; do
        case ${kv%%=*} in
            clients | per_round | rounds | train | test | shape | hidden) local "$kv" ;;
            *) fail "mlp_ini: unknown setting $kv" ;;
        esac
    done
    cat > "$file" <<INI
[federation]
num_clients = $clients
clients_per_round = $per_round
rounds = $rounds
local_epochs = 1
batch_size = 16
lr = 0.05
heartbeat_s = 0.2
round_timeout = 60
[data]
dataset = synthetic
synthetic_train = $train
synthetic_test = $test
synthetic_shape = $shape
[model]
name = mlp
hidden = $hidden
INI
}

# The [federation], [data] and [model] sections of a next-word run on the fortunes
# corpus (natural partition, one file a client) with a tiny 1-layer lstm into FILE; the
# caller appends the rest (more [model] keys first, then its own sections). Settings
# as key=value: clients (federation.num_clients, 8), per_round (clients_per_round, 4),
# rounds (3), vocab (data.vocab_size, 300), seq_len (32), emb and hidden (16).
fortunes_ini() { # FILE [key=value ...]
    local file=$1 kv clients=8 per_round=4 rounds=3 vocab=300 seq_len=32 emb=16 hidden=16
    shift
    for kv in "$@"; do
        case ${kv%%=*} in
            clients | per_round | rounds | vocab | seq_len | emb | hidden) local "$kv" ;;
            *) fail "fortunes_ini: unknown setting $kv" ;;
        esac
    done
    cat > "$file" <<INI
[federation]
num_clients = $clients
clients_per_round = $per_round
rounds = $rounds
local_epochs = 1
batch_size = 20
lr = 5
partition = natural
heartbeat_s = 0.2
round_timeout = 120
[data]
dataset = fortunes
vocab_size = $vocab
seq_len = $seq_len
[model]
name = lstm
embedding = $emb
hidden = $hidden
layers = 1
INI
}

# Two network namespaces joined by a veth pair, for runs across hosts: NS1 holds
# SUBNET.1 and NS2 SUBNET.2 (/24) on the pair's ends, loopback up in both; both are
# deleted at exit (with $WORK). Exits 77 (skipped) where namespaces are unavailable:
# it needs root and iproute2.
netns_pair() { # TAG SUBNET, e.g. netns_pair ftc 10.77.0
    NS1=${1}c$$
    NS2=${1}k$$
    if ! command -v ip >/dev/null || ! ip netns add "$NS1" 2>/dev/null; then
        echo "SKIP: network namespaces unavailable (needs root and iproute2)"
        exit 77
    fi
    trap 'ip netns del "$NS1" 2>/dev/null || true; ip netns del "$NS2" 2>/dev/null || true; rm -rf "$WORK"' EXIT
    ip netns add "$NS2" || { echo "SKIP: cannot create a second namespace"; exit 77; }
    ip link add "${1}$$a" type veth peer name "${1}$$b" || { echo "SKIP: veth unavailable"; exit 77; }
    ip link set "${1}$$a" netns "$NS1"
    ip link set "${1}$$b" netns "$NS2"
    ip -n "$NS1" addr add "$2.1/24" dev "${1}$$a"
    ip -n "$NS2" addr add "$2.2/24" dev "${1}$$b"
    for ns in "$NS1" "$NS2"; do ip -n "$ns" link set lo up; done
    ip -n "$NS1" link set "${1}$$a" up
    ip -n "$NS2" link set "${1}$$b" up
}

# The columns of metrics.csv that must not depend on processes or timing.
results() {
    /usr/bin/env python3 - "$1" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
meas = {"rejected", "bytes_sent", "bytes_received"}
for r in rows:
    print(",".join(f"{k}={v}" for k, v in r.items() if k not in meas and not k.endswith("_s")))
PY
}

fail() { echo "FAIL: $*" >&2; exit 1; }

# kill_after_rows PID RUN_DIR ROWS: SIGKILLs the coordinator PID once RUN_DIR's
# metrics.csv holds more than ROWS rows (polling for at most a minute) and reaps it;
# fails when the run ended before.
kill_after_rows() {
    local pid=$1 dir=$2 rows=$3 n
    for _ in $(seq 1 6000); do
        n=$( (wc -l < "$dir/metrics.csv") 2>/dev/null || echo 0)
        [ "$n" -gt "$rows" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.01
    done
    kill -9 "$pid" 2>/dev/null || fail "the run in $dir ended before the kill after $rows rows"
    wait "$pid" 2>/dev/null || true
}

# same_at_procs NAME P1 P2 RUN_ARGS...: `fedtail run RUN_ARGS` with P1 and with P2
# client processes (into $WORK/NAME<P>); fails unless the metrics that must not depend
# on processes (results) and the final model are the same.
same_at_procs() {
    local name=$1 p1=$2 p2=$3 p
    shift 3
    for p in "$p1" "$p2"; do
        "$FEDTAIL" run "$@" --procs "$p" --out "$WORK/$name$p" --quiet >"$WORK/$name$p.log" 2>&1 ||
            { cat "$WORK/$name$p.log"; fail "$name with $p processes exited"; }
    done
    [ "$(results "$WORK/$name$p1/metrics.csv")" = "$(results "$WORK/$name$p2/metrics.csv")" ] ||
        fail "$name: metrics differ between $p1 and $p2 processes"
    cmp -s "$WORK/$name$p1/final.ckpt" "$WORK/$name$p2/final.ckpt" ||
        fail "$name: the final model differs between $p1 and $p2 processes"
}
