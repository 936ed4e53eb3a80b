import BitGPT

/// Small valid models used across the format tests, built from a seeded generator.
public enum SampleFiles {
    /// Metadata with one value of every type, arrays of several element types, and unicode.
    public static var richMetadata: Metadata {
        var m = Metadata()
        m.set("general.architecture", .string("llama"))
        m.set("general.name", .string("tiny ünïcødé \"model\"\n"))
        m.set("model.vocab_size", .uint32(7))
        m.set("test.u8", .uint8(200))
        m.set("test.i8", .int8(-100))
        m.set("test.u16", .uint16(60_000))
        m.set("test.i16", .int16(-30_000))
        m.set("test.i32", .int32(-2_000_000_000))
        m.set("test.u64", .uint64(UInt64.max))
        m.set("test.i64", .int64(Int64.min))
        m.set("test.f32", .float32(1.5e-7))
        m.set("test.f64", .float64(-2.25))
        m.set("test.flag", .bool(true))
        m.set("test.blob", .bytes([0, 1, 2, 0xff]))
        m.set("tokenizer.kind", .string("char"))
        m.set("tokenizer.tokens", .array(.string(["a", "b", "ab", "", "\u{1F916}", " ", "\n"])))
        m.set("tokenizer.scores", .array(.float32([0, -1, -2.5, 3, 4, 5, 6])))
        m.set("tokenizer.token_types", .array(.uint8([1, 1, 1, 3, 1, 1, 6])))
        m.set("tokenizer.bos_id", .int32(3))
        m.set("test.bools", .array(.bool([true, false, true])))
        m.set("test.u64s", .array(.uint64([0, 1, UInt64.max])))
        m.set("test.blobs", .array(.bytes([[], [9, 9]])))
        m.set("test.empty", .array(.int16([])))
        return m
    }

    /// One tensor of every dtype with awkward shapes (tails in both packings, 1-D, 3-D, 4-D).
    public static let tensorShapes: [(name: String, dtype: DType, shape: [Int])] = [
        ("token_embd", .f32, [7, 5]),
        ("blk.0.attn_norm", .f16, [5]),
        ("blk.0.attn_q", .t2, [3, 130]),
        ("blk.0.attn_k", .t1, [2, 161]),
        ("blk.0.ffn_up", .i8, [2, 3, 5]),
        ("output_norm", .bf16, [1, 2, 1, 3]),
    ]

    /// The values and encoded bytes of ``tensorShapes``, from a seeded generator.
    public static func richTensors(seed: UInt64 = 42) -> [(info: TensorInfo, values: [Float], bytes: [UInt8])] {
        var rng = SeededRandom(seed: seed)
        return tensorShapes.map { t in
            let n = t.shape.reduce(1, *)
            let values = (0..<n).map { _ in rng.normal(std: 0.5) }
            let bytes = (try? TensorEncoder.encode(values, shape: t.shape, as: t.dtype, name: t.name)) ?? []
            return (TensorInfo(name: t.name, dtype: t.dtype, shape: t.shape), values, bytes)
        }
    }

    /// The rich model as file bytes, written by ``BGPTEncoding`` exactly as the writer lays it out.
    public static func richFileBytes(seed: UInt64 = 42) -> [UInt8] {
        let tensors = richTensors(seed: seed)
        var infos = tensors.map { $0.info }
        for i in infos.indices { infos[i].checksum = XXHash64.hash(tensors[i].bytes) }
        let h = BGPTEncoding.header(metadata: richMetadata, tensors: infos, alignment: 64)
        var file = h.bytes + [UInt8](repeating: 0, count: Int(h.dataOffset) - h.bytes.count)
        var data = [UInt8](repeating: 0, count: Int(h.dataSize))
        for (i, t) in h.tensors.enumerated() {
            data.replaceSubrange(Int(t.offset)..<(Int(t.offset) + tensors[i].bytes.count), with: tensors[i].bytes)
        }
        file += data
        return file
    }

    /// Writes the rich model to `path` with ``BGPTWriter``.
    public static func writeRich(to path: String, seed: UInt64 = 42) throws(FormatError) {
        let tensors = richTensors(seed: seed)
        try BGPTWriter.write(path: path, metadata: richMetadata, tensors: tensors.map { ($0.info, $0.bytes) })
    }
}

/// Calls `body` with a view of `bytes` as a tensor of `dtype` and `shape`.
///
/// The bytes must be `dtype.byteSize(shape:)` long; the view lives only inside `body`.
@discardableResult
public func withTensorView<R>(_ bytes: [UInt8], dtype: DType, shape: [Int], name: String = "t", _ body: (TensorView) throws -> R) rethrows -> R {
    let info = TensorInfo(name: name, dtype: dtype, shape: shape, offset: 0, byteSize: UInt64(bytes.count), checksum: XXHash64.hash(bytes))
    return try bytes.withUnsafeBytes { try body(TensorView(info: info, base: $0.baseAddress!)) }
}
