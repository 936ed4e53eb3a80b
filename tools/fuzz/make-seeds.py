#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz harnesses into tools/fuzz/corpus/HARNESS/.

Seeds are the project's own small valid files (lm-init models of each family and dtype, the
converter's test fixtures written by tools/make_convert_fixtures.py, small tokenizer files in
every supported format, a SentencePiece model trained here with spm_train) plus malformed ones:
truncations, claims of huge counts and sizes, and deep nesting, which also exercise the resource
limits of formats/limits.md. Run from the repository root:

    python3 tools/fuzz/make-seeds.py [--lm-init PATH] [--lm-convert PATH]

Without --lm-init/--lm-convert the tools are built with `swift build --product` (debug). The
output is deterministic apart from spm_train; keep the total small (a few hundred KB).
"""
import argparse
import base64
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CORPUS = os.path.join(ROOT, "tools", "fuzz", "corpus")
FIXTURES = os.path.join(ROOT, "Tests", "ConvertTests", "Fixtures")


def put(harness, name, data):
    d = os.path.join(CORPUS, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def tool(name, given):
    if given:
        return given
    subprocess.run(["swift", "build", "--product", name], cwd=ROOT, check=True)
    out = subprocess.run(["swift", "build", "--show-bin-path"], cwd=ROOT, check=True, capture_output=True, text=True)
    return os.path.join(out.stdout.strip(), name)


def bgpt_seeds(lm_init, lm_convert, tmp):
    variants = [("gpt2", "f32"), ("gpt2", "f16"), ("bitgpt", "t2"), ("bitgpt", "bf16"), ("llama", "t1"), ("llama", "i8")]
    for arch, dtype in variants:
        out = os.path.join(tmp, f"{arch}-{dtype}.bgpt")
        subprocess.run([lm_init, "--arch", arch, "--dim", "8", "--n-layers", "1", "--n-heads", "2", "--hidden", "16",
                        "--vocab", "256", "--context", "8", "--dtype", dtype, out], check=True, capture_output=True)
        put("fuzz-bgpt", f"{arch}-{dtype}.bgpt", open(out, "rb").read())
    out = os.path.join(tmp, "notok.bgpt")
    subprocess.run([lm_init, "--arch", "llama", "--dim", "4", "--n-layers", "1", "--n-heads", "1", "--n-kv-heads", "1", "--hidden", "8",
                    "--vocab", "12", "--context", "4", "--dtype", "t2", "--tokenizer", "none", "--position", "rope", out],
                   check=True, capture_output=True)
    small = open(out, "rb").read()
    put("fuzz-bgpt", "llama-rope-notok.bgpt", small)
    # A char tokenizer section, from the nanoGPT fixture and its meta.pkl.
    out = os.path.join(tmp, "nanogpt.bgpt")
    subprocess.run([lm_convert, os.path.join(FIXTURES, "nanogpt_tiny.pt"), out, "--tokenizer",
                    os.path.join(FIXTURES, "nanogpt_tiny.meta.pkl")], check=True, capture_output=True)
    put("fuzz-bgpt", "nanogpt-char.bgpt", open(out, "rb").read())
    # Malformed: truncated, and a header claiming 2^32 tensors and 2^32 metadata entries.
    put("fuzz-bgpt", "truncated.bgpt", small[: len(small) // 2])
    claim = bytearray(small[:64])
    struct.pack_into("<QQ", claim, 16, 1 << 32, 1 << 32)
    put("fuzz-bgpt", "huge-counts.bgpt", bytes(claim))


def checkpoint_seeds():
    for name in sorted(os.listdir(FIXTURES)):
        data = open(os.path.join(FIXTURES, name), "rb").read()
        if name.endswith(".pt"):
            put("fuzz-torchzip", name, data)
        elif name.endswith(".safetensors"):
            put("fuzz-safetensors", name, data)
        elif name.endswith(".bin") and not name.endswith(".expected.bin"):
            put("fuzz-llama2c", name, data)
        elif name.endswith(".pkl"):
            put("fuzz-metapkl", name, data)
            put("fuzz-pickle", name, data)
    # The pickles inside the .pt files feed the pickle harness.
    import zipfile
    for name in ("nanogpt_tiny.pt", "bitgpt_tiny.pt", "llama2c_tiny.pt"):
        with zipfile.ZipFile(os.path.join(FIXTURES, name)) as z:
            for n in z.namelist():
                if n.endswith("data.pkl"):
                    put("fuzz-pickle", name.replace(".pt", ".pkl"), z.read(n))
    # Malformed safetensors: a header claiming 2^60 bytes, a tensor claiming 2^60 bytes, deep JSON.
    put("fuzz-safetensors", "huge-header.safetensors", struct.pack("<Q", 1 << 60) + b"{}")
    hdr = b'{"w":{"dtype":"F32","shape":[1073741824,1073741824],"data_offsets":[0,4]}}'
    put("fuzz-safetensors", "huge-shape.safetensors", struct.pack("<Q", len(hdr)) + hdr + b"\0" * 4)
    deep = b"[" * 5000 + b"]" * 5000
    put("fuzz-safetensors", "deep.safetensors", struct.pack("<Q", len(deep)) + deep)
    # Malformed pickles: deep MARK nesting, a huge BINUNICODE length, a global that is refused.
    put("fuzz-pickle", "deep-mark.pkl", b"\x80\x02" + b"(" * 5000 + b"." )
    put("fuzz-pickle", "deep-list.pkl", b"\x80\x02" + b"]" * 3000 + b"a" * 2999 + b".")
    put("fuzz-pickle", "huge-unicode.pkl", b"\x80\x02X\xff\xff\xff\x7fabc.")
    put("fuzz-pickle", "os-system.pkl", b"\x80\x02cos\nsystem\nX\x02\x00\x00\x00lsq\x00\x85R.")
    # Malformed ZIP: an end record claiming 65535 entries and a 2^31-byte directory.
    eocd = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, 0xFFFF, 0xFFFF, 0x7FFFFFFF, 0, 0)
    put("fuzz-torchzip", "huge-directory.pt", eocd)
    # Malformed llama2.c: a v0 header claiming 2^31 layers.
    put("fuzz-llama2c", "huge-layers.bin", struct.pack("<7i", 8, 16, 0x7FFFFFFF, 2, 2, 32, 8))


def byte_level(bs):
    """GPT-2's bytes-to-unicode mapping of a byte string."""
    table = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars, n = table[:], 0
    for b in range(256):
        if b not in table:
            table.append(b)
            chars.append(256 + n)
            n += 1
    m = dict(zip(table, map(chr, chars)))
    return "".join(m[b] for b in bs)


