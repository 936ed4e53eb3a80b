#!/usr/bin/env python3
"""Writes the tiny example file of formats/bgpt.md from the spec alone and prints its hex dump.

An encoder independent of the Swift writer: `general.architecture = "llama"`, one F32 tensor
`w` of shape (2, 2) holding 1, 2, 3, 4, alignment 64. Its output is the dump in the spec and the
literal in Tests/BitGPTTests/GoldenFileTests.swift. Needs the PyPI `xxhash` package.
"""
import struct

import xxhash


def string(x):
    b = x.encode()
    return struct.pack("<Q", len(b)) + b


def main():
    meta = string("general.architecture") + struct.pack("<I", 11) + string("llama")
    data = struct.pack("<4f", 1, 2, 3, 4)
    table = (string("w") + struct.pack("<II", 0, 2) + struct.pack("<QQ", 2, 2)
             + struct.pack("<QQQ", 0, len(data), xxhash.xxh64_intdigest(data)))
    header_size = 64 + len(meta) + len(table)
    data_offset = (header_size + 63) // 64 * 64
    data_size = (len(data) + 63) // 64 * 64
    fixed = b"BGPT" + struct.pack("<IHHIQQQQQQ", 0x0A0B0C0D, 1, 0, 64, 1, 1,
                                  header_size, data_offset, data_size, 0)
    header = fixed + meta + table
    checksum = xxhash.xxh64_intdigest(header)  # computed with the checksum field zero
    header = header[:56] + struct.pack("<Q", checksum) + header[64:]
    f = header + bytes(data_offset - header_size) + data + bytes(data_size - len(data))
    for i in range(0, len(f), 16):
        row = f[i:i + 16]
        text = "".join(chr(c) if 32 <= c < 127 else "." for c in row)
        print("%08x  %-47s  |%s|" % (i, " ".join("%02x" % c for c in row), text))


if __name__ == "__main__":
    main()
