import BitGPT

/// Hyper-parameters the user sets on the command line, overriding what the checkpoint records
/// (or supplying what it lacks, e.g. heads for a safetensors file without metadata).
public struct HyperOverrides: Sendable {
    /// Query heads (`--n-heads`).
    public var nHeads: Int?
    /// Key/value heads (`--n-kv-heads`).
    public var nKVHeads: Int?
    /// Positions (`--context-length`).
    public var contextLength: Int?
    /// Epsilon of the block and final norms (`--norm-eps`).
    public var normEps: Float?
    /// Overrides; nil leaves the checkpoint's value (or the layout's default).
    public init(nHeads: Int? = nil, nKVHeads: Int? = nil, contextLength: Int? = nil, normEps: Float? = nil) {
        self.nHeads = nHeads
        self.nKVHeads = nKVHeads
        self.contextLength = contextLength
        self.normEps = normEps
    }
}

/// One tensor of the output: the .bgpt spec it fills and where its values come from.
public struct PlannedTensor: @unchecked Sendable {
    /// Name, shape and role in the .bgpt file.
    public var spec: TensorSpec
    /// The source tensor.
    public var source: SourceTensor
    /// For a slice of a fused source (LightGPT `qkv_proj`): the source rows to take.
    public var rows: Range<Int>?
    /// When the source holds ternary codes (BitGPT int8 weights): γ = 1 / s_w, the scale to store.
    public var ternaryScale: Float?

    /// The tensor's values as f32, `spec.shape` row-major (ternary codes times γ; fused slices cut).
    public func values() -> [Float] {
        var v = source.floats()
        if let g = ternaryScale { for i in v.indices { v[i] *= g } }
        if let r = rows, let cols = source.shape.last {
            v = Array(v[(r.lowerBound * cols)..<(r.upperBound * cols)])
        }
        return v
    }
}

/// What to write: the architecture and every tensor in canonical order.
public struct ConversionPlan {
    /// The recognised (or forced) layout.
    public var layout: CheckpointLayout
    /// The architecture to write.
    public var config: ModelConfig
    /// In ``ModelConfig/tensorSpecs`` order.
    public var tensors: [PlannedTensor]
    /// Facts worth telling the user (defaults taken, tied classifier, ignored buffers).
    public var notes: [String]
}

