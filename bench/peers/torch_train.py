#!/usr/bin/python3
"""PyTorch 1.13 peer of bench_train: the same models, the same SGD with momentum,
single thread, synthetic data; prints the same JSON lines. Run with Debian's
python3-torch (/usr/bin/python3)."""
import json
import os
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_malloc import keep_memory  # noqa: E402

torch.set_num_threads(1)


def lenet5():
    return nn.Sequential(nn.Conv2d(1, 20, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(20, 50, 5),
                         nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(800, 500), nn.ReLU(),
                         nn.Linear(500, 10))


def paper_lenet():
    return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Dropout(0.25), nn.Flatten(), nn.Linear(9216, 128),
                         nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10))


def vgg9():
    layers, c = [], 3
    for v in [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M']:
        if v == 'M':
            layers.append(nn.MaxPool2d(2))
        else:
            layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU()]
            c = v
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(512, 10))


MODELS = {"lenet5": (lenet5, (1, 28, 28), 2293000.0, 288000.0),
          "paper-lenet": (paper_lenet, (1, 28, 28), 11992448.0, 194688.0),
          "vgg9": (vgg9, (3, 32, 32), 152768512.0, 1769472.0)}


def bench(name, batch, steps):
    make, shape, macs, first = MODELS[name]
    torch.manual_seed(1)
    model = make()
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.randn(batch, *shape)
    y = torch.randint(0, 10, (batch,))

    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    step()  # warm-up
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    times.sort()
    s = times[len(times) // 2]
    flops = 6.0 * macs - 2.0 * first
    print(json.dumps({"what": "train", "impl": "pytorch", "model": name, "batch": batch,
                      "samples_per_s": round(batch / s, 1),
                      "gflops": round(flops * batch / s / 1e9, 2)}), flush=True)


def main():
    keep_memory()
    args = sys.argv[1:]
    if args:
        for i in range(0, len(args) - 2, 3):
            bench(args[i], int(args[i + 1]), int(args[i + 2]))
        return
    for name, batch, steps in [("lenet5", 32, 41), ("lenet5", 512, 9), ("paper-lenet", 32, 21),
                               ("paper-lenet", 512, 5), ("vgg9", 32, 5), ("vgg9", 512, 3)]:
        bench(name, batch, steps)


if __name__ == "__main__":
    main()
