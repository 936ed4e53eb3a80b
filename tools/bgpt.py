"""A small, independent reader of .bgpt files (formats/bgpt.md) for the NumPy reference.

Reads the header, the metadata and the tensor table, and decodes tensors of every dtype:
float tensors to float32 arrays, I8 to (codes, per-row scales), T2/T1 to (ternary codes, gamma).
It shares no code with the Swift reader, so the two check each other.
"""
import struct

import numpy as np

MAGIC = b"BGPT"
DTYPES = {0: "F32", 1: "F16", 2: "BF16", 8: "I8", 16: "T2", 17: "T1"}
SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<Q", 7: "<q", 8: "<f", 9: "<d", 10: "<?"}


class Reader:
    def __init__(self, data, pos=0):
        self.data, self.pos = data, pos

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.data, self.pos)[0]
        self.pos += struct.calcsize(fmt)
        return v

    def string(self):
        n = self.take("<Q")
        s = self.data[self.pos:self.pos + n].decode("utf-8")
        self.pos += n
        return s

    def value(self, vtype):
        if vtype in SCALAR:
            return self.take(SCALAR[vtype])
        if vtype == 11:
            return self.string()
        if vtype == 13:
            n = self.take("<Q")
            b = self.data[self.pos:self.pos + n]
            self.pos += n
            return b
        if vtype == 12:
            etype, count = self.take("<I"), self.take("<Q")
            return [self.value(etype) for _ in range(count)]
        raise ValueError(f"unknown metadata type {vtype}")


def t2_row_bytes(cols):
    return 32 * (cols // 128) + -(-(cols % 128) // 4)


def t1_row_bytes(cols):
    return 32 * (cols // 160) + -(-(cols % 160) // 5)


def unpack_t2(packed, rows, cols):
    """Ternary codes (rows, cols) int8 from T2 rows: full blocks of 128 in 32 bytes, then a tail."""
    rb = t2_row_bytes(cols)
    p = np.frombuffer(packed, dtype=np.uint8, count=rows * rb).reshape(rows, rb)
    out = np.zeros((rows, cols), dtype=np.int8)
    full = cols // 128
    for b in range(full):
        blk = p[:, 32 * b:32 * b + 32]
        for n in range(4):
            out[:, 128 * b + 32 * n:128 * b + 32 * n + 32] = ((blk >> (2 * n)) & 3).astype(np.int8) - 1
    tail = cols - 128 * full
    for i in range(tail):
        byte = p[:, 32 * full + i // 4]
        out[:, 128 * full + i] = ((byte >> (2 * (i % 4))) & 3).astype(np.int8) - 1
    return out


def t1_digit(byte, n):
    x = (byte.astype(np.uint32) * (3 ** n)) & 0xFF
    return ((x * 3) >> 8).astype(np.int8)


def unpack_t1(packed, rows, cols):
    """Ternary codes (rows, cols) int8 from T1 rows: base-3 digits, five per byte."""
    rb = t1_row_bytes(cols)
    p = np.frombuffer(packed, dtype=np.uint8, count=rows * rb).reshape(rows, rb)
    out = np.zeros((rows, cols), dtype=np.int8)
    full = cols // 160
    for b in range(full):
        blk = p[:, 32 * b:32 * b + 32]
        for n in range(5):
            out[:, 160 * b + 32 * n:160 * b + 32 * n + 32] = t1_digit(blk, n) - 1
    tail = cols - 160 * full
    for i in range(tail):
        out[:, 160 * full + i] = t1_digit(p[:, 32 * full + i // 5], i % 5) - 1
    return out


class Tensor:
    """One decoded tensor: `kind` is "float" (values), "i8" (codes, scales) or "ternary" (codes, gamma)."""

    def __init__(self, name, dtype, shape, raw):
        self.name, self.dtype, self.shape = name, dtype, shape
        rows = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
        cols = shape[-1]
        if dtype == "F32":
            self.kind, self.values = "float", np.frombuffer(raw, "<f4").astype(np.float32).reshape(shape)
        elif dtype == "F16":
            self.kind, self.values = "float", np.frombuffer(raw, "<f2").astype(np.float32).reshape(shape)
        elif dtype == "BF16":
            u = np.frombuffer(raw, "<u2").astype(np.uint32) << 16
            self.kind, self.values = "float", u.view(np.float32).reshape(shape)
        elif dtype == "I8":
            self.kind = "i8"
            self.codes = np.frombuffer(raw, np.int8, count=rows * cols).reshape(rows, cols)
            self.scales = np.frombuffer(raw, "<f4", count=rows, offset=rows * cols).astype(np.float32)
            self.values = (self.codes.astype(np.float32) * self.scales[:, None]).reshape(shape)
        elif dtype in ("T2", "T1"):
            self.kind = "ternary"
            self.gamma = np.float32(struct.unpack_from("<f", raw, len(raw) - 4)[0])
            self.codes = unpack_t2(raw, rows, cols) if dtype == "T2" else unpack_t1(raw, rows, cols)
            self.values = (self.codes.astype(np.float32) * self.gamma).reshape(shape)
        else:
            raise ValueError(f"tensor {name}: unknown dtype {dtype}")


class BGPT:
    """A parsed .bgpt file: `metadata` (dict) and `tensor(name)` (decoded `Tensor`)."""

    def __init__(self, path):
        with open(path, "rb") as f:
            self.data = f.read()
        r = Reader(self.data)
        if self.data[:4] != MAGIC:
            raise ValueError("not a .bgpt file")
        r.pos = 4
        bom, major, _minor, _align = r.take("<I"), r.take("<H"), r.take("<H"), r.take("<I")
        if bom != 0x0A0B0C0D or major != 1:
            raise ValueError("unsupported byte order or version")
        n_meta, n_tensors, _hsize, self.data_offset = r.take("<Q"), r.take("<Q"), r.take("<Q"), r.take("<Q")
        r.pos = 64
        self.metadata = {}
        for _ in range(n_meta):
            key = r.string()
            self.metadata[key] = r.value(r.take("<I"))
        self.infos = {}
        for _ in range(n_tensors):
            name = r.string()
            dtype, ndims = r.take("<I"), r.take("<I")
            shape = [r.take("<Q") for _ in range(ndims)]
            offset, size, _checksum = r.take("<Q"), r.take("<Q"), r.take("<Q")
            self.infos[name] = (DTYPES[dtype], shape, offset, size)
        self._cache = {}

    def has(self, name):
        return name in self.infos

    def tensor(self, name):
        if name not in self._cache:
            dtype, shape, offset, size = self.infos[name]
            start = self.data_offset + offset
            self._cache[name] = Tensor(name, dtype, shape, self.data[start:start + size])
        return self._cache[name]


def read(path):
    """(metadata dict, {name: (dtype name, shape, float32 values)}) for every tensor of a file."""
    f = BGPT(path)
    return f.metadata, {n: (t.dtype, t.shape, t.values) for n, t in ((n, f.tensor(n)) for n in f.infos)}


def ternary(path, name):
    """(ternary codes as int8 (rows, cols), gamma) of a T2/T1 tensor."""
    t = BGPT(path).tensor(name)
    if t.kind != "ternary":
        raise ValueError(f"tensor {name} is {t.dtype}, not ternary")
    return t.codes, t.gamma
