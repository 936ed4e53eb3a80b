import BitGPT

/// One function per checkpoint layout: each fills the context's table and returns the configuration.
extension CheckpointMapper {
    /// karpathy/nanoGPT `model.py`.
    static func nanogpt(_ c: inout MappingContext) throws(ConvertError) -> ModelConfig {
        let wte = try c.dims("transformer.wte.weight", 2), wpe = try c.dims("transformer.wpe.weight", 2)
        let L = c.countLayers("transformer.h.")
        let heads = try c.required(c.overrides.nHeads, "n_head")
        let hidden = try c.dims("transformer.h.0.mlp.c_fc.weight", 2)[0]
        var config = try make(.gpt2, vocab: wte[0], context: c.overrides.contextLength ?? wpe[0], dim: wte[1], layers: L, heads: heads, kv: nil, hidden: hidden)
        let bias = c.names.contains("transformer.h.0.ln_1.bias")
        config.normBias = bias
        config.linearBias = c.names.contains("transformer.h.0.attn.c_attn.bias")
        if let b = c.hp.bool("bias"), b != bias { c.notes.append("model_args bias=\(b) but the tensors say \(bias); following the tensors") }
        if let e = c.overrides.normEps { config.normEps = e }
        let names = CheckpointNameTable.nanogpt
        c.map("token_embd", names.weight("token_embd"))
        c.map("pos_embd", names.weight("pos_embd"))
        for l in 0..<L {
            c.mapWeightsAndBiases(block: "blk.\(l).", module: "\(names.blockPrefix)\(l).", names.block.map { ($0.bgpt, $0.module) })
        }
        c.mapWeightsAndBiases(block: "", module: "", [("output_norm", names.module("output_norm"))])
        c.ignorable = { $0.hasSuffix(".attn.bias") && $0.hasPrefix("transformer.h.") }
        try tie(&config, &c, embedding: names.weight("token_embd"), head: names.weight("output"))
        return config
    }

    /// The number of per-head modules `blocks.0.sa.heads.N.key.weight` (BitGPT, both models).
    static func bitgptHeads(_ c: MappingContext) throws(ConvertError) -> Int {
        var H = 0
        while c.names.contains("blocks.0.sa.heads.\(H).key.weight") { H += 1 }
        if let h = c.hp.intIfPresent("n_head"), h != H { throw .mapping("model_args n_head = \(h) but the checkpoint has \(H) heads") }
        return H
    }

    /// bananya-ml/BitGPT `bitgpt/bitgpt.py`, the ternary model.
    static func bitgpt(_ c: inout MappingContext) throws(ConvertError) -> ModelConfig {
        if c.names.contains("blocks.0.ln1.weight") {
            throw .mapping("this is BitGPT's float baseline (gpt/gpt.py, block LayerNorms), not the ternary bitgpt/ model: use --arch \(CheckpointLayout.bitgptFloat.rawValue)")
        }
        let emb = try c.dims("token_embedding_table.weight", 2), pos = try c.dims("position_embedding_table.weight", 2)
        let L = c.countLayers("blocks.")
        let H = try bitgptHeads(c)
        let hidden = try c.dims("blocks.0.ffwd.net.0.weight", 2)[0]
        var config = try make(.bitgpt, vocab: emb[0], context: c.overrides.contextLength ?? pos[0], dim: emb[1], layers: L, heads: H, kv: nil, hidden: hidden)
        if let e = c.overrides.normEps { config.normEps = e }
        c.map("token_embd", "token_embedding_table.weight")
        c.map("pos_embd", "position_embedding_table.weight")
        for l in 0..<L {
            let s = "blocks.\(l).", b = "blk.\(l)."
            var pairs: [(String, String)] = [("attn_out", "sa.proj"), ("ffn_up", "ffwd.net.0"), ("ffn_down", "ffwd.net.2")]
            for h in 0..<H {
                pairs += [("attn_q.\(h)", "sa.heads.\(h).query"), ("attn_k.\(h)", "sa.heads.\(h).key"), ("attn_v.\(h)", "sa.heads.\(h).value")]
            }
            for (ours, theirs) in pairs {
                c.map(b + ours, s + theirs + ".weight")
                c.map(b + ours + ".norm", s + theirs + ".rms_norm.weight")
            }
        }
        c.map("output_norm", "out_norm.weight")
        c.map("output_norm_bias", "out_norm.bias")
        c.map("output", "lm_head.weight")
        c.map("output_bias", "lm_head.bias")
        c.ignorable = { $0.hasSuffix(".tril") }
        return config
    }

