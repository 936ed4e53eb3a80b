"""Cross-checks a converted .bgpt against its source PyTorch checkpoint, independently of the Swift reader.

usage: python3 tools/compare_convert.py CHECKPOINT.pt MODEL.bgpt [--layout nanogpt|bitgpt]

The checkpoint is read with tools/torchzip.py (NumPy, allowlisted unpickler), the .bgpt with
tools/bgpt.py; the name mapping below follows bananya-ml/BitGPT bitgpt/bitgpt.py
and karpathy/nanoGPT model.py. F32 tensors must match bit for bit; BitGPT ternary tensors must hold exactly
the checkpoint's int8 codes, with gamma = 1 / ckpt['meta'][module] computed in float32.
Exit status 0 when everything matches, 1 otherwise.
"""
import sys

import numpy as np

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import bgpt  # noqa: E402
import torchzip  # noqa: E402


def nanogpt_names(sd, L):
    m = {"token_embd": "transformer.wte.weight", "pos_embd": "transformer.wpe.weight",
         "output_norm": "transformer.ln_f.weight", "output_norm_bias": "transformer.ln_f.bias"}
    for l in range(L):
        for ours, theirs in [("attn_norm", "ln_1"), ("attn_qkv", "attn.c_attn"), ("attn_out", "attn.c_proj"),
                             ("ffn_norm", "ln_2"), ("ffn_up", "mlp.c_fc"), ("ffn_down", "mlp.c_proj")]:
            m[f"blk.{l}.{ours}"] = f"transformer.h.{l}.{theirs}.weight"
            m[f"blk.{l}.{ours}_bias"] = f"transformer.h.{l}.{theirs}.bias"
    return {k: v for k, v in m.items() if v in sd}


def bitgpt_names(sd, L, H):
    m = {"token_embd": "token_embedding_table.weight", "pos_embd": "position_embedding_table.weight",
         "output_norm": "out_norm.weight", "output_norm_bias": "out_norm.bias", "output": "lm_head.weight",
         "output_bias": "lm_head.bias"}
    for l in range(L):
        pairs = [("attn_out", "sa.proj"), ("ffn_up", "ffwd.net.0"), ("ffn_down", "ffwd.net.2")]
        for h in range(H):
            pairs += [(f"attn_q.{h}", f"sa.heads.{h}.query"), (f"attn_k.{h}", f"sa.heads.{h}.key"), (f"attn_v.{h}", f"sa.heads.{h}.value")]
        for ours, theirs in pairs:
            m[f"blk.{l}.{ours}"] = f"blocks.{l}.{theirs}.weight"
            m[f"blk.{l}.{ours}.norm"] = f"blocks.{l}.{theirs}.rms_norm.weight"
    return m


def main():
    ckpt_path, bgpt_path = sys.argv[1], sys.argv[2]
    ck = torchzip.load(ckpt_path)
    sd = {k.removeprefix("_orig_mod."): v for k, v in ck["model"].items()}
    meta, tensors = bgpt.read(bgpt_path)
    args = ck.get("model_args", {})
    if "transformer.wte.weight" in sd:
        names = nanogpt_names(sd, args["n_layer"])
    else:
        names = bitgpt_names(sd, args["n_layer"], args["n_head"])
    bad = 0
    for ours, theirs in names.items():
        src = sd[theirs]
        if ours not in tensors:
            print(f"MISSING {ours} ({theirs})")
            bad += 1
            continue
        kind, shape, v = tensors[ours]
        if list(src.shape) != shape:
            print(f"SHAPE {ours}: {shape} vs {list(src.shape)}")
            bad += 1
        elif src.dtype == np.int8:
            vals, gamma = bgpt.ternary(bgpt_path, ours)
            scale = np.float32(ck["meta"][theirs.removesuffix(".weight")])
            want_gamma = np.float32(1) / scale
            same_codes = np.array_equal(vals.reshape(src.shape), src)
            if not same_codes or gamma != want_gamma:
                print(f"TERNARY {ours}: codes equal={same_codes}, gamma {gamma!r} vs 1/s {want_gamma!r}")
                bad += 1
        elif kind == "F32" and not np.array_equal(v, src.astype(np.float32)):
            print(f"VALUES {ours}: max abs diff {np.max(np.abs(v - src))}")
            bad += 1
    extra = set(tensors) - set(names)
    if extra:
        print(f"EXTRA tensors in .bgpt: {sorted(extra)}")
        bad += 1
    print(f"{bgpt_path}: {len(names)} tensors compared with {ckpt_path}, {bad} problems; architecture {meta.get('general.architecture')}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
