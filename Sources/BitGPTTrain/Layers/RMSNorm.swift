/// RMSNorm over the last dimension: `out = x · rrms · weight`, `rrms = 1/√(mean(x²) + eps)`.
///
/// Shapes: out, inp (N, C); rrms (N) saved for the backward; weight (C). The block norm of
/// llama2.c (eps 1e-5) and the input norm of BitGPT's BitLinear (eps 1e-6, `bitgpt.py:44-57`).
public func rmsNormForward(_ out: UnsafeMutablePointer<Float>, _ rrms: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                           _ weight: UnsafePointer<Float>, n: Int, c: Int, eps: Float) {
    for r in 0..<n {
        let x = inp + r * c, o = out + r * c
        var ss: Float = 0
        for i in 0..<c { ss += x[i] * x[i] }
        let s = 1 / (ss / Float(c) + eps).squareRoot()
        for i in 0..<c { o[i] = x[i] * s * weight[i] }
        rrms[r] = s
    }
}

/// Backward of ``rmsNormForward``, accumulating into dinp (N, C) and dweight (C):
/// with `n = x · rrms`, `dweight += dout · n`, `dx += rrms · (dn − n · mean(dn · n))`, `dn = dout · weight`.
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
