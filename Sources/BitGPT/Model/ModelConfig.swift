/// Model families the runtime decodes, from `general.architecture`.
public enum Architecture: String, CaseIterable, Sendable {
    /// GPT-2 / nanoGPT: learned positions, pre-LayerNorm, fused QKV, GELU MLP.
    case gpt2
    /// BitGPT: every linear a BitLinear with its own RMSNorm, per-head q/k/v, ReLU MLP, no block norms.
    case bitgpt
    /// Llama / llama2.c / lilLM: RMSNorm, RoPE, SwiGLU, grouped-query attention.
    case llama
}

/// The normalization of the blocks and the final norm.
public enum NormKind: String, CaseIterable, Sendable { case layernorm, rmsnorm }
/// The positional scheme.
public enum PositionKind: String, CaseIterable, Sendable { case learned, rope, none }
/// How RoPE pairs the dimensions of a head: (2i, 2i+1) or (i, i + head_dim/2).
public enum RopePairing: String, CaseIterable, Sendable { case interleaved, half }
/// The MLP non-linearity.
public enum Activation: String, CaseIterable, Sendable {
    /// Exact erf GELU.
    case gelu
    case relu
    /// SwiGLU: `down(silu(gate(x)) * up(x))`.
    case swiglu
    /// Plain SiLU, not gated (LightGPT).
    case silu
}

/// Where the MLP applies its non-linearity (not SwiGLU, which gates inside).
public enum FFNActivationPosition: String, CaseIterable, Sendable {
    /// Between the two linears: `down(act(up(x)))` (every usual model).
    case hidden
    /// After the down projection: `act(down(up(x)))`, nothing between the linears (BabyGPT
    /// `train/babygpt_trainer.py` `FeedForward`).
    case output
}

/// Every hyper-parameter the runtime needs, read from and written to the `model.*` and
/// `bitlinear.*` metadata keys (`formats/bgpt.md`, "Architecture keys").
public struct ModelConfig: Equatable, Sendable {
    public var architecture: Architecture
    /// Token vocabulary size; rows of `token_embd`.
    public var vocabSize: Int
    /// Longest sequence the model attends over (positions 0..<contextLength).
    public var contextLength: Int
    /// Residual stream width.
    public var dim: Int
    public var nLayers: Int
    /// Query heads; `dim` must be a multiple.
    public var nHeads: Int
    /// Key/value heads; divides `nHeads` (GQA). Equal to `nHeads` for MHA.
    public var nKVHeads: Int
    /// MLP hidden width.
    public var hiddenDim: Int
    public var norm: NormKind
    public var normEps: Float
    /// Whether the LayerNorms have a bias (nanoGPT `bias`).
    public var normBias: Bool
    public var position: PositionKind
    public var ropeTheta: Float
    public var ropePairing: RopePairing
    public var activation: Activation
    /// Where the MLP's non-linearity sits (`model.ffn_activation_position`, default `hidden`).
    public var ffnActivationPosition: FFNActivationPosition
    /// How many times the whole stack of blocks runs, in order, with shared weights
    /// (`model.block_repeats`, default 1). Each pass keeps its own KV cache, so the effective depth
    /// is `nLayers · blockRepeats` (BabyGPT calls its block Sequential once per block).
    public var blockRepeats: Int
    /// Epsilon of the final norm when it differs from the blocks' (`model.output_norm_eps`; nil: `normEps`).
    public var outputNormEps: Float?
    /// Epsilon the final norm uses.
    public var finalNormEps: Float { outputNormEps ?? normEps }
    /// Whether attention and MLP linears have biases.
    public var linearBias: Bool
    /// Whether the classifier has a bias.
    public var headBias: Bool
    /// Whether the classifier reuses `token_embd` (no `output` tensor).
    public var tiedEmbeddings: Bool
    /// Whether the attention and MLP linears are BitLinear (ternary weights × int8 activations).
    public var bitLinear: Bool
    /// Whether every BitLinear normalizes its input with its own RMSNorm (BitGPT).
    public var bitLinearNorm: Bool
    /// Epsilon of that RMSNorm.
    public var bitLinearNormEps: Float

    /// Head width, `dim / nHeads`.
    public var headDim: Int { dim / nHeads }
    /// Block applications per token, `nLayers · blockRepeats`: the KV cache's layer count.
    public var scheduledLayers: Int { nLayers * blockRepeats }

