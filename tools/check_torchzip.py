"""Checks that tools/torchzip.py writes the same container structure as real torch.save files.

usage: python3 tools/check_torchzip.py REAL.pt [REAL2.pt ...]

For each real checkpoint (e.g. ../shared/fixtures/*/…pt) it writes a small checkpoint with
torchzip.save and compares: the set of member names after the top folder (storages reduced to
`data/<n>`), compression (stored), 64-byte alignment of every payload, the pickle protocol,
the set of opcodes used (ours must be a subset of torch's), and the GLOBALs used.
Exit status 0 when every check passes.
"""
import collections
import pickletools
import re
import sys
import tempfile
import zipfile

import numpy as np

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import torchzip  # noqa: E402


def describe(path):
    zf = zipfile.ZipFile(path)
    raw = open(path, "rb").read()
    infos = zf.infolist()
    pkl = [i for i in infos if i.filename.endswith("data.pkl")][0]
    prefix = pkl.filename[: -len("data.pkl")]
    members = {re.sub(r"^data/\d+$", "data/<n>", i.filename[len(prefix):]) for i in infos}
    stored = all(i.compress_type == zipfile.ZIP_STORED for i in infos)
    misaligned = []
    for i in infos:
        n, e = int.from_bytes(raw[i.header_offset + 26:i.header_offset + 28], "little"), int.from_bytes(raw[i.header_offset + 28:i.header_offset + 30], "little")
        start = i.header_offset + 30 + n + e
        if i.filename[len(prefix):].startswith("data/") and start % 64:
            misaligned.append(i.filename)
    ops, globs, proto = collections.Counter(), set(), None
    for op, arg, _pos in pickletools.genops(zf.read(pkl.filename)):
        ops[op.name] += 1
        if op.name == "PROTO":
            proto = arg
        if op.name == "GLOBAL":
            globs.add(arg.replace(" ", "."))
    zip64 = b"PK\x06\x06" in raw[-200:] and b"PK\x06\x07" in raw[-200:]
    return dict(zip64=zip64, members=members, stored=stored, misaligned=misaligned, ops=set(ops), globals=globs, proto=proto)


def main():
    with tempfile.TemporaryDirectory() as d:
        path = f"{d}/mine.pt"
        w = torchzip.Tensor(np.arange(12, dtype=np.float32).reshape(3, 4))
        sd = torchzip.state_dict([("a.weight", w), ("b.weight", w), ("c", torchzip.Tensor(np.array([1, 0, -1], np.int8)))])
        torchzip.save({"model": sd, "model_args": {"n_layer": 1, "bias": False, "dropout": 0.0}, "iter_num": 5,
                       "best_val_loss": torchzip.Tensor(np.array(1.5, np.float32))}, path)
        mine = describe(path)
        ok = True
        all_ops, all_globals = set(), set()
        for real in sys.argv[1:]:
            ref = describe(real)
            checks = [
                ("member names", mine["members"] == ref["members"], f"{sorted(mine['members'])} vs {sorted(ref['members'])}"),
                ("ZIP64 end records", mine["zip64"] == ref["zip64"], f"{mine['zip64']} vs {ref['zip64']}"),
                ("stored entries", mine["stored"] and ref["stored"], ""),
                ("64-byte aligned storages", not mine["misaligned"] and not ref["misaligned"], f"{mine['misaligned']} {ref['misaligned']}"),
                ("pickle protocol", mine["proto"] == ref["proto"] == 2, f"{mine['proto']} vs {ref['proto']}"),
            ]
            all_ops |= ref["ops"]
            all_globals |= ref["globals"]
            for name, passed, detail in checks:
                print(f"{'ok  ' if passed else 'FAIL'} {real}: {name} {'' if passed else detail}")
                ok &= passed
            print(f"     torch opcodes: {sorted(ref['ops'])}; globals: {sorted(ref['globals'])}")
        for name, passed, detail in [
            ("opcodes (ours within torch's)", mine["ops"] <= all_ops, f"extra: {sorted(mine['ops'] - all_ops)}"),
            ("globals (ours within torch's)", mine["globals"] <= all_globals, f"extra: {sorted(mine['globals'] - all_globals)}"),
        ]:
            print(f"{'ok  ' if passed else 'FAIL'} all: {name} {'' if passed else detail}")
            ok &= passed
        print(f"     ours: opcodes {sorted(mine['ops'])}; globals {sorted(mine['globals'])}")
        sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
