/// The role of a tensor in a model, which decides its default dtype when quantizing.
public enum TensorRole: Sendable {
    /// Token or position embedding.
    case embedding
    /// A norm gain or any bias.
    case vector
    /// An attention or MLP weight matrix: BitLinear when `bitlinear.enabled`.
    case linear
    /// The untied classifier.
    case head
}

/// One tensor a model of a given configuration must have.
public struct TensorSpec: Equatable, Sendable {
    public var name: String
    /// Shape, outermost first.
    public var shape: [Int]
    public var role: TensorRole
}

extension ModelConfig {
    /// Every tensor this configuration needs, in the canonical file order
    /// (embeddings, blocks in order, final norm, classifier); `formats/bgpt.md` "Tensor names".
    public var tensorSpecs: [TensorSpec] {
        let D = dim, H = hiddenDim, hd = headDim
        var out: [TensorSpec] = []
        func add(_ n: String, _ s: [Int], _ r: TensorRole) { out.append(TensorSpec(name: n, shape: s, role: r)) }
        func norm(_ n: String) {
            add(n, [D], .vector)
            if self.norm == .layernorm && normBias { add(n + "_bias", [D], .vector) }
        }
        func linear(_ n: String, out o: Int, in i: Int, bias: Bool) {
            add(n, [o, i], .linear)
            if bitLinear && bitLinearNorm { add(n + ".norm", [i], .vector) }
            if bias { add(n + "_bias", [o], .vector) }
        }
        add("token_embd", [vocabSize, D], .embedding)
        if position == .learned { add("pos_embd", [contextLength, D], .embedding) }
        for l in 0..<nLayers {
            let p = "blk.\(l)."
            switch architecture {
            case .gpt2:
                norm(p + "attn_norm")
                linear(p + "attn_qkv", out: 3 * D, in: D, bias: linearBias)
                linear(p + "attn_out", out: D, in: D, bias: linearBias)
                norm(p + "ffn_norm")
                linear(p + "ffn_up", out: H, in: D, bias: linearBias)
                linear(p + "ffn_down", out: D, in: H, bias: linearBias)
            case .bitgpt:
                for kind in ["attn_q", "attn_k", "attn_v"] {
                    for h in 0..<nHeads { linear(p + "\(kind).\(h)", out: hd, in: D, bias: linearBias) }
                }
                linear(p + "attn_out", out: D, in: D, bias: linearBias)
                linear(p + "ffn_up", out: H, in: D, bias: linearBias)
                linear(p + "ffn_down", out: D, in: H, bias: linearBias)
            case .llama:
                norm(p + "attn_norm")
                linear(p + "attn_q", out: nHeads * hd, in: D, bias: linearBias)
                linear(p + "attn_k", out: nKVHeads * hd, in: D, bias: linearBias)
                linear(p + "attn_v", out: nKVHeads * hd, in: D, bias: linearBias)
                linear(p + "attn_out", out: D, in: D, bias: linearBias)
                norm(p + "ffn_norm")
                if activation == .swiglu { linear(p + "ffn_gate", out: H, in: D, bias: linearBias) }
                linear(p + "ffn_up", out: H, in: D, bias: linearBias)
                linear(p + "ffn_down", out: D, in: H, bias: linearBias)
            }
        }
        norm("output_norm")
        if !tiedEmbeddings { add("output", [vocabSize, D], .head) }
        if headBias { add("output_bias", [vocabSize], .vector) }
        return out
    }

    /// Checks that `file` holds every tensor of ``tensorSpecs`` with the right shape, and nothing
    /// unexpected that the runtime would silently ignore.
    ///
    /// - Throws: ``FormatError/tensorNotFound(_:)`` or ``FormatError/unexpectedTensor(tensor:reason:)``.
    public func checkTensors(in file: BGPTFile) throws(FormatError) {
        let specs = tensorSpecs
        for s in specs {
            guard let t = file.info(s.name) else { throw .tensorNotFound(s.name) }
            guard t.shape == s.shape else {
                throw .unexpectedTensor(tensor: s.name, reason: "shape \(t.shape), expected \(s.shape) from the architecture keys")
            }
        }
        let names = Set(specs.map { $0.name })
        for t in file.tensors where !names.contains(t.name) {
            throw .unexpectedTensor(tensor: t.name, reason: "not used by a \(architecture.rawValue) model with these settings")
        }
    }
}
