"""Writes the tiny checkpoints that Tests/ConvertTests converts, with the values they must convert to.

usage: python3 tools/make_convert_fixtures.py [OUT_DIR]   (default Tests/ConvertTests/Fixtures)

For each case NAME it writes the source (NAME.pt via tools/torchzip.py, NAME.bin in llama2.c's
export layouts, or NAME.safetensors) and NAME.expected.json + NAME.expected.bin: for every .bgpt
tensor name, its shape and float32 values in the raw .bin (offset, count), computed here with
NumPy from the arrays the checkpoint was written from (not by reading the checkpoint back), plus
the architecture keys the converter must produce. BitGPT ternary tensors also list their int8
codes and gamma = float32(1) / s_w. Seeded: the files are the same on every run.

Layouts follow the upstream projects (bananya-ml/BitGPT bitgpt/train.py, karpathy/nanoGPT
model.py and train.py, CohleM/lilLM model/model.py, andrewdalpino/LightGPT model.py,
karpathy/llama2.c model.py and export.py); each case uses the keys and hyper-parameter records of its project.
"""
import collections
import json
import os
import pickle
import struct
import sys
import types

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torchzip  # noqa: E402
from torchzip import Tensor, state_dict  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "ConvertTests", "Fixtures")
rng = np.random.default_rng(1234)


def f32(*shape, scale=0.5):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def register_class(module, name):
    """A class pickled by reference as GLOBAL 'module name' (a project's config class)."""
    mod = sys.modules.get(module) or types.ModuleType(module)
    sys.modules[module] = mod
    parts = module.split(".")
    for i in range(1, len(parts)):
        parent = sys.modules.setdefault(".".join(parts[:i]), types.ModuleType(".".join(parts[:i])))
        setattr(parent, parts[i], sys.modules.get(".".join(parts[:i + 1]), mod))
    cls = type(name, (), {"__module__": module, "__qualname__": name})
    setattr(mod, name, cls)
    return cls


