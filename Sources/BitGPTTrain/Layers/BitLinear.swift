/// Per-matrix absmean ternary fake-quantization of BitNet b1.58 (`formats/bgpt.md`
/// "Ternary scale rule"): `s = 1/max(mean|W|, 1e-5)`, `t = clamp(round_half_even(W·s), −1, 1)`,
/// `out = t · γ` with `γ = 1/s`.
///
/// The mean is summed in `Double` in element order and every step matches `TensorEncoder.ternarize`,
/// so the exported T2 tensor dequantizes to exactly `out`.
/// Shapes: out, w (n).
/// - Returns: γ.
@discardableResult
public func weightQuantForward(_ out: UnsafeMutablePointer<Float>, _ w: UnsafePointer<Float>, n: Int) -> Float {
    var sum = 0.0
    for i in 0..<n { sum += Double(abs(w[i])) }
    let mean = Float(sum / Double(max(n, 1)))
    let s = 1 / max(mean, 1e-5)
    let gamma = 1 / s
    for i in 0..<n {
        let t = max(-1, min(1, (w[i] * s).rounded(.toNearestOrEven)))
        out[i] = t * gamma
    }
    return gamma
}

/// Per-token absmax int8 fake-quantization of BitLinear activations:
/// `a = 127/max(max|x|, 1e-5)`, `out = clamp(round_half_even(x·a), −128, 127) / a`.
/// Shapes: out, inp (N, C).
public func activationQuantForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, n: Int, c: Int) {
    for r in 0..<n {
        let x = inp + r * c, o = out + r * c
        var m: Float = 0
        for i in 0..<c { m = max(m, abs(x[i])) }
        let a = 127 / max(m, 1e-5)
        // |x·a| ≤ 127, so adding and subtracting 1.5·2²³ rounds half to even exactly (IEEE
        // round-to-nearest-even addition), like `.rounded(.toNearestOrEven)` but vectorizable.
        let magic: Float = 12_582_912
        for i in 0..<c { o[i] = max(-128, min(127, (x[i] * a + magic) - magic)) / a }
    }
}

// Both quantizers use the straight-through estimator: their backward is the identity, so
// `BitLinearLayer` passes gradients through them unchanged (no backward function here).
