"""A NumPy forward pass over a .bgpt file, to check that a conversion means what the checkpoint meant.

usage: python3 tools/bgpt_forward.py MODEL.bgpt CASE_DIR

Runs the gpt2 or bitgpt family (formats/bgpt.md semantics; the math of
../shared/reference/seed-projects.md sections 1.3-1.4 and 2.1) on CASE_DIR/case.json's prompt ids and
compares every row of logits with CASE_DIR/logits.npy within the case's tolerance. This checks the
converter's name mapping end to end (q/k/v order, heads, tying, scales), independently of the Swift
runtime. Exit status 0 within tolerance, 1 otherwise.
"""
import json
import math
import sys

import numpy as np

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import bgpt  # noqa: E402

erf = np.vectorize(math.erf)


def layernorm(x, g, b, eps):
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    y = (x - m) / np.sqrt(v + eps) * g
    return y + b if b is not None else y


def attention(q, k, v):
    T, hd = q.shape
    s = q @ k.T / np.sqrt(np.float32(hd))
    s = np.where(np.tril(np.ones((T, T), bool)), s, -np.inf)
    s = np.exp(s - s.max(-1, keepdims=True))
    return (s / s.sum(-1, keepdims=True)) @ v


def gpt2(meta, W, ids):
    D, H, L = meta["model.dim"], meta["model.n_heads"], meta["model.n_layers"]
    eps = meta["model.norm_eps"]
    x = W["token_embd"][ids] + W["pos_embd"][: len(ids)]
    g = lambda n: W.get(n)  # noqa: E731
    for l in range(L):
        p = f"blk.{l}."
        h = layernorm(x, W[p + "attn_norm"], g(p + "attn_norm_bias"), eps)
        qkv = h @ W[p + "attn_qkv"].T + (g(p + "attn_qkv_bias") if g(p + "attn_qkv_bias") is not None else 0)
        q, k, v = qkv[:, :D], qkv[:, D:2 * D], qkv[:, 2 * D:]
        hd = D // H
        y = np.concatenate([attention(q[:, i * hd:(i + 1) * hd], k[:, i * hd:(i + 1) * hd], v[:, i * hd:(i + 1) * hd]) for i in range(H)], -1)
        x = x + y @ W[p + "attn_out"].T + (g(p + "attn_out_bias") if g(p + "attn_out_bias") is not None else 0)
        h = layernorm(x, W[p + "ffn_norm"], g(p + "ffn_norm_bias"), eps)
        u = h @ W[p + "ffn_up"].T + (g(p + "ffn_up_bias") if g(p + "ffn_up_bias") is not None else 0)
        u = 0.5 * u * (1 + erf(u / np.sqrt(2)))
        x = x + u @ W[p + "ffn_down"].T + (g(p + "ffn_down_bias") if g(p + "ffn_down_bias") is not None else 0)
    x = layernorm(x, W["output_norm"], g("output_norm_bias"), eps)
    return x @ (W["token_embd"] if meta["model.tied_embeddings"] else W["output"]).T


def bitgpt(meta, W, T2, ids):
    H, L = meta["model.n_heads"], meta["model.n_layers"]
    beps = meta["bitlinear.norm_eps"]

    def bitlinear(name, x):
        xn = x / np.sqrt((x * x).mean(-1, keepdims=True) + np.float32(beps)) * W[name + ".norm"]
        a = np.float32(127) / np.maximum(np.abs(xn).max(-1, keepdims=True), np.float32(1e-5))
        q = np.clip(np.rint(xn * a), -128, 127)
        t, gamma = T2[name]
        return (q @ t.T.astype(np.float32)) * gamma / a

    x = W["token_embd"][ids] + W["pos_embd"][: len(ids)]
    for l in range(L):
        p = f"blk.{l}."
        heads = [attention(bitlinear(p + f"attn_q.{h}", x), bitlinear(p + f"attn_k.{h}", x), bitlinear(p + f"attn_v.{h}", x)) for h in range(H)]
        x = x + bitlinear(p + "attn_out", np.concatenate(heads, -1))
        x = x + bitlinear(p + "ffn_down", np.maximum(bitlinear(p + "ffn_up", x), 0))
    x = layernorm(x, W["output_norm"], W.get("output_norm_bias"), meta["model.norm_eps"])
    return x @ W["output"].T + W["output_bias"]


def main():
    path, case_dir = sys.argv[1], sys.argv[2]
    case = json.load(open(case_dir + "/case.json"))
    ref = np.load(case_dir + "/" + case["logits"])
    meta, tensors = bgpt.read(path)
    W = {n: v.astype(np.float32) for n, (_k, _s, v) in tensors.items()}
    ids = np.array(case["prompt_ids"])
    if meta["general.architecture"] == "bitgpt":
        T2 = {n: bgpt.ternary(path, n) for n, (k, _s, _v) in tensors.items() if k in ("T2", "T1")}
        logits = bitgpt(meta, W, T2, ids)
    else:
        logits = gpt2(meta, W, ids)
    diff = float(np.max(np.abs(logits - ref)))
    agree = int((logits.argmax(-1) == ref.argmax(-1)).sum())
    ok = diff <= case["tolerance"]
    print(f"{path}: max |logit - reference| = {diff:.3e} (tolerance {case['tolerance']}), argmax agrees on {agree}/{len(ids)} rows: {'ok' if ok else 'FAIL'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
