#!/usr/bin/env python3
"""Patches one meta field of a fedtail checkpoint and recomputes its SHA-256 the way
the format does (model/ft_checkpoint.h): what someone editing a checkpoint by hand
would produce. The tests use it to check that the fields are validated whatever the
digest says.

    ckpt_patch.py FILE KEY VALUE     set meta KEY=VALUE (the line must exist)
    ckpt_patch.py --verify FILE      exit 0 if FILE's digest verifies

Layout (little-endian): "FTCKPT01", u32 version, 32-byte layout hash, u64 N,
u32 meta_len, meta, u64 extra_len, extra, N float32, SHA-256 of all before it."""
import hashlib
import struct
import sys


def split(data):
    head = 8 + 4 + 32 + 8 + 4
    if data[:8] != b"FTCKPT01":
        sys.exit("not a fedtail checkpoint")
    (meta_len,) = struct.unpack_from("<I", data, head - 4)
    meta = data[head:head + meta_len]
    return data[:head - 4], meta, data[head + meta_len:-32], data[-32:]


def main():
    if sys.argv[1] == "--verify":
        data = open(sys.argv[2], "rb").read()
        sys.exit(0 if hashlib.sha256(data[:-32]).digest() == data[-32:] else 1)
    path, key, value = sys.argv[1:4]
    data = open(path, "rb").read()
    head, meta, rest, _ = split(data)
    lines = meta.decode().split("\n")
    hits = [i for i, l in enumerate(lines) if l.startswith(key + "=")]
    if not hits:
        sys.exit(f"{path}: no meta line {key}")
    lines[hits[0]] = f"{key}={value}"
    meta = "\n".join(lines).encode()
    body = head + struct.pack("<I", len(meta)) + meta + rest
    open(path, "wb").write(body + hashlib.sha256(body).digest())


main()