/// Maps a checkpoint's tensors and hyper-parameters onto a .bgpt architecture.
///
/// Each layout has a table from .bgpt names (`formats/bgpt.md` "Tensor names") to source names
/// and a configuration built from the recorded hyper-parameters and the tensor shapes
/// (`../shared/reference/seed-projects.md` §1.3–1.5, 2.1–2.2, 3.1–3.2, 4.1–4.2, 6.1–6.2). Linear
/// weights keep PyTorch's `(out, in)` order, so nothing is transposed. Every source tensor must be
/// claimed by the table, be a known buffer (causal masks, RoPE tables), or be the tied copy of
/// the embedding; anything else, and any tensor the architecture needs but the source lacks,
/// is an error that lists the names.
public enum CheckpointMapper {
    /// Builds the plan for `source`.
    ///
    /// - Parameters:
    ///   - source: the opened checkpoint.
    ///   - layout: forces a layout (`--arch`); nil detects it from the tensor names.
    ///   - overrides: hyper-parameters from the command line.
    ///   - meta: BitGPT's `ckpt["meta"]` scales by module path (s_w = 1/γ), when the source has them.
    /// - Throws: ``ConvertError/unknownLayout(_:)`` or ``ConvertError/mapping(_:)``.
    public static func plan(_ source: CheckpointSource, layout: CheckpointLayout? = nil, overrides: HyperOverrides = HyperOverrides(),
                            meta: [String: Float] = [:]) throws(ConvertError) -> ConversionPlan {
        let byName = Dictionary(source.tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let names = Set(byName.keys)
        guard let layout = layout ?? CheckpointLayout.detect(names: names) else {
            throw .unknownLayout("cannot tell which project wrote \(source.path): none of nanoGPT, BitGPT, lilLM, LightGPT or llama2.c tensor names found (first names: \(source.tensors.prefix(5).map { $0.name }.joined(separator: ", "))); use --arch")
        }
        let hp = HyperParameters(values: source.hyperParameters)
        var notes: [String] = []
        var table: [String: (String, Range<Int>?)] = [:]
        var ignorable: (String) -> Bool = { _ in false }
        var config: ModelConfig

        func shape(_ n: String) throws(ConvertError) -> [Int] {
            guard let t = byName[n] else { throw .mapping("\(layout.rawValue) checkpoint has no tensor \"\(n)\"") }
            return t.shape
        }
        func required(_ given: Int?, _ key: String) throws(ConvertError) -> Int {
            if let g = given { return g }
            return try hp.int(key, for: layout)
        }
        func countLayers(_ prefix: String) -> Int {
            var l = 0
            while names.contains(where: { $0.hasPrefix("\(prefix)\(l).") }) { l += 1 }
            return l
        }
        func dims(_ n: String, _ k: Int) throws(ConvertError) -> [Int] {
            let s = try shape(n)
            guard s.count == k, s.allSatisfy({ $0 > 0 }) else { throw .mapping("tensor \"\(n)\" has shape \(s), expected \(k) non-zero dimensions") }
            return s
        }

        switch layout {
        case .nanogpt:
            let wte = try dims("transformer.wte.weight", 2), wpe = try dims("transformer.wpe.weight", 2)
            let L = countLayers("transformer.h.")
            let heads = try required(overrides.nHeads, "n_head")
            let hidden = try dims("transformer.h.0.mlp.c_fc.weight", 2)[0]
            config = try make(.gpt2, vocab: wte[0], context: overrides.contextLength ?? wpe[0], dim: wte[1], layers: L, heads: heads, kv: nil, hidden: hidden)
            let bias = names.contains("transformer.h.0.ln_1.bias")
            config.normBias = bias
            config.linearBias = names.contains("transformer.h.0.attn.c_attn.bias")
            if let b = hp.bool("bias"), b != bias { notes.append("model_args bias=\(b) but the tensors say \(bias); following the tensors") }
            if let e = overrides.normEps { config.normEps = e }
            table["token_embd"] = ("transformer.wte.weight", nil)
            table["pos_embd"] = ("transformer.wpe.weight", nil)
            for l in 0..<L {
                let s = "transformer.h.\(l).", b = "blk.\(l)."
                for (ours, theirs) in [("attn_norm", "ln_1"), ("attn_qkv", "attn.c_attn"), ("attn_out", "attn.c_proj"), ("ffn_norm", "ln_2"),
                                       ("ffn_up", "mlp.c_fc"), ("ffn_down", "mlp.c_proj")] {
                    table[b + ours] = (s + theirs + ".weight", nil)
                    table[b + ours + "_bias"] = (s + theirs + ".bias", nil)
                }
            }
            table["output_norm"] = ("transformer.ln_f.weight", nil)
            table["output_norm_bias"] = ("transformer.ln_f.bias", nil)
            ignorable = { $0.hasSuffix(".attn.bias") && $0.hasPrefix("transformer.h.") }
            try tie(&config, &table, &notes, byName, embedding: "transformer.wte.weight", head: "lm_head.weight")

        case .bitgpt:
            if names.contains("blocks.0.ln1.weight") {
                throw .mapping("this is BitGPT's float baseline (gpt/gpt.py: per-head Linear with block LayerNorms), which no .bgpt family describes; only the ternary bitgpt/ model converts")
            }
            let emb = try dims("token_embedding_table.weight", 2), pos = try dims("position_embedding_table.weight", 2)
            let L = countLayers("blocks.")
            var H = 0
            while names.contains("blocks.0.sa.heads.\(H).key.weight") { H += 1 }
            if let h = hp.intIfPresent("n_head"), h != H { throw .mapping("model_args n_head = \(h) but the checkpoint has \(H) heads") }
            let hidden = try dims("blocks.0.ffwd.net.0.weight", 2)[0]
            config = try make(.bitgpt, vocab: emb[0], context: overrides.contextLength ?? pos[0], dim: emb[1], layers: L, heads: H, kv: nil, hidden: hidden)
            if let e = overrides.normEps { config.normEps = e }
            table["token_embd"] = ("token_embedding_table.weight", nil)
            table["pos_embd"] = ("position_embedding_table.weight", nil)
            for l in 0..<L {
                let s = "blocks.\(l).", b = "blk.\(l)."
                var pairs: [(String, String)] = [("attn_out", "sa.proj"), ("ffn_up", "ffwd.net.0"), ("ffn_down", "ffwd.net.2")]
                for h in 0..<H {
                    pairs += [("attn_q.\(h)", "sa.heads.\(h).query"), ("attn_k.\(h)", "sa.heads.\(h).key"), ("attn_v.\(h)", "sa.heads.\(h).value")]
                }
                for (ours, theirs) in pairs {
                    table[b + ours] = (s + theirs + ".weight", nil)
                    table[b + ours + ".norm"] = (s + theirs + ".rms_norm.weight", nil)
                }
            }
            table["output_norm"] = ("out_norm.weight", nil)
            table["output_norm_bias"] = ("out_norm.bias", nil)
            table["output"] = ("lm_head.weight", nil)
            table["output_bias"] = ("lm_head.bias", nil)
            ignorable = { $0.hasSuffix(".tril") }

        case .lillm:
            let emb = try dims("tok_emb.weight", 2)
            let L = countLayers("transformer_blocks.")
            let heads = try required(overrides.nHeads, "q_heads")
            guard heads > 0, emb[1] % heads == 0 else { throw .mapping("q_heads \(heads) does not divide d_model \(emb[1])") }
            let kvRows = try dims("transformer_blocks.0.attn.wk.weight", 2)[0]
            let kv = overrides.nKVHeads ?? hp.intIfPresent("kv_heads") ?? kvRows / (emb[1] / heads)
            let hidden = try dims("transformer_blocks.0.ffn.w1.weight", 2)[0]
            let ctx = overrides.contextLength ?? hp.intIfPresent("max_seq_len") ?? 512
            if overrides.contextLength == nil && hp.intIfPresent("max_seq_len") == nil { notes.append("context length not recorded: using lilLM's default 512") }
            config = try make(.llama, vocab: emb[0], context: ctx, dim: emb[1], layers: L, heads: heads, kv: kv, hidden: hidden)
            config.normEps = overrides.normEps ?? hp.float("eps") ?? 1e-6
            table["token_embd"] = ("tok_emb.weight", nil)
            for l in 0..<L {
                let s = "transformer_blocks.\(l).", b = "blk.\(l)."
                for (ours, theirs) in [("attn_norm", "attn_norm.gain"), ("attn_q", "attn.wq.weight"), ("attn_k", "attn.wk.weight"),
                                       ("attn_v", "attn.wv.weight"), ("attn_out", "attn.wo.weight"), ("ffn_norm", "ffn_norm.gain"),
                                       ("ffn_gate", "ffn.w1.weight"), ("ffn_up", "ffn.w3.weight"), ("ffn_down", "ffn.w2.weight")] {
                    table[b + ours] = (s + theirs, nil)
                }
            }
            table["output_norm"] = ("norm.gain", nil)
            ignorable = { $0.hasSuffix(".mask") || $0.hasSuffix("freqs_cis") }
            try tie(&config, &table, &notes, byName, embedding: "tok_emb.weight", head: "lm_head.weight")

        case .lightgpt:
            let emb = try dims("token_embeddings.weight", 2)
            let L = countLayers("body.")
            let heads = try required(overrides.nHeads, "num_heads")
            let hidden = try dims("body.0.mlp.layers.0.weight", 2)[0]
            let ctx = overrides.contextLength ?? 1024
            if overrides.contextLength == nil { notes.append("LightGPT records no context length (NoPE): using 1024; set --context-length") }
            config = try make(.llama, vocab: emb[0], context: ctx, dim: emb[1], layers: L, heads: heads, kv: nil, hidden: hidden)
            config.position = .none
            config.activation = .silu
            // torch.nn.RMSNorm(eps=None) uses finfo(float32).eps.
            config.normEps = overrides.normEps ?? Float.ulpOfOne
            let D = emb[1]
            table["token_embd"] = ("token_embeddings.weight", nil)
            for l in 0..<L {
                let s = "body.\(l).", b = "blk.\(l)."
                table[b + "attn_norm"] = (s + "norm1.weight", nil)
                table[b + "attn_q"] = (s + "attention.qkv_proj.weight", 0..<D)
                table[b + "attn_k"] = (s + "attention.qkv_proj.weight", D..<(2 * D))
                table[b + "attn_v"] = (s + "attention.qkv_proj.weight", (2 * D)..<(3 * D))
                table[b + "attn_out"] = (s + "attention.out_proj.weight", nil)
                table[b + "ffn_norm"] = (s + "norm2.weight", nil)
                table[b + "ffn_up"] = (s + "mlp.layers.0.weight", nil)
                table[b + "ffn_down"] = (s + "mlp.layers.2.weight", nil)
            }
            table["output_norm"] = ("output_norm.weight", nil)
            try tie(&config, &table, &notes, byName, embedding: "token_embeddings.weight", head: "output_layer.weight")

        case .llama2c:
            let emb = try dims("tok_embeddings.weight", 2)
            let L = countLayers("layers.")
            let heads = try required(overrides.nHeads, "n_heads")
            let kv = overrides.nKVHeads ?? hp.intIfPresent("n_kv_heads") ?? heads
            let hidden = try dims("layers.0.feed_forward.w1.weight", 2)[0]
            let ctx = try required(overrides.contextLength, "max_seq_len")
            config = try make(.llama, vocab: emb[0], context: ctx, dim: emb[1], layers: L, heads: heads, kv: kv, hidden: hidden)
            config.normEps = overrides.normEps ?? hp.float("norm_eps") ?? 1e-5
            table["token_embd"] = ("tok_embeddings.weight", nil)
            for l in 0..<L {
                let s = "layers.\(l).", b = "blk.\(l)."
                for (ours, theirs) in [("attn_norm", "attention_norm.weight"), ("attn_q", "attention.wq.weight"), ("attn_k", "attention.wk.weight"),
                                       ("attn_v", "attention.wv.weight"), ("attn_out", "attention.wo.weight"), ("ffn_norm", "ffn_norm.weight"),
                                       ("ffn_gate", "feed_forward.w1.weight"), ("ffn_up", "feed_forward.w3.weight"), ("ffn_down", "feed_forward.w2.weight")] {
                    table[b + ours] = (s + theirs, nil)
                }
            }
            table["output_norm"] = ("norm.weight", nil)
            ignorable = { $0.hasSuffix(".attention.mask") || $0 == "freqs_cos" || $0 == "freqs_sin" }
            try tie(&config, &table, &notes, byName, embedding: "tok_embeddings.weight", head: "output.weight")
        }

        // Resolve every spec; collect what is missing or mis-shaped, then what is left over.
        var planned: [PlannedTensor] = []
        var missing: [String] = []
        var wrong: [String] = []
        var claimed = Set<String>()
        for spec in config.tensorSpecs {
            guard let (srcName, rows) = table[spec.name], let src = byName[srcName] else {
                missing.append(table[spec.name].map { "\(spec.name) (from \($0.0))" } ?? spec.name)
                continue
            }
            claimed.insert(srcName)
            var shape = src.shape
            if let r = rows {
                guard shape.count == 2, r.upperBound <= shape[0] else { wrong.append("\(srcName) \(shape) cannot give rows \(r) for \(spec.name)"); continue }
                shape[0] = r.count
            }
            guard shape == spec.shape else { wrong.append("\(srcName) has shape \(src.shape), \(spec.name) needs \(spec.shape)"); continue }
            var p = PlannedTensor(spec: spec, source: src, rows: rows)
            if layout == .bitgpt, spec.role == .linear, src.dtype == .i8 {
                let module = String(srcName.dropLast(".weight".count))
                guard let s = meta[module] else { missing.append("ckpt[\"meta\"][\"\(module)\"] (the scale of ternary weight \(srcName))"); continue }
                guard src.ternaryCodes() != nil else { wrong.append("\(srcName) is int8 but holds values other than -1, 0, +1"); continue }
                guard s.isFinite, s > 0 else { wrong.append("scale ckpt[\"meta\"][\"\(module)\"] = \(s) is not a positive finite number"); continue }
                p.ternaryScale = 1 / s
            } else if src.dtype == .i8 && src.groupScales == nil || src.dtype == .bool || src.dtype == .u8 {
                wrong.append("\(srcName) has dtype \(src.dtype), which a \(layout.rawValue) checkpoint stores as floats")
                continue
            }
            planned.append(p)
        }
        if !missing.isEmpty { throw .mapping("\(layout.rawValue) checkpoint \(source.path) lacks tensors the model needs: \(missing.joined(separator: ", "))") }
        if !wrong.isEmpty { throw .mapping("\(layout.rawValue) checkpoint \(source.path) has unexpected shapes or types: \(wrong.joined(separator: "; "))") }
        var ignored: [String] = []
        var unmatched: [String] = []
        for t in source.tensors where !claimed.contains(t.name) {
            if ignorable(t.name) { ignored.append(t.name) } else if t.name == tiedHead(layout) && config.tiedEmbeddings { continue } else { unmatched.append(t.name) }
        }
        if !unmatched.isEmpty {
            let hint = unmatched.contains { $0.contains("parametrizations") || $0.contains("lora") } ? " (unmerged LoRA adapters: merge them into the weights first)" : ""
            throw .mapping("\(layout.rawValue) checkpoint \(source.path) has tensors no rule maps: \(unmatched.joined(separator: ", "))\(hint)")
        }
        if !ignored.isEmpty { notes.append("ignored \(ignored.count) buffer(s) the runtime recomputes, e.g. \(ignored[0])") }
        return ConversionPlan(layout: layout, config: config, tensors: planned, notes: notes)
    }

    /// The classifier's source name per layout, skipped when tied.
    static func tiedHead(_ l: CheckpointLayout) -> String {
        switch l {
        case .nanogpt: return "lm_head.weight"
        case .bitgpt: return ""
        case .lillm: return "lm_head.weight"
        case .lightgpt: return "output_layer.weight"
        case .llama2c: return "output.weight"
        }
    }

    /// Decides whether the classifier is tied to the embedding: absent, or the same storage, or
    /// equal bytes. Untied classifiers map to `output`.
    static func tie(_ config: inout ModelConfig, _ table: inout [String: (String, Range<Int>?)], _ notes: inout [String],
                    _ byName: [String: SourceTensor], embedding: String, head: String) throws(ConvertError) {
        guard let h = byName[head], let e = byName[embedding] else {
            config.tiedEmbeddings = true
            return
        }
        // Same storage (torch.save keeps one copy), or equal bytes (a copy saved separately).
        if h.storageID == e.storageID || (h.shape == e.shape && h.dtype == e.dtype && h.bytes.elementsEqual(e.bytes)) {
            config.tiedEmbeddings = true
            notes.append("\(head) is tied to \(embedding): stored once as token_embd")
        } else {
            config.tiedEmbeddings = false
            table["output"] = (head, nil)
        }
    }

    /// A validated configuration with the family's defaults.
    static func make(_ arch: Architecture, vocab: Int, context: Int, dim: Int, layers: Int, heads: Int, kv: Int?, hidden: Int) throws(ConvertError) -> ModelConfig {
        guard layers > 0 else { throw .mapping("no transformer blocks found") }
        guard heads > 0, dim % heads == 0 else { throw .mapping("\(heads) heads do not divide dim \(dim)") }
        if let k = kv { guard k > 0, heads % k == 0 else { throw .mapping("\(k) kv heads do not divide \(heads) heads") } }
        guard (1...(1 << 24)).contains(vocab), (1...(1 << 20)).contains(context), dim <= 65_536, layers <= 1024, hidden <= 1 << 20 else {
            throw .mapping("sizes out of range: vocab \(vocab), context \(context), dim \(dim), layers \(layers), hidden \(hidden)")
        }
        return ModelConfig(architecture: arch, vocabSize: vocab, contextLength: context, dim: dim, nLayers: layers, nHeads: heads, nKVHeads: kv, hiddenDim: hidden)
    }
}

/// Typed lookups in a checkpoint's recorded hyper-parameters.
struct HyperParameters {
    let values: [String: PickleValue]

    func intIfPresent(_ k: String) -> Int? { values[k]?.intValue }

    func int(_ k: String, for layout: CheckpointLayout) throws(ConvertError) -> Int {
        guard let v = values[k]?.intValue else {
            let flag = k == "max_seq_len" ? "--context-length" : "--n-heads"
            throw .mapping("\(layout.rawValue) checkpoint does not record \"\(k)\" (model_args/config/metadata): give it with \(flag)")
        }
        return v
    }

    func float(_ k: String) -> Float? { values[k]?.doubleValue.map { Float($0) } }

    func bool(_ k: String) -> Bool? {
        if case let .bool(b)? = values[k] { return b }
        return nil
    }
}
