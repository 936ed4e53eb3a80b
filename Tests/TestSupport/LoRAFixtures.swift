import BitGPT
import Foundation

/// LoRA adapter files for the tests, built byte by byte (so the refusal tests can also build broken
/// ones): a safetensors file of F32 tensors named as `docs/training.md` describes.
public enum LoRAFixtures {
    /// Safetensors bytes of `tensors` (name, shape, values) in the given order with `metadata`.
    public static func safetensors(_ tensors: [(name: String, shape: [Int], values: [Float])], metadata: [String: String]) -> [UInt8] {
        var header: [String: Any] = ["__metadata__": metadata]
        var offset = 0
        for t in tensors {
            header[t.name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + 4 * t.values.count]] as [String: Any]
            offset += 4 * t.values.count
        }
        var json = [UInt8](try! JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
        while (json.count + 8) % 8 != 0 { json.append(0x20) }
        var out: [UInt8] = []
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out += $0 }
        out += json
        for t in tensors { for v in t.values { withUnsafeBytes(of: v.bitPattern.littleEndian) { out += $0 } } }
        return out
    }

    /// A seeded random adapter for a base of `config` (A and B uniform in ±`std`·√3, B not zero so
    /// the adapter changes the logits), as tensors and metadata.
    public static func adapter(config: ModelConfig, targets: [LoRATarget], rank: Int, alpha: Float, fingerprint: UInt64,
                               seed: UInt64, std: Float = 0.1) throws -> (tensors: [(name: String, shape: [Int], values: [Float])], metadata: [String: String]) {
        var rng = SeededRandom(seed: seed)
        let mods = try LoRAModule.modules(for: targets, architecture: config.architecture)
        var tensors: [(name: String, shape: [Int], values: [Float])] = []
        var layers: [LoRALayer] = []
        for l in 0..<config.nLayers {
            for m in mods {
                let (o, i) = try LoRAAdapter.shape(of: m, layer: l, in: config)
                let a = (0..<(rank * i)).map { _ in (rng.uniform() * 2 - 1) * std * 1.7320508 }
                let b = (0..<(o * rank)).map { _ in (rng.uniform() * 2 - 1) * std * 1.7320508 }
                tensors.append((m.peftTensorName(layer: l, architecture: config.architecture, matrix: "A"), [rank, i], a))
                tensors.append((m.peftTensorName(layer: l, architecture: config.architecture, matrix: "B"), [o, rank], b))
                layers.append(LoRALayer(layer: l, module: m, outFeatures: o, inFeatures: i, a: a, b: b))
            }
        }
        let adapter = LoRAAdapter(rank: rank, alpha: alpha, targets: targets, architecture: config.architecture,
                                  nLayers: config.nLayers, baseFingerprint: fingerprint, layers: layers)
        return (tensors, adapter.metadata)
    }

    /// Writes a seeded random adapter for the `.bgpt` at `base` to `path`; returns the base's config.
    @discardableResult
    public static func write(to path: String, base: String, targets: [LoRATarget], rank: Int = 4, alpha: Float = 8,
                             seed: UInt64, std: Float = 0.1) throws -> ModelConfig {
        let file = try BGPTFile(path: base)
        let config = try ModelConfig(metadata: file.metadata)
        let a = try adapter(config: config, targets: targets, rank: rank, alpha: alpha,
                            fingerprint: try LoRABase.fingerprint(of: file), seed: seed, std: std)
        let bytes = safetensors(a.tensors, metadata: a.metadata)
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else { throw CocoaError(.fileWriteUnknown) }
        return config
    }
}
