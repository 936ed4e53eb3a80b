import BitGPT

// TEMPORARY until the core's LoRATarget (branch h-lora-run, "LoRA core:") is merged.
enum LoRATarget: String, CaseIterable, Sendable {
    case q, k, v, o, gate, up, down
}

// TEMPORARY until the core's LoRABase.fingerprint is merged (same definition: /work/lora-spec.md).
enum LoRABase {
    static func fingerprint(config: ModelConfig, values: (TensorSpec) throws -> [Float]) rethrows -> UInt64 {
        var bytes: [UInt8] = []
        for s in config.tensorSpecs {
            bytes += Array(s.name.utf8) + [0]
            for d in s.shape { withUnsafeBytes(of: Int64(d).littleEndian) { bytes += $0 } }
            for v in try values(s) { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 } }
        }
        return XXHash64.hash(bytes)
    }
}
