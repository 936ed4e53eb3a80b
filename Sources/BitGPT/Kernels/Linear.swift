import CBitGPTKernels

/// Scratch memory a ``Linear`` works in, owned by a ``RunState`` and sized for the largest layer.
public struct LinearScratch {
    /// Normalized or fake-quantized input, (maxTokens, maxCols).
    public var xn: UnsafeMutablePointer<Float>
    /// int8 activation codes, (maxTokens, maxCols).
    public var q: UnsafeMutablePointer<Int8>
    /// Per-token activation scales `a`, (maxTokens).
    public var scales: UnsafeMutablePointer<Float>
    /// Integer accumulators, `accCapacity` elements.
    public var acc: UnsafeMutablePointer<Int32>
    /// Tokens the `xn`, `q` and `scales` buffers hold.
    public var maxTokens: Int
    /// Elements of `acc`.
    public var accCapacity: Int
}

/// One linear layer `y = W·x (+ b)` over a weight tensor of any dtype, used in place from the mapped file.
///
/// Dispatch on the weight dtype:
/// - **T2 / T1 (ternary)**: BitLinear. Activations are quantized per token with
///   `a = 127 / max(max|x|, 1e-5)`, `q = clamp(round_half_even(x·a), −128, 127)`, the exact Int32
///   sum `Σ q·t` is formed by the C kernels and `y = acc · γ / a` (`formats/bgpt.md`, "Ternary scale rule").
/// - **I8**: the same activation quantization, `y = acc · scale[row] / a`.
/// - **F32 / F16 / BF16**: a float matmul. In a BitLinear model (`bitlinear.enabled`) the input is
///   first fake-quantized to `q / a`, as BitGPT's training path does; the weights are used as stored.
///
/// When the layer has its own RMSNorm (BitGPT, `bitlinear.norm`), the input is first normalized
/// with the gain `X.norm` and epsilon `normEps`.
public final class Linear {
    /// Tensor name, e.g. `blk.0.attn_q`.
    public let name: String
    /// Output features (weight rows).
    public let rows: Int
    /// Input features (weight cols).
    public let cols: Int
    /// Weight dtype.
    public let dtype: DType
    /// Whether activations are int8-quantized before the product.
    public let quantizesActivations: Bool
    /// Bytes of weights read per token (the whole tensor).
    public let weightBytes: Int
    private let weights: UnsafeRawPointer
    private let rowStride: Int
    private let gamma: Float
    private let rowScales: [Float]  // (rows) for I8
    private let bias: [Float]?  // (rows)
    private let normGain: [Float]?  // (cols)
    private let normEps: Float

    /// Wraps a weight tensor.
    ///
    /// - Parameters:
    ///   - view: the weight, shape (rows, cols); the file must outlive the layer.
    ///   - bias: optional bias, (rows).
    ///   - normGain: gain of the layer's own RMSNorm, (cols), or nil.
    ///   - normEps: epsilon of that RMSNorm.
    ///   - bitLinear: whether float weights get fake-quantized activations.
    public init(view: TensorView, bias: [Float]?, normGain: [Float]?, normEps: Float, bitLinear: Bool) {
        name = view.info.name
        rows = view.info.rows
        cols = view.info.cols
        dtype = view.info.dtype
        weights = view.base
        rowStride = view.rowStride
        weightBytes = Int(view.info.byteSize)
        gamma = view.ternaryScale ?? 0
        rowScales = dtype == .i8 ? (0..<view.info.rows).map { view.int8Scale(row: $0) } : []
        self.bias = bias
        self.normGain = normGain
        self.normEps = normEps
        quantizesActivations = bitLinear || dtype.isQuantized
    }

    /// Computes `out[t·ld + r] = Σ_c W[r][c]·x[t][c] (+ b[r])` for `n` tokens.
    ///
    /// Shapes: `x` is (n, cols); `out` is (n, ld) with `ld ≥ rows`; only columns `0..<rows` of each
    /// output row are written. Rows are split across `pool`; tokens are processed in chunks that fit
    /// the scratch. `out` must not alias `x`.
    /// - Parameters:
    ///   - out: destination.
    ///   - ld: stride between output tokens, in floats.
    ///   - x: input activations.
    ///   - n: tokens.
    ///   - scratch: working memory.
    ///   - pool: threads.
    public func forward(_ out: UnsafeMutablePointer<Float>, ld: Int, _ x: UnsafePointer<Float>, n: Int,
                        scratch: LinearScratch, pool: WorkerPool) {
        let chunk = max(1, min(scratch.maxTokens, scratch.accCapacity / rows))
        var t0 = 0
        while t0 < n {
            let m = min(chunk, n - t0)
            forwardChunk(out + t0 * ld, ld: ld, x + t0 * cols, n: m, scratch: scratch, pool: pool)
            t0 += m
        }
    }

    private func forwardChunk(_ out: UnsafeMutablePointer<Float>, ld: Int, _ x: UnsafePointer<Float>, n: Int,
                              scratch s: LinearScratch, pool: WorkerPool) {
        let input = prepare(x, n: n, scratch: s)
        pool.forRanges(rows, minPerThread: 16) { r0, r1 in
            rowsForward(out, ld: ld, input, r0: r0, r1: r1, n: n, scratch: s, acc: s.acc)
        }
    }