def tokenizer_seeds(tmp):
    merges = [(b"t", b"h"), (b"th", b"e"), (b" ", b"the"), (b"a", b"n"), (b"an", b"d"), (b"i", b"n"), (b"in", b"g")]
    tokens = [bytes([b]) for b in range(256)] + [a + b for a, b in merges]
    vocab = {byte_level(t): i for i, t in enumerate(tokens)}
    merge_text = [f"{byte_level(a)} {byte_level(b)}" for a, b in merges]
    eot = len(tokens)
    hf = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": eot, "content": "<|endoftext|>", "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True}],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": None, "decoder": {"type": "ByteLevel"},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "vocab": vocab, "merges": merge_text},
    }
    put("fuzz-tokenizer-json", "bpe.json", json.dumps(hf, ensure_ascii=False).encode())
    hf2 = json.loads(json.dumps(hf))
    hf2["model"]["merges"] = [m.split(" ") for m in merge_text]
    hf2["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": "(?i:'s|'t)|\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+|\\s+"}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
    put("fuzz-tokenizer-json", "bpe-sequence.json", json.dumps(hf2, ensure_ascii=False).encode())
    put("fuzz-tokenizer-json", "deep.json", b"[" * 10000 + b"]" * 10000)
    put("fuzz-tokenizer-json", "huge-id.json", b'{"model":{"type":"BPE","vocab":{"a":3999999},"merges":[]},"pre_tokenizer":{"type":"ByteLevel"}}')

    encoder = dict(vocab)
    encoder["<|endoftext|>"] = eot
    put("fuzz-gpt2-bpe", "gpt2", json.dumps(encoder, ensure_ascii=False).encode() + b"\0" + ("#version: 0.2\n" + "\n".join(merge_text) + "\n").encode())
    put("fuzz-gpt2-bpe", "huge-id", b'{"a":3999999}\0#version: 0.2\na b\n')

    lines = [base64.b64encode(t).decode() + f" {i}" for i, t in enumerate(tokens)]
    put("fuzz-tiktoken", "small.tiktoken", ("\n".join(lines) + "\n").encode())
    put("fuzz-tiktoken", "huge-rank.tiktoken", b"YQ== 3999999\n")

    spm = shutil.which("spm_train")
    if spm:
        text = os.path.join(tmp, "text.txt")
        with open(text, "w") as f:
            f.write("the quick brown fox jumps over the lazy dog\nthe end of the story is near\n" * 20)
        for kind in ("bpe", "unigram"):
            prefix = os.path.join(tmp, kind)
            subprocess.run([spm, f"--input={text}", f"--model_prefix={prefix}", "--vocab_size=30", "--normalization_rule_name=identity", f"--model_type={kind}",
                            "--minloglevel=2"],
                           check=True, capture_output=True)
            put("fuzz-sentencepiece", f"{kind}.model", open(prefix + ".model", "rb").read())
    else:
        print("notice: spm_train not found; no SentencePiece seeds", file=sys.stderr)

    # meta.pkl: protocol-2 {'vocab_size': 3, 'itos': {0:'a',1:'b',2:'c'}, 'stoi': {...}}.
    def s(x):
        b = x.encode()
        return b"X" + struct.pack("<I", len(b)) + b
    itos = b"}(" + b"".join(b"K" + bytes([i]) + s(c) for i, c in enumerate("abc")) + b"u"
    stoi = b"}(" + b"".join(s(c) + b"K" + bytes([i]) for i, c in enumerate("abc")) + b"u"
    put("fuzz-metapkl", "abc.pkl", b"\x80\x02}(" + s("vocab_size") + b"K\x03" + s("itos") + itos + s("stoi") + stoi + b"u.")
    put("fuzz-metapkl", "huge-long.pkl", b"\x80\x02}(" + s("itos") + b"}(\x8a\x08\xff\xff\xff\xff\xff\xff\xff\x7f" + s("a") + b"uu.")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lm-init")
    ap.add_argument("--lm-convert")
    a = ap.parse_args()
    shutil.rmtree(CORPUS, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        bgpt_seeds(tool("lm-init", a.lm_init), tool("lm-convert", a.lm_convert), tmp)
        checkpoint_seeds()
        tokenizer_seeds(tmp)
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(CORPUS) for f in fs)
    print(f"seeds: {total} bytes in {CORPUS}")


if __name__ == "__main__":
    main()
