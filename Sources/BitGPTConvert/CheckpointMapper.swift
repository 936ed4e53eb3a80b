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
    /// The source tensor (for ``zeros``, the tensor whose missing bias this stands for).
    public var source: SourceTensor
    /// For a slice of a fused source (LightGPT `qkv_proj`): the source rows to take.
    public var rows: Range<Int>?
    /// When the source holds ternary codes (BitGPT int8 weights): γ = 1 / s_w, the scale to store.
    public var ternaryScale: Float?
    /// Sources whose rows follow ``source``'s, in order (BitGPT gpt/'s per-head q, k, v fused into one QKV).
    public var appended: [SourceTensor] = []
    /// The tensor is all zeros: a bias the source's layer does not have, inside a fused layer whose
    /// other parts do (BitGPT gpt/'s bias-free q/k/v next to its biased projections).
    public var zeros = false

    /// The source tensors read, for progress and page release (none for ``zeros``).
    public var sources: [SourceTensor] { zeros ? [] : [source] + appended }

    /// The tensor's values as f32, `spec.shape` row-major (ternary codes times γ; fused slices cut; parts joined).
    public func values() -> [Float] {
        if zeros { return [Float](repeating: 0, count: spec.shape.reduce(1, *)) }
        var v = source.floats()
        if let g = ternaryScale { for i in v.indices { v[i] *= g } }
        if let r = rows, let cols = source.shape.last {
            v = Array(v[(r.lowerBound * cols)..<(r.upperBound * cols)])
        }
        for a in appended { v += a.floats() }
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

/// Where one .bgpt tensor comes from.
enum TensorSourceRule {
    /// A source tensor, or some of its rows.
    case tensor(String, rows: Range<Int>?)
    /// Several source tensors, their rows joined in order.
    case joined([String])
    /// Zeros, standing for the missing bias of the named source weight.
    case zeros(of: String)
}

/// A mapping under construction: the source's tensors and hyper-parameters, the table from .bgpt
/// names to sources, notes, and which unclaimed source tensors are harmless buffers.
struct MappingContext {
    let source: CheckpointSource
    let layout: CheckpointLayout
    let byName: [String: SourceTensor]
    let names: Set<String>
    let hp: HyperParameters
    let overrides: HyperOverrides
    var table: [String: TensorSourceRule] = [:]
    var notes: [String] = []
    var ignorable: (String) -> Bool = { _ in false }

    /// Maps .bgpt `ours` to source `theirs`.
    mutating func map(_ ours: String, _ theirs: String, rows: Range<Int>? = nil) { table[ours] = .tensor(theirs, rows: rows) }

    /// Maps `<block><ours>` and `<block><ours>_bias` to `<module><theirs>.weight` and `.bias` for each pair.
    mutating func mapWeightsAndBiases(block: String, module: String, _ pairs: [(String, String)]) {
        for (ours, theirs) in pairs {
            map(block + ours, module + theirs + ".weight")
            map(block + ours + "_bias", module + theirs + ".bias")
        }
    }

    func shape(_ n: String) throws(ConvertError) -> [Int] {
        guard let t = byName[n] else { throw .mapping("\(layout.rawValue) checkpoint has no tensor \"\(n)\"") }
        return t.shape
    }
    /// The command-line value, else the recorded hyper-parameter `key` (an error naming the flag if neither).
    func required(_ given: Int?, _ key: String) throws(ConvertError) -> Int {
        if let g = given { return g }
        return try hp.int(key, for: layout)
    }
    /// How many `prefix0.`, `prefix1.`, … blocks the names hold.
    func countLayers(_ prefix: String) -> Int {
        var l = 0
        while names.contains(where: { $0.hasPrefix("\(prefix)\(l).") }) { l += 1 }
        return l
    }
    /// The shape of `n`, which must have `k` non-zero dimensions.
    func dims(_ n: String, _ k: Int) throws(ConvertError) -> [Int] {
        let s = try shape(n)
        guard s.count == k, s.allSatisfy({ $0 > 0 }) else { throw .mapping("tensor \"\(n)\" has shape \(s), expected \(k) non-zero dimensions") }
        return s
    }
}

/// Maps a checkpoint's tensors and hyper-parameters onto a .bgpt architecture.
///
/// Each layout has a function (`CheckpointMapper+Layouts.swift`) that builds a table from .bgpt
/// names (`formats/bgpt.md` "Tensor names") to source names and a configuration from the recorded
/// hyper-parameters and the tensor shapes, as each project's model code defines them (cited at each
/// layout's function). Linear weights keep PyTorch's `(out, in)` order, so nothing
/// is transposed. Every source tensor must be claimed by the table, be a known buffer (causal
/// masks, RoPE tables), or be the tied copy of the embedding; anything else, and any tensor the
/// architecture needs but the source lacks, is an error that lists the names.
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
            let known = CheckpointLayout.allCases.map { $0.projectName }.joined(separator: ", ")
            throw .unknownLayout("cannot tell which project wrote \(source.path): no tensor names of \(known) found (first names: \(source.tensors.prefix(5).map { $0.name }.joined(separator: ", "))); use --arch")
        }
        var ctx = MappingContext(source: source, layout: layout, byName: byName, names: names,
                                 hp: HyperParameters(values: source.hyperParameters), overrides: overrides)
        let config: ModelConfig
        switch layout {
        case .nanogpt: config = try nanogpt(&ctx)
        case .bitgpt: config = try bitgpt(&ctx)
        case .bitgptFloat: config = try bitgptFloat(&ctx)
        case .babygpt: config = try babygpt(&ctx)
        case .babygptLlama: config = try babygptLlama(&ctx)
        case .lillm: config = try lillm(&ctx)
        case .lightgpt: config = try lightgpt(&ctx)
        case .llama2c: config = try llama2c(&ctx)
        }
        return try resolve(ctx, config: config, meta: meta)
    }

    /// Resolves every spec of `config` through the table; collects what is missing or mis-shaped,
    /// then what is left over.
    static func resolve(_ ctx: MappingContext, config: ModelConfig, meta: [String: Float]) throws(ConvertError) -> ConversionPlan {
        let layout = ctx.layout, byName = ctx.byName, path = ctx.source.path
        var planned: [PlannedTensor] = []
        var missing: [String] = []
        var wrong: [String] = []
        var claimed = Set<String>()
        for spec in config.tensorSpecs {
            let rule = ctx.table[spec.name]
            var parts: [String] = [], rows: Range<Int>? = nil, zeros = false
            switch rule {
            case let .tensor(n, r)?: parts = [n]; rows = r
            case let .joined(ns)?: parts = ns
            case let .zeros(of: n)?: parts = [n]; zeros = true
            case nil: break
            }
            let found = parts.compactMap { byName[$0] }
            guard !parts.isEmpty, found.count == parts.count else {
                let absent = parts.filter { byName[$0] == nil }
                missing.append(absent.isEmpty ? spec.name : "\(spec.name) (from \(absent.joined(separator: ", ")))")
                continue
            }
            let src = found[0]
            if zeros {
                planned.append(PlannedTensor(spec: spec, source: src, zeros: true))
                continue
            }
            claimed.formUnion(parts)
            var shape = src.shape
            if let r = rows {
                guard shape.count == 2, r.upperBound <= shape[0] else { wrong.append("\(src.name) \(shape) cannot give rows \(r) for \(spec.name)"); continue }
                shape[0] = r.count
            }
            if found.count > 1 {
                guard found.allSatisfy({ $0.shape.count == 2 && $0.shape[1] == src.shape[1] && $0.dtype == src.dtype }) else {
                    wrong.append("\(parts.joined(separator: ", ")) cannot be joined by rows for \(spec.name)"); continue
                }
                shape[0] = found.reduce(0) { $0 + $1.shape[0] }
            }
            guard shape == spec.shape else { wrong.append("\(parts.joined(separator: " + ")) has shape \(shape), \(spec.name) needs \(spec.shape)"); continue }
            var p = PlannedTensor(spec: spec, source: src, rows: rows, appended: Array(found.dropFirst()))
            if layout == .bitgpt, spec.role == .linear, src.dtype == .i8 {
                let module = String(src.name.dropLast(".weight".count))
                guard let s = meta[module] else { missing.append("ckpt[\"meta\"][\"\(module)\"] (the scale of ternary weight \(src.name))"); continue }
                guard src.ternaryCodes() != nil else { wrong.append("\(src.name) is int8 but holds values other than -1, 0, +1"); continue }
                guard s.isFinite, s > 0 else { wrong.append("scale ckpt[\"meta\"][\"\(module)\"] = \(s) is not a positive finite number"); continue }
                p.ternaryScale = 1 / s
            } else if let bad = found.first(where: { $0.dtype == .i8 && $0.groupScales == nil || $0.dtype == .bool || $0.dtype == .u8 }) {
                wrong.append("\(bad.name) has dtype \(bad.dtype), which a \(layout.rawValue) checkpoint stores as floats")
                continue
            }
            planned.append(p)
        }
        if !missing.isEmpty { throw .mapping("\(layout.rawValue) checkpoint \(path) lacks tensors the model needs: \(missing.joined(separator: ", "))") }
        if !wrong.isEmpty { throw .mapping("\(layout.rawValue) checkpoint \(path) has unexpected shapes or types: \(wrong.joined(separator: "; "))") }
        var ignored: [String] = []
        var unmatched: [String] = []
        for t in ctx.source.tensors where !claimed.contains(t.name) {
            if ctx.ignorable(t.name) { ignored.append(t.name) } else if t.name == tiedHead(layout) && config.tiedEmbeddings { continue } else { unmatched.append(t.name) }
        }
        if !unmatched.isEmpty {
            let hint = unmatched.contains { $0.contains("parametrizations") || $0.contains("lora") } ? " (unmerged LoRA adapters: merge them into the weights first)" : ""
            throw .mapping("\(layout.rawValue) checkpoint \(path) has tensors no rule maps: \(unmatched.joined(separator: ", "))\(hint)")
        }
        var notes = ctx.notes
        if !ignored.isEmpty { notes.append("ignored \(ignored.count) buffer(s) the runtime recomputes, e.g. \(ignored[0])") }
        return ConversionPlan(layout: layout, config: config, tensors: planned, notes: notes)
    }

    /// The classifier's source name per layout, skipped when tied.
    static func tiedHead(_ l: CheckpointLayout) -> String {
        switch l {
        case .nanogpt, .lillm: return "lm_head.weight"
        case .bitgpt, .bitgptFloat, .babygpt, .babygptLlama: return ""
        case .lightgpt: return "output_layer.weight"
        case .llama2c: return "output.weight"
        }
    }

    /// Decides whether the classifier is tied to the embedding: absent, or the same storage, or
    /// equal bytes. Untied classifiers map to `output`.
    static func tie(_ config: inout ModelConfig, _ ctx: inout MappingContext, embedding: String, head: String) throws(ConvertError) {
        guard let h = ctx.byName[head], let e = ctx.byName[embedding] else {
            config.tiedEmbeddings = true
            return
        }
        // Same storage (torch.save keeps one copy), or equal bytes (a copy saved separately).
        if h.storageID == e.storageID || (h.shape == e.shape && h.dtype == e.dtype && h.bytes.elementsEqual(e.bytes)) {
            config.tiedEmbeddings = true
            ctx.notes.append("\(head) is tied to \(embedding): stored once as token_embd")
        } else {
            config.tiedEmbeddings = false
            ctx.map("output", head)
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
