"""glibc's malloc at its best for a peer's benchmark loop.

By default glibc serves a large block with a fresh mmap (above a threshold that
moves with what was freed before, at most 32 MiB) and hands freed heap memory back
to the kernel (trimming). A loop that allocates and frees the same temporaries every
step then page-faults them back in every step, and how often depends on what ran
earlier in the process: PyTorch's paper-lenet batch-32 step measured 540-860
samples/s on one core for that reason alone, and NumPy's Krum allocates an N-float
difference vector per pair. fedtail allocates its buffers once per run, so without
this the benchmarks would measure glibc, not the peer. keep_memory() turns both
off (no mmap; trim only above 2 GiB), the peer's best case.
"""
import ctypes

M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_MAX = -4


def keep_memory():
    libc = ctypes.CDLL("libc.so.6")
    ok = (libc.mallopt(M_MMAP_MAX, 0) and libc.mallopt(M_TRIM_THRESHOLD, 2**31 - 1)
          and libc.mallopt(M_TOP_PAD, 64 << 20))
    if not ok:
        raise RuntimeError("mallopt refused a setting")
