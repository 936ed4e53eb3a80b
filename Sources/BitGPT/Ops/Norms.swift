#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The block and input norms of every family, forward and backward side by side (llm.c style).
// The runtime calls the forwards without saving statistics; the trainer saves them for the
// backwards. Sums run in index order, so tools/reference.py reproduces the forwards bit for bit.

/// LayerNorm over each of `n` rows: `out = (x − mean) · rstd · weight + bias`, `rstd = 1/√(var + eps)`.
///
/// Shapes: out, inp (n, c); mean, rstd (n), saved for the backward when given; weight, bias (c).
/// The variance is the biased one (divide by `c`), as `torch.nn.LayerNorm` computes it (nanoGPT).
/// `out` may alias `inp`.
/// - Parameters:
///   - bias: per-channel bias, or nil for none (nanoGPT `bias=False`).
///   - eps: added to the variance.
public func layerNormForward(_ out: UnsafeMutablePointer<Float>, _ mean: UnsafeMutablePointer<Float>?, _ rstd: UnsafeMutablePointer<Float>?,
                             _ inp: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                             n: Int, c: Int, eps: Float) {
    for r in 0..<n {
        let x = inp + r * c, o = out + r * c
        var sum: Float = 0
        for i in 0..<c { sum += x[i] }
        let m = sum / Float(c)
        var sq: Float = 0
        for i in 0..<c { let d = x[i] - m; sq += d * d }
        let s = 1 / (sq / Float(c) + eps).squareRoot()
        if let b = bias {
            for i in 0..<c { o[i] = (x[i] - m) * s * weight[i] + b[i] }
        } else {
            for i in 0..<c { o[i] = (x[i] - m) * s * weight[i] }
        }
        mean?[r] = m
        rstd?[r] = s
    }
}

/// Backward of ``layerNormForward``, accumulating into dinp (n, c), dweight (c), dbias (c):
/// with `norm = (x − mean) · rstd` and `dnorm = weight · dout`,
/// `dx += rstd · (dnorm − mean(dnorm) − norm · mean(dnorm · norm))`.
public func layerNormBackward(_ dinp: UnsafeMutablePointer<Float>, _ dweight: UnsafeMutablePointer<Float>,
                              _ dbias: UnsafeMutablePointer<Float>?, _ dout: UnsafePointer<Float>, _ inp: UnsafePointer<Float>,
                              _ weight: UnsafePointer<Float>, _ mean: UnsafePointer<Float>, _ rstd: UnsafePointer<Float>,
                              n: Int, c: Int) {
    for r in 0..<n {
        let x = inp + r * c, d = dout + r * c, dx = dinp + r * c
        let m = mean[r], s = rstd[r]
        var dnormMean: Float = 0, dnormNormMean: Float = 0
        for i in 0..<c {
            let norm = (x[i] - m) * s
            let dnorm = weight[i] * d[i]
            dnormMean += dnorm
            dnormNormMean += dnorm * norm
        }
        dnormMean /= Float(c)
        dnormNormMean /= Float(c)
        for i in 0..<c {
            let norm = (x[i] - m) * s
            let dnorm = weight[i] * d[i]
            dbias?[i] += d[i]
            dweight[i] += norm * d[i]
            dx[i] += s * (dnorm - dnormMean - norm * dnormNormMean)
        }
    }
}

/// RMSNorm over each of `n` rows: `out = x · rrms · weight`, `rrms = 1/√(mean(x²) + eps)`.
///
/// Shapes: out, inp (n, c); rrms (n), saved for the backward when given; weight (c). The block
/// norm of llama2.c (`rmsnorm`, eps 1e-5) and the input norm of BitGPT's BitLinear (eps 1e-6).
/// `out` may alias `inp`.
public func rmsNormForward(_ out: UnsafeMutablePointer<Float>, _ rrms: UnsafeMutablePointer<Float>?, _ inp: UnsafePointer<Float>,
                           _ weight: UnsafePointer<Float>, n: Int, c: Int, eps: Float) {
    for r in 0..<n {
        let x = inp + r * c, o = out + r * c
        var ss: Float = 0
        for i in 0..<c { ss += x[i] * x[i] }
        let s = 1 / (ss / Float(c) + eps).squareRoot()
        for i in 0..<c { o[i] = x[i] * s * weight[i] }
        rrms?[r] = s
    }
}

/// Backward of ``rmsNormForward``, accumulating into dinp (n, c) and dweight (c):
/// with `norm = x · rrms`, `dweight += dout · norm`, `dx += rrms · (dn − norm · mean(dn · norm))`, `dn = dout · weight`.
public func rmsNormBackward(_ dinp: UnsafeMutablePointer<Float>, _ dweight: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>,
                            _ inp: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, _ rrms: UnsafePointer<Float>,
                            n: Int, c: Int) {
    for r in 0..<n {
        let x = inp + r * c, d = dout + r * c, dx = dinp + r * c
        let s = rrms[r]
        var dot: Float = 0
        for i in 0..<c { dot += d[i] * weight[i] * x[i] * s }
        dot /= Float(c)
        for i in 0..<c {
            let nrm = x[i] * s
            dweight[i] += d[i] * nrm
            dx[i] += s * (d[i] * weight[i] - nrm * dot)
        }
    }
}
