/// One adapter's low-rank update of one linear layer, ready to apply: `y += coef · B·(A·x)`.
///
/// `coef` is `s · α / r` (the user's scale times the adapter's scaling), as in huggingface/peft
/// `src/peft/tuners/lora/layer.py` (`Linear.forward`: `result + lora_B(lora_A(x)) * scaling`).
public struct LoRAUpdate: Sendable {
    /// r.
    public let rank: Int
    /// Columns of the base weight (the input width).
    public let inFeatures: Int
    /// Rows of the base weight (the output width).
    public let outFeatures: Int
    /// A, (rank, in), row-major.
    public let a: [Float]
    /// B, (out, rank), row-major.
    public let b: [Float]
    /// s · α / r.
    public let coef: Float

    /// The update of `layer` of an adapter of `rank` and `scaling` α/r, at run-time scale `scale`.
    public init(_ layer: LoRALayer, rank: Int, coef: Float) {
        self.rank = rank; inFeatures = layer.inFeatures; outFeatures = layer.outFeatures
        a = layer.a; b = layer.b; self.coef = coef
    }

    /// Adds the update for `n` rows, in f32: for each row t,
    /// `y[t·ld + o] += coef · Σ_j B[o, j] · (Σ_i A[j, i] · x[t·ldx + i])` for o < out.
    ///
    /// Shapes: x (n, in) with row stride `ldx`; y (n, out) with row stride `ld`; A (r, in); B (out, r).
    /// The products `A·x` go through a temporary (n, r) buffer. Rows are split across threads; each
    /// row's arithmetic is the same whatever the split, so results do not depend on the thread count.
    public func apply(_ y: UnsafeMutablePointer<Float>, ld: Int, _ x: UnsafePointer<Float>, ldx: Int, n: Int, pool: WorkerPool) {
        let r = rank, I = inFeatures, O = outFeatures, c = coef
        a.withUnsafeBufferPointer { ab in
            b.withUnsafeBufferPointer { bb in
                withUnsafeTemporaryAllocation(of: Float.self, capacity: max(n * r, 1)) { tb in
                    let A = ab.baseAddress!, B = bb.baseAddress!, tmp = tb.baseAddress!
                    // Rows in parallel when there are several; one row (decode) is too small to split.
                    pool.forRanges(n, minPerThread: 4) { t0, t1 in
                        for t in t0..<t1 {
                            let xr = x + t * ldx, h = tmp + t * r
                            for j in 0..<r {
                                let aj = A + j * I
                                var s: Float = 0
                                for i in 0..<I { s += aj[i] * xr[i] }
                                h[j] = s
                            }
                            let yr = y + t * ld
                            for o in 0..<O {
                                let bo = B + o * r
                                var s: Float = 0
                                for j in 0..<r { s += bo[j] * h[j] }
                                yr[o] += c * s
                            }
                        }
                    }
                }
            }
        }
    }

    /// Adds the update to a base weight in place, for merging: `W[o, i] += coef · Σ_j B[o, j]·A[j, i]`.
    ///
    /// Shapes: `w` (out, in), row-major, as ``TensorView/dequantized()`` gives it.
    public func merge(into w: inout [Float]) {
        precondition(w.count == outFeatures * inFeatures, "LoRAUpdate.merge: weight of \(w.count) values for (\(outFeatures), \(inFeatures))")
        let r = rank, I = inFeatures
        var row = [Float](repeating: 0, count: I)
        for o in 0..<outFeatures {
            for i in 0..<I { row[i] = 0 }
            for j in 0..<r {
                let bj = b[o * r + j]
                for i in 0..<I { row[i] += bj * a[j * I + i] }
            }
            for i in 0..<I { w[o * I + i] += coef * row[i] }
        }
    }
}
