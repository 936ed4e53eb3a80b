/// LoRA (Hu et al. 2021; huggingface/peft `src/peft/tuners/lora/layer.py`): a low-rank update added
/// to a frozen linear, `out += s · B·(A·x)` with `s = α/r` (times a run-time scale).
///
/// Shapes: inp (N, I), A (r, I), B (O, r), h = inp·Aᵀ (N, r) saved for backward, out (N, O).
/// The input is the float input the base linear receives (before any BitLinear norm or int8
/// activation quantization); the term is added after the base output and its bias.
public func loraForward(_ out: UnsafeMutablePointer<Float>, _ h: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                        _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, scale: Float,
                        n: Int, inFeatures: Int, outFeatures: Int, rank: Int) {
    // h (N, r) = inp (N, I) · Aᵀ (I, r)
    BLAS.sgemm(transA: false, transB: true, m: n, n: rank, k: inFeatures,
               a: inp, lda: inFeatures, b: a, ldb: inFeatures, beta: 0, c: h, ldc: rank)
    // out (N, O) += s · h (N, r) · Bᵀ (r, O)
    BLAS.sgemm(transA: false, transB: true, m: n, n: outFeatures, k: rank, alpha: scale,
               a: h, lda: rank, b: b, ldb: rank, beta: 1, c: out, ldc: outFeatures)
}

/// Backward of ``loraForward``, accumulating into `dinp`, `da`, `db`; `dh` (N, r) is scratch.
///
/// dB (O, r) += s · doutᵀ (O, N) · h (N, r);  dh (N, r) = s · dout (N, O) · B (O, r);
/// dA (r, I) += dhᵀ (r, N) · inp (N, I);       dinp (N, I) += dh (N, r) · A (r, I).
public func loraBackward(_ dinp: UnsafeMutablePointer<Float>, _ da: UnsafeMutablePointer<Float>, _ db: UnsafeMutablePointer<Float>,
                         _ dh: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>, _ h: UnsafePointer<Float>,
                         _ inp: UnsafePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, scale: Float,
                         n: Int, inFeatures: Int, outFeatures: Int, rank: Int) {
    BLAS.sgemm(transA: true, transB: false, m: outFeatures, n: rank, k: n, alpha: scale,
               a: dout, lda: outFeatures, b: h, ldb: rank, beta: 1, c: db, ldc: rank)
    BLAS.sgemm(transA: false, transB: false, m: n, n: rank, k: outFeatures, alpha: scale,
               a: dout, lda: outFeatures, b: b, ldb: rank, beta: 0, c: dh, ldc: rank)
    BLAS.sgemm(transA: true, transB: false, m: rank, n: inFeatures, k: n,
               a: dh, lda: rank, b: inp, ldb: inFeatures, beta: 1, c: da, ldc: inFeatures)
    BLAS.sgemm(transA: false, transB: false, m: n, n: inFeatures, k: rank,
               a: dh, lda: rank, b: a, ldb: inFeatures, beta: 1, c: dinp, ldc: inFeatures)
}
