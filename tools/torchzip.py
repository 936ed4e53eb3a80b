"""A PyTorch-free writer and reader for torch.save's ZIP checkpoint format (test fixtures).

Writer: `save(obj, path)` produces the same structure as `torch.save` (PyTorch >= 1.6):
a stored (uncompressed) ZIP whose entries share a folder named after the file stem:
`<stem>/data.pkl` (pickle protocol 2), `<stem>/.format_version`, `<stem>/.storage_alignment`,
`<stem>/byteorder`, `<stem>/data/<key>` (raw little-endian storages, payload 64-byte aligned),
`<stem>/version` and `<stem>/.data/serialization_id`. Tensors are `Tensor(numpy_array)` objects;
they pickle as `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False,
OrderedDict())`, storages as persistent ids `('storage', torch.<T>Storage, key, 'cpu', numel)`,
exactly the records pytorch torch/serialization.py `_save` writes (see pytorch
docs/source/notes/serialization.rst). `tools/check_torchzip.py` compares the result with a real checkpoint.

Reader: `load(path)` unpickles with an allowlist (no code runs) and returns numpy arrays, so
tests can compare converted .bgpt tensors with the checkpoint independently of the Swift reader.
"""
import collections
import io
import pickle
import struct
import sys
import types
import zipfile

import numpy as np

# --- fake torch modules, so that pickle writes GLOBAL 'torch._utils _rebuild_tensor_v2' etc. ---
_torch = types.ModuleType("torch")
_utils = types.ModuleType("torch._utils")
STORAGE_TYPES = {
    np.dtype("float32"): "FloatStorage", np.dtype("float16"): "HalfStorage", np.dtype("float64"): "DoubleStorage",
    np.dtype("int8"): "CharStorage", np.dtype("uint8"): "ByteStorage", np.dtype("int16"): "ShortStorage",
    np.dtype("int32"): "IntStorage", np.dtype("int64"): "LongStorage", np.dtype("bool"): "BoolStorage",
}
_storage_classes = {}
for _dt, _name in list(STORAGE_TYPES.items()) + [(None, "BFloat16Storage")]:
    _cls = type(_name, (), {"__module__": "torch"})
    setattr(_torch, _name, _cls)
    _storage_classes[_name] = _cls


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks, metadata=None):
    raise RuntimeError("never called when writing")


_rebuild_tensor_v2.__module__ = "torch._utils"
_utils._rebuild_tensor_v2 = _rebuild_tensor_v2
_torch._utils = _utils
sys.modules.setdefault("torch", _torch)
sys.modules.setdefault("torch._utils", _utils)


class Storage:
    """One storage: a flat numpy array; its key is assigned in first-use order."""

    def __init__(self, array):
        self.array = np.ascontiguousarray(array).reshape(-1)
        self.key = None


class Tensor:
    """A contiguous view of a Storage (a fresh storage per tensor unless one is given)."""

    def __init__(self, array, storage=None, offset=0):
        array = np.asarray(array)
        self.shape = tuple(array.shape)
        self.storage = storage if storage is not None else Storage(array)
        self.offset = offset
        strides, acc = [], 1
        for d in reversed(self.shape):
            strides.append(acc)
            acc *= d
        self.stride = tuple(reversed(strides))

    def __reduce_ex__(self, protocol):
        return (_rebuild_tensor_v2, (self.storage, self.offset, self.shape, self.stride, False, collections.OrderedDict()))


class StateDict(collections.OrderedDict):
    """An OrderedDict carrying `_metadata`, as nn.Module.state_dict() returns."""


def state_dict(items):
    d = collections.OrderedDict(items)
    d._metadata = collections.OrderedDict([("", {"version": 1})])
    return d


class _Pickler(pickle.Pickler):
    def __init__(self, f):
        super().__init__(f, protocol=2)
        self.storages = []

    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            if obj.key is None:
                obj.key = str(len(self.storages))
                self.storages.append(obj)
            name = STORAGE_TYPES[obj.array.dtype]
            return ("storage", _storage_classes[name], obj.key, "cpu", obj.array.size)
        return None


def _aligned_info(zf, name, offset_now):
    """A ZipInfo whose local-header extra field pads the payload to a multiple of 64 (torch's 'FB' padding)."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    base = offset_now + 30 + len(name.encode())
    pad = (-(base + 4)) % 64
    info.extra = struct.pack("<HH", 0x4246, pad) + b"Z" * pad
    return info


def save(obj, path, stem=None):
    """Writes `obj` like torch.save(obj, path)."""
    stem = stem or path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    buf = io.BytesIO()
    p = _Pickler(buf)
    p.dump(obj)
    records = [("data.pkl", buf.getvalue()), (".format_version", b"1"), (".storage_alignment", b"64"), ("byteorder", b"little")]
    records += [("data/" + s.key, s.array.astype(s.array.dtype.newbyteorder("<")).tobytes()) for s in p.storages]
    records += [("version", b"3\n"), (".data/serialization_id", b"0" * 40)]
    # torch.save always ends with ZIP64 end records; zipfile writes them when the entry count is
    # over ZIP_FILECOUNT_LIMIT, so lower that limit while closing.
    saved = zipfile.ZIP_FILECOUNT_LIMIT
    try:
        zipfile.ZIP_FILECOUNT_LIMIT = 0
        with open(path, "wb") as f, zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as zf:
            for name, data in records:
                zf.writestr(_aligned_info(zf, f"{stem}/{name}", f.tell()), data)
    finally:
        zipfile.ZIP_FILECOUNT_LIMIT = saved


# --- reader ---
class _Opaque:
    """A project class instance kept as data: its pickled state only."""
    state = None

    def __setstate__(self, state):
        self.state = state


class _Unpickler(pickle.Unpickler):
    def __init__(self, f, zf, prefix):
        super().__init__(f)
        self.zf, self.prefix = zf, prefix

    def find_class(self, module, name):
        full = f"{module}.{name}"
        if full == "collections.OrderedDict":
            return collections.OrderedDict
        if full == "torch._utils._rebuild_tensor_v2":
            return lambda st, off, size, stride, rg, hooks, meta=None: np.array(st[off:off + int(np.prod(size, dtype=np.int64))]).reshape(size)
        if full == "torch._utils._rebuild_parameter":
            return lambda t, rg, hooks: t
        if module == "torch" and name.endswith("Storage"):
            return name
        if full in ("model.GPTConfig", "gpt.GPTConfig", "bitgpt.BitGPTConfig", "model.config.Config"):
            return type(name, (_Opaque,), {"class_name": full, "__init__": lambda self, *a: None})
        raise pickle.UnpicklingError(f"global {full} is not allowed")

    def persistent_load(self, pid):
        kind, name, key, _loc, numel = pid
        assert kind == "storage"
        raw = self.zf.read(self.prefix + "data/" + key)
        return np.frombuffer(raw, dtype=_dtype_of(name))[:numel]


def _dtype_of(storage_name):
    for dt, n in STORAGE_TYPES.items():
        if n == storage_name:
            return dt.newbyteorder("<")
    raise pickle.UnpicklingError(f"storage type {storage_name} not supported by this reader")


def load(path):
    """Reads a torch.save ZIP with an allowlisted unpickler; tensors come back as numpy arrays."""
    with zipfile.ZipFile(path) as zf:
        pkl = [n for n in zf.namelist() if n.endswith("data.pkl")]
        assert len(pkl) == 1, pkl
        prefix = pkl[0][: -len("data.pkl")]
        return _Unpickler(io.BytesIO(zf.read(pkl[0])), zf, prefix).load()
