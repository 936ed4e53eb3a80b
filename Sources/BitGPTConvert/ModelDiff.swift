import BitGPT
import Foundation

/// The differences between two .bgpt files (`lm-diff`): metadata, tensor sets, and per shared
/// tensor its shape, dtype and value error (both decoded to f32).
public struct ModelDiff {
    /// A metadata key whose value differs, or that only one file has (nil on the other side).
    public struct MetadataChange: Sendable {
        /// The metadata key.
        public var key: String
        /// Its value in a, rendered; nil when a lacks the key.
        public var a: String?
        /// Its value in b, rendered; nil when b lacks the key.
        public var b: String?
        /// Its value in a; nil when a lacks the key.
        public var valueA: MetadataValue?
        /// Its value in b; nil when b lacks the key.
        public var valueB: MetadataValue?

        /// The change of `key` from `a` to `b` (nil: absent on that side).
        public init(key: String, a: MetadataValue?, b: MetadataValue?) {
            self.key = key
            self.a = a?.description
            self.b = b?.description
            valueA = a
            valueB = b
        }

        /// A value for JSON: a string value as itself (text rendering quotes it), anything else
        /// as its text rendering; null when absent.
        static func jsonText(_ v: MetadataValue?) -> Any {
            guard let v else { return NSNull() }
            if case let .string(s) = v { return s }
            return v.description
        }
    }

    /// One tensor present in both files.
    public struct TensorComparison: Sendable {
        /// The tensor name.
        public var name: String
        /// Shape in a.
        public var shapeA: [Int]
        /// Shape in b.
        public var shapeB: [Int]
        /// Stored dtype in a.
        public var dtypeA: DType
        /// Stored dtype in b.
        public var dtypeB: DType
        /// Value error of b against a; nil when the shapes differ.
        public var error: TensorError?
    }

    /// Keys whose values differ or that one file lacks.
    public var metadata: [MetadataChange] = []
    /// Tensors only a has.
    public var onlyInA: [String] = []
    /// Tensors only b has.
    public var onlyInB: [String] = []
    /// Tensors both files have, in a's order.
    public var tensors: [TensorComparison] = []

    /// Compares `b` against `a` (a is the reference for relative errors).
    public init(_ a: BGPTFile, _ b: BGPTFile) {
        for e in a.metadata.entries {
            let other = b.metadata[e.key]
            if other != e.value { metadata.append(MetadataChange(key: e.key, a: e.value, b: other)) }
        }
        for e in b.metadata.entries where !a.metadata.contains(e.key) {
            metadata.append(MetadataChange(key: e.key, a: nil, b: e.value))
        }
        onlyInA = a.tensors.filter { b.info($0.name) == nil }.map { $0.name }
        onlyInB = b.tensors.filter { a.info($0.name) == nil }.map { $0.name }
        for ta in a.tensors {
            guard let tb = b.info(ta.name) else { continue }
            var c = TensorComparison(name: ta.name, shapeA: ta.shape, shapeB: tb.shape, dtypeA: ta.dtype, dtypeB: tb.dtype, error: nil)
            if ta.shape == tb.shape { c.error = TensorError(a.view(ta).dequantized(), b.view(tb).dequantized()) }
            tensors.append(c)
        }
    }

    /// Whether the files differ structurally (tensor sets or shapes).
    public var structureDiffers: Bool { !onlyInA.isEmpty || !onlyInB.isEmpty || tensors.contains { $0.error == nil } }

    /// Whether any tensor's max abs difference exceeds `tolerance`, or the structure differs.
    public func exceeds(tolerance: Double) -> Bool {
        structureDiffers || tensors.contains { ($0.error?.maxAbs ?? .infinity) > tolerance || $0.error?.maxAbs.isNaN == true }
    }

    /// The report as text.
    public func text() -> String {
        var s = ""
        if metadata.isEmpty { s += "metadata: identical\n" } else {
            s += "metadata: \(metadata.count) difference(s)\n"
            for m in metadata { s += "  \(m.key): \(m.a ?? "(absent)") → \(m.b ?? "(absent)")\n" }
        }
        for n in onlyInA { s += "only in a: \(n)\n" }
        for n in onlyInB { s += "only in b: \(n)\n" }
        let w = max(6, tensors.map { $0.name.count }.max() ?? 0)
        s += padRight("tensor", w) + "  " + padRight("dtype", 9) + padLeft("max abs", 12) + padLeft("rel rms", 12) + padLeft("cosine", 13) + "\n"
        for t in tensors {
            let dt = t.dtypeA == t.dtypeB ? t.dtypeA.description : "\(t.dtypeA)→\(t.dtypeB)"
            if let e = t.error {
                s += padRight(t.name, w) + "  " + padRight(dt, 9) + padLeft(String(format: "%.3e", e.maxAbs), 12)
                s += padLeft(String(format: "%.3e", e.relativeRMS), 12) + padLeft(String(format: "%.8f", e.cosine), 13) + "\n"
            } else {
                s += "\(t.name) \(dt) shape \(t.shapeA) vs \(t.shapeB)\n"
            }
        }
        let worst = tensors.compactMap { $0.error?.maxAbs }.max() ?? 0
        s += String(format: "%d tensors compared, largest max abs difference %.3e\n", tensors.count, worst)
        return s
    }

