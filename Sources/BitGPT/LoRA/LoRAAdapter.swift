/// The projections a LoRA adapter can target (`--lora-targets`), in canonical order.
///
/// The math and names follow huggingface/peft (`src/peft/tuners/lora/layer.py`): a targeted linear
/// with base weight W (out, in) computes `y = W·x (+ bias) + s·(α/r)·B·(A·x)`, A (r, in), B (out, r).
public enum LoRATarget: String, CaseIterable, Sendable, Comparable {
    case q, k, v, o, gate, up, down

    public static func < (a: LoRATarget, b: LoRATarget) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    /// Parses a comma-separated list (`q,k,v,o`): known names, no repeats, at least one.
    /// - Throws: ``LoRAError/invalid(_:)`` naming the bad entry.
    public static func parseList(_ s: String) throws(LoRAError) -> [LoRATarget] {
        var out: [LoRATarget] = []
        for part in s.split(separator: ",", omittingEmptySubsequences: false) {
            let name = part.trimmingCharacters(in: " ")
            guard let t = LoRATarget(rawValue: name) else {
                throw .invalid("unknown LoRA target \"\(name)\" (known: \(allCases.map(\.rawValue).joined(separator: ",")))")
            }
            guard !out.contains(t) else { throw .invalid("LoRA target \"\(name)\" is listed twice") }
            out.append(t)
        }
        return out
    }
}

private extension Substring {
    func trimmingCharacters(in c: Character) -> String {
        var s = self[...]
        while s.first == c { s = s.dropFirst() }
        while s.last == c { s = s.dropLast() }
        return String(s)
    }
}

/// One linear layer of a block that an adapter modifies: its `.bgpt` tensor and PEFT module names.
///
/// On gpt2 the targets q, k and v all name the fused `attn_qkv` (GPT-2's `c_attn`), as PEFT
/// targets `c_attn` as a whole; that module appears once.
public struct LoRAModule: Hashable, Sendable {
    /// The `.bgpt` weight tensor within block L, without the `blk.L.` prefix (e.g. `attn_q`, `attn_qkv`).
    public let tensor: String
    /// The PEFT module path within layer L (e.g. `self_attn.q_proj`, `attn.c_attn`).
    public let peftPath: String
    /// The PEFT `target_modules` entry (e.g. `q_proj`, `c_attn`).
    public let peftName: String

    /// The `.bgpt` weight tensor of layer `layer` (`blk.L.attn_q`).
    public func tensorName(layer: Int) -> String { "blk.\(layer).\(tensor)" }

    /// The safetensors name of matrix `A` or `B` (`matrix` is "A" or "B") of this module in layer `layer`.
    public func peftTensorName(layer: Int, architecture: Architecture, matrix: String) -> String {
        let prefix = architecture == .gpt2 ? "base_model.model.transformer.h." : "base_model.model.model.layers."
        return "\(prefix)\(layer).\(peftPath).lora_\(matrix).weight"
    }

    /// The module `target` names in a model of `architecture`.
    /// - Throws: ``LoRAError/unsupported(_:)`` for bitgpt and for gate on gpt2.
    public static func module(for target: LoRATarget, architecture: Architecture) throws(LoRAError) -> LoRAModule {
        switch architecture {
        case .llama:
            switch target {
            case .q: return LoRAModule(tensor: "attn_q", peftPath: "self_attn.q_proj", peftName: "q_proj")
            case .k: return LoRAModule(tensor: "attn_k", peftPath: "self_attn.k_proj", peftName: "k_proj")
            case .v: return LoRAModule(tensor: "attn_v", peftPath: "self_attn.v_proj", peftName: "v_proj")
            case .o: return LoRAModule(tensor: "attn_out", peftPath: "self_attn.o_proj", peftName: "o_proj")
            case .gate: return LoRAModule(tensor: "ffn_gate", peftPath: "mlp.gate_proj", peftName: "gate_proj")
            case .up: return LoRAModule(tensor: "ffn_up", peftPath: "mlp.up_proj", peftName: "up_proj")
            case .down: return LoRAModule(tensor: "ffn_down", peftPath: "mlp.down_proj", peftName: "down_proj")
            }
        case .gpt2:
            switch target {
            case .q, .k, .v: return LoRAModule(tensor: "attn_qkv", peftPath: "attn.c_attn", peftName: "c_attn")
            case .o: return LoRAModule(tensor: "attn_out", peftPath: "attn.c_proj", peftName: "c_proj")
            case .gate: throw .unsupported("gpt2 models have no gate projection")
            case .up: return LoRAModule(tensor: "ffn_up", peftPath: "mlp.c_fc", peftName: "c_fc")
            case .down: return LoRAModule(tensor: "ffn_down", peftPath: "mlp.c_proj", peftName: "c_proj")
            }
        case .bitgpt:
            throw .unsupported("LoRA adapters on bitgpt models (per-head q/k/v BitLinears) are not supported in this version")
        }
    }

