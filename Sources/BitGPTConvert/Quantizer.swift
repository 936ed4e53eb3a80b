import BitGPT
import Foundation

/// Re-encodes the tensors of a .bgpt file in another dtype (`lm-quantize`).
///
/// Linear weights (by the architecture's ``ModelConfig/tensorSpecs`` roles) go to the target
/// dtype; embeddings, the classifier, norms and biases keep theirs unless a
/// ``TensorTypeRule`` says otherwise. Each tensor is decoded to f32, encoded with
/// ``TensorEncoder`` and decoded again to measure the quantization error. Ternary → ternary
/// (T2 ↔ T1) repacks the codes and γ exactly. The output is written atomically, one tensor at a time.
///
/// Float → ternary chooses γ per tensor: the exact γ for weights that already are ternary
/// (zero error), else the absmean rule for the linear weights of a quantization-aware model
/// (`bitlinear.enabled`, as BitGPT and `lm-train --bitlinear` trained them), else least squares
/// (``scaleRule(_:tensor:override:)``); `--ternary-scale` forces one rule. Each such row reports
/// the rule used and the error of every rule.
public enum Quantizer {
    /// What happened to one tensor.
    public struct Row: Sendable {
        /// The tensor name.
        public var name: String
        /// Its dtype in the input.
        public var from: DType
        /// Its dtype in the output.
        public var to: DType
        /// Bytes in the input.
        public var bytesBefore: Int
        /// Bytes in the output.
        public var bytesAfter: Int
        /// Values before vs after (zero when unchanged).
        public var error: TensorError
        /// Float → ternary only: how γ was chosen (`exact`, `lsq` or `absmean`).
        public var scaleRule: String? = nil
        /// Float → ternary only: the error each rule would give, in ``TernaryScaleRule/allCases`` order.
        public var ruleErrors: [(rule: TernaryScaleRule, error: TensorError)] = []
    }

    /// The whole run.
    public struct Report: Sendable {
        /// One row per tensor, in file order.
        public var rows: [Row]
        /// Tensor bytes in the input.
        public var bytesBefore: Int { rows.reduce(0) { $0 + $1.bytesBefore } }
        /// Tensor bytes in the output.
        public var bytesAfter: Int { rows.reduce(0) { $0 + $1.bytesAfter } }
        /// Whether an output file was written (false for a dry run).
        public var written: Bool

        /// One line per tensor, then the totals.
        public func text() -> String {
            let w = max(6, rows.map { $0.name.count }.max() ?? 0)
            let rules = TernaryScaleRule.allCases
            let ternary = rows.contains { $0.scaleRule != nil }
            var s = padRight("tensor", w) + "  from    to   " + padLeft("bytes", 12) + padLeft("after", 12) + padLeft("rmse", 12) + padLeft("max abs", 12)
            if ternary { s += "  " + padRight("scale", 8) + rules.map { padLeft("rmse " + $0.rawValue, 14) }.joined() }
            s += "\n"
            for r in rows {
                s += padRight(r.name, w) + "  " + padRight(r.from.description, 4) + " → " + padRight(r.to.description, 4) + " "
                s += padLeft("\(r.bytesBefore)", 12) + padLeft("\(r.bytesAfter)", 12)
                s += padLeft(String(format: "%.3e", r.error.rmse), 12) + padLeft(String(format: "%.3e", r.error.maxAbs), 12)
                if let rule = r.scaleRule {
                    s += "  " + padRight(rule, 8) + r.ruleErrors.map { padLeft(String(format: "%.3e", $0.error.rmse), 14) }.joined()
                }
                s += "\n"
            }
            let ratio = bytesBefore > 0 ? Double(bytesAfter) / Double(bytesBefore) : 1
            s += String(format: "total: %d → %d bytes (%.1f%%)%@\n", bytesBefore, bytesAfter, 100 * ratio, written ? "" : "; dry run, nothing written")
            return s
        }
    }

