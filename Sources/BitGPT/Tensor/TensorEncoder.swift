/// Turns f32 values into the stored bytes of every dtype (and quantizes on the way).
///
/// Quantization rules (`formats/bgpt.md`, "Dtypes"):
/// - I8: per row, `scale = max|x| / 127`, `q = clamp(round(x / scale), -127, 127)`, rounding half to even.
/// - T2/T1: per tensor, the codes of the absmean rule of BitNet b1.58 as BitGPT computes it:
///   `s = 1 / max(mean|W|, 1e-5)`, `t = clamp(round(W · s), -1, 1)` (half to even); the scale γ
///   follows a ``TernaryScaleRule``: `1 / s` (absmean), or the least-squares scale for those codes.
/// NaN or infinite input is refused with ``FormatError/nonFinite(tensor:index:)``.
public enum TensorEncoder {
    /// Encodes `values` (row-major, `shape`) as `dtype`.
    ///
    /// - Parameters:
    ///   - values: the elements; their count must equal the product of `shape`.
    ///   - shape: dimensions, outermost first.
    ///   - dtype: the stored type; quantized types are quantized here.
    ///   - name: the tensor name, for error messages.
    /// - Returns: exactly `dtype.byteSize(shape:)` bytes.
    ///   - ternaryScale: how T2/T1 choose γ (default absmean, the rule a quantization-aware
    ///     checkpoint was trained with; ignored for other dtypes).
    /// - Throws: ``FormatError/nonFinite(tensor:index:)`` for NaN/Inf input to a quantized type,
    ///   ``FormatError/writerMisuse(_:)`` when the count does not match the shape.
    public static func encode(_ values: [Float], shape: [Int], as dtype: DType, name: String,
                              ternaryScale: TernaryScaleRule = .absmean) throws(FormatError) -> [UInt8] {
        let n = shape.reduce(1, *)
        guard values.count == n, !shape.isEmpty else {
            throw .writerMisuse("tensor \"\(name)\": \(values.count) values for shape \(shape)")
        }
        let cols = shape.last!, rows = n / max(cols, 1)
        switch dtype {
        case .f32:
            var out = [UInt8](repeating: 0, count: n * 4)
            out.withUnsafeMutableBytes { o in for i in 0..<n { o.storeBytes(of: values[i].bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) } }
            return out
        case .f16, .bf16:
            var out = [UInt8](repeating: 0, count: n * 2)
            out.withUnsafeMutableBytes { o in
                for i in 0..<n {
                    let h = dtype == .f16 ? HalfPrecision.toF16(values[i]) : HalfPrecision.toBF16(values[i])
                    o.storeBytes(of: h.littleEndian, toByteOffset: 2 * i, as: UInt16.self)
                }
            }
            return out
        case .i8:
            if let bad = values.firstIndex(where: { !$0.isFinite }) { throw .nonFinite(tensor: name, index: bad) }
            var codes = [Int8](repeating: 0, count: n)
            var scales = [Float](repeating: 0, count: rows)
            for r in 0..<rows {
                var m: Float = 0
                for c in 0..<cols { m = max(m, abs(values[r * cols + c])) }
                var s = m / 127
                // Near Float.greatestFiniteMagnitude, 127 · s can round past it: step s down so
                // every decoded value q · s stays finite.
                if (s * 127).isInfinite { s = s.nextDown }
                scales[r] = s
                guard s > 0 else { continue }
                for c in 0..<cols {
                    let q = (values[r * cols + c] / s).rounded(.toNearestOrEven)
                    codes[r * cols + c] = Int8(max(-127, min(127, q)))
                }
            }
            return int8(codes: codes, scales: scales, rows: rows, cols: cols)
        case .t2, .t1:
            if let bad = values.firstIndex(where: { !$0.isFinite }) { throw .nonFinite(tensor: name, index: bad) }
            let fit = ternarize(values, rule: ternaryScale)
            return ternary(fit.values, scale: fit.gamma, rows: rows, cols: cols, as: dtype)
        }
    }

    /// The absmean ternarization of BitNet b1.58 / BitGPT: returns the codes and γ = mean|W| (floored at 1e-5).
    public static func ternarize(_ w: [Float]) -> (values: [Int8], gamma: Float) {
        var t = [Int8](repeating: 0, count: w.count)
        let gamma = w.withUnsafeBufferPointer { wb in
            t.withUnsafeMutableBufferPointer { tb in ternaryQuantize(wb) { i, code in tb[i] = Int8(code) } }
        }
        return (t, gamma)
    }

