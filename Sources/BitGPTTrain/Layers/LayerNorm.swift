import Foundation

/// LayerNorm over the last dimension: `out = (x − μ) · rstd · weight + bias`, `rstd = 1/√(var + eps)`.
///
/// Shapes: out, inp (N, C); mean, rstd (N) are saved for the backward; weight, bias (C).
/// Port of PyTorch `nn.LayerNorm` (biased variance), as nanoGPT uses it.
public func layerNormForward(_ out: UnsafeMutablePointer<Float>, _ mean: UnsafeMutablePointer<Float>, _ rstd: UnsafeMutablePointer<Float>,
                             _ inp: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                             n: Int, c: Int, eps: Float) {
    for r in 0..<n {
        let x = inp + r * c, o = out + r * c
        var m: Float = 0
        for i in 0..<c { m += x[i] }
        m /= Float(c)
        var v: Float = 0
        for i in 0..<c { let d = x[i] - m; v += d * d }
        v /= Float(c)
        let s = 1 / (v + eps).squareRoot()
        for i in 0..<c { o[i] = (x[i] - m) * s * weight[i] + (bias?[i] ?? 0) }
        mean[r] = m
        rstd[r] = s
    }
}

/// Backward of ``layerNormForward``, accumulating into dinp (N, C), dweight (C), dbias (C).
public func layerNormBackward(_ dinp: UnsafeMutablePointer<Float>, _ dweight: UnsafeMutablePointer<Float>,
                              _ dbias: UnsafeMutablePointer<Float>?, _ dout: UnsafePointer<Float>, _ inp: UnsafePointer<Float>,
                              _ weight: UnsafePointer<Float>, _ mean: UnsafePointer<Float>, _ rstd: UnsafePointer<Float>,
                              n: Int, c: Int) {
    for r in 0..<n {
        let x = inp + r * c, d = dout + r * c, dx = dinp + r * c
        let m = mean[r], s = rstd[r]
        // Two reductions: mean of dnorm and mean of dnorm · norm.
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