    /// A configuration with defaults for the family (every size must still be set).
    public init(architecture: Architecture, vocabSize: Int, contextLength: Int, dim: Int, nLayers: Int, nHeads: Int,
                nKVHeads: Int? = nil, hiddenDim: Int? = nil) {
        self.architecture = architecture
        self.vocabSize = vocabSize
        self.contextLength = contextLength
        self.dim = dim
        self.nLayers = nLayers
        self.nHeads = nHeads
        self.nKVHeads = nKVHeads ?? nHeads
        var hidden = hiddenDim ?? 4 * dim
        switch architecture {
        case .gpt2:
            norm = .layernorm; normEps = 1e-5; normBias = true; position = .learned; activation = .gelu
            linearBias = true; headBias = false; tiedEmbeddings = true; bitLinear = false; bitLinearNorm = false
        case .bitgpt:
            norm = .layernorm; normEps = 1e-5; normBias = true; position = .learned; activation = .relu
            linearBias = false; headBias = true; tiedEmbeddings = false; bitLinear = true; bitLinearNorm = true
        case .llama:
            hidden = hiddenDim ?? ModelConfig.llamaHidden(dim: dim)
            norm = .rmsnorm; normEps = 1e-5; normBias = false; position = .rope; activation = .swiglu
            linearBias = false; headBias = false; tiedEmbeddings = true; bitLinear = false; bitLinearNorm = false
        }
        self.hiddenDim = hidden
        ffnActivationPosition = .hidden
        blockRepeats = 1
        outputNormEps = nil
        ropeTheta = 10_000
        ropePairing = .interleaved
        bitLinearNormEps = 1e-6
    }

    /// llama2.c's MLP width: `2/3 · 4·dim` rounded up to a multiple of 32.
    public static func llamaHidden(dim: Int, multipleOf m: Int = 32) -> Int {
        let h = 2 * (4 * dim) / 3
        return m * ((h + m - 1) / m)
    }

    public static func == (a: ModelConfig, b: ModelConfig) -> Bool { a.metadata == b.metadata }

    /// Reads and validates the configuration from a file's metadata.
    ///
    /// Sizes are checked against hard maxima and against each other (heads divide dim, kv heads
    /// divide heads), so nothing downstream indexes with an unchecked value.
    /// - Throws: ``FormatError/missingKey(_:)``, ``FormatError/wrongType(key:expected:found:)``,
    ///   ``FormatError/invalidValue(key:reason:)``.
    public init(metadata m: Metadata) throws(FormatError) {
        func choice<T: RawRepresentable & CaseIterable>(_ key: String, _: T.Type) throws(FormatError) -> T where T.RawValue == String {
            let s = try m.string(key)
            guard let v = T(rawValue: s) else {
                throw .invalidValue(key: key, reason: "\"\(s)\" is not one of \(T.allCases.map { $0.rawValue }.joined(separator: ", "))")
            }
            return v
        }
        let arch = try choice("general.architecture", Architecture.self)
        self.init(architecture: arch,
                  vocabSize: try m.int("model.vocab_size", in: 1...(1 << 24)),
                  contextLength: try m.int("model.context_length", in: 1...(1 << 20)),
                  dim: try m.int("model.dim", in: 1...65_536),
                  nLayers: try m.int("model.n_layers", in: 1...1024),
                  nHeads: try m.int("model.n_heads", in: 1...1024),
                  nKVHeads: try m.int("model.n_kv_heads", in: 1...1024),
                  hiddenDim: try m.int("model.hidden_dim", in: 1...(1 << 20)))
        norm = try choice("model.norm", NormKind.self)
        normEps = Float(try m.float("model.norm_eps"))
        outputNormEps = m.contains("model.output_norm_eps") ? Float(try m.float("model.output_norm_eps")) : nil
        if m.contains("model.ffn_activation_position") { ffnActivationPosition = try choice("model.ffn_activation_position", FFNActivationPosition.self) }
        if m.contains("model.block_repeats") { blockRepeats = try m.int("model.block_repeats", in: 1...1024) }
        normBias = try m.bool("model.norm_bias")
        position = try choice("model.position", PositionKind.self)
        activation = try choice("model.activation", Activation.self)
        linearBias = try m.bool("model.linear_bias")
        headBias = try m.bool("model.head_bias")
        tiedEmbeddings = try m.bool("model.tied_embeddings")
        bitLinear = try m.bool("bitlinear.enabled")
        if position == .rope {
            ropeTheta = Float(try m.float("model.rope_theta"))
            ropePairing = try choice("model.rope_pairing", RopePairing.self)
            guard ropeTheta > 0 else { throw .invalidValue(key: "model.rope_theta", reason: "must be positive") }
        }
        if bitLinear {
            bitLinearNorm = try m.bool("bitlinear.norm")
            if bitLinearNorm { bitLinearNormEps = Float(try m.float("bitlinear.norm_eps")) }
            let bits = try m.int("bitlinear.activation_bits")
            guard bits == 8 else { throw .invalidValue(key: "bitlinear.activation_bits", reason: "\(bits) is not supported (only 8)") }
        } else {
            bitLinearNorm = false
        }
        guard dim % nHeads == 0 else { throw .invalidValue(key: "model.n_heads", reason: "\(nHeads) does not divide model.dim \(dim)") }
        guard nHeads % nKVHeads == 0 else { throw .invalidValue(key: "model.n_kv_heads", reason: "\(nKVHeads) does not divide model.n_heads \(nHeads)") }
        guard normEps >= 0 else { throw .invalidValue(key: "model.norm_eps", reason: "must not be negative") }
        guard finalNormEps >= 0 else { throw .invalidValue(key: "model.output_norm_eps", reason: "must not be negative") }
        guard scheduledLayers <= 4096 else {
            throw .invalidValue(key: "model.block_repeats", reason: "\(blockRepeats) passes over \(nLayers) blocks exceed 4096 block applications")
        }
        if ffnActivationPosition == .output && activation == .swiglu {
            throw .invalidValue(key: "model.ffn_activation_position", reason: "\"output\" needs a plain activation, not swiglu")
        }
        if position == .rope && headDim % 2 != 0 { throw .invalidValue(key: "model.position", reason: "RoPE needs an even head dimension, got \(headDim)") }
    }

