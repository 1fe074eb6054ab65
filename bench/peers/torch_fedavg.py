#!/usr/bin/python3
"""PyTorch 1.13 peer of `fedtail run` for the end-to-end benchmark (bench/fedavg_vs_torch.sh).

One process does what the paper's code does each round (Wang et al. 2020,
ksreenivasan/OOD_Federated_Learning, fl_trainer.py, FedAvg without attack):
sample K of the clients with a seeded RNG, deep-copy the global model for each,
train each client in turn with a fresh SGD(momentum) optimizer for the local
epochs, average the client models weighted by sample count (fed_avg_aggregator:
sum of freq_i * vectorised model_i) and evaluate the result on the test set.

Same IID scheme as fedtail (data/ft_partition.c): one seeded permutation of the
60,000 training images split into equal shares. Same normalisation as fedtail's
default for Fashion-MNIST ((x/255 - 0.1307)/0.3081). The models are those of
bench/peers/torch_train.py. Deliberately kinder to PyTorch than the paper's code:
the dataset is decoded and normalised once into one tensor and minibatches are
index slices (the paper's DataLoader runs per-sample PIL transforms).

Prints one JSON object per round on stdout:
  {"impl":"pytorch","round":t,"main_acc":..,"main_loss":..,"train_s":..,"eval_s":..,"round_s":..}
and a final {"impl":"pytorch","what":"total",...} line with setup and total seconds.

usage: torch_fedavg.py [--model paper-lenet] [--rounds 20] [--threads 2] [--seed 1] ...
Run with Debian's python3-torch: /usr/bin/python3.
"""
import argparse
import copy
import gzip
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_malloc import keep_memory  # noqa: E402
from torch_train import lenet5, paper_lenet  # noqa: E402  (same models as bench_train's peer)

MODELS = {"lenet5": lenet5, "paper-lenet": paper_lenet}


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(path, split):
    x = read_idx(os.path.join(path, f"{split}-images-idx3-ubyte.gz")).astype(np.float32)
    y = read_idx(os.path.join(path, f"{split}-labels-idx1-ubyte.gz")).astype(np.int64)
    x = (x / 255.0 - 0.1307) / 0.3081
    return torch.from_numpy(x).unsqueeze(1).contiguous(), torch.from_numpy(y)


def vectorise(net):
    return torch.cat([p.detach().reshape(-1) for p in net.state_dict().values()])


def load_vector(net, vec):
    state, at = net.state_dict(), 0
    for k, v in state.items():
        n = v.numel()
        state[k] = vec[at:at + n].view_as(v).clone()
        at += n
    net.load_state_dict(state)


def train_client(net, x, y, epochs, batch, lr, momentum, wd, gen):
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum, weight_decay=wd)
    n, total, count = x.shape[0], 0.0, 0
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen)
        for s in range(0, n, batch):  # DataLoader default: last partial batch kept
            idx = perm[s:s + batch]
            opt.zero_grad()
            loss = F.cross_entropy(net(x[idx]), y[idx])
            loss.backward()
            opt.step()
            total += loss.item()
            count += 1
    return total / max(count, 1)


@torch.no_grad()
def evaluate(net, x, y, batch):
    net.eval()
    correct, loss = 0, 0.0
    for s in range(0, x.shape[0], batch):
        out = net(x[s:s + batch])
        loss += F.cross_entropy(out, y[s:s + batch], reduction="sum").item()
        correct += (out.argmax(1) == y[s:s + batch]).sum().item()
    return correct / x.shape[0], loss / x.shape[0]


def main():
    keep_memory()
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="paper-lenet", choices=sorted(MODELS))
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--num-clients", type=int, default=100)
    ap.add_argument("--clients-per-round", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--local-epochs", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--weight-decay", type=float, default=0.0)
    ap.add_argument("--eval-batch", type=int, default=500)
    ap.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()

    t0 = time.perf_counter()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.RandomState(a.seed)
    xtr, ytr = load(a.data, "train")
    xte, yte = load(a.data, "t10k")
    parts = np.array_split(rng.permutation(xtr.shape[0]), a.num_clients)
    global_net = MODELS[a.model]()
    gen = torch.Generator().manual_seed(a.seed)
    setup_s = time.perf_counter() - t0

    for t in range(1, a.rounds + 1):
        t_round = time.perf_counter()
        chosen = rng.choice(a.num_clients, a.clients_per_round, replace=False)
        sizes = np.array([len(parts[c]) for c in chosen], dtype=np.float64)
        freq = sizes / sizes.sum()
        vecs, losses = [], []
        for c in chosen:
            net = copy.deepcopy(global_net)
            idx = torch.from_numpy(parts[c])
            losses.append(train_client(net, xtr[idx], ytr[idx], a.local_epochs, a.batch, a.lr,
                                       a.momentum, a.weight_decay, gen))
            vecs.append(vectorise(net))
        t_agg = time.perf_counter()
        avg = torch.zeros_like(vecs[0])
        for f, v in zip(freq, vecs):
            avg.add_(v, alpha=float(f))
        load_vector(global_net, avg)
        t_eval = time.perf_counter()
        acc, loss = evaluate(global_net, xte, yte, a.eval_batch)
        t_end = time.perf_counter()
        print(json.dumps({"impl": "pytorch", "round": t, "main_acc": acc,
                          "main_loss": round(loss, 6),
                          "train_loss": round(float(np.mean(losses)), 6),
                          "train_s": round(t_agg - t_round, 4),
                          "aggregate_s": round(t_eval - t_agg, 4),
                          "eval_s": round(t_end - t_eval, 4),
                          "round_s": round(t_end - t_round, 4)}), flush=True)
    print(json.dumps({"impl": "pytorch", "what": "total", "setup_s": round(setup_s, 3),
                      "total_s": round(time.perf_counter() - t0, 3), "threads": a.threads,
                      "model": a.model}), flush=True)


if __name__ == "__main__":
    main()