    /// Ternary codes of `w` (the absmean rule's) with γ chosen by `rule`.
    ///
    /// With ``TernaryScaleRule/leastSquares``, γ = Σ|wᵢ| / #{tᵢ ≠ 0} over the nonzero codes (summed
    /// in `Double`), which minimises ‖W − γ·t‖² for these codes. On weights that already are
    /// ternary, {−a, 0, +a}, the codes are exactly their signs and γ is exactly `a`, so the
    /// round trip is lossless; the fit then reports ``TernaryFit/exact``.
    public static func ternarize(_ w: [Float], rule: TernaryScaleRule) -> TernaryFit {
        var (t, absmean) = ternarize(w)
        guard rule == .leastSquares else { return TernaryFit(values: t, gamma: absmean, rule: rule, exact: false) }
        if absmean <= 1e-5 {
            // The absmean floor would zero every code of a tensor this small: threshold at half
            // the unfloored mean instead (all codes 0 when it is 0).
            var sum = 0.0
            for x in w { sum += Double(abs(x)) }
            let mean = sum / Double(max(w.count, 1))
            t = w.map { mean > 0 ? Int8(max(-1, min(1, (Double($0) / mean).rounded(.toNearestOrEven)))) : 0 }
        }
        var sum = 0.0, count = 0
        var lo = Float.infinity, hi: Float = 0, zeroMax: Float = 0
        for i in w.indices {
            let m = abs(w[i])
            if t[i] == 0 { zeroMax = max(zeroMax, m); continue }
            sum += Double(m)
            count += 1
            lo = min(lo, m)
            hi = max(hi, m)
        }
        guard count > 0 else { return TernaryFit(values: t, gamma: absmean, rule: rule, exact: zeroMax == 0) }
        let gamma = Float(sum / Double(count))
        // Exactly ternary up to float rounding: one magnitude (a few ulps of spread) and zeros.
        let tolerance = 8 * Float.ulpOfOne * hi
        let exact = hi - lo <= tolerance && zeroMax <= tolerance
        return TernaryFit(values: t, gamma: gamma, rule: rule, exact: exact)
    }

    /// The automatic choice of `lm-convert` and `lm-quantize`: the exact fit when `w` already is
    /// ternary (whatever the model), otherwise the fit of `rule` (absmean for the weights of a
    /// quantization-aware model, least squares for the rest).
    public static func ternarizeChoosing(_ w: [Float], otherwise rule: TernaryScaleRule) -> TernaryFit {
        let ls = ternarize(w, rule: .leastSquares)
        return ls.exact || rule == .leastSquares ? ls : ternarize(w, rule: rule)
    }

    /// Packs ternary values (each -1, 0, +1) and a scale γ as T2 or T1.
    ///
    /// - Parameters:
    ///   - t: `rows × cols` values, row-major.
    ///   - scale: γ, the magnitude of a ±1 weight.
    /// - Returns: the tensor bytes: packed rows, then γ as f32.
    public static func ternary(_ t: [Int8], scale: Float, rows: Int, cols: Int, as dtype: DType) -> [UInt8] {
        precondition(dtype == .t2 || dtype == .t1, "ternary() packs T2 or T1 only")
        precondition(t.count == rows * cols)
        let stride = dtype == .t2 ? T2Packing.rowBytes(cols: cols) : T1Packing.rowBytes(cols: cols)
        var out = [UInt8](repeating: 0, count: rows * stride + 4)
        out.withUnsafeMutableBufferPointer { o in
            t.withUnsafeBufferPointer { tb in
                for r in 0..<rows {
                    if dtype == .t2 { T2Packing.packRow(o.baseAddress! + r * stride, tb.baseAddress! + r * cols, cols: cols) } else { T1Packing.packRow(o.baseAddress! + r * stride, tb.baseAddress! + r * cols, cols: cols) }
                }
            }
            UnsafeMutableRawBufferPointer(o).storeBytes(of: scale.bitPattern.littleEndian, toByteOffset: rows * stride, as: UInt32.self)
        }
        return out
    }

    /// Lays out int8 codes and per-row scales as an I8 tensor: codes, then `rows` f32 scales.
    public static func int8(codes: [Int8], scales: [Float], rows: Int, cols: Int) -> [UInt8] {
        precondition(codes.count == rows * cols && scales.count == rows)
        var out = [UInt8](repeating: 0, count: rows * cols + 4 * rows)
        out.withUnsafeMutableBytes { o in
            for i in 0..<(rows * cols) { o[i] = UInt8(bitPattern: codes[i]) }
            for r in 0..<rows { o.storeBytes(of: scales[r].bitPattern.littleEndian, toByteOffset: rows * cols + 4 * r, as: UInt32.self) }
        }
        return out
    }
}

/// How the scale γ of a ternary (T2/T1) tensor is chosen; the codes are the absmean rule's either way.
public enum TernaryScaleRule: String, CaseIterable, Sendable, CustomStringConvertible {
    /// BitNet b1.58's absmean: γ = mean|W| (floored at 1e-5). Correct only for weights trained
    /// with it (BitGPT, `lm-train --bitlinear`): their forward pass used exactly these γ·t.
    case absmean
    /// γ = Σ|wᵢ| / #{tᵢ ≠ 0}: the least-squares scale for the codes, for post-training
    /// quantization of float weights; exact for weights that are already ternary.
    case leastSquares = "lsq"

    public var description: String { rawValue }
}

/// Codes and scale of one ternarized tensor, and how the scale was chosen.
public struct TernaryFit: Sendable {
    /// The codes, each −1, 0 or +1, in the input's order.
    public var values: [Int8]
    /// γ, the magnitude of a ±1 code.
    public var gamma: Float
    /// The rule that chose γ.
    public var rule: TernaryScaleRule
    /// Whether the input was exactly ternary (up to float rounding), so γ·t reproduces it.
    public var exact: Bool
    /// `exact`, or the rule's name: what `lm-quantize` prints.
    public var label: String { exact && rule == .leastSquares ? "exact" : rule.rawValue }
}
