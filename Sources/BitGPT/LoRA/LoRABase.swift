/// The fingerprint of a base model that a LoRA adapter records, so that an adapter trained on one
/// base is refused on another.
///
/// xxHash64 (seed 0) over, for each tensor in ``ModelConfig/tensorSpecs`` order: the name's UTF-8
/// bytes, one 0 byte, each dimension as Int64 little-endian, then the tensor's values as Float32
/// little-endian, decoded exactly as the runtime decodes them (ternary: code·γ; int8: q·scale;
/// f16 widened; f32 as is). The trainer computes it from its own tensors through the same function.
public enum LoRABase {
    /// The fingerprint of a model of `config` whose tensor values `values` gives (one array of
    /// `shape.reduce(1, *)` floats per spec, row-major).
    public static func fingerprint(config: ModelConfig, values: (TensorSpec) throws -> [Float]) rethrows -> UInt64 {
        var h = XXHash64Stream()
        for spec in config.tensorSpecs {
            var head = Array(spec.name.utf8)
            head.append(0)
            for d in spec.shape { withUnsafeBytes(of: Int64(d).littleEndian) { head.append(contentsOf: $0) } }
            h.update(head)
            let v = try values(spec)
            precondition(v.count == spec.shape.reduce(1, *), "LoRABase.fingerprint: \(spec.name) has \(v.count) values for shape \(spec.shape)")
            #if _endian(little)
            v.withUnsafeBytes { h.update($0) }
            #else
            v.map { $0.bitPattern.littleEndian }.withUnsafeBytes { h.update($0) }
            #endif
        }
        return h.finalize()
    }

    /// The fingerprint of a `.bgpt` model (its configuration from the metadata, its tensors decoded
    /// with ``TensorView/dequantized()``).
    /// - Throws: ``FormatError`` for a malformed file or a missing tensor.
    public static func fingerprint(of file: BGPTFile) throws -> UInt64 {
        let config = try ModelConfig(metadata: file.metadata)
        try config.checkTensors(in: file)
        return try fingerprint(config: config) { spec in try file.tensor(spec.name).dequantized() }
    }
}
