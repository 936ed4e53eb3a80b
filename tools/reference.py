#!/usr/bin/env python3
"""Independent NumPy forward pass of every BitGPT family, reading the same .bgpt file as the runtime.

Families (metadata `general.architecture`): gpt2 (nanoGPT), bitgpt (BitGPT), llama (llama2.c);
positions learned / rope (interleaved or half pairing) / none; the MLP activation between the
linears or after the down projection (`model.ffn_activation_position`); the block stack run
`model.block_repeats` times; the final norm's own epsilon (`model.output_norm_eps`). Float math is float32; BitLinear
layers quantize activations per token (a = 127 / max(max|x|, 1e-5), q = clip(rint(x·a), -128, 127),
rint = round half to even) and form the exact integer sum in int64.

Usage:
  reference.py MODEL --tokens 1,2,3 [--logits-out F.npy]        logits of every position
  reference.py MODEL --tokens 1,2,3 --greedy N                   greedy continuation (JSON ids)
  reference.py MODEL --tokens 1,2,3 --kv-f16 ...                 keys and values rounded to binary16,
                                                                 as the runtime's F16 KV cache stores them
  reference.py MODEL --accumulators NAME --input X.npy           int sums of one BitLinear (JSON)
  reference.py MODEL --tokens 1,2,3 --lora A.safetensors[:S] ...  with LoRA adapters (repeatable):
                                                                 y += S·(alpha/r)·B·(A·x) after each targeted
                                                                 linear, in float32, on the linear's float input
"""
import argparse
import json
import math
import sys

import numpy as np

from bgpt import BGPT

F = np.float32
ERF = np.vectorize(math.erf, otypes=[np.float64])


# The float steps before every int8 quantization mirror the runtime's operation order (sums in
# index order, exp and erf in float64 rounded once to float32), so quantized models agree exactly:
# a last-bit difference could otherwise flip a rounding of x·a and change an integer sum.
def seq_sum(a):
    """Sum over the last axis in index order, in float32."""
    s = np.zeros(a.shape[:-1], dtype=F)
    for i in range(a.shape[-1]):
        s = s + a[..., i]
    return s


def exp32(x):
    return np.exp(x.astype(np.float64)).astype(F)


# PEFT module paths (huggingface/peft naming of Llama and GPT-2 layers) -> .bgpt tensor suffixes.
LORA_MODULES = {
    "llama": ("base_model.model.model.layers.", {
        "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
        "self_attn.o_proj": "attn_out", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}),
    "gpt2": ("base_model.model.transformer.h.", {
        "attn.c_attn": "attn_qkv", "attn.c_proj": "attn_out", "mlp.c_fc": "ffn_up", "mlp.c_proj": "ffn_down"}),
}


