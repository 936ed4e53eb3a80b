#!/usr/bin/env python3
"""Encode speed on one corpus: lm-tokenize (Swift, --bench) next to tiktoken, HF tokenizers and
sentencepiece (Python), measured in the same run, one thread each.

  swift build -c release --product lm-tokenize
  python3 tools/tokenizer_bench.py --corpus ../shared/data/shakespeare.txt

Kinds: GPT-2 byte-level BPE (encoder.json+vocab.bpe, .tiktoken, tokenizer.json), the same ranks
with the cl100k pattern, SentencePiece BPE and unigram (trained here with spm_train on the corpus),
and Swift's char (the corpus's characters) and bytes tokenizers.
Prints a Markdown table of MB/s (corpus bytes / best-of-N wall time).
"""
import argparse
import os
import re
import subprocess
import tempfile
import time

from tokenizer_parity import gpt2_files, gpt2_references


def best_of(n, fn):
    best = float("inf")
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def swift_mbps(binary, tok_args, corpus, repeats):
    out = subprocess.run([binary] + tok_args + ["--bench", str(repeats)], stdin=open(corpus, "rb"),
                         capture_output=True, check=True).stdout.decode()
    return float(re.search(r"encode ([0-9.]+) MB/s", out).group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=".build/release/lm-tokenize")
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--gpt2-dir")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    os.environ["RAYON_NUM_THREADS"] = "1"
    os.environ["TOKENIZERS_PARALLELISM"] = "false"

    import sentencepiece as spm
    import tiktoken
    import tokenizers

    text = open(args.corpus, encoding="utf-8").read()
    mb = len(text.encode()) / 1e6
    tmp = tempfile.mkdtemp(prefix="tokbench-")
    enc_path, bpe_path = gpt2_files(args)
    tk, tk_cl, tiktoken_path, hf = gpt2_references(enc_path, bpe_path, tmp)
    hf_path = os.path.join(tmp, "tokenizer.json")
    hf.save(hf_path)

    rows = []
    stoi = {c: i for i, c in enumerate(sorted(set(text)))}
    n = args.repeats
    rows.append(("GPT-2 BPE (encoder.json+vocab.bpe)", swift_mbps(args.bin, ["--tokenizer", enc_path + "," + bpe_path], args.corpus, n),
                 "tiktoken " + tiktoken.__version__ if hasattr(tiktoken, "__version__") else "tiktoken",
                 mb / best_of(n, lambda: tk.encode_ordinary(text))))
    rows.append(("GPT-2 BPE (.tiktoken ranks)", swift_mbps(args.bin, ["--tokenizer", tiktoken_path], args.corpus, n),
                 "tiktoken", mb / best_of(n, lambda: tk.encode_ordinary(text))))
    rows.append(("GPT-2 BPE (HF tokenizer.json)", swift_mbps(args.bin, ["--tokenizer", hf_path], args.corpus, n),
                 "HF tokenizers " + tokenizers.__version__, mb / best_of(n, lambda: hf.encode(text, add_special_tokens=False))))
    rows.append(("GPT-2 ranks, cl100k pattern", swift_mbps(args.bin, ["--tokenizer", tiktoken_path, "--pattern", "cl100k"], args.corpus, n),
                 "tiktoken", mb / best_of(n, lambda: tk_cl.encode_ordinary(text))))
    for model_type in ("bpe", "unigram"):
        prefix = os.path.join(tmp, "sp_" + model_type)
        subprocess.run(["spm_train", f"--input={args.corpus}", f"--model_prefix={prefix}", "--vocab_size=2000",
                        f"--model_type={model_type}", "--byte_fallback=true", "--character_coverage=1.0",
                        "--input_sentence_size=20000", "--shuffle_input_sentence=true"], check=True, capture_output=True)
        sp = spm.SentencePieceProcessor(model_file=prefix + ".model")
        lines = text.split("\n")
        rows.append((f"SentencePiece {model_type} (whole text)", swift_mbps(args.bin, ["--tokenizer", prefix + ".model"], args.corpus, n),
                     "sentencepiece " + spm.__version__ + " (whole text)", mb / best_of(n, lambda: sp.encode(text))))
        rows.append((f"SentencePiece {model_type} (per line, Python only)", float("nan"),
                     "sentencepiece (list of lines)", mb / best_of(n, lambda: sp.encode(lines))))
    rows.append(("char (corpus characters)", swift_mbps(args.bin, ["--tokenizer", "chars-of:" + args.corpus], args.corpus, n),
                 "Python [stoi[c] for c in text]", mb / best_of(n, lambda: [stoi[c] for c in text])))
    rows.append(("bytes", swift_mbps(args.bin, ["--tokenizer", "bytes"], args.corpus, n),
                 "Python list(text.encode())", mb / best_of(n, lambda: list(text.encode()))))
    print(f"corpus: {args.corpus}, {mb:.2f} MB; best of {n}; one thread\n")
    print("| tokenizer | Swift MB/s | reference | reference MB/s |")
    print("|---|---|---|---|")
    for name, s, ref, r in rows:
        print(f"| {name} | {s:.2f} | {ref} | {r:.2f} |")


if __name__ == "__main__":
    main()
