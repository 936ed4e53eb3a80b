#!/usr/bin/env python3
"""Writes a seeded random LoRA adapter for a .bgpt base (format: docs/training.md, "LoRA adapter
files and run-time use"), with NumPy and the standard library only.

The base fingerprint is computed here independently of the Swift runtime: xxHash64 (seed 0, Yann
Collet's XXH64 spec, doc/xxhash_spec.md) over each tensor's name, a 0 byte, its dims as int64 LE
and its values decoded to float32 LE (tools/bgpt.py), in the file's (canonical) tensor order.
A runtime that accepts the adapter therefore agrees on the fingerprint.

Usage: make_lora.py BASE.bgpt OUT.safetensors [--targets q,k,v,o] [--rank 4] [--alpha 8] [--seed 1] [--std 0.1]
"""
import argparse
import json
import struct

import numpy as np

from bgpt import BGPT

M = (1 << 64) - 1
P1, P2, P3, P4, P5 = 0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5


def rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & M


def rnd(acc, v):
    return (rotl((acc + v * P2) & M, 31) * P1) & M


def xxh64(data, seed=0):
    n, i = len(data), 0
    if n >= 32:
        v = [(seed + P1 + P2) & M, (seed + P2) & M, seed, (seed - P1) & M]
        words = np.frombuffer(data, "<u8", count=(n // 32) * 4)
        for s in range(0, len(words), 4):
            v = [rnd(v[k], int(words[s + k])) for k in range(4)]
        i = (n // 32) * 32
        h = (rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18)) & M
        for x in v:
            h = (((h ^ rnd(0, x)) * P1) + P4) & M
    else:
        h = (seed + P5) & M
    h = (h + n) & M
    while i + 8 <= n:
        h = ((rotl(h ^ rnd(0, struct.unpack_from("<Q", data, i)[0]), 27) * P1) + P4) & M
        i += 8
    if i + 4 <= n:
        h = ((rotl(h ^ ((struct.unpack_from("<I", data, i)[0] * P1) & M), 23) * P2) + P3) & M
        i += 4
    while i < n:
        h = (rotl(h ^ ((data[i] * P5) & M), 11) * P1) & M
        i += 1
    h ^= h >> 33; h = (h * P2) & M
    h ^= h >> 29; h = (h * P3) & M
    return h ^ (h >> 32)


def fingerprint(f):
    buf = bytearray()
    for name, (_dtype, shape, _off, _size) in f.infos.items():
        buf += name.encode() + b"\0" + b"".join(struct.pack("<q", d) for d in shape)
        buf += f.tensor(name).values.astype("<f4").tobytes()
    return xxh64(bytes(buf))


LLAMA = {"q": ("attn_q", "self_attn.q_proj"), "k": ("attn_k", "self_attn.k_proj"), "v": ("attn_v", "self_attn.v_proj"),
         "o": ("attn_out", "self_attn.o_proj"), "gate": ("ffn_gate", "mlp.gate_proj"), "up": ("ffn_up", "mlp.up_proj"),
         "down": ("ffn_down", "mlp.down_proj")}
GPT2 = {"q": ("attn_qkv", "attn.c_attn"), "k": ("attn_qkv", "attn.c_attn"), "v": ("attn_qkv", "attn.c_attn"),
        "o": ("attn_out", "attn.c_proj"), "up": ("ffn_up", "mlp.c_fc"), "down": ("ffn_down", "mlp.c_proj")}
ORDER = ["q", "k", "v", "o", "gate", "up", "down"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("base"); ap.add_argument("out")
    ap.add_argument("--targets", default="q,k,v,o"); ap.add_argument("--rank", type=int, default=4)
    ap.add_argument("--alpha", type=float, default=8); ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--std", type=float, default=0.1)
    a = ap.parse_args()
    f = BGPT(a.base)
    arch, layers = f.metadata["general.architecture"], f.metadata["model.n_layers"]
    table, prefix = (LLAMA, "base_model.model.model.layers.") if arch == "llama" else (GPT2, "base_model.model.transformer.h.")
    targets = a.targets.split(",")
    mods = []
    for t in sorted(targets, key=ORDER.index):
        if table[t] not in mods:
            mods.append(table[t])
    rng = np.random.default_rng(a.seed)
    tensors = []
    for L in range(layers):
        for tensor, peft in mods:
            out, inp = f.infos[f"blk.{L}.{tensor}"][1]
            for which, shape in (("A", (a.rank, inp)), ("B", (out, a.rank))):
                tensors.append((f"{prefix}{L}.{peft}.lora_{which}.weight", shape,
                                rng.uniform(-a.std * 3 ** 0.5, a.std * 3 ** 0.5, shape).astype("<f4")))
    alpha = str(int(a.alpha)) if a.alpha == int(a.alpha) else str(a.alpha)
    names = list(dict.fromkeys(p.rsplit(".", 1)[1] for _t, p in mods))
    meta = {"format": "bitgpt-lora", "format_version": "1", "rank": str(a.rank), "alpha": alpha, "targets": ",".join(targets),
            "architecture": arch, "n_layers": str(layers), "base_fingerprint": f"{fingerprint(f):016x}", "peft_type": "LORA",
            "r": str(a.rank), "lora_alpha": alpha, "target_modules": json.dumps(names, separators=(",", ":"))}
    header, off = {"__metadata__": meta}, 0
    for name, shape, v in tensors:
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [off, off + v.nbytes]}
        off += v.nbytes
    h = json.dumps(header).encode()
    h += b" " * (-(len(h) + 8) % 8)
    with open(a.out, "wb") as o:
        o.write(struct.pack("<Q", len(h)) + h + b"".join(v.tobytes() for _n, _s, v in tensors))


if __name__ == "__main__":
    main()