def read_lora(path, scale, arch):
    """A LoRA adapter file (safetensors, F32) as {bgpt tensor name: [(coef, A, B)]}, read with NumPy alone."""
    raw = open(path, "rb").read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    if meta.get("format") != "bitgpt-lora" or meta.get("architecture") != arch:
        sys.exit(f"{path}: not a bitgpt-lora adapter for a {arch} model")
    rank, alpha = int(meta["rank"]), float(meta["alpha"])
    coef = F(scale * alpha / rank)
    prefix, modules = LORA_MODULES[arch]
    mats = {}
    for name, e in header.items():
        assert e["dtype"] == "F32" and name.startswith(prefix) and name.endswith(".weight"), name
        layer, rest = name[len(prefix):].split(".", 1)
        module, which = rest[:-len(".weight")].rsplit(".", 1)
        b, end = e["data_offsets"]
        arr = np.frombuffer(raw, dtype="<f4", count=(end - b) // 4, offset=8 + n + b).reshape(e["shape"]).astype(F)
        mats.setdefault(f"blk.{layer}.{modules[module]}", {})[which] = arr
    return {k: (coef, v["lora_A"], v["lora_B"]) for k, v in mats.items()}


class Model:
    def __init__(self, path, kv_f16=False, loras=()):
        self.f = BGPT(path)
        self.kv_f16 = kv_f16
        m = self.f.metadata
        self.arch = m["general.architecture"]
        self.V, self.T, self.D = m["model.vocab_size"], m["model.context_length"], m["model.dim"]
        self.L, self.nh, self.nkv = m["model.n_layers"], m["model.n_heads"], m["model.n_kv_heads"]
        self.hd = self.D // self.nh
        self.norm_kind, self.eps = m["model.norm"], F(m["model.norm_eps"])
        self.norm_bias = m["model.norm_bias"] and self.norm_kind == "layernorm"
        self.position, self.activation = m["model.position"], m["model.activation"]
        self.linear_bias, self.head_bias, self.tied = m["model.linear_bias"], m["model.head_bias"], m["model.tied_embeddings"]
        self.bitlinear = m["bitlinear.enabled"]
        self.act_position = m.get("model.ffn_activation_position", "hidden")
        self.repeats = m.get("model.block_repeats", 1)
        self.out_eps = F(m.get("model.output_norm_eps", self.eps))
        self.bl_norm = self.bitlinear and m.get("bitlinear.norm", False)
        self.bl_eps = F(m.get("bitlinear.norm_eps", 1e-6))
        if self.position == "rope":
            theta, pairs = float(m["model.rope_theta"]), self.hd // 2
            ang = np.arange(self.T, dtype=np.float64)[:, None] * theta ** (-2.0 * np.arange(pairs) / self.hd)[None, :]
            self.cos, self.sin = np.cos(ang).astype(F), np.sin(ang).astype(F)
            self.pairing = m["model.rope_pairing"]
        self.lora = {}
        for spec in loras:  # FILE or FILE:SCALE
            file, _, sc = spec.rpartition(":") if ":" in spec else (spec, "", "1")
            for k, v in read_lora(file, float(sc), self.arch).items():
                self.lora.setdefault(k, []).append(v)

    def vec(self, name):
        return self.f.tensor(name).values.astype(F)

    # --- layers -------------------------------------------------------------------------------
    @staticmethod
    def quantize(x):
        a = F(127) / np.maximum(np.abs(x).max(axis=-1), F(1e-5))
        q = np.clip(np.rint(x * a[:, None]), -128, 127)
        return q, a

    def rms(self, x, g, eps):
        n = F(x.shape[-1])
        inv = F(1) / np.sqrt(seq_sum(x * x) / n + eps)
        return x * inv[:, None] * g

    def layer_norm(self, x, g, b, eps):
        n = F(x.shape[-1])
        d = x - (seq_sum(x) / n)[:, None]
        inv = F(1) / np.sqrt(seq_sum(d * d) / n + eps)
        y = d * inv[:, None] * g
        return y + b if b is not None else y

    def block_norm(self, x, name, eps=None):
        g, eps = self.vec(name), self.eps if eps is None else eps
        if self.norm_kind == "rmsnorm":
            return self.rms(x, g, eps)
        return self.layer_norm(x, g, self.vec(name + "_bias") if self.norm_bias else None, eps)

    def accumulators(self, name, x):
        """Integer sums and activation scales of a quantized layer (after its own norm, if any)."""
        if self.bl_norm and self.f.has(name + ".norm"):
            x = self.rms(x, self.vec(name + ".norm"), self.bl_eps)
        return self._acc_prenormed(self.f.tensor(name), x)

    def linear(self, x, name, bias, bit=None):
        y = self.base_linear(x, name, bias, bit)
        for coef, a, b in self.lora.get(name, ()):
            # Sums in index order, as the runtime forms them, so a quantized base downstream sees the same floats.
            h = seq_sum(x.astype(F)[:, None, :] * a[None, :, :])           # (n, r) = A·x
            y = (y + coef * seq_sum(h[:, None, :] * b[None, :, :])).astype(F)  # (n, out) += coef·B·h
        return y

    def base_linear(self, x, name, bias, bit=None):
        bit = self.bitlinear if bit is None else bit
        w = self.f.tensor(name)
        if bit and self.bl_norm and self.f.has(name + ".norm"):
            x = self.rms(x, self.vec(name + ".norm"), self.bl_eps)
        if w.kind == "ternary" or w.kind == "i8":
            acc, a = self._acc_prenormed(w, x)
            accf = acc.astype(F)
            y = accf * w.gamma / a[:, None] if w.kind == "ternary" else accf * w.scales[None, :] / a[:, None]
        elif bit:
            q, a = self.quantize(x)
            y = (q.astype(F) @ w.values.reshape(w.shape[0], -1).T.astype(F)) / a[:, None]
        else:
            y = x @ w.values.T.astype(F)
        if bias:
            y = y + self.vec(name + "_bias")
        return y.astype(F)

    @staticmethod
    def _acc_prenormed(w, x):
        # Integer products summed in float64: every partial sum is an integer below 2^53, so the
        # result is exact whatever the summation order (and much faster than an int64 matmul).
        if not hasattr(w, "codes_t"):
            w.codes_t = w.codes.astype(np.float64).T
        q, a = Model.quantize(x)
        return (q.astype(np.float64) @ w.codes_t).astype(np.int64), a

    def rope(self, x, heads, pos):
        x = x.reshape(len(pos), heads, self.hd).copy()
        c, s = self.cos[pos][:, None, :], self.sin[pos][:, None, :]
        p = self.hd // 2
        if self.pairing == "interleaved":
            a, b = x[..., 0::2].copy(), x[..., 1::2].copy()
            x[..., 0::2], x[..., 1::2] = a * c - b * s, a * s + b * c
        else:
            a, b = x[..., :p].copy(), x[..., p:].copy()
            x[..., :p], x[..., p:] = a * c - b * s, a * s + b * c
        return x.reshape(len(pos), heads * self.hd)

    def attention(self, q, k, v):
        """Causal softmax(q·kᵀ/√hd)·v per head; dot products and sums in index order."""
        n, hd, group = q.shape[0], self.hd, self.nh // self.nkv
        out = np.zeros((n, self.D), dtype=F)
        scale = F(1) / np.sqrt(F(hd))
        causal = np.tril(np.ones((n, n), dtype=bool))
        for h in range(self.nh):
            kh = h // group
            qh, khm, vh = q[:, h * hd:(h + 1) * hd], k[:, kh * hd:(kh + 1) * hd], v[:, kh * hd:(kh + 1) * hd]
            s = seq_sum(qh[:, None, :] * khm[None, :, :]) * scale       # (n, n)
            m = np.where(causal, s, -np.inf).max(axis=-1)
            e = np.where(causal, exp32(s - m[:, None]), F(0))
            p = e * (F(1) / seq_sum(e))[:, None]
            o = np.zeros((n, hd), dtype=F)
            for j in range(n):
                o = o + p[:, j, None] * vh[None, j, :]
            out[:, h * hd:(h + 1) * hd] = o
        return out

    def act(self, h):
        if self.activation == "gelu":
            e = ERF(h.astype(np.float64) * 0.7071067811865476).astype(F)
            return F(0.5) * h * (F(1) + e)
        if self.activation == "relu":
            return np.maximum(h, F(0))
        return h / (F(1) + exp32(-h))

    # --- the model ----------------------------------------------------------------------------
    def forward(self, tokens):
        """Logits (n, V) for tokens at positions 0..n-1 (n ≤ context length)."""
        n, D, lb = len(tokens), self.D, self.linear_bias
        pos = np.arange(n)
        x = self.vec("token_embd").reshape(self.V, D)[tokens].copy()
        if self.position == "learned":
            x = x + self.vec("pos_embd").reshape(self.T, D)[pos]
        for step in range(self.L * self.repeats):  # the whole stack, `repeats` times, weights shared
            p = f"blk.{step % self.L}."
            xin = x if self.arch == "bitgpt" else self.block_norm(x, p + "attn_norm")
            if self.arch == "gpt2":
                qkv = self.linear(xin, p + "attn_qkv", lb)
                q, k, v = qkv[:, :D], qkv[:, D:2 * D], qkv[:, 2 * D:]
            elif self.arch == "llama":
                q, k, v = (self.linear(xin, p + s, lb) for s in ("attn_q", "attn_k", "attn_v"))
            else:
                q, k, v = (np.concatenate([self.linear(xin, p + f"{s}.{h}", lb) for h in range(self.nh)], axis=1)
                           for s in ("attn_q", "attn_k", "attn_v"))
            if self.position == "rope":
                q, k = self.rope(q, self.nh, pos), self.rope(k, self.nkv, pos)
            if self.kv_f16:  # the cache holds keys (after RoPE) and values as binary16, round to nearest even
                k, v = k.astype(np.float16).astype(F), v.astype(np.float16).astype(F)
            x = x + self.linear(self.attention(q, k, v), p + "attn_out", lb)
            xin = x if self.arch == "bitgpt" else self.block_norm(x, p + "ffn_norm")
            if self.activation == "swiglu":
                g, u = self.linear(xin, p + "ffn_gate", lb), self.linear(xin, p + "ffn_up", lb)
                h = (g / (F(1) + exp32(-g))) * u
            elif self.act_position == "output":
                h = self.linear(xin, p + "ffn_up", lb)
            else:
                h = self.act(self.linear(xin, p + "ffn_up", lb))
            y = self.linear(h.astype(F), p + "ffn_down", lb)
            x = x + (self.act(y) if self.act_position == "output" and self.activation != "swiglu" else y)
        x = self.block_norm(x, "output_norm", self.out_eps)
        head = "token_embd" if self.tied else "output"
        logits = self.linear(x, head, False, bit=False)
        if self.head_bias:
            logits = logits + self.vec("output_bias")
        return logits.astype(F)

    def greedy(self, tokens, steps):
        """Greedy continuation; past the context, the last T tokens are re-run from position 0."""
        seq = list(tokens)
        for _ in range(steps):
            seq.append(int(np.argmax(self.forward(seq[-self.T:])[-1])))
        return seq[len(tokens):]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--tokens", help="comma-separated ids")
    ap.add_argument("--logits-out", help="write float32 .npy (positions, vocab)")
    ap.add_argument("--greedy", type=int, help="print this many greedy tokens as JSON")
    ap.add_argument("--accumulators", help="a BitLinear tensor name")
    ap.add_argument("--input", help=".npy input (n, cols) for --accumulators")
    ap.add_argument("--kv-f16", action="store_true", help="round cached keys and values to binary16")
    ap.add_argument("--lora", action="append", default=[], metavar="FILE[:SCALE]", help="apply a LoRA adapter (repeatable)")
    args = ap.parse_args()
    model = Model(args.model, kv_f16=args.kv_f16, loras=args.lora)
    if args.accumulators:
        x = np.load(args.input).astype(F)
        acc, a = model.accumulators(args.accumulators, x)
        json.dump({"acc": acc.astype(np.int64).ravel().tolist(), "scales": [float(v) for v in a]}, sys.stdout)
        return
    tokens = [int(t) for t in args.tokens.split(",")] if args.tokens else [0]
    logits = model.forward(tokens[-model.T:])
    if args.logits_out:
        np.save(args.logits_out, logits)
    if args.greedy is not None:
        json.dump({"tokens": model.greedy(tokens, args.greedy)}, sys.stdout)
    elif not args.logits_out:
        np.set_printoptions(precision=6, suppress=True)
        print(logits)


if __name__ == "__main__":
    main()
