import COpenBLAS

/// The trainer's door to OpenBLAS: row-major `sgemm` and the thread count.
public enum BLAS {
    /// Sets the number of threads OpenBLAS uses for every later call.
    ///
    /// OpenBLAS splits a product over output blocks, never over the reduction, so results are
    /// the same bits for the same thread count (the determinism the trainer promises).
    public static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(max(1, n))) }

    /// `C (m, n) = alpha · op(A) · op(B) + beta · C`, all row-major.
    ///
    /// - Parameters:
    ///   - transA: whether `A` is stored (k, m) and used transposed; otherwise (m, k).
    ///   - transB: whether `B` is stored (n, k) and used transposed; otherwise (k, n).
    ///   - beta: 0 overwrites `C`, 1 accumulates into it.
    @inline(__always)
    public static func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                             a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                             beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}