    /// The distinct modules of `targets` in a model of `architecture`, in canonical target order.
    public static func modules(for targets: [LoRATarget], architecture: Architecture) throws(LoRAError) -> [LoRAModule] {
        var out: [LoRAModule] = []
        for t in targets.sorted() {
            let m = try module(for: t, architecture: architecture)
            if !out.contains(m) { out.append(m) }
        }
        return out
    }
}

/// A problem with a LoRA adapter or its use; `description` is one line.
public enum LoRAError: Error, Equatable, CustomStringConvertible {
    /// The adapter itself is malformed (metadata, names, shapes).
    case invalid(String)
    /// The adapter was made for another base model (architecture, layers, shapes, fingerprint).
    case baseMismatch(String)
    /// The model or target is not something LoRA supports here.
    case unsupported(String)
    /// Any of the above, in the adapter file at `path`.
    indirect case file(path: String, LoRAError)

    public var description: String {
        switch self {
        case let .invalid(m): return m
        case let .baseMismatch(m): return "adapter does not match the base model: \(m)"
        case let .unsupported(m): return m
        case let .file(path, e): return "\(path): \(e)"
        }
    }
}

/// The matrices of one adapted linear layer: `A` (rank, in) and `B` (out, rank), row-major f32.
public struct LoRALayer: Sendable {
    /// The block index.
    public var layer: Int
    /// The linear layer adapted.
    public var module: LoRAModule
    /// Rows of the base weight (`out`).
    public var outFeatures: Int
    /// Columns of the base weight (`in`).
    public var inFeatures: Int
    /// A, (rank, in).
    public var a: [Float]
    /// B, (out, rank).
    public var b: [Float]

    public init(layer: Int, module: LoRAModule, outFeatures: Int, inFeatures: Int, a: [Float], b: [Float]) {
        self.layer = layer; self.module = module; self.outFeatures = outFeatures; self.inFeatures = inFeatures
        self.a = a; self.b = b
    }
}

/// A LoRA adapter: low-rank updates of some linear layers of one base model.
///
/// File format: `docs/training.md`, "LoRA adapter files and run-time use". Read with
/// `LoRAAdapterFile.read(path:config:)` (BitGPTConvert); applied at run time by
/// ``Transformer/addAdapter(_:scale:)`` without touching the base weights.
public struct LoRAAdapter: Sendable {
    /// The `format` metadata value.
    public static let formatName = "bitgpt-lora"
    /// The `format_version` this runtime reads and writes.
    public static let formatVersion = "1"
    /// Ranks accepted.
    public static let rankRange = 1...4096

    /// r.
    public var rank: Int
    /// α; the update is scaled by α / r.
    public var alpha: Float
    /// The targets, as written (canonical order for llama; the user's list for gpt2).
    public var targets: [LoRATarget]
    /// The base's architecture.
    public var architecture: Architecture
    /// The base's number of blocks.
    public var nLayers: Int
    /// The base's ``LoRABase/fingerprint(of:)``.
    public var baseFingerprint: UInt64
    /// One entry per (layer, module), layer-major, modules in canonical order.
    public var layers: [LoRALayer]

