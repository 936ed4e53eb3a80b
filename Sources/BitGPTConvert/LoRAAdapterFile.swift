import BitGPT

/// Reads a LoRA adapter file (safetensors; format in `docs/training.md`, "LoRA adapter files and
/// run-time use") through the one validated ``SafetensorsFile`` reader.
///
/// Everything is checked before any matrix is copied: the container's own rules, then `format`
/// and `format_version`, rank (1...4096), alpha (finite, > 0), the targets, the base's
/// architecture and layer count, the base fingerprint's spelling, every expected `lora_A`/`lora_B`
/// tensor present as F32 with shapes (r, in) / (out, r) of the base, and no other tensor.
public enum LoRAAdapterFile {
    /// Reads and validates the adapter at `path` for a base model of `config`.
    ///
    /// - Parameters:
    ///   - path: the adapter file.
    ///   - config: the base model's configuration (architecture, layers, shapes).
    ///   - fingerprint: the base's ``LoRABase/fingerprint(of:)``; when given it must equal the
    ///     adapter's `base_fingerprint`.
    /// - Throws: ``LoRAError`` whose description is one line starting with `path`.
    public static func read(path: String, config: ModelConfig, fingerprint: UInt64? = nil) throws(LoRAError) -> LoRAAdapter {
        let st: SafetensorsFile
        do { st = try SafetensorsFile(path: path) } catch { throw .file(path: path, .invalid(error.description)) }
        do {
            return try adapter(from: st, config: config, fingerprint: fingerprint)
        } catch {
            throw .file(path: path, error)
        }
    }

    /// Validates an opened safetensors file as an adapter for `config` (see ``read(path:config:fingerprint:)``).
    public static func adapter(from st: SafetensorsFile, config: ModelConfig, fingerprint: UInt64?) throws(LoRAError) -> LoRAAdapter {
        let m = st.metadata
        func key(_ k: String) throws(LoRAError) -> String {
            guard let v = m[k] else { throw .invalid("__metadata__ has no \"\(k)\" (not a bitgpt-lora adapter?)") }
            return v
        }
        guard try key("format") == LoRAAdapter.formatName else {
            throw .invalid("__metadata__ format is \"\(m["format"]!)\", expected \"\(LoRAAdapter.formatName)\"")
        }
        guard try key("format_version") == LoRAAdapter.formatVersion else {
            throw .invalid("format_version \"\(m["format_version"]!)\" is not supported (this runtime reads \(LoRAAdapter.formatVersion))")
        }
        let rankText = try key("rank")
        guard let rank = Int(rankText), LoRAAdapter.rankRange.contains(rank) else {
            throw .invalid("rank \"\(rankText)\" is not an integer in \(LoRAAdapter.rankRange.lowerBound)...\(LoRAAdapter.rankRange.upperBound)")
        }
        let alphaText = try key("alpha")
        guard let alpha = Float(alphaText), alpha.isFinite, alpha > 0 else { throw .invalid("alpha \"\(alphaText)\" is not a finite number > 0") }
        let targets = try LoRATarget.parseList(try key("targets"))
        let archText = try key("architecture")
        guard let arch = Architecture(rawValue: archText) else { throw .invalid("architecture \"\(archText)\" is not one of gpt2, bitgpt, llama") }
        let layersText = try key("n_layers")
        guard let nLayers = Int(layersText), (1...1024).contains(nLayers) else { throw .invalid("n_layers \"\(layersText)\" is not an integer in 1...1024") }
        let fpText = try key("base_fingerprint")
        guard fpText.utf8.count == 16, fpText.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }),
              let fp = UInt64(fpText, radix: 16) else {
            throw .invalid("base_fingerprint \"\(fpText)\" is not 16 lowercase hex digits")
        }
        if let r = m["r"], r != rankText { throw .invalid("metadata r \"\(r)\" differs from rank \"\(rankText)\"") }
        if let a = m["lora_alpha"], Float(a) != alpha { throw .invalid("metadata lora_alpha \"\(a)\" differs from alpha \"\(alphaText)\"") }
        guard arch == config.architecture else {
            throw .baseMismatch("adapter is for a \(arch.rawValue) model, the base is \(config.architecture.rawValue)")
        }
        guard nLayers == config.nLayers else { throw .baseMismatch("adapter is for \(nLayers) layers, the base has \(config.nLayers)") }
        let modules = try LoRAModule.modules(for: targets, architecture: arch)

        var byName: [String: SourceTensor] = [:]
        for t in st.tensors { byName[t.name] = t }
        var used = Set<String>()
        var layers: [LoRALayer] = []
        for l in 0..<nLayers {
            for mod in modules {
                let (o, i) = try LoRAAdapter.shape(of: mod, layer: l, in: config)
                let aName = mod.peftTensorName(layer: l, architecture: arch, matrix: "A")
                let bName = mod.peftTensorName(layer: l, architecture: arch, matrix: "B")
                func tensor(_ name: String, _ shape: [Int]) throws(LoRAError) -> SourceTensor {
                    guard let t = byName[name] else { throw .invalid("tensor \(name) is missing (targets \(targets.map(\.rawValue).joined(separator: ",")))") }
                    guard t.dtype == .f32 else { throw .invalid("tensor \(name) is \(t.dtype.rawValue.uppercased()), expected F32") }
                    guard t.shape == shape else {
                        throw .baseMismatch("tensor \(name) has shape \(t.shape), expected \(shape) for \(mod.tensorName(layer: l)) (\(o), \(i)) at rank \(rank)")
                    }
                    used.insert(name)
                    return t
                }
                let a = try tensor(aName, [rank, i]), b = try tensor(bName, [o, rank])
                let af = a.floats(), bf = b.floats()
                guard af.allSatisfy(\.isFinite), bf.allSatisfy(\.isFinite) else {
                    throw .invalid("\(mod.tensorName(layer: l)): lora_A or lora_B holds a value that is not finite")
                }
                layers.append(LoRALayer(layer: l, module: mod, outFeatures: o, inFeatures: i, a: af, b: bf))
            }
        }
        if let extra = st.tensors.first(where: { !used.contains($0.name) }) {
            throw .invalid("unknown tensor \(extra.name) (not a lora_A/lora_B of the targets \(targets.map(\.rawValue).joined(separator: ",")))")
        }
        let adapter = LoRAAdapter(rank: rank, alpha: alpha, targets: targets, architecture: arch, nLayers: nLayers,
                                  baseFingerprint: fp, layers: layers)
        try adapter.check(against: config, fingerprint: fingerprint)
        return adapter
    }
}

