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
        let rows = rows, cols = cols
        // 1. The layer's own RMSNorm (BitGPT).
        var input = x
        if let g = normGain {
            g.withUnsafeBufferPointer { gb in rmsNorm(s.xn, x, gain: gb.baseAddress!, n: n, dim: cols, eps: normEps) }
            input = UnsafePointer(s.xn)
        }
        guard quantizesActivations else {
            floatProduct(out, ld: ld, input, n: n, pool: pool)
            addBias(out, ld: ld, n: n)
            return
        }
        // 2. Per-token int8 activations.
        bgpt_k_quantize_i8(s.q, s.scales, input, n, cols)
        switch dtype {
        case .t2, .t1, .i8:
            // 3. Exact integer sums, then the float epilogue, both per row range.
            let acc = s.acc, q = s.q, scales = s.scales, w = weights, stride = rowStride, g = gamma, dt = dtype
            rowScales.withUnsafeBufferPointer { rs in
                pool.forRanges(rows, minPerThread: 16) { r0, r1 in
                    switch dt {
                    case .t2: bgpt_k_dot_t2(acc, rows, w.assumingMemoryBound(to: UInt8.self), stride, q, cols, r0, r1, n)
                    case .t1: bgpt_k_dot_t1(acc, rows, w.assumingMemoryBound(to: UInt8.self), stride, q, cols, r0, r1, n)
                    default: bgpt_k_dot_i8(acc, rows, w.assumingMemoryBound(to: Int8.self), q, cols, r0, r1, n)
                    }
                    for t in 0..<n {
                        let a = scales[t], ot = out + t * ld, at = acc + t * rows
                        if dt == .i8 {
                            for r in r0..<r1 { ot[r] = Float(at[r]) * rs[r] / a }
                        } else {
                            for r in r0..<r1 { ot[r] = Float(at[r]) * g / a }
                        }
                    }
                }
            }
        case .f32, .f16, .bf16:
            // 3'. Fake-quantized activations q (as floats) times float weights, divided by a.
            for i in 0..<(n * cols) { s.xn[i] = Float(s.q[i]) }
            floatProduct(out, ld: ld, UnsafePointer(s.xn), n: n, pool: pool)
            for t in 0..<n {
                let a = s.scales[t], ot = out + t * ld
                for r in 0..<rows { ot[r] = ot[r] / a }
            }
        }
        addBias(out, ld: ld, n: n)
    }

    private func floatProduct(_ out: UnsafeMutablePointer<Float>, ld: Int, _ x: UnsafePointer<Float>, n: Int, pool: WorkerPool) {
        let w = weights, cols = cols, dt = dtype
        pool.forRanges(rows, minPerThread: 16) { r0, r1 in
            switch dt {
            case .f32: bgpt_k_matmul_f32(out, ld, w.assumingMemoryBound(to: Float.self), x, cols, r0, r1, n)
            case .f16: bgpt_k_matmul_f16(out, ld, w.assumingMemoryBound(to: UInt16.self), x, cols, r0, r1, n)
            default: bgpt_k_matmul_bf16(out, ld, w.assumingMemoryBound(to: UInt16.self), x, cols, r0, r1, n)
            }
        }
    }

    private func addBias(_ out: UnsafeMutablePointer<Float>, ld: Int, n: Int) {
        guard let b = bias else { return }
        for t in 0..<n {
            let ot = out + t * ld
            for r in 0..<rows { ot[r] += b[r] }
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
        if let g = normGain { rmsNorm(&xn, x, gain: g, n: n, dim: cols, eps: normEps) }
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
