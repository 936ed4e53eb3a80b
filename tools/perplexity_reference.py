#!/usr/bin/env python3
"""Independent NumPy perplexity and KL divergence, over tools/reference.py's forward pass.

Checks `lm-perplexity` (Sources/BitGPT/Model/Perplexity.swift). The windows are placed as Hugging
Face's strided perplexity places them (written here from that description, not from the Swift
code): start at 0, 0+stride, ...; a window ends at min(start + window, n) and always holds
`window` tokens (the last one is moved back to end at the text's end); each window scores the
tokens past the previous window's end (stride < window, so each has a token before it). Log-probabilities are float64 log-softmax of the float32
logits; KL(p_ref || p_model) per scored token, clamped at 0; p99 is the nearest-rank percentile.

Usage:
  perplexity_reference.py MODEL --tokens-file IDS.txt --window W --stride S [--reference REF]
prints JSON: perplexity, nll_mean, scored, windows (and kl_mean, kl_p99, top1_agree, ref_perplexity).
"""
import argparse
import json
import math

import numpy as np

from reference import Model


def windows(n, window, stride):
    out, start, done = [], 0, 1
    while True:
        end = min(start + window, n)
        out.append((end - window, done, end))  # (first token, first target, end)
        done = end
        if end == n:
            return out
        start += stride


def log_softmax(z):
    z = z.astype(np.float64)
    m = z.max(axis=-1, keepdims=True)
    return z - (m + np.log(np.exp(z - m).sum(axis=-1, keepdims=True)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--tokens-file", required=True, help="token ids separated by spaces, commas or newlines")
    ap.add_argument("--window", type=int, required=True)
    ap.add_argument("--stride", type=int, required=True)
    ap.add_argument("--reference", help="reference model for KL(p_ref || p_model)")
    a = ap.parse_args()
    assert 1 <= a.stride < a.window, "the stride must be 1 to window - 1"
    ids = [int(t) for t in open(a.tokens_file).read().replace(",", " ").split()]
    model = Model(a.model)
    ref = Model(a.reference) if a.reference else None
    nll, ref_nll, kls, agree, plan = 0.0, 0.0, [], 0, windows(len(ids), a.window, a.stride)
    for begin, first, end in plan:
        chunk = ids[begin:end]
        lp = log_softmax(model.forward(chunk))
        lr = log_softmax(ref.forward(chunk)) if ref else None
        for t in range(first, end):
            row = t - 1 - begin
            nll -= lp[row, ids[t]]
            if ref:
                ref_nll -= lr[row, ids[t]]
                kls.append(max(0.0, float(np.sum(np.exp(lr[row]) * (lr[row] - lp[row])))))
                agree += int(np.argmax(lp[row]) == np.argmax(lr[row]))
    scored = len(ids) - 1
    out = {"scored": scored, "windows": len(plan), "nll_mean": nll / scored, "perplexity": math.exp(nll / scored)}
    if ref:
        s = sorted(kls)
        out.update(kl_mean=sum(kls) / len(kls), kl_p99=s[max(0, math.ceil(0.99 * len(s)) - 1)], top1_agree=agree,
                   ref_perplexity=math.exp(ref_nll / scored))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
