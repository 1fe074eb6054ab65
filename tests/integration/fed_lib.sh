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