    /// Whether two layers can share one prepared input: the same width, the same activation
    /// quantization and no norm of their own.
    func sharesInput(with other: Linear) -> Bool {
        cols == other.cols && quantizesActivations == other.quantizesActivations && normGain == nil && other.normGain == nil
    }

    /// Prepares the input of a product over `n` tokens, x (n, cols), once for every row range:
    /// the layer's own RMSNorm (BitGPT), then per-token int8 codes and scales into the scratch
    /// when activations are quantized (as floats in `xn` for float weights).
    /// - Returns: the float input the row ranges read when weights are float.
    func prepare(_ x: UnsafePointer<Float>, n: Int, scratch s: LinearScratch) -> UnsafePointer<Float> {
        var input = x
        if let g = normGain {
            g.withUnsafeBufferPointer { gb in rmsNormForward(s.xn, nil, x, gb.baseAddress!, n: n, c: cols, eps: normEps) }
            input = UnsafePointer(s.xn)
        }
        guard quantizesActivations else { return input }
        bgpt_k_quantize_i8(s.q, s.scales, input, n, cols)
        if !dtype.isQuantized {
            for i in 0..<(n * cols) { s.xn[i] = Float(s.q[i]) }
            return UnsafePointer(s.xn)
        }
        return input
    }

    /// Output rows `r0..<r1` of `n` tokens, from an input made by ``prepare(_:n:scratch:)``:
    /// `out[t·ld + r]` for r in the range. `acc` holds (n, rows) integer sums of this layer.
    func rowsForward(_ out: UnsafeMutablePointer<Float>, ld: Int, _ input: UnsafePointer<Float>, r0: Int, r1: Int, n: Int,
                     scratch s: LinearScratch, acc: UnsafeMutablePointer<Int32>) {
        guard r0 < r1 else { return }
        let w = weights, cols = cols, rows = rows
        switch dtype {
        case .t2, .t1, .i8:
            // Exact integer sums, then y = acc · γ / a (or · scale[row] / a).
            switch dtype {
            case .t2: bgpt_k_dot_t2(acc, rows, w.assumingMemoryBound(to: UInt8.self), rowStride, s.q, cols, r0, r1, n)
            case .t1: bgpt_k_dot_t1(acc, rows, w.assumingMemoryBound(to: UInt8.self), rowStride, s.q, cols, r0, r1, n)
            default: bgpt_k_dot_i8(acc, rows, w.assumingMemoryBound(to: Int8.self), s.q, cols, r0, r1, n)
            }
            for t in 0..<n {
                let a = s.scales[t], ot = out + t * ld, at = acc + t * rows
                if dtype == .i8 {
                    rowScales.withUnsafeBufferPointer { rs in
                        for r in r0..<r1 { ot[r] = bitLinearOutput(at[r], gamma: rs[r], activationScale: a) }
                    }
                } else {
                    let g = gamma
                    for r in r0..<r1 { ot[r] = bitLinearOutput(at[r], gamma: g, activationScale: a) }
                }
            }
        case .f32, .f16, .bf16:
            switch dtype {
            case .f32: bgpt_k_matmul_f32(out, ld, w.assumingMemoryBound(to: Float.self), input, cols, r0, r1, n)
            case .f16: bgpt_k_matmul_f16(out, ld, w.assumingMemoryBound(to: UInt16.self), input, cols, r0, r1, n)
            default: bgpt_k_matmul_bf16(out, ld, w.assumingMemoryBound(to: UInt16.self), input, cols, r0, r1, n)
            }
            // Fake-quantized activations q (as floats) times float weights, divided by a.
            if quantizesActivations {
                for t in 0..<n {
                    let a = s.scales[t], ot = out + t * ld
                    for r in r0..<r1 { ot[r] = ot[r] / a }
                }
            }
        }
        if let b = bias {
            for t in 0..<n {
                let ot = out + t * ld
                for r in r0..<r1 { ot[r] += b[r] }
            }
        }
    }

    /// The exact integer accumulators `Σ q·t` of a quantized layer for `n` input tokens, with the
    /// activation scales; for parity tests against the NumPy reference. Allocates.
    ///
    /// - Parameters:
    ///   - x: input, (n, cols) row-major (before the layer's own norm, if any).
    ///   - n: tokens.
    /// - Returns: accumulators (n, rows) and scales (n); nil for float weights.
    public func integerAccumulators(_ x: [Float], n: Int) -> (acc: [Int32], scales: [Float])? {
        guard dtype.isQuantized, x.count == n * cols else { return nil }
        var xn = x, q = [Int8](repeating: 0, count: n * cols), sc = [Float](repeating: 0, count: n)
        var acc = [Int32](repeating: 0, count: n * rows)
        if let g = normGain { rmsNormForward(&xn, nil, x, g, n: n, c: cols, eps: normEps) }
        bgpt_k_quantize_i8(&q, &sc, xn, n, cols)
        let w = weights
        switch dtype {
        case .t2: bgpt_k_dot_t2(&acc, rows, w.assumingMemoryBound(to: UInt8.self), rowStride, q, cols, 0, rows, n)
        case .t1: bgpt_k_dot_t1(&acc, rows, w.assumingMemoryBound(to: UInt8.self), rowStride, q, cols, 0, rows, n)
        default: bgpt_k_dot_i8(&acc, rows, w.assumingMemoryBound(to: Int8.self), q, cols, 0, rows, n)
        }
        return (acc, sc)
    }
}