    /// bananya-ml/BitGPT `gpt/gpt.py` `GPTLanguageModel`, the float baseline.
    ///
    /// A gpt2-family model: pre-LayerNorm blocks, ReLU MLP, untied classifier with bias. The
    /// per-head `query`/`key`/`value` Linears are joined into one fused `attn_qkv` (all query heads
    /// in head order, then the keys, then the values, which is the order `torch.cat` of the heads
    /// gives); they have no bias while the projections do, so `attn_qkv_bias` is written as zeros.
    static func bitgptFloat(_ c: inout MappingContext) throws(ConvertError) -> ModelConfig {
        let emb = try c.dims("token_embedding_table.weight", 2), pos = try c.dims("position_embedding_table.weight", 2)
        let L = c.countLayers("blocks.")
        let H = try bitgptHeads(c)
        let hidden = try c.dims("blocks.0.ffwd.net.0.weight", 2)[0]
        var config = try make(.gpt2, vocab: emb[0], context: c.overrides.contextLength ?? pos[0], dim: emb[1], layers: L, heads: H, kv: nil, hidden: hidden)
        config.activation = .relu
        config.tiedEmbeddings = false
        config.headBias = true
        if let e = c.overrides.normEps { config.normEps = e }
        c.map("token_embd", "token_embedding_table.weight")
        c.map("pos_embd", "position_embedding_table.weight")
        for l in 0..<L {
            let s = "blocks.\(l).", b = "blk.\(l)."
            let heads = (0..<H).map { "\(s)sa.heads.\($0)." }
            c.table[b + "attn_qkv"] = .joined(["query", "key", "value"].flatMap { kind in heads.map { $0 + kind + ".weight" } })
            c.table[b + "attn_qkv_bias"] = .zeros(of: heads[0] + "query.weight")
            c.mapWeightsAndBiases(block: b, module: s, [("attn_norm", "ln1"), ("attn_out", "sa.proj"), ("ffn_norm", "ln2"),
                                                        ("ffn_up", "ffwd.net.0"), ("ffn_down", "ffwd.net.2")])
        }
        c.mapWeightsAndBiases(block: "", module: "", [("output_norm", "ln_f"), ("output", "lm_head")])
        c.ignorable = { $0.hasSuffix(".tril") }
        c.notes.append("BitGPT gpt/ per-head query/key/value joined into attn_qkv; their missing bias written as zeros")
        return config
    }