class Case:
    def __init__(self, name):
        self.name, self.tensors, self.extra = name, collections.OrderedDict(), {}

    def expect(self, bgpt_name, array, codes=None, gamma=None):
        self.tensors[bgpt_name] = (np.asarray(array, np.float32), codes, gamma)

    def write(self, arch):
        blob, index = bytearray(), collections.OrderedDict()
        for n, (a, codes, gamma) in self.tensors.items():
            entry = {"shape": list(a.shape), "offset": len(blob) // 4, "count": int(a.size)}
            blob += a.astype("<f4").tobytes()
            if codes is not None:
                entry["codes_offset"] = len(blob) // 4
                blob += codes.astype("<f4").tobytes()
                entry["gamma"] = float(gamma)
            index[n] = entry
        with open(os.path.join(OUT, self.name + ".expected.bin"), "wb") as f:
            f.write(bytes(blob))
        with open(os.path.join(OUT, self.name + ".expected.json"), "w") as f:
            json.dump({"architecture": arch, "tensors": index, **self.extra}, f, indent=0)


def nanogpt():
    """nanoGPT, bias=True, compiled (`_orig_mod.` prefix), tied wte/lm_head, SDPA-less mask buffer."""
    c = Case("nanogpt_tiny")
    V, T, D, L = 10, 8, 8, 2
    wte = Tensor(f32(V, D))
    sd = [("_orig_mod.transformer.wte.weight", wte), ("_orig_mod.transformer.wpe.weight", Tensor(f32(T, D)))]
    c.expect("token_embd", wte_arr := None or sd[0][1].storage.array.reshape(V, D))
    c.expect("pos_embd", sd[1][1].storage.array.reshape(T, D))
    for l in range(L):
        p = f"_orig_mod.transformer.h.{l}."
        for ours, theirs, shape in [("attn_norm", "ln_1", (D,)), ("attn_qkv", "attn.c_attn", (3 * D, D)), ("attn_out", "attn.c_proj", (D, D)),
                                    ("ffn_norm", "ln_2", (D,)), ("ffn_up", "mlp.c_fc", (4 * D, D)), ("ffn_down", "mlp.c_proj", (D, 4 * D))]:
            w, b = f32(*shape), f32(shape[0])
            sd += [(p + theirs + ".weight", Tensor(w)), (p + theirs + ".bias", Tensor(b))]
            c.expect(f"blk.{l}.{ours}", w)
            c.expect(f"blk.{l}.{ours}_bias", b)
        sd.append((p + "attn.bias", Tensor(np.tril(np.ones((T, T), np.float32)).reshape(1, 1, T, T))))
    w, b = f32(D), f32(D)
    sd += [("_orig_mod.transformer.ln_f.weight", Tensor(w)), ("_orig_mod.transformer.ln_f.bias", Tensor(b)), ("_orig_mod.lm_head.weight", wte)]
    c.expect("output_norm", w)
    c.expect("output_norm_bias", b)
    ckpt = {"model": state_dict(sd), "optimizer": {"state": {}, "param_groups": [{"lr": 6e-4, "params": [0, 1, 2]}]},
            "model_args": {"n_layer": L, "n_head": 2, "n_embd": D, "block_size": T, "bias": True, "vocab_size": V, "dropout": 0.0},
            "iter_num": 100, "best_val_loss": Tensor(np.array(1.25, np.float32)), "config": {"dataset": "shakespeare_char", "compile": True}}
    torchzip.save(ckpt, os.path.join(OUT, c.name + ".pt"), stem="ckpt")
    c.extra["config"] = {"model.vocab_size": V, "model.context_length": T, "model.dim": D, "model.n_layers": L, "model.n_heads": 2,
                         "model.hidden_dim": 4 * D, "model.norm": "layernorm", "model.norm_bias": True, "model.linear_bias": True,
                         "model.tied_embeddings": True, "model.position": "learned", "model.activation": "gelu"}
    c.write("gpt2")
    # nanoGPT's meta.pkl for a char vocabulary (protocol 4, as prepare.py's pickle.dump writes).
    chars = sorted(set("hello world!\n"))[:V]
    meta = {"vocab_size": len(chars), "itos": {i: ch for i, ch in enumerate(chars)}, "stoi": {ch: i for i, ch in enumerate(chars)}}
    with open(os.path.join(OUT, "nanogpt_tiny.meta.pkl"), "wb") as f:
        pickle.dump(meta, f, protocol=4)


def bitgpt():
    """BitGPT after its post-training conversion: int8 ternary BitLinear weights, s_w in ckpt['meta']."""
    c = Case("bitgpt_tiny")
    V, T, D, L, H = 10, 8, 8, 2, 2
    hs = D // H
    cfg_cls = register_class("bitgpt", "BitGPTConfig")
    sd, meta = [], {}
    emb, pos = f32(V, D), f32(T, D)
    sd += [("token_embedding_table.weight", Tensor(emb)), ("position_embedding_table.weight", Tensor(pos))]
    c.expect("token_embd", emb)
    c.expect("pos_embd", pos)

    def bitlinear(prefix, ours, out, inp):
        latent = f32(out, inp, scale=0.02)
        s = np.float32(1) / np.float32(max(np.mean(np.abs(latent)), 1e-5))
        codes = np.clip(np.rint(latent * s), -1, 1).astype(np.int8)
        g = f32(inp, scale=0.1) + np.float32(1)
        sd.append((prefix + ".weight", Tensor(codes)))
        sd.append((prefix + ".rms_norm.weight", Tensor(g)))
        meta[prefix] = Tensor(np.array(s, np.float32))
        gamma = np.float32(1) / s
        c.expect(ours, codes.astype(np.float32) * gamma, codes=codes, gamma=gamma)
        c.expect(ours + ".norm", g)

    for l in range(L):
        for h in range(H):
            sd.append((f"blocks.{l}.sa.heads.{h}.tril", Tensor(np.tril(np.ones((T, T), np.float32)))))
            for kind, ours in [("key", "attn_k"), ("query", "attn_q"), ("value", "attn_v")]:
                bitlinear(f"blocks.{l}.sa.heads.{h}.{kind}", f"blk.{l}.{ours}.{h}", hs, D)
        bitlinear(f"blocks.{l}.sa.proj", f"blk.{l}.attn_out", D, D)
        bitlinear(f"blocks.{l}.ffwd.net.0", f"blk.{l}.ffn_up", 4 * D, D)
        bitlinear(f"blocks.{l}.ffwd.net.2", f"blk.{l}.ffn_down", D, 4 * D)
    for n, ours, shape in [("out_norm.weight", "output_norm", (D,)), ("out_norm.bias", "output_norm_bias", (D,)),
                           ("lm_head.weight", "output", (V, D)), ("lm_head.bias", "output_bias", (V,))]:
        a = f32(*shape)
        sd.append((n, Tensor(a)))
        c.expect(ours, a)
    cfg = cfg_cls()
    cfg.__dict__.update({"block_size": T, "vocab_size": V, "n_embd": D, "n_head": H, "n_layer": L, "dropout": 0.2})
    ckpt = {"model": state_dict(sd), "optimizer": {"state": {}}, "model_args": {"n_layer": L, "n_head": H, "n_embd": D, "block_size": T,
            "vocab_size": V, "dropout": 0.2}, "best_val_loss": Tensor(np.array(2.0, np.float32)), "config": cfg, "meta": meta}
    torchzip.save(ckpt, os.path.join(OUT, c.name + ".pt"), stem="bitgpt")
    c.extra["config"] = {"model.vocab_size": V, "model.context_length": T, "model.dim": D, "model.n_layers": L, "model.n_heads": H,
                         "model.hidden_dim": 4 * D, "model.activation": "relu", "model.head_bias": True, "model.tied_embeddings": False,
                         "bitlinear.enabled": True, "bitlinear.norm": True}
    c.write("bitgpt")


def bitgpt_latent():
    """BitGPT before its post-training conversion: float latent BitLinear weights, no meta. The
    converter ternarizes them by the absmean rule (s = 1/max(mean|W|, 1e-5), t = clamp(round(W s)), γ = 1/s)."""
    c = Case("bitgpt_latent")
    V, T, D, L, H = 10, 8, 8, 1, 2
    hs = D // H
    sd = []
    emb, pos = f32(V, D), f32(T, D)
    sd += [("token_embedding_table.weight", Tensor(emb)), ("position_embedding_table.weight", Tensor(pos))]
    c.expect("token_embd", emb)
    c.expect("pos_embd", pos)

    def bitlinear(prefix, ours, out, inp):
        w = f32(out, inp, scale=0.02)
        s = np.float32(1) / np.maximum(np.mean(np.abs(w), dtype=np.float64).astype(np.float32), np.float32(1e-5))
        codes = np.clip(np.rint(w * s), -1, 1).astype(np.int8)
        g = np.ones(inp, np.float32)
        sd.append((prefix + ".weight", Tensor(w)))
        sd.append((prefix + ".rms_norm.weight", Tensor(g)))
        gamma = np.float32(1) / s
        c.expect(ours, codes.astype(np.float32) * gamma, codes=codes, gamma=gamma)
        c.expect(ours + ".norm", g)

    for l in range(L):
        for h in range(H):
            for kind, ours in [("key", "attn_k"), ("query", "attn_q"), ("value", "attn_v")]:
                bitlinear(f"blocks.{l}.sa.heads.{h}.{kind}", f"blk.{l}.{ours}.{h}", hs, D)
        bitlinear(f"blocks.{l}.sa.proj", f"blk.{l}.attn_out", D, D)
        bitlinear(f"blocks.{l}.ffwd.net.0", f"blk.{l}.ffn_up", 4 * D, D)
        bitlinear(f"blocks.{l}.ffwd.net.2", f"blk.{l}.ffn_down", D, 4 * D)
    for n, ours, shape in [("out_norm.weight", "output_norm", (D,)), ("out_norm.bias", "output_norm_bias", (D,)),
                           ("lm_head.weight", "output", (V, D)), ("lm_head.bias", "output_bias", (V,))]:
        a = f32(*shape)
        sd.append((n, Tensor(a)))
        c.expect(ours, a)
    torchzip.save({"model": state_dict(sd), "model_args": {"n_layer": L, "n_head": H, "n_embd": D, "block_size": T, "vocab_size": V,
                   "dropout": 0.0}}, os.path.join(OUT, c.name + ".pt"), stem="bitgpt")
    c.extra["config"] = {"model.n_layers": L, "model.n_heads": H, "bitlinear.enabled": True}
    c.write("bitgpt")


def llama_blocks(c, sd, prefix_fn, names, L, D, kvd, F, gain="weight"):
    for l in range(L):
        p = prefix_fn(l)
        for ours, theirs, shape in [("attn_norm", names["attn_norm"], (D,)), ("attn_q", names["wq"], (D, D)), ("attn_k", names["wk"], (kvd, D)),
                                    ("attn_v", names["wv"], (kvd, D)), ("attn_out", names["wo"], (D, D)), ("ffn_norm", names["ffn_norm"], (D,)),
                                    ("ffn_gate", names["w1"], (F, D)), ("ffn_up", names["w3"], (F, D)), ("ffn_down", names["w2"], (D, F))]:
            a = f32(*shape)
            sd.append((p + theirs, Tensor(a)))
            c.expect(f"blk.{l}.{ours}", a)


def lillm():
    """lilLM: GQA (4 query, 2 kv heads), RMSNorm `gain`, tied lm_head, config dataclass, DDP-compiled prefix."""
    c = Case("lillm_tiny")
    V, D, L, Hq, Hkv, F = 12, 16, 2, 4, 2, 48
    cfg_cls = register_class("model.config", "Config")
    emb = Tensor(f32(V, D))
    sd = [("tok_emb.weight", emb)]
    c.expect("token_embd", emb.storage.array.reshape(V, D))
    llama_blocks(c, sd, lambda l: f"transformer_blocks.{l}.",
                 {"attn_norm": "attn_norm.gain", "wq": "attn.wq.weight", "wk": "attn.wk.weight", "wv": "attn.wv.weight", "wo": "attn.wo.weight",
                  "ffn_norm": "ffn_norm.gain", "w1": "ffn.w1.weight", "w2": "ffn.w2.weight", "w3": "ffn.w3.weight"}, L, D, Hkv * (D // Hq), F)
    g = f32(D)
    sd += [("norm.gain", Tensor(g)), ("lm_head.weight", emb)]
    c.expect("output_norm", g)
    sd = [("_orig_mod." + k, v) for k, v in sd]
    cfg = cfg_cls()
    cfg.__dict__.update({"vocab_size": V, "d_model": D, "n_layers": L, "max_seq_len": 32, "q_heads": Hq, "kv_heads": Hkv, "dropout": 0.0,
                         "max_batch_size": 4, "hidden_dim": None, "multiple_of": 16, "eps": 1e-6, "flash": True})
    torchzip.save({"model": state_dict(sd), "optimizer": {}, "best_val_loss": 3.5, "num_iter": 10, "config": cfg, "wandb_run_id": "abc"},
                  os.path.join(OUT, c.name + ".pt"), stem="best_model")
    c.extra["config"] = {"model.vocab_size": V, "model.context_length": 32, "model.dim": D, "model.n_layers": L, "model.n_heads": Hq,
                         "model.n_kv_heads": Hkv, "model.hidden_dim": F, "model.norm": "rmsnorm", "model.position": "rope",
                         "model.activation": "swiglu", "model.tied_embeddings": True}
    c.write("llama")


def lightgpt():
    """LightGPT: fused qkv split into q/k/v, SiLU MLP, NoPE, tied output; a pickled tiktoken Encoding."""
    c = Case("lightgpt_tiny")
    V, D, L, H, r = 10, 8, 2, 2, 2
    enc_cls = register_class("tiktoken.core", "Encoding")
    emb = Tensor(f32(V, D))
    sd = [("token_embeddings.weight", emb)]
    c.expect("token_embd", emb.storage.array.reshape(V, D))
    for l in range(L):
        p = f"body.{l}."
        n1, qkv, out, n2, up, down = f32(D), f32(3 * D, D), f32(D, D), f32(D), f32(r * D, D), f32(D, r * D)
        sd += [(p + "norm1.weight", Tensor(n1)), (p + "attention.qkv_proj.weight", Tensor(qkv)), (p + "attention.out_proj.weight", Tensor(out)),
               (p + "norm2.weight", Tensor(n2)), (p + "mlp.layers.0.weight", Tensor(up)), (p + "mlp.layers.2.weight", Tensor(down))]
        for ours, a in [("attn_norm", n1), ("attn_q", qkv[:D]), ("attn_k", qkv[D:2 * D]), ("attn_v", qkv[2 * D:]), ("attn_out", out),
                        ("ffn_norm", n2), ("ffn_up", up), ("ffn_down", down)]:
            c.expect(f"blk.{l}.{ours}", a)
    g = f32(D)
    sd += [("output_norm.weight", Tensor(g)), ("output_layer.weight", emb)]
    c.expect("output_norm", g)
    sd = [("_orig_mod." + k, v) for k, v in sd]
    enc = enc_cls()
    enc.__dict__.update({"name": "r50k_base", "pat_str": "'s|\\w+", "mergeable_ranks": {b"a": 0, b"b": 1}, "special_tokens": {"<|endoftext|>": 2}})
    torchzip.save({"epoch": 3, "tokenizer": enc, "model_args": {"vocabulary_size": V, "embedding_dimensions": D, "num_heads": H, "num_layers": L,
                   "feed_forward_ratio": r, "dropout": 0.1}, "model": state_dict(sd), "optimizer": {}},
                  os.path.join(OUT, c.name + ".pt"), stem="checkpoint")
    c.extra["config"] = {"model.vocab_size": V, "model.dim": D, "model.n_layers": L, "model.n_heads": H, "model.hidden_dim": r * D,
                         "model.position": "none", "model.activation": "silu", "model.tied_embeddings": True}
    c.write("llama")


def llama2c_arrays():
    V, D, L, H, KV, F, S = 12, 16, 2, 4, 2, 32, 16
    hd = D // H
    a = {"tok_embeddings.weight": f32(V, D)}
    for l in range(L):
        p = f"layers.{l}."
        for n, shape in [("attention_norm.weight", (D,)), ("attention.wq.weight", (D, D)), ("attention.wk.weight", (KV * hd, D)),
                         ("attention.wv.weight", (KV * hd, D)), ("attention.wo.weight", (D, D)), ("ffn_norm.weight", (D,)),
                         ("feed_forward.w1.weight", (F, D)), ("feed_forward.w2.weight", (D, F)), ("feed_forward.w3.weight", (F, D))]:
            a[p + n] = f32(*shape)
    a["norm.weight"] = f32(D)
    a["output.weight"] = f32(V, D)
    return a, dict(V=V, D=D, L=L, H=H, KV=KV, F=F, S=S, hd=hd)


LLAMA_MAP = [("attn_norm", "attention_norm.weight"), ("attn_q", "attention.wq.weight"), ("attn_k", "attention.wk.weight"),
             ("attn_v", "attention.wv.weight"), ("attn_out", "attention.wo.weight"), ("ffn_norm", "ffn_norm.weight"),
             ("ffn_gate", "feed_forward.w1.weight"), ("ffn_up", "feed_forward.w3.weight"), ("ffn_down", "feed_forward.w2.weight")]


def llama_expect(c, a, L, tied, transform=lambda n, x: x):
    c.expect("token_embd", transform("tok_embeddings.weight", a["tok_embeddings.weight"]))
    for l in range(L):
        for ours, theirs in LLAMA_MAP:
            c.expect(f"blk.{l}.{ours}", transform(f"layers.{l}.{theirs}", a[f"layers.{l}.{theirs}"]))
    c.expect("output_norm", a["norm.weight"])
    if not tied:
        c.expect("output", transform("output.weight", a["output.weight"]))


def llama_config(h, tied):
    return {"model.vocab_size": h["V"], "model.context_length": h["S"], "model.dim": h["D"], "model.n_layers": h["L"], "model.n_heads": h["H"],
            "model.n_kv_heads": h["KV"], "model.hidden_dim": h["F"], "model.tied_embeddings": tied, "model.rope_pairing": "interleaved"}


def llama2c():
    a, h = llama2c_arrays()
    L = h["L"]
    # .pt from train.py: model_args, untied output, compiled prefix, RoPE buffers not persisted.
    c = Case("llama2c_tiny")
    sd = state_dict([("_orig_mod." + k, Tensor(v)) for k, v in a.items()])
    torchzip.save({"model": sd, "optimizer": {}, "model_args": {"dim": h["D"], "n_layers": L, "n_heads": h["H"], "n_kv_heads": h["KV"],
                   "vocab_size": h["V"], "multiple_of": 32, "max_seq_len": h["S"], "dropout": 0.0}, "iter_num": 7, "best_val_loss": 1.0,
                   "config": {"vocab_source": "custom"}}, os.path.join(OUT, c.name + ".pt"), stem="ckpt")
    llama_expect(c, a, L, tied=False)
    c.extra["config"] = llama_config(h, False)
    c.write("llama")

    # v0 model.bin, shared classifier (vocab positive), with the legacy freq_cis tables.
    c = Case("llama2c_v0")
    hdr = struct.pack("<7i", h["D"], h["F"], L, h["H"], h["KV"], h["V"], h["S"])
    body = [a["tok_embeddings.weight"]]
    for n in ["attention_norm.weight", "attention.wq.weight", "attention.wk.weight", "attention.wv.weight", "attention.wo.weight",
              "ffn_norm.weight", "feed_forward.w1.weight", "feed_forward.w2.weight", "feed_forward.w3.weight"]:
        body += [a[f"layers.{l}.{n}"] for l in range(L)]
    body.append(a["norm.weight"])
    body += [f32(h["S"], h["hd"] // 2), f32(h["S"], h["hd"] // 2)]
    with open(os.path.join(OUT, c.name + ".bin"), "wb") as f:
        f.write(hdr + b"".join(x.astype("<f4").tobytes() for x in body))
    llama_expect(c, a, L, tied=True)
    c.extra["config"] = llama_config(h, True)
    c.write("llama")

    # v2 Q8_0 export (runq.c), unshared classifier, group size 16 (dim 16).
    c = Case("llama2c_v2")
    GS = 16
    hdr = struct.pack("<Ii7iBi", 0x616B3432, 2, h["D"], h["F"], L, h["H"], h["KV"], h["V"], h["S"], 0, GS)
    hdr += b"\0" * (256 - len(hdr))
    norms = [a[f"layers.{l}.attention_norm.weight"] for l in range(L)] + [a[f"layers.{l}.ffn_norm.weight"] for l in range(L)] + [a["norm.weight"]]
    deq = {}

    def q80(name):
        w = a[name].reshape(-1, GS)
        s = (np.max(np.abs(w), axis=1) / np.float32(127)).astype(np.float32)
        q = np.rint(w / s[:, None]).astype(np.int8)
        deq[name] = (q.astype(np.float32) * s[:, None]).reshape(a[name].shape)
        return q.tobytes() + s.astype("<f4").tobytes()

    qs = [q80("tok_embeddings.weight")]
    for n in ["attention.wq.weight", "attention.wk.weight", "attention.wv.weight", "attention.wo.weight",
              "feed_forward.w1.weight", "feed_forward.w2.weight", "feed_forward.w3.weight"]:
        qs += [q80(f"layers.{l}.{n}") for l in range(L)]
    qs.append(q80("output.weight"))
    with open(os.path.join(OUT, c.name + ".bin"), "wb") as f:
        f.write(hdr + b"".join(x.astype("<f4").tobytes() for x in norms) + b"".join(qs))
    llama_expect(c, a, L, tied=False, transform=lambda n, x: deq.get(n, x))
    c.extra["config"] = llama_config(h, False)
    c.write("llama")

    # safetensors with llama2.c names and hyper-parameters in __metadata__ (tied: no output.weight).
    c = Case("llama2c_st")
    names = sorted(k for k in a if k != "output.weight")
    header, blob = {"__metadata__": {"n_heads": str(h["H"]), "n_kv_heads": str(h["KV"]), "max_seq_len": str(h["S"])}}, b""
    for n in names:
        data = a[n].astype("<f4").tobytes()
        header[n] = {"dtype": "F32", "shape": list(a[n].shape), "data_offsets": [len(blob), len(blob) + len(data)]}
        blob += data
    js = json.dumps(header, separators=(",", ":")).encode()
    js += b" " * ((-len(js)) % 8)
    with open(os.path.join(OUT, c.name + ".safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(js)) + js + blob)
    llama_expect(c, a, L, tied=True)
    c.extra["config"] = llama_config(h, True)
    c.write("llama")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    nanogpt()
    bitgpt()
    lillm()
    lightgpt()
    llama2c()
    bitgpt_latent()
    print("wrote fixtures to", os.path.abspath(OUT))
