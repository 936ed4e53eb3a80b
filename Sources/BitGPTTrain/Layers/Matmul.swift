/// Forward of a linear layer: `out (N, O) = inp (N, I) · weight (O, I)ᵀ + bias (O)`.
///
/// `weight` is stored as PyTorch stores it, one row per output. The product runs in OpenBLAS.
public func matmulForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, _ weight: UnsafePointer<Float>,
                          _ bias: UnsafePointer<Float>?, n: Int, inFeatures: Int, outFeatures: Int) {
    BLAS.sgemm(transA: false, transB: true, m: n, n: outFeatures, k: inFeatures,
               a: inp, lda: inFeatures, b: weight, ldb: inFeatures, beta: 0, c: out, ldc: outFeatures)
    if let bias {
        for r in 0..<n {
            let o = out + r * outFeatures
            for j in 0..<outFeatures { o[j] += bias[j] }
        }
    }
}

/// Backward of ``matmulForward``, accumulating:
/// `dinp (N, I) += dout (N, O) · weight (O, I)`, `dweight (O, I) += doutᵀ · inp`, `dbias (O) += Σ_N dout`.
///
/// - Parameters:
///   - dinp: gradient of the input, or nil when the input needs none.
///   - dweight: nil for a frozen weight (its GEMM is skipped).
///   - dbias: nil when the layer has no bias.
public func matmulBackward(_ dinp: UnsafeMutablePointer<Float>?, _ dweight: UnsafeMutablePointer<Float>?,
                           _ dbias: UnsafeMutablePointer<Float>?, _ dout: UnsafePointer<Float>,
                           _ inp: UnsafePointer<Float>, _ weight: UnsafePointer<Float>,
                           n: Int, inFeatures: Int, outFeatures: Int) {
    if let dinp {
        BLAS.sgemm(transA: false, transB: false, m: n, n: inFeatures, k: outFeatures,
                   a: dout, lda: outFeatures, b: weight, ldb: inFeatures, beta: 1, c: dinp, ldc: inFeatures)
    }
    if let dweight {
        BLAS.sgemm(transA: true, transB: false, m: outFeatures, n: inFeatures, k: n,
                   a: dout, lda: outFeatures, b: inp, ldb: inFeatures, beta: 1, c: dweight, ldc: inFeatures)
    }
    if let dbias {
        for r in 0..<n {
            let d = dout + r * outFeatures
            for j in 0..<outFeatures { dbias[j] += d[j] }
        }
    }
}

/// Plain-loop reference of ``matmulForward`` (the oracle of the BLAS path in tests).
public func matmulForwardReference(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, _ weight: UnsafePointer<Float>,
                                   _ bias: UnsafePointer<Float>?, n: Int, inFeatures: Int, outFeatures: Int) {
    for r in 0..<n {
        for o in 0..<outFeatures {
            var acc: Float = bias?[o] ?? 0
            for i in 0..<inFeatures { acc += inp[r * inFeatures + i] * weight[o * inFeatures + i] }
            out[r * outFeatures + o] = acc
        }
    }
}