    /// soumyadip1995/BabyGPT `train/babygpt_trainer.py` `BabyGPTmodel`, a bare state_dict.
    ///
    /// A gpt2-family model with two quirks of that script, kept as metadata: the MLP's GELU comes
    /// after the down projection (`model.ffn_activation_position = output`), and `forward` runs the
    /// whole block Sequential once per block (`model.block_repeats = n_layer`). The final LayerNorm
    /// has eps 1e-12 (`model.output_norm_eps`). The state_dict records no head count: `--n-heads`,
    /// else the script's 4 (with a note). The context length is the `tril` buffer's size.
    static func babygpt(_ c: inout MappingContext) throws(ConvertError) -> ModelConfig {
        let emb = try c.dims("token.weight", 2), pos = try c.dims("positional_embeddings.weight", 2)
        let L = c.countLayers("blocks.")
        let heads = c.overrides.nHeads ?? c.hp.intIfPresent("n_head") ?? 4
        if c.overrides.nHeads == nil && c.hp.intIfPresent("n_head") == nil {
            c.notes.append("the state_dict records no head count: using babygpt_trainer.py's n_head = 4; set --n-heads if it was trained otherwise")
        }
        let hidden = try c.dims("blocks.0.feed_forward.net.0.weight", 2)[0]
        var config = try make(.gpt2, vocab: emb[0], context: c.overrides.contextLength ?? pos[0], dim: emb[1], layers: L, heads: heads, kv: nil, hidden: hidden)
        config.linearBias = c.names.contains("blocks.0.attention.atten.bias")
        config.tiedEmbeddings = false
        config.headBias = true
        config.ffnActivationPosition = .output
        config.blockRepeats = L
        config.normEps = c.overrides.normEps ?? 1e-5
        config.outputNormEps = c.overrides.normEps ?? 1e-12
        c.map("token_embd", "token.weight")
        c.map("pos_embd", "positional_embeddings.weight")
        for l in 0..<L {
            let s = "blocks.\(l).", b = "blk.\(l)."
            c.mapWeightsAndBiases(block: b, module: s, [("attn_norm", "layer_norm_1"), ("ffn_norm", "layer_norm_2"),
                                                        ("attn_qkv", "attention.atten"), ("attn_out", "attention.projection"),
                                                        ("ffn_up", "feed_forward.net.0"), ("ffn_down", "feed_forward.net.1")])
        }
        c.mapWeightsAndBiases(block: "", module: "", [("output_norm", "ln_f"), ("output", "lnum_heads")])
        c.ignorable = { $0.hasSuffix(".attention.tril") }
        c.notes.append("BabyGPT quirks kept: GELU after the MLP's down projection; the \(L) blocks run \(L) times in sequence (\(L * L) block applications)")
        return config
    }

    /// soumyadip1995/BabyGPT `train/llama_trainer.py`: refused.
    ///
    /// Its attention re-assembles the heads with `transpose(1, 2)` and a reshape to (B, T, C)
    /// twice. For more than one token the second one permutes the (T, C) output across positions,
    /// so a position's output depends on later positions and on the sequence length; no causal
    /// runtime with a KV cache computes that.
    static func babygptLlama(_ c: inout MappingContext) throws(ConvertError) -> ModelConfig {
        throw .mapping("BabyGPT llama_trainer.py model refused: its attention output is transposed and reshaped twice, which mixes positions (each output depends on later tokens and on the sequence length), so no causal runtime can reproduce it")
    }

    /// CohleM/lilLM.
    static func lillm(_ c: inout MappingContext) throws(ConvertError) -> ModelConfig {
        let emb = try c.dims("tok_emb.weight", 2)
        let L = c.countLayers("transformer_blocks.")
        let heads = try c.required(c.overrides.nHeads, "q_heads")
        guard heads > 0, emb[1] % heads == 0 else { throw .mapping("q_heads \(heads) does not divide d_model \(emb[1])") }
        let kvRows = try c.dims("transformer_blocks.0.attn.wk.weight", 2)[0]
        let kv = c.overrides.nKVHeads ?? c.hp.intIfPresent("kv_heads") ?? kvRows / (emb[1] / heads)
        let hidden = try c.dims("transformer_blocks.0.ffn.w1.weight", 2)[0]
        let ctxLen = c.overrides.contextLength ?? c.hp.intIfPresent("max_seq_len") ?? 512
        if c.overrides.contextLength == nil && c.hp.intIfPresent("max_seq_len") == nil { c.notes.append("context length not recorded: using lilLM's default 512") }
        var config = try make(.llama, vocab: emb[0], context: ctxLen, dim: emb[1], layers: L, heads: heads, kv: kv, hidden: hidden)
        config.normEps = c.overrides.normEps ?? c.hp.float("eps") ?? 1e-6
        c.map("token_embd", "tok_emb.weight")
        for l in 0..<L {
            let s = "transformer_blocks.\(l).", b = "blk.\(l)."
            for (ours, theirs) in [("attn_norm", "attn_norm.gain"), ("attn_q", "attn.wq.weight"), ("attn_k", "attn.wk.weight"),
                                   ("attn_v", "attn.wv.weight"), ("attn_out", "attn.wo.weight"), ("ffn_norm", "ffn_norm.gain"),
                                   ("ffn_gate", "ffn.w1.weight"), ("ffn_up", "ffn.w3.weight"), ("ffn_down", "ffn.w2.weight")] {
                c.map(b + ours, s + theirs)
            }
        }
        c.map("output_norm", "norm.gain")
        c.ignorable = { $0.hasSuffix(".mask") || $0.hasSuffix("freqs_cis") }
        try tie(&config, &c, embedding: "tok_emb.weight", head: "lm_head.weight")
        return config
    }

