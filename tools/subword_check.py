#!/usr/bin/env python3
"""Independent checks of the tokenizers lm-train trains (tokenizer.json, tokenizer.model).

  subword_check.py bpe --text T --tokenizer tokenizer.json [--ids IDS] [--reference-merges K]
      1. Trains Hugging Face `tokenizers`' BpeTrainer on T (ByteLevel pre-tokenizer, full byte
         alphabet, the whole text as one sequence) to the same vocabulary size and requires the
         same vocabulary and merges, in order.
      2. Trains the first K merges with the small pure-Python trainer below (GPT-2 regex from the
         `regex` package, naive recount every step) and requires the same first K merges.
      3. With --ids (uint16 little-endian, as the token cache's train.bin + val.bin), loads the
         tokenizer.json with HF `tokenizers`, encodes T and requires exactly those ids.

  subword_check.py sentencepiece --text T --tokenizer tokenizer.model --ids IDS
      Loads the .model with the `sentencepiece` package, encodes T and requires the ids.

Exit status 0 when everything agrees, 1 with a message naming the first difference, 2 when a
Python package is missing.
"""
import argparse
import json
import struct
import sys

from tokenizer_parity import byte_decoder

GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


def bytes_to_unicode():
    """GPT-2's byte -> printable character map (the inverse of tokenizer_parity.byte_decoder)."""
    return {b: c for c, b in byte_decoder().items()}


def reference_merges(text, count):
    """The first `count` merges by the plain definition: count every adjacent pair over all
    words (weighted by word frequency), take the most frequent, ties to the smallest
    (left id, right id), merge left to right without overlap; ids: the 256 bytes sorted by
    their byte-to-unicode character, then each new token in order of creation."""
    import regex

    b2u = bytes_to_unicode()
    words = {}
    for piece in regex.findall(GPT2_PATTERN, text):
        key = tuple(b2u[b] for b in piece.encode("utf-8"))
        words[key] = words.get(key, 0) + 1
    vocab = sorted(b2u.values())
    ids = {t: i for i, t in enumerate(vocab)}
    words = {tuple(ids[c] for c in w): n for w, n in words.items()}
    merges = []
    while len(merges) < count:
        pairs = {}
        for w, n in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] = pairs.get((a, b), 0) + n
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))
        a, b = best
        merged = vocab[a] + vocab[b]
        if merged in ids:
            new = ids[merged]
        else:
            new = len(vocab)
            vocab.append(merged)
            ids[merged] = new
        merges.append(vocab[a] + " " + vocab[b])
        out = {}
        for w, n in words.items():
            r, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and w[i] == a and w[i + 1] == b:
                    r.append(new)
                    i += 2
                else:
                    r.append(w[i])
                    i += 1
            out[tuple(r)] = out.get(tuple(r), 0) + n
        words = out
    return merges


def read_ids(path):
    data = open(path, "rb").read()
    return list(struct.unpack("<%dH" % (len(data) // 2), data))


def fail(msg):
    print("subword_check: " + msg)
    sys.exit(1)


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def check_bpe(args, text):
    try:
        from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    except ImportError:
        print("subword_check: the tokenizers package is missing")
        sys.exit(2)
    ours = json.load(open(args.tokenizer, encoding="utf-8"))
    our_merges = [m if isinstance(m, str) else " ".join(m) for m in ours["model"]["merges"]]
    our_vocab = ours["model"]["vocab"]

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    trainer = trainers.BpeTrainer(vocab_size=len(our_vocab), initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False, min_frequency=0)
    tok.train_from_iterator([text], trainer)
    hf = json.loads(tok.to_str())["model"]
    hf_merges = [m if isinstance(m, str) else " ".join(m) for m in hf["merges"]]
    if hf_merges != our_merges:
        i = first_difference(hf_merges, our_merges)
        fail("merge %d differs from HF BpeTrainer: ours %r, HF %r (%d vs %d merges)"
             % (i, our_merges[i:i + 1], hf_merges[i:i + 1], len(our_merges), len(hf_merges)))
    if hf["vocab"] != our_vocab:
        fail("the vocabulary differs from HF BpeTrainer's")
    print("subword_check: %d merges and %d tokens equal HF BpeTrainer's" % (len(our_merges), len(our_vocab)))

    k = min(args.reference_merges, len(our_merges))
    ref = reference_merges(text, k)
    if ref != our_merges[:k]:
        i = first_difference(ref, our_merges)
        fail("merge %d differs from the pure-Python reference: ours %r, reference %r" % (i, our_merges[i:i + 1], ref[i:i + 1]))
    print("subword_check: the first %d merges equal the pure-Python reference" % k)

    if args.ids:
        loaded = Tokenizer.from_file(args.tokenizer)
        check_ids(loaded.encode(text).ids, read_ids(args.ids), "HF tokenizers")


def check_ids(got, want, who):
    if got != want:
        i = first_difference(got, want)
        fail("%s encodes the text to %d ids, the token cache holds %d; first difference at %d: %r vs %r"
             % (who, len(got), len(want), i, got[i:i + 3], want[i:i + 3]))
    print("subword_check: %s encodes the text to the %d cached ids" % (who, len(got)))


def check_sentencepiece(args, text):
    try:
        import sentencepiece as spm
    except ImportError:
        print("subword_check: the sentencepiece package is missing")
        sys.exit(2)
    sp = spm.SentencePieceProcessor(model_file=args.tokenizer)
    check_ids(sp.encode(text), read_ids(args.ids), "Python sentencepiece")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kind", choices=["bpe", "sentencepiece"])
    ap.add_argument("--text", required=True)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--ids")
    ap.add_argument("--reference-merges", type=int, default=40)
    args = ap.parse_args()
    text = open(args.text, encoding="utf-8", newline="").read()
    if args.kind == "bpe":
        check_bpe(args, text)
    else:
        if not args.ids:
            fail("sentencepiece needs --ids")
        check_sentencepiece(args, text)


if __name__ == "__main__":
    main()
