#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a model of any family with random weights: for benchmarks, tests and the out-of-the-box
/// demo until a trained model ships.
///
/// Weights are N(0, 0.02) as nanoGPT and BitGPT initialise them; norm gains are 1 and biases 0.
/// Linear layers take `linearType`; embeddings, norms and biases stay F32, and an untied
/// classifier takes `headType`.
public enum RandomModel {
    /// Builds and writes the model.
    ///
    /// - Parameters:
    ///   - config: the architecture.
    ///   - path: destination (written atomically).
    ///   - linearType: dtype of attention/MLP weight matrices.
    ///   - headType: dtype of the untied classifier.
    ///   - seed: RNG seed; the same seed gives the same file bytes (but for `general.created`).
    ///   - extra: more metadata (tokenizer section, `general.*`).
    ///   - embeddingType: dtype of `token_embd` and `pos_embd` (with tied embeddings, also the classifier's).
    ///   - std: standard deviation of the weights (tests use larger ones so greedy decoding varies).
    ///   - progress: called after each tensor with (tensors done, tensors in all).
    public static func write(config: ModelConfig, to path: String, linearType: DType, headType: DType = .f32, seed: UInt64,
                             extra: Metadata = Metadata(), embeddingType: DType = .f32, std: Float = 0.02,
                             progress: ((Int, Int) -> Void)? = nil) throws(FormatError) {
        var meta = Metadata()
        meta.set("general.name", .string("random-\(config.architecture.rawValue)-\(config.dim)x\(config.nLayers)"))
        meta.set("general.description", .string("random weights N(0, \(std)), seed \(seed)"))
        meta.set("general.converter", .string("lm-init \(BitGPTVersion.string)"))
        meta.set("general.created", .string(utcTimestamp()))
        config.write(to: &meta)
        for e in extra.entries { meta.set(e.key, e.value) }

        let specs = config.tensorSpecs
        func dtype(_ s: TensorSpec) -> DType {
            switch s.role {
            case .linear: return linearType
            case .head: return headType
            case .embedding: return embeddingType
            case .vector: return .f32
            }
        }
        let infos = specs.map { TensorInfo(name: $0.name, dtype: dtype($0), shape: $0.shape) }
        let writer = try BGPTWriter(path: path, metadata: meta, tensors: infos)
        var rng = SeededRandom(seed: seed)
        for (i, s) in specs.enumerated() {
            let n = s.shape.reduce(1, *)
            var values: [Float]
            if s.role == .vector {
                let isGain = !s.name.hasSuffix("_bias")
                values = [Float](repeating: isGain ? 1 : 0, count: n)
            } else {
                values = (0..<n).map { _ in rng.normal(std: std) }
            }
            let bytes = try TensorEncoder.encode(values, shape: s.shape, as: dtype(s), name: s.name)
            try writer.write(s.name, bytes: bytes)
            progress?(i + 1, specs.count)
        }
        try writer.finish()
    }

    /// A byte-level tokenizer section: 256 tokens, id = byte value (`tokenizer.kind = "bytes"`).
    public static var byteTokenizer: Metadata {
        var m = Metadata()
        m.set("tokenizer.kind", .string("bytes"))
        let tokens = (0..<256).map { b -> String in
            (0x21..<0x7f).contains(b) ? String(UnicodeScalar(UInt8(b))) : "<0x" + String(b, radix: 16, uppercase: true).leftPadded(to: 2) + ">"
        }
        m.set("tokenizer.tokens", .array(.string(tokens)))
        m.set("tokenizer.token_types", .array(.uint8([UInt8](repeating: 6, count: 256))))
        return m
    }
}

/// The version of this toolchain, written into `general.converter`.
public enum BitGPTVersion {
    /// Semantic version of the package.
    public static let string = "0.1.0"
}

/// The current time as ISO 8601 UTC, e.g. `2026-11-22T17:07:39Z` (no Foundation, so libbitgpt
/// links only libc).
public func utcTimestamp() -> String {
    var t = time(nil)
    var tm = tm()
    gmtime_r(&t, &tm)
    func two(_ v: Int32) -> String { String(v).leftPadded(to: 2) }
    return "\(tm.tm_year + 1900)-\(two(tm.tm_mon + 1))-\(two(tm.tm_mday))T\(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec))Z"
}

extension String {
    /// The string left-padded with zeros to `width` characters.
    func leftPadded(to width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