    /// The dtype each tensor of `file` gets.
    public static func plan(_ file: BGPTFile, to target: DType, rules: [TensorTypeRule]) -> [DType] {
        let roles = Dictionary((try? ModelConfig(metadata: file.metadata))?.tensorSpecs.map { ($0.name, $0.role) } ?? [], uniquingKeysWith: { a, _ in a })
        return file.tensors.map { t in
            var d = t.dtype
            let role = roles[t.name] ?? (t.shape.count == 2 && !["token_embd", "pos_embd", "output"].contains(t.name) ? .linear : .vector)
            if role == .linear { d = target }
            for r in rules where r.matches(t.name) { d = r.dtype }
            return d
        }
    }

    /// The γ rule for float → ternary `tensor` of `file` when it is not already ternary: `override`
    /// if given, else absmean for the linear weights of a quantization-aware model
    /// (`bitlinear.enabled`), least squares otherwise.
    public static func scaleRule(_ file: BGPTFile, tensor: String, override: TernaryScaleRule?) -> TernaryScaleRule {
        if let override { return override }
        guard let c = try? ModelConfig(metadata: file.metadata), c.bitLinear else { return .leastSquares }
        return c.tensorSpecs.contains { $0.name == tensor && $0.role == .linear } ? .absmean : .leastSquares
    }

    /// Quantizes `input` into `output` (nil: dry run, nothing written).
    ///
    /// - Parameters:
    ///   - ternaryScale: γ rule for every float → ternary tensor; nil chooses per tensor (exact
    ///     when already ternary, else ``scaleRule(_:tensor:override:)``).
    ///   - merge: LoRA updates to add to weights before encoding, by tensor name (`lm-quantize
    ///     --merge-lora`, ``LoRAMerge/updates(_:for:)``); a merged tensor is always re-encoded, and its
    ///     error is measured against the merged values.
    ///   - progress: called after each tensor with (tensors done, tensors in all).
    /// - Throws: ``ConvertError/format(_:)`` for read or write errors (the output is untouched on error).
    public static func quantize(input: String, output: String?, to target: DType, rules: [TensorTypeRule] = [],
                                ternaryScale: TernaryScaleRule? = nil, merge: [String: [LoRAUpdate]] = [:],
                                progress: ((Int, Int) -> Void)? = nil) throws(ConvertError) -> Report {
        do throws(FormatError) {
            let file = try BGPTFile(path: input)
            let dtypes = plan(file, to: target, rules: rules)
            var meta = file.metadata
            meta.set("general.converter", .string("lm-quantize \(BitGPTVersion.string)"))
            let infos = zip(file.tensors, dtypes).map { TensorInfo(name: $0.0.name, dtype: $0.1, shape: $0.0.shape) }
            let writer = try output.map { o throws(FormatError) in try BGPTWriter(path: o, metadata: meta, tensors: infos) }
            var rows: [Row] = []
            for (i, (t, d)) in zip(file.tensors, dtypes).enumerated() {
                // A damaged tensor is refused, not re-encoded into a file with a fresh checksum.
                try file.checkChecksum(t)
                let view = file.view(t)
                let bytesAfter: Int
                let err: TensorError
                var row = Row(name: t.name, from: t.dtype, to: d, bytesBefore: Int(t.byteSize), bytesAfter: 0, error: TensorError([], []))
                let updates = merge[t.name] ?? []
                /// The values to encode: the tensor's own, plus the merged LoRA updates.
                func values() -> [Float] {
                    var w = view.dequantized()
                    for u in updates { u.merge(into: &w) }
                    return w
                }
                if d == t.dtype && updates.isEmpty {
                    // Unchanged: written straight from the mapped input.
                    try writer?.write(t.name, bytes: view.bytes)
                    bytesAfter = Int(t.byteSize)
                    err = TensorError([], [])
                } else if updates.isEmpty, let codes = view.ternaryValues(), let g = view.ternaryScale, d == .t2 || d == .t1 {
                    // T2 <-> T1: the same codes and scale, repacked.
                    let bytes = TensorEncoder.ternary(codes, scale: g, rows: t.rows, cols: t.cols, as: d)
                    try writer?.write(t.name, bytes: bytes)
                    bytesAfter = bytes.count
                    err = TensorError([], [])
                } else if d == .t2 || d == .t1 {
                    // Float → ternary: every rule's fit, the chosen one written.
                    let before = values()
                    if let bad = before.firstIndex(where: { !$0.isFinite }) { throw .nonFinite(tensor: t.name, index: bad) }
                    let rule = scaleRule(file, tensor: t.name, override: ternaryScale)
                    let fits = TernaryScaleRule.allCases.map { TensorEncoder.ternarize(before, rule: $0) }
                    for f in fits { row.ruleErrors.append((f.rule, TensorError(before, f.values.map { Float($0) * f.gamma }))) }
                    let ls = fits.first { $0.rule == .leastSquares }!
                    // Automatic: already-ternary weights keep their exact γ, even in a quantization-aware model.
                    let fit = ternaryScale == nil && ls.exact ? ls : fits.first { $0.rule == rule }!
                    row.scaleRule = fit.label
                    let bytes = TensorEncoder.ternary(fit.values, scale: fit.gamma, rows: t.rows, cols: t.cols, as: d)
                    let info = TensorInfo(name: t.name, dtype: d, shape: t.shape, byteSize: UInt64(bytes.count))
                    let after = bytes.withUnsafeBytes { b in b.baseAddress.map { TensorView(info: info, base: $0).dequantized() } ?? [] }
                    err = after.count == before.count ? TensorError(before, after) : TensorError([], [])
                    try writer?.write(t.name, bytes: bytes)
                    bytesAfter = bytes.count
                } else {
                    let before = values()
                    let bytes = try TensorEncoder.encode(before, shape: t.shape, as: d, name: t.name)
                    let info = TensorInfo(name: t.name, dtype: d, shape: t.shape, byteSize: UInt64(bytes.count))
                    let after = bytes.withUnsafeBytes { b in b.baseAddress.map { TensorView(info: info, base: $0).dequantized() } ?? [] }
                    err = after.count == before.count ? TensorError(before, after) : TensorError([], [])
                    try writer?.write(t.name, bytes: bytes)
                    bytesAfter = bytes.count
                }
                row.bytesAfter = bytesAfter
                row.error = err
                rows.append(row)
                progress?(i + 1, file.tensors.count)
            }
            try writer?.finish()
            return Report(rows: rows, written: writer != nil)
        } catch {
            throw .format(error)
        }
    }
}

