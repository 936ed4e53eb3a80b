import BitGPT

/// Tensor names in checkpoints: nanoGPT's for GPT-2 (`transformer.wte.weight`,
/// `transformer.h.0.attn.c_attn.weight`, …) and llama2.c's for Llama (`tok_embeddings.weight`,
/// `layers.0.attention.wq.weight`, …), from the `.bgpt` names of ``ParameterLayout``
/// (karpathy/nanoGPT `model.py`, karpathy/llama2.c `model.py`). A BitLinear's RMSNorm gain `X.norm` becomes `<X>.rms_norm.weight`
/// as BitGPT names it. A tied head is stored once, under the embedding's name.
public enum CheckpointNames {
    /// The checkpoint name of `.bgpt` tensor `name` in a model of `architecture`.
    public static func name(_ bgpt: String, architecture: Architecture) -> String {
        var base = bgpt
        var suffix = ".weight"
        if base.hasSuffix(".norm") { base.removeLast(5); suffix = ".rms_norm.weight" } else if base.hasSuffix("_bias") { base.removeLast(5); suffix = ".bias" }
        let parts = base.split(separator: ".").map(String.init)
        if parts.count == 3, parts[0] == "blk" {
            let l = parts[1]
            let map: [String: String] = architecture == .gpt2
                ? ["attn_norm": "ln_1", "attn_qkv": "attn.c_attn", "attn_out": "attn.c_proj", "ffn_norm": "ln_2",
                   "ffn_up": "mlp.c_fc", "ffn_down": "mlp.c_proj"]
                : ["attn_norm": "attention_norm", "attn_q": "attention.wq", "attn_k": "attention.wk", "attn_v": "attention.wv",
                   "attn_out": "attention.wo", "ffn_norm": "ffn_norm", "ffn_gate": "feed_forward.w1", "ffn_down": "feed_forward.w2",
                   "ffn_up": "feed_forward.w3"]
            let inner = map[parts[2]] ?? parts[2]
            return (architecture == .gpt2 ? "transformer.h.\(l)." : "layers.\(l).") + inner + suffix
        }
        let top: [String: String] = architecture == .gpt2
            ? ["token_embd": "transformer.wte", "pos_embd": "transformer.wpe", "output_norm": "transformer.ln_f", "output": "lm_head"]
            : ["token_embd": "tok_embeddings", "output_norm": "norm", "output": "output"]
        return (top[base] ?? base) + suffix
    }
}
