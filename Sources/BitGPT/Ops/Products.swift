import CBitGPTKernels

// The runtime's linear products for a whole batch in one call, for a forward pass that is not the
// runtime's own: the trainer's eval forward (`ForwardArithmetic.runtime` in BitGPTTrain). They go
// through the kernels `Linear` uses and the same output expression (`bitLinearOutput`), so a layer
// gives the runtime's values bit for bit. Training keeps its OpenBLAS products; these have no backward.

/// A BitLinear output from its exact integer sum: `y = acc · γ / a`, the ternary scale rule of
/// `formats/bgpt.md` (γ: the weight's scale, or an I8 row's scale; a: the token's activation
/// scale, `127 / max|x|`).
/// ``Linear`` and ``bitLinearForward(_:_:_:_:n:inFeatures:outFeatures:)`` both use this expression.
@inline(__always)
public func bitLinearOutput(_ acc: Int32, gamma: Float, activationScale a: Float) -> Float {
    Float(acc) * gamma / a
}

/// `out (n, O) = x (n, I) · Wᵀ (+ b)` with the runtime's float kernel (`bgpt_k_matmul_f32`), then
/// the bias: what ``Linear`` computes for an F32 weight outside a BitLinear model.
///
/// Shapes: out (n, O); x (n, I); w (O, I) row-major; bias (O) or nil. `out` must not alias `x`.
public func floatLinearForward(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                               _ bias: UnsafePointer<Float>?, n: Int, inFeatures: Int, outFeatures: Int) {
    bgpt_k_matmul_f32(out, outFeatures, w, x, inFeatures, 0, outFeatures, n)
    if let bias {
        for t in 0..<n {
            let o = out + t * outFeatures
            for r in 0..<outFeatures { o[r] += bias[r] }
        }
    }
}

/// A BitLinear product as ``Linear`` computes it. The input is quantized per token
/// (`bgpt_k_quantize_i8`: codes q, scale a). For a ternary weight `w = t·γ` (``weightQuantForward(_:_:n:)``'s
/// output, or a T2/T1 tensor dequantized; γ is its largest magnitude and `t = w/γ` exactly) the
/// exact sums `Σ q·t` (`bgpt_k_dot_i8`) give ``bitLinearOutput(_:gamma:activationScale:)``; any
/// other weight is used as floats, as the runtime uses an F32 weight in a BitLinear model:
/// `(Σ q·w) / a` by `bgpt_k_matmul_f32`. Then the bias.
///
/// Shapes: out (n, O); x (n, I), already through the layer's own RMSNorm if it has one; w (O, I);
/// bias (O) or nil. `out` must not alias `x`.
public func bitLinearForward(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                             _ bias: UnsafePointer<Float>?, n: Int, inFeatures I: Int, outFeatures O: Int) {
    var gamma: Float = 0
    for i in 0..<(O * I) { gamma = max(gamma, abs(w[i])) }
    var ternary = true
    for i in 0..<(O * I) where w[i] != 0 && abs(w[i]) != gamma { ternary = false; break }
    withUnsafeTemporaryAllocation(of: Int8.self, capacity: max(n * I, 1)) { qb in
        withUnsafeTemporaryAllocation(of: Float.self, capacity: max(n, 1)) { sb in
            let q = qb.baseAddress!, a = sb.baseAddress!
            bgpt_k_quantize_i8(q, a, x, n, I)
            if ternary {
                withUnsafeTemporaryAllocation(of: Int8.self, capacity: max(O * I, 1)) { tb in
                    withUnsafeTemporaryAllocation(of: Int32.self, capacity: max(n * O, 1)) { accb in
                        let t = tb.baseAddress!, acc = accb.baseAddress!
                        for i in 0..<(O * I) { t[i] = w[i] == 0 ? 0 : (w[i] > 0 ? 1 : -1) }
                        bgpt_k_dot_i8(acc, O, t, q, I, 0, O, n)
                        for tok in 0..<n {
                            let o = out + tok * O, at = acc + tok * O, s = a[tok]
                            for r in 0..<O { o[r] = bitLinearOutput(at[r], gamma: gamma, activationScale: s) }
                        }
                    }
                }
            } else {
                withUnsafeTemporaryAllocation(of: Float.self, capacity: max(n * I, 1)) { xb in
                    let xq = xb.baseAddress!
                    for i in 0..<(n * I) { xq[i] = Float(q[i]) }
                    bgpt_k_matmul_f32(out, O, w, xq, I, 0, O, n)
                    for tok in 0..<n {
                        let o = out + tok * O, s = a[tok]
                        for r in 0..<O { o[r] = o[r] / s }
                    }
                }
            }
        }
    }
    if let bias {
        for tok in 0..<n {
            let o = out + tok * O
            for r in 0..<O { o[r] += bias[r] }
        }
    }
}