    /// The configuration as metadata entries (every key the runtime reads).
    public var metadata: Metadata {
        var m = Metadata()
        write(to: &m)
        return m
    }

    /// Sets every `general.architecture`, `model.*` and `bitlinear.*` key in `m`.
    public func write(to m: inout Metadata) {
        m.set("general.architecture", .string(architecture.rawValue))
        m.set("model.vocab_size", .uint32(UInt32(vocabSize)))
        m.set("model.context_length", .uint32(UInt32(contextLength)))
        m.set("model.dim", .uint32(UInt32(dim)))
        m.set("model.n_layers", .uint32(UInt32(nLayers)))
        m.set("model.n_heads", .uint32(UInt32(nHeads)))
        m.set("model.n_kv_heads", .uint32(UInt32(nKVHeads)))
        m.set("model.hidden_dim", .uint32(UInt32(hiddenDim)))
        m.set("model.norm", .string(norm.rawValue))
        m.set("model.norm_eps", .float32(normEps))
        m.set("model.norm_bias", .bool(normBias))
        m.set("model.position", .string(position.rawValue))
        if position == .rope {
            m.set("model.rope_theta", .float32(ropeTheta))
            m.set("model.rope_pairing", .string(ropePairing.rawValue))
        }
        m.set("model.activation", .string(activation.rawValue))
        // Written only when they differ from their defaults, so existing files keep their bytes.
        if ffnActivationPosition != .hidden { m.set("model.ffn_activation_position", .string(ffnActivationPosition.rawValue)) }
        if blockRepeats != 1 { m.set("model.block_repeats", .uint32(UInt32(blockRepeats))) }
        if let e = outputNormEps, e != normEps { m.set("model.output_norm_eps", .float32(e)) }
        m.set("model.linear_bias", .bool(linearBias))
        m.set("model.head_bias", .bool(headBias))
        m.set("model.tied_embeddings", .bool(tiedEmbeddings))
        m.set("bitlinear.enabled", .bool(bitLinear))
        if bitLinear {
            m.set("bitlinear.norm", .bool(bitLinearNorm))
            if bitLinearNorm { m.set("bitlinear.norm_eps", .float32(bitLinearNormEps)) }
            m.set("bitlinear.activation_bits", .uint32(8))
            m.set("bitlinear.weight_scale", .string("absmean"))
        }
    }
}