    /// The report as a JSON object (schema `bitgpt.diff/1`).
    public func jsonObject() -> [String: Any] {
        func num(_ x: Double) -> Any { x.isFinite ? x : "\(x)" }
        return [
            "schema": "bitgpt.diff/1",
            "metadata": metadata.map {
                ["key": $0.key, "a": MetadataChange.jsonText($0.valueA), "b": MetadataChange.jsonText($0.valueB)] as [String: Any]
            },
            "only_in_a": onlyInA,
            "only_in_b": onlyInB,
            "tensors": tensors.map { t -> [String: Any] in
                var o: [String: Any] = ["name": t.name, "shape_a": t.shapeA, "shape_b": t.shapeB, "dtype_a": t.dtypeA.description,
                                        "dtype_b": t.dtypeB.description]
                if let e = t.error {
                    o["max_abs"] = num(e.maxAbs)
                    o["relative_rms"] = num(e.relativeRMS)
                    o["cosine"] = num(e.cosine)
                }
                return o
            },
        ]
    }

    /// Serializes ``jsonObject()`` with sorted keys.
    public func json() -> String {
        guard let d = try? JSONSerialization.data(withJSONObject: jsonObject(), options: [.prettyPrinted, .sortedKeys]) else { return "{}" }
        return String(decoding: d, as: UTF8.self)
    }

    // MARK: - Logits comparison

    /// Next-token logits of `model` at every position of `prompt`, from the runtime's batched
    /// prompt pass: one row of `vocab` floats per (kept) prompt token.
    ///
    /// - Throws: ``FormatError``, ``TokenizerError`` or ``InferenceError`` from loading, encoding or running.
    public static func promptLogits(_ model: BGPTFile, prompt: String) throws -> [[Float]] {
        let net = try Transformer(file: model)
        let c = net.config
        let tokenizer = try TokenizerFactory.make(metadata: model.metadata, vocabSize: c.vocabSize)
        let ids = try TextGeneration(tokenizer: tokenizer).promptIds(prompt, vocabSize: c.vocabSize, contextLength: c.contextLength).ids
        let generator = try Generator(model: net, pool: WorkerPool())
        var all = [Float](repeating: 0, count: ids.count * c.vocabSize)
        try all.withUnsafeMutableBufferPointer { b throws in _ = try generator.start(prompt: ids, allLogits: b.baseAddress) }
        return (0..<ids.count).map { Array(all[($0 * c.vocabSize)..<(($0 + 1) * c.vocabSize)]) }
    }

    /// How two models' logits on one prompt compare.
    public struct LogitsComparison {
        /// Error over all rows and columns.
        public var error: TensorError
        /// Mean over positions of KL(softmax(a) ‖ softmax(b)), in nats.
        public var meanKL: Double
        /// Positions whose most likely token agrees.
        public var top1Agree: Int
        /// Positions compared.
        public var rows: Int
    }

    /// Runs both models on `prompt` and compares their logits position by position.
    ///
    /// - Throws: ``ConvertError/badOption(_:)`` when the models give different shapes (another
    ///   tokenizer or vocabulary), or what ``promptLogits(_:prompt:)`` throws.
    public static func compareLogits(_ a: BGPTFile, _ b: BGPTFile, prompt: String) throws -> LogitsComparison {
        let la = try promptLogits(a, prompt: prompt), lb = try promptLogits(b, prompt: prompt)
        guard la.count == lb.count, zip(la, lb).allSatisfy({ $0.count == $1.count }) else {
            throw ConvertError.badOption("the two models give logits of different shapes for the prompt (different tokenizers or vocabularies)")
        }
        func argmax(_ r: [Float]) -> Int { r.indices.max { r[$0] < r[$1] } ?? 0 }
        func logSoftmax(_ r: [Float]) -> [Double] {
            let m = Double(r.max() ?? 0)
            let lse = m + log(r.reduce(0.0) { $0 + exp(Double($1) - m) })
            return r.map { Double($0) - lse }
        }
        var kl = 0.0
        for (x, y) in zip(la, lb) {
            let p = logSoftmax(x), q = logSoftmax(y)
            for i in p.indices { kl += exp(p[i]) * (p[i] - q[i]) }
        }
        let agree = zip(la, lb).filter { argmax($0) == argmax($1) }.count
        return LogitsComparison(error: TensorError(la.flatMap { $0 }, lb.flatMap { $0 }), meanKL: kl / Double(max(la.count, 1)),
                                top1Agree: agree, rows: la.count)
    }
}