/// Merging LoRA adapters into a model's weights (`lm-quantize --merge-lora`).
public enum LoRAMerge {
    /// The updates of `adapters` (each with its scale) by `.bgpt` tensor name, in the order given.
    public static func updates(_ adapters: [(adapter: LoRAAdapter, scale: Float)]) -> [String: [LoRAUpdate]] {
        var out: [String: [LoRAUpdate]] = [:]
        for (a, s) in adapters {
            for l in a.layers {
                out[l.module.tensorName(layer: l.layer), default: []].append(LoRAUpdate(l, rank: a.rank, coef: s * a.scaling))
            }
        }
        return out
    }

    /// Reads every adapter of `specs` for the model at `path` (shapes and fingerprint checked) and
    /// returns its updates by tensor name.
    /// - Throws: ``LoRAError`` or the model's ``FormatError``.
    public static func updates(_ specs: [LoRASpec], for path: String) throws -> [String: [LoRAUpdate]] {
        let file = try BGPTFile(path: path)
        let config = try ModelConfig(metadata: file.metadata)
        let fp = try LoRABase.fingerprint(of: file)
        return updates(try specs.map { s throws in (try LoRAAdapterFile.read(path: s.path, config: config, fingerprint: fp), s.scale) })
    }
}

/// `s` followed by spaces up to `width` characters.
func padRight(_ s: String, _ width: Int) -> String { s.count >= width ? s : s + String(repeating: " ", count: width - s.count) }
/// `s` preceded by spaces up to `width` characters (at least one space).
func padLeft(_ s: String, _ width: Int) -> String { s.count >= width ? " " + s : String(repeating: " ", count: width - s.count) + s }
