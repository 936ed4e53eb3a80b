/// One adapter's low-rank update of one linear layer, ready to apply: `y += coef · B·(A·x)`.
///
/// `coef` is `s · α / r` (the user's scale times the adapter's scaling), as in huggingface/peft
/// `src/peft/tuners/lora/layer.py` (`Linear.forward`: `result + lora_B(lora_A(x)) * scaling`).
///
/// A and B are kept transposed, so that ``apply(_:ld:_:ldx:n:pool:)`` runs eight ranks (A·x) or
/// eight outputs (B·h) per vector operation while each value is still summed in index order, one
/// product at a time: the results are those of the plain loops in the doc comments, bit for bit.
public struct LoRAUpdate: Sendable {
    /// r.
    public let rank: Int
    /// Columns of the base weight (the input width).
    public let inFeatures: Int
    /// Rows of the base weight (the output width).
    public let outFeatures: Int
    /// Aᵀ, (in, rank), row-major.
    let aT: [Float]
    /// Bᵀ, (rank, out), row-major.
    let bT: [Float]
    /// s · α / r.
    public let coef: Float

    /// The update of `layer` of an adapter of `rank`, with `coef` = run-time scale · α/r.
    public init(_ layer: LoRALayer, rank: Int, coef: Float) {
        self.init(a: layer.a, b: layer.b, rank: rank, inFeatures: layer.inFeatures, outFeatures: layer.outFeatures, coef: coef)
    }

    /// The update `coef · B·(A·x)` of A (rank, in) and B (out, rank), row-major.
    public init(a: [Float], b: [Float], rank: Int, inFeatures: Int, outFeatures: Int, coef: Float) {
        precondition(a.count == rank * inFeatures && b.count == outFeatures * rank, "LoRAUpdate: A or B does not match the shapes")
        self.rank = rank; self.inFeatures = inFeatures; self.outFeatures = outFeatures; self.coef = coef
        aT = transposed(a, rows: rank, cols: inFeatures)
        bT = transposed(b, rows: outFeatures, cols: rank)
    }

    /// Adds the update for `n` rows, in f32: for each row t,
    /// `h[j] = Σ_i A[j, i] · x[t·ldx + i]` (i ascending) and
    /// `y[t·ld + o] += coef · Σ_j B[o, j] · h[j]` (j ascending) for o < out.
    ///
    /// Shapes: x (n, in) with row stride `ldx`; y (n, out) with row stride `ld`; A (r, in); B (out, r).
    /// The products `A·x` go through a temporary (n, r) buffer. Rows are split across threads; each
    /// row's arithmetic is the same whatever the split, so results do not depend on the thread count.
    public func apply(_ y: UnsafeMutablePointer<Float>, ld: Int, _ x: UnsafePointer<Float>, ldx: Int, n: Int, pool: WorkerPool) {
        let r = rank, I = inFeatures, O = outFeatures, c = coef
        aT.withUnsafeBufferPointer { ab in
            bT.withUnsafeBufferPointer { bb in
                withUnsafeTemporaryAllocation(of: Float.self, capacity: max(n * r, 1)) { tb in
                    let At = ab.baseAddress!, Bt = bb.baseAddress!, tmp = tb.baseAddress!
                    // Rows in parallel when there are several; one row (decode) is too small to split.
                    pool.forRanges(n, minPerThread: 4) { t0, t1 in
                        for t in t0..<t1 {
                            let h = tmp + t * r
                            lowRankProject(h, At, x + t * ldx, rank: r, inFeatures: I)
                            lowRankExpand(y + t * ld, Bt, h, coef: c, rank: r, outFeatures: O)
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
        let r = rank, I = inFeatures, O = outFeatures
        var row = [Float](repeating: 0, count: I)
        for o in 0..<O {
            for i in 0..<I { row[i] = 0 }
            for j in 0..<r {
                let bj = bT[j * O + o]
                for i in 0..<I { row[i] += bj * aT[i * r + j] }
            }
            for i in 0..<I { w[o * I + i] += coef * row[i] }
        }
    }
}

/// `h[j] = Σ_i Aᵀ[i, j] · x[i]` for j < rank, i ascending. Shapes: h (rank), Aᵀ (in, rank), x (in).
/// Eight ranks per step: lane j sums exactly as the scalar loop over i does.
@inline(__always)
private func lowRankProject(_ h: UnsafeMutablePointer<Float>, _ At: UnsafePointer<Float>, _ x: UnsafePointer<Float>,
                            rank r: Int, inFeatures I: Int) {
    var j = 0
    while j + 8 <= r {
        var s = SIMD8<Float>()
        for i in 0..<I { s += load8(At + i * r + j) * SIMD8(repeating: x[i]) }
        for l in 0..<8 { h[j + l] = s[l] }
        j += 8
    }
    while j < r {
        var s: Float = 0
        for i in 0..<I { s += At[i * r + j] * x[i] }
        h[j] = s
        j += 1
    }
}

/// `y[o] += coef · Σ_j Bᵀ[j, o] · h[j]` for o < out, j ascending. Shapes: y (out), Bᵀ (rank, out), h (rank).
/// Eight outputs per step: lane o sums exactly as the scalar loop over j does.
@inline(__always)
private func lowRankExpand(_ y: UnsafeMutablePointer<Float>, _ Bt: UnsafePointer<Float>, _ h: UnsafePointer<Float>,
                           coef c: Float, rank r: Int, outFeatures O: Int) {
    var o = 0
    while o + 8 <= O {
        var s = SIMD8<Float>()
        for j in 0..<r { s += load8(Bt + j * O + o) * SIMD8(repeating: h[j]) }
        let yo = UnsafeMutableRawPointer(y + o)
        yo.storeBytes(of: yo.loadUnaligned(as: SIMD8<Float>.self) + SIMD8(repeating: c) * s, as: SIMD8<Float>.self)
        o += 8
    }
    while o < O {
        var s: Float = 0
        for j in 0..<r { s += Bt[j * O + o] * h[j] }
        y[o] += c * s
        o += 1
    }
}

@inline(__always)
private func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

/// `m` (rows, cols) row-major, transposed to (cols, rows).
private func transposed(_ m: [Float], rows: Int, cols: Int) -> [Float] {
    var t = [Float](repeating: 0, count: m.count)
    for i in 0..<rows { for j in 0..<cols { t[j * rows + i] = m[i * cols + j] } }
    return t
}
