#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// LayerNorm over each of `n` rows: `out[t] = (x[t] − mean) / √(var + eps) · gain + bias`.
///
/// Shapes: `x`, `out` are (n, dim) row-major; `gain`, `bias` are (dim). The variance is the biased
/// one (divide by `dim`), as `torch.nn.LayerNorm` computes it. `out` may alias `x`. Sums run in
/// index order, so the NumPy reference reproduces the result bit for bit.
/// - Parameters:
///   - out: destination, `n · dim` floats.
///   - x: source, `n · dim` floats.
///   - gain: per-channel gain.
///   - bias: per-channel bias, or nil for none (nanoGPT `bias=False`).
///   - n: rows (tokens).
///   - dim: row width.
///   - eps: added to the variance.
public func layerNorm(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, gain: UnsafePointer<Float>,
                      bias: UnsafePointer<Float>?, n: Int, dim: Int, eps: Float) {
    for t in 0..<n {
        let xt = x + t * dim, ot = out + t * dim
        var sum: Float = 0
        for c in 0..<dim { sum += xt[c] }
        let mean = sum / Float(dim)
        var sq: Float = 0
        for c in 0..<dim { let d = xt[c] - mean; sq += d * d }
        let inv = 1 / (sq / Float(dim) + eps).squareRoot()
        if let b = bias {
            for c in 0..<dim { ot[c] = (xt[c] - mean) * inv * gain[c] + b[c] }
        } else {
            for c in 0..<dim { ot[c] = (xt[c] - mean) * inv * gain[c] }
        }
    }
}

/// RMSNorm over each of `n` rows: `out[t] = x[t] / √(mean(x[t]²) + eps) · gain`.
///
/// Shapes: `x`, `out` are (n, dim); `gain` is (dim). Matches llama2.c `rmsnorm` and BitGPT's
/// BitLinear RMSNorm (fp32 throughout). `out` may alias `x`. The sum runs in index order.
/// - Parameters:
///   - out: destination, `n · dim` floats.
///   - x: source, `n · dim` floats.
///   - gain: per-channel gain.
///   - n: rows (tokens).
///   - dim: row width.
///   - eps: added to the mean square.
public func rmsNorm(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, gain: UnsafePointer<Float>,
                    n: Int, dim: Int, eps: Float) {
    for t in 0..<n {
        let xt = x + t * dim, ot = out + t * dim
        var ss: Float = 0
        for c in 0..<dim { ss += xt[c] * xt[c] }
        let inv = 1 / (ss / Float(dim) + eps).squareRoot()
        for c in 0..<dim { ot[c] = xt[c] * inv * gain[c] }
    }
}

/// In-place softmax of `count` values: `x[i] = exp(x[i] − max) / Σ exp(x[j] − max)`.
///
/// The exponentials use ``expRounded(_:)``; the sum runs in index order.
///
/// - Parameters:
///   - x: the values, overwritten by probabilities.
///   - count: number of values (≥ 1).
public func softmax(_ x: UnsafeMutablePointer<Float>, count: Int) {
    var m = x[0]
    for i in 1..<max(count, 1) where x[i] > m { m = x[i] }
    var sum: Float = 0
    for i in 0..<count { let e = expRounded(x[i] - m); x[i] = e; sum += e }
    let inv = 1 / sum
    for i in 0..<count { x[i] *= inv }
}