    /// andrewdalpino/LightGPT.
    static func lightgpt(_ c: inout MappingContext) throws(ConvertError) -> ModelConfig {
        let emb = try c.dims("token_embeddings.weight", 2)
        let L = c.countLayers("body.")
        let heads = try c.required(c.overrides.nHeads, "num_heads")
        let hidden = try c.dims("body.0.mlp.layers.0.weight", 2)[0]
        let ctxLen = c.overrides.contextLength ?? 1024
        if c.overrides.contextLength == nil { c.notes.append("LightGPT records no context length (NoPE): using 1024; set --context-length") }
        var config = try make(.llama, vocab: emb[0], context: ctxLen, dim: emb[1], layers: L, heads: heads, kv: nil, hidden: hidden)
        config.position = .none
        config.activation = .silu
        // torch.nn.RMSNorm(eps=None) uses finfo(float32).eps.
        config.normEps = c.overrides.normEps ?? Float.ulpOfOne
        let D = emb[1]
        c.map("token_embd", "token_embeddings.weight")
        for l in 0..<L {
            let s = "body.\(l).", b = "blk.\(l)."
            c.map(b + "attn_norm", s + "norm1.weight")
            c.map(b + "attn_q", s + "attention.qkv_proj.weight", rows: 0..<D)
            c.map(b + "attn_k", s + "attention.qkv_proj.weight", rows: D..<(2 * D))
            c.map(b + "attn_v", s + "attention.qkv_proj.weight", rows: (2 * D)..<(3 * D))
            c.map(b + "attn_out", s + "attention.out_proj.weight")
            c.map(b + "ffn_norm", s + "norm2.weight")
            c.map(b + "ffn_up", s + "mlp.layers.0.weight")
            c.map(b + "ffn_down", s + "mlp.layers.2.weight")
        }
        c.map("output_norm", "output_norm.weight")
        try tie(&config, &c, embedding: "token_embeddings.weight", head: "output_layer.weight")
        return config
    }

    /// karpathy/llama2.c `model.py` state dicts and `model.bin` exports.
    static func llama2c(_ c: inout MappingContext) throws(ConvertError) -> ModelConfig {
        let emb = try c.dims("tok_embeddings.weight", 2)
        let L = c.countLayers("layers.")
        let heads = try c.required(c.overrides.nHeads, "n_heads")
        let kv = c.overrides.nKVHeads ?? c.hp.intIfPresent("n_kv_heads") ?? heads
        let hidden = try c.dims("layers.0.feed_forward.w1.weight", 2)[0]
        let ctxLen = try c.required(c.overrides.contextLength, "max_seq_len")
        var config = try make(.llama, vocab: emb[0], context: ctxLen, dim: emb[1], layers: L, heads: heads, kv: kv, hidden: hidden)
        config.normEps = c.overrides.normEps ?? c.hp.float("norm_eps") ?? 1e-5
        let names = CheckpointNameTable.llama2c
        c.map("token_embd", names.weight("token_embd"))
        for l in 0..<L {
            for (ours, _) in names.block { c.map("blk.\(l).\(ours)", names.weight("blk.\(l).\(ours)")) }
        }
        c.map("output_norm", names.weight("output_norm"))
        c.ignorable = { $0.hasSuffix(".attention.mask") || $0 == "freqs_cos" || $0 == "freqs_sin" }
        try tie(&config, &c, embedding: names.weight("token_embd"), head: names.weight("output"))
        return config
    }
}