/// A `--lora FILE[:SCALE]` argument: an adapter file and its run-time scale (default 1).
public struct LoRASpec: Equatable, Sendable {
    /// The adapter file.
    public var path: String
    /// s in `y += s·(α/r)·B·(A·x)`.
    public var scale: Float

    public init(path: String, scale: Float = 1) { self.path = path; self.scale = scale }

    /// Parses `FILE` or `FILE:SCALE` (the scale after the last colon when it reads as a number, so
    /// a path with colons still works without a scale).
    /// - Throws: ``LoRAError/invalid(_:)`` for an empty path or a scale that is not a finite number.
    public init(parsing s: String, flag: String = "--lora") throws(LoRAError) {
        if let colon = s.lastIndex(of: ":") {
            let tail = String(s[s.index(after: colon)...]), head = String(s[..<colon])
            if let v = Float(tail) {
                guard v.isFinite else { throw .invalid("\(flag) \(s): the scale \(tail) is not a finite number") }
                guard !head.isEmpty else { throw .invalid("\(flag) \(s): no adapter file before the scale") }
                self.init(path: head, scale: v)
                return
            }
            if tail.isEmpty || tail.first.map({ "+-.0123456789".contains($0) }) == true {
                throw .invalid("\(flag) \(s): \"\(tail)\" is not a scale (FILE[:SCALE], SCALE a finite number)")
            }
        }
        guard !s.isEmpty else { throw .invalid("\(flag) needs an adapter file (FILE[:SCALE])") }
        self.init(path: s)
    }
}

extension LoRAAdapterFile {
    /// Reads every adapter of `specs` for `model` (checking shapes and the base fingerprint, computed
    /// once from `model.file`) and applies each at its scale. Nothing is applied unless all read.
    /// - Throws: ``LoRAError`` (one line, naming the adapter file).
    public static func apply(_ specs: [LoRASpec], to model: Transformer) throws {
        guard !specs.isEmpty else { return }
        let fp = try LoRABase.fingerprint(of: model.file)
        let adapters = try specs.map { s throws(LoRAError) in (try read(path: s.path, config: model.config, fingerprint: fp), s.scale) }
        for (a, s) in adapters { try model.addAdapter(a, scale: s) }
    }
}