    /// α / r.
    public var scaling: Float { alpha / Float(rank) }

    public init(rank: Int, alpha: Float, targets: [LoRATarget], architecture: Architecture, nLayers: Int,
                baseFingerprint: UInt64, layers: [LoRALayer]) {
        self.rank = rank; self.alpha = alpha; self.targets = targets; self.architecture = architecture
        self.nLayers = nLayers; self.baseFingerprint = baseFingerprint; self.layers = layers
    }

    /// The modules targeted, distinct, in canonical order.
    public var modules: [LoRAModule] { get throws(LoRAError) { try LoRAModule.modules(for: targets, architecture: architecture) } }

    /// The `(out, in)` shape of `module`'s weight in a model of `config`.
    /// - Throws: ``LoRAError/baseMismatch(_:)`` when the model has no such tensor.
    public static func shape(of module: LoRAModule, layer: Int, in config: ModelConfig) throws(LoRAError) -> (out: Int, in: Int) {
        let name = module.tensorName(layer: layer)
        guard let s = config.tensorSpecs.first(where: { $0.name == name }), s.shape.count == 2 else {
            throw .baseMismatch("the base has no tensor \(name)")
        }
        return (s.shape[0], s.shape[1])
    }

    /// The 16 lowercase hex digits of a fingerprint, as stored in `base_fingerprint`.
    public static func hex(_ fingerprint: UInt64) -> String {
        let s = String(fingerprint, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }

    /// The `__metadata__` map of this adapter (`format`, `rank`, `alpha`, `targets`, the base's
    /// architecture, layers and fingerprint, and PEFT's `peft_type`, `r`, `lora_alpha`, `target_modules`).
    public var metadata: [String: String] {
        let mods = (try? modules) ?? []
        var names: [String] = []
        for m in mods where !names.contains(m.peftName) { names.append(m.peftName) }
        let alphaText = alpha == alpha.rounded() && abs(alpha) < 1e9 ? String(Int(alpha)) : "\(alpha)"
        return [
            "format": LoRAAdapter.formatName, "format_version": LoRAAdapter.formatVersion,
            "rank": String(rank), "alpha": alphaText, "targets": targets.map(\.rawValue).joined(separator: ","),
            "architecture": architecture.rawValue, "n_layers": String(nLayers),
            "base_fingerprint": LoRAAdapter.hex(baseFingerprint),
            "peft_type": "LORA", "r": String(rank), "lora_alpha": alphaText,
            "target_modules": "[" + names.map { "\"\($0)\"" }.joined(separator: ",") + "]",
        ]
    }

    /// Checks that this adapter fits a model of `config`: architecture, layer count, every layer's
    /// shapes, and (when given) the base fingerprint.
    /// - Throws: ``LoRAError`` with one line naming the first difference.
    public func check(against config: ModelConfig, fingerprint: UInt64?) throws(LoRAError) {
        guard architecture == config.architecture else {
            throw .baseMismatch("adapter is for a \(architecture.rawValue) model, the base is \(config.architecture.rawValue)")
        }
        guard nLayers == config.nLayers else {
            throw .baseMismatch("adapter is for \(nLayers) layers, the base has \(config.nLayers)")
        }
        _ = try modules
        for l in layers {
            let (o, i) = try LoRAAdapter.shape(of: l.module, layer: l.layer, in: config)
            guard l.outFeatures == o, l.inFeatures == i, l.a.count == rank * i, l.b.count == o * rank else {
                throw .baseMismatch("\(l.module.tensorName(layer: l.layer)) is (\(o), \(i)) in the base, the adapter's A and B are for (\(l.outFeatures), \(l.inFeatures)) at rank \(rank)")
            }
        }
        if let f = fingerprint, f != baseFingerprint {
            throw .baseMismatch("base fingerprint \(LoRAAdapter.hex(f)), the adapter was trained on \(LoRAAdapter.hex(baseFingerprint))")
        }
    }
}
