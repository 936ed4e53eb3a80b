"""A small independent NumPy reader for .bgpt files (formats/bgpt.md), for cross-checking the Swift tools.

`read(path)` returns (metadata dict, {name: (dtype_name, shape, float32 array)}); `ternary(path, name)`
returns the raw ternary values and gamma of a T2/T1 tensor. Checksums are not verified here.
"""
import struct

import numpy as np

DTYPES = {0: "F32", 1: "F16", 2: "BF16", 8: "I8", 16: "T2", 17: "T1"}
FIXED = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<Q", 7: "<q", 8: "<f", 9: "<d", 10: "<?"}


def _value(b, o, t):
    if t in FIXED:
        f = FIXED[t]
        return struct.unpack_from(f, b, o)[0], o + struct.calcsize(f)
    if t == 11:
        n = struct.unpack_from("<Q", b, o)[0]
        return b[o + 8:o + 8 + n].decode(), o + 8 + n
    if t == 13:
        n = struct.unpack_from("<Q", b, o)[0]
        return bytes(b[o + 8:o + 8 + n]), o + 8 + n
    if t == 12:
        et, n = struct.unpack_from("<IQ", b, o)
        o += 12
        out = []
        for _ in range(n):
            v, o = _value(b, o, et)
            out.append(v)
        return out, o
    raise ValueError(f"bad metadata type {t}")


def _t2_rows(packed, rows, cols):
    rb = 32 * (cols // 128) + (cols % 128 + 3) // 4
    out = np.zeros((rows, cols), np.int8)
    for r in range(rows):
        row = packed[r * rb:(r + 1) * rb]
        c = 0
        for blk in range(cols // 128):
            by = row[32 * blk:32 * blk + 32]
            for n in range(4):
                out[r, c + 32 * n:c + 32 * n + 32] = ((by >> (2 * n)) & 3).astype(np.int8) - 1
            c += 128
        tail = cols - c
        by = row[32 * (cols // 128):]
        for k in range(tail):
            out[r, c + k] = int((by[k // 4] >> (2 * (k % 4))) & 3) - 1
    return out, rows * rb


def _t1_rows(packed, rows, cols):
    rb = 32 * (cols // 160) + (cols % 160 + 4) // 5
    out = np.zeros((rows, cols), np.int8)

    def digits(b):
        ds = []
        for n in range(5):
            x = (int(b) * 3 ** n) & 0xFF
            ds.append(((x * 3) >> 8) - 1)
        return ds

    for r in range(rows):
        row = packed[r * rb:(r + 1) * rb]
        c = 0
        for blk in range(cols // 160):
            for j in range(32):
                d = digits(row[32 * blk + j])
                for n in range(5):
                    out[r, c + 32 * n + j] = d[n]
            c += 160
        tail = cols - c
        base = 32 * (cols // 160)
        for k in range(tail):
            out[r, c + k] = digits(row[base + k // 5])[k % 5]
    return out, rows * rb


def read(path):
    b = np.fromfile(path, dtype=np.uint8)
    raw = b.tobytes()
    assert raw[:4] == b"BGPT"
    align, nkv, nt, hsize, doff = struct.unpack_from("<IQQQQ", raw, 12)
    o = 64
    meta = {}
    for _ in range(nkv):
        n = struct.unpack_from("<Q", raw, o)[0]
        key = raw[o + 8:o + 8 + n].decode()
        o += 8 + n
        t = struct.unpack_from("<I", raw, o)[0]
        meta[key], o = _value(raw, o + 4, t)
    tensors = {}
    for _ in range(nt):
        n = struct.unpack_from("<Q", raw, o)[0]
        name = raw[o + 8:o + 8 + n].decode()
        o += 8 + n
        dt, nd = struct.unpack_from("<II", raw, o)
        o += 8
        shape = list(struct.unpack_from(f"<{nd}Q", raw, o))
        o += 8 * nd
        off, size, _ck = struct.unpack_from("<QQQ", raw, o)
        o += 24
        data = b[doff + off:doff + off + size]
        cols = shape[-1]
        rows = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
        kind = DTYPES[dt]
        if kind == "F32":
            v = data.view("<f4").astype(np.float32)
        elif kind == "F16":
            v = data.view("<f2").astype(np.float32)
        elif kind == "BF16":
            v = (data.view("<u2").astype(np.uint32) << 16).view(np.float32)
        elif kind == "I8":
            q = data[:rows * cols].view(np.int8).reshape(rows, cols).astype(np.float32)
            s = data[rows * cols:].view("<f4").astype(np.float32)
            v = q * s[:, None]
        else:
            t, used = (_t2_rows if kind == "T2" else _t1_rows)(data, rows, cols)
            g = data[used:used + 4].view("<f4")[0]
            v = t.astype(np.float32) * g
        tensors[name] = (kind, shape, np.asarray(v, np.float32).reshape(shape))
    return meta, tensors


def ternary(path, name):
    """(values int8 (rows, cols), gamma float32) of a T2/T1 tensor."""
    b = np.fromfile(path, dtype=np.uint8)
    raw = b.tobytes()
    _meta, tensors = read(path)
    kind, shape, v = tensors[name]
    assert kind in ("T2", "T1"), kind
    nz = np.abs(v[v != 0])
    gamma = np.float32(nz[0]) if nz.size else np.float32(0)
    vals = np.zeros(v.shape, np.int8) if gamma == 0 else np.rint(v / gamma).astype(np.int8)
    return vals.reshape(-1, shape[-1]), gamma
