#!/usr/bin/env python3
"""NumPy peer for bench_defenses: Krum as the paper code computes it.

Wang et al. 2020's defense code (ksreenivasan/OOD_Federated_Learning, Krum.exec)
flattens each client model to a NumPy vector, takes the squared L2 norm of the
difference of every pair in a Python double loop (K(K-1)/2 np.linalg.norm calls),
then scores each client by the sum of its K - f - 2 smallest distances
(np.argpartition) and keeps the lowest score. Multi-Krum runs the same loop, then
keeps the K - f lowest scores and averages them with np.average weighted by sample
count (here: equal counts). This reimplements those algorithms, timing only the
aggregation (not loading).

usage: krum_numpy.py UPDATES.npy F [REPS]
  prints "seconds S index I multikrum_seconds M": medians of REPS (default 1) timed
  runs of each after one untimed warm-up run, as bench_defenses times its own side
"""
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_malloc import keep_memory  # noqa: E402


def krum_scores(vectors, f):
    k = len(vectors)
    upper = []  # upper[i][j - i - 1] = ||v_i - v_j||^2 for j > i
    for i in range(k):
        row = []
        for j in range(i + 1, k):
            row.append(float(np.linalg.norm(vectors[i] - vectors[j]) ** 2))
        upper.append(row)
    nb = k - f - 2
    scores = []
    for i in range(k):
        d = [upper[min(i, j)][abs(j - i) - 1] for j in range(k) if j != i]
        nearest = np.argpartition(d, nb)[:nb]
        scores.append(sum(np.take(d, nearest)))
    return scores


def multi_krum(vectors, f, counts):
    scores = krum_scores(vectors, f)
    m = len(vectors) - f
    keep = np.argpartition(scores, m)[:m] if m < len(vectors) else np.arange(m)
    sel = np.array(counts)[keep]
    freq = [c / sum(sel) for c in sel]
    return np.average(np.array(vectors)[keep, :], weights=freq, axis=0).astype(np.float32)


def main():
    keep_memory()
    u = np.load(sys.argv[1])
    f = int(sys.argv[2])
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    vectors = [u[i] for i in range(u.shape[0])]  # one vector per client, as the paper's
    krum_s, mk_s = [], []
    for rep in range(reps + 1):  # rep 0 warms caches and BLAS, untimed
        t0 = time.perf_counter()
        scores = krum_scores(vectors, f)
        best = scores.index(min(scores))
        t1 = time.perf_counter()
        multi_krum(vectors, f, [1] * len(vectors))
        t2 = time.perf_counter()
        if rep > 0:
            krum_s.append(t1 - t0)
            mk_s.append(t2 - t1)
    print("seconds %.6f index %d multikrum_seconds %.6f"
          % (statistics.median(krum_s), best, statistics.median(mk_s)))


if __name__ == "__main__":
    main()
