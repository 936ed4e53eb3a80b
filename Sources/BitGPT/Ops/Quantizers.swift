import CBitGPTKernels

// The two quantizers of BitLinear (BitNet b1.58, `formats/bgpt.md` "Ternary scale rule"): the
// absmean ternarization of a weight matrix and the per-token absmax int8 quantization of
// activations. The converter's encoder (`TensorEncoder.ternarize`), the trainer's fake-quantized
// forward and the runtime's integer path all call these, so an exported T2 tensor dequantizes to
// exactly the trainer's weights and the trainer's activations round exactly as the runtime's.
// Both use the straight-through estimator in training: their backward is the identity, so the
// trainer passes gradients through them unchanged (there is no backward function).

/// The absmean ternary codes of `w`: `s = 1/max(mean|W|, 1e-5)` with the mean summed in `Double`
/// in element order, `t = clamp(round_half_even(W·s), −1, 1)`, written to `codes` as −1, 0 or +1.
///
/// - Returns: γ = 1/s, the magnitude of a ±1 weight.
@discardableResult
public func ternaryQuantize(_ w: UnsafeBufferPointer<Float>, codes: (Int, Float) -> Void) -> Float {
    let n = w.count
    var sum = 0.0
    for i in 0..<n { sum += Double(abs(w[i])) }
    let mean = Float(sum / Double(max(n, 1)))
    let s = 1 / max(mean, 1e-5)
    for i in 0..<n { codes(i, max(-1, min(1, (w[i] * s).rounded(.toNearestOrEven)))) }
    return 1 / s
}

/// Ternary fake-quantization of a weight matrix: `out = t · γ` with the codes and γ of
/// ``ternaryQuantize(_:codes:)``. Shapes: out, w (n); `out` may be `w`.
///
/// - Returns: γ.
@discardableResult
public func weightQuantForward(_ out: UnsafeMutablePointer<Float>, _ w: UnsafePointer<Float>, n: Int) -> Float {
    let gamma = ternaryQuantize(UnsafeBufferPointer(start: w, count: n)) { i, code in out[i] = code }
    for i in 0..<n { out[i] *= gamma }
    return gamma
}

/// Per-token absmax int8 fake-quantization of BitLinear activations, through the runtime's kernel
/// (`bgpt_k_quantize_i8`): `a = 127/max(max|x|, 1e-5)`, `q = clamp(round_half_even(x·a), −128, 127)`,
/// `out = q / a`. Shapes: out, inp (n, c).
public func activationQuantForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, n: Int, c: Int) {
    withUnsafeTemporaryAllocation(of: Int8.self, capacity: max(c, 1)) { q in
        for r in 0..<n {
            var a: Float = 0
            bgpt_k_quantize_i8(q.baseAddress!, &a, inp + r * c, 1, c)
            let o = out + r * c
            for i in 0..<c { o[i] = Float(q[i]) / a }
        }
    }
}
