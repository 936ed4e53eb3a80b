import CBitGPTKernels

/// Element type of the KV cache.
///
/// F16 halves the bytes a decode step reads from the cache (at position p, `2·layers·p·kvDim`
/// elements) at the cost of rounding every cached key and value to binary16 (round to nearest
/// even), as llama.cpp's default `-ctk f16 -ctv f16` does. F32 keeps them exact.
public enum KVCacheType: String, CaseIterable, Sendable {
    case f32, f16

    /// Bytes per cached element.
    public var byteSize: Int { self == .f32 ? 4 : 2 }
}

/// Every buffer a forward pass writes: activations for a batch of tokens, the KV cache, logits.
///
/// All memory is allocated once, 64-byte aligned, when the state is created; a forward pass (in
/// particular decoding one token) allocates nothing. One state serves one sequence at a time; it
/// is not safe to share between concurrent generations.
public final class RunState {
    /// Tokens one batched pass can hold; longer prompts go through in chunks.
    public let maxTokens: Int
    /// Positions of the KV cache (the context length).
    public let contextLength: Int
    let kvHeads: Int
    let headDim: Int
    let x: AlignedBuffer<Float>      // (maxTokens, dim) residual stream
    let xb: AlignedBuffer<Float>     // (maxTokens, dim) normed input / projection output
    let xb2: AlignedBuffer<Float>    // (maxTokens, dim) attention output
    let qkv: AlignedBuffer<Float>    // (maxTokens, dim + 2·kvDim) queries | keys | values of the new tokens
    let hb: AlignedBuffer<Float>     // (maxTokens, 2·hidden) gate | up (SwiGLU), or up alone
    let att: AlignedBuffer<Float>    // (heads, contextLength) attention scores, one row per head
    /// Element type of the two caches.
    public let kvType: KVCacheType
    /// Whether the state has a KV cache (false: activations only, for batched passes).
    public let hasKVCache: Bool
    /// Keys, transposed per head: (layers, kvHeads, headDim, contextLength) of `kvType`.
    let keyCache: AlignedBuffer<UInt8>
    /// Values: (layers, contextLength, kvDim) of `kvType`.
    let valueCache: AlignedBuffer<UInt8>
    let embedCodes: AlignedBuffer<Int8>   // (dim) an unpacked ternary embedding row
    let xn: AlignedBuffer<Float>     // (maxTokens, maxCols) Linear scratch
    let qcodes: AlignedBuffer<Int8>  // (maxTokens, maxCols)
    let scales: AlignedBuffer<Float> // (maxTokens)
    let acc: AlignedBuffer<Int32>    // max(maxTokens · maxRows, vocab)
    /// Logits of the last token of the latest forward pass, (vocab).
    public let logits: AlignedBuffer<Float>
    /// Logits of several sequences' last tokens in a batched pass, (logitRows, vocab); one element when logitRows is 1.
    let rowLogits: AlignedBuffer<Float>
    /// Rows of `rowLogits`: how many sequences' logits one classifier call of a batched pass computes.
    public let logitRows: Int
    /// Forward passes run with this state's activation buffers (each one run of the layer loop).
    public internal(set) var passes = 0

    /// Allocates a state for `model`.
    ///
    /// - Parameters:
    ///   - config: the model's configuration.
    ///   - maxTokens: batch capacity for prompt processing (default: the context length, capped at 512).
    ///   - kvType: element type of the KV cache.
    ///   - logitRows: sequences whose logits a batched pass computes in one classifier call (≥ 1;
    ///     more than one allocates `logitRows · vocab` floats).
    ///   - kvCache: false for a state that only holds a batched pass's activations
    ///     (``Transformer/forward(spans:state:pool:)``), whose sequences bring their own caches.
    public init(config c: ModelConfig, maxTokens: Int? = nil, kvType: KVCacheType = .f32, logitRows: Int = 1, kvCache: Bool = true) {
        let T = c.contextLength, D = c.dim, H = c.hiddenDim
        let n = max(1, min(maxTokens ?? min(T, 512), T))
        self.maxTokens = n
        contextLength = T
        kvHeads = c.nKVHeads
        headDim = c.headDim
        let kvDim = c.nKVHeads * c.headDim
        x = AlignedBuffer(count: n * D)
        xb = AlignedBuffer(count: n * D)
        xb2 = AlignedBuffer(count: n * D)
        qkv = AlignedBuffer(count: n * (D + 2 * kvDim))
        hb = AlignedBuffer(count: n * 2 * H)
        att = AlignedBuffer(count: c.nHeads * T)
        self.kvType = kvType
        hasKVCache = kvCache
        keyCache = AlignedBuffer(count: kvCache ? c.nLayers * T * kvDim * kvType.byteSize : 0)
        valueCache = AlignedBuffer(count: kvCache ? c.nLayers * T * kvDim * kvType.byteSize : 0)
        embedCodes = AlignedBuffer(count: D)
        let maxCols = max(D, H)
        xn = AlignedBuffer(count: n * maxCols)
        qcodes = AlignedBuffer(count: n * maxCols)
        scales = AlignedBuffer(count: n)
        acc = AlignedBuffer(count: max(n * max(D + 2 * kvDim, 2 * H), c.vocabSize))
        logits = AlignedBuffer(count: c.vocabSize)
        self.logitRows = max(logitRows, 1)
        rowLogits = AlignedBuffer(count: self.logitRows > 1 ? self.logitRows * c.vocabSize : 1)
    }

    /// Bytes a state for `config` allocates (activations, KV cache, scratch, logits).
    ///
    /// - Parameters:
    ///   - config: the model's configuration.
    ///   - maxTokens: batch capacity, as for ``init(config:maxTokens:kvType:logitRows:kvCache:)``.
    ///   - kvType: element type of the KV cache.
    ///   - logitRows: as for ``init(config:maxTokens:kvType:logitRows:kvCache:)``.
    ///   - kvCache: as for ``init(config:maxTokens:kvType:logitRows:kvCache:)``.
    /// - Returns: the byte count (saturating, so hostile sizes cannot overflow).
    public static func byteCount(config c: ModelConfig, maxTokens: Int? = nil, kvType: KVCacheType = .f32, logitRows: Int = 1,
                                 kvCache: Bool = true) -> Int {
        let T = c.contextLength, D = c.dim, H = c.hiddenDim
        let n = max(1, min(maxTokens ?? min(T, 512), T))
        let kvDim = c.nKVHeads * c.headDim
        let floats = [n * D * 3, n * (D + 2 * kvDim), 2 * n * H, c.nHeads * T, n * max(D, H),
                      max(n * max(D + 2 * kvDim, 2 * H), c.vocabSize), c.vocabSize,
                      logitRows > 1 ? logitRows.multipliedReportingOverflow(by: c.vocabSize).overflow ? Int.max / 8 : logitRows * c.vocabSize : 1]
        let cache = !kvCache ? 0 : [2, c.nLayers, T, kvDim, kvType.byteSize].reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
        return floats.reduce(cache) { total, f in
            let (b, o1) = f.multipliedReportingOverflow(by: 4)
            let (sum, o2) = total.addingReportingOverflow(b)
            return o1 || o2 ? Int.max : sum
        }
    }

    /// Stores one token's keys and values, (kvDim) each, at `position` of layer `l`'s cache: keys
    /// transposed per head, values as a row; rounded to binary16 for an F16 cache.
    func cacheKeysAndValues(layer l: Int, position p: Int, keys: UnsafePointer<Float>, values: UnsafePointer<Float>) {
        let T = contextLength, kvDim = kvHeads * headDim
        switch kvType {
        case .f32:
            let kc = UnsafeMutableRawPointer(keyCache.pointer).assumingMemoryBound(to: Float.self) + l * kvDim * T + p
            let vc = UnsafeMutableRawPointer(valueCache.pointer).assumingMemoryBound(to: Float.self) + (l * T + p) * kvDim
            for i in 0..<kvDim { kc[i * T] = keys[i] }
            vc.update(from: values, count: kvDim)
        case .f16:
            let kc = UnsafeMutableRawPointer(keyCache.pointer).assumingMemoryBound(to: UInt16.self) + l * kvDim * T + p
            let vc = UnsafeMutableRawPointer(valueCache.pointer).assumingMemoryBound(to: UInt16.self) + (l * T + p) * kvDim
            bgpt_k_f32_to_f16(kc, T, keys, kvDim)
            bgpt_k_f32_to_f16(vc, 1, values, kvDim)
        }
    }

    /// The Linear scratch view of this state's buffers.
    var linearScratch: LinearScratch {
        LinearScratch(xn: xn.pointer, q: qcodes.pointer, scales: scales.pointer, acc: acc.pointer,
                      maxTokens: maxTokens, accCapacity: acc.count)
    }
}

/// A run of consecutive tokens of one sequence: one part of a batched forward pass
/// (``Transformer/forward(spans:state:pool:)``), with its own positions and KV cache.
public struct SequenceSpan {
    /// Token ids, each `< vocab` (at least one).
    public var tokens: UnsafeBufferPointer<Int>
    /// Position of the first token; positions `0 ..< startPos` must be in `cache`.
    public var startPos: Int
    /// The sequence's state: its KV cache receives the new keys and values, and its ``RunState/logits``
    /// the last token's logits when `wantsLogits`.
    public var cache: RunState
    /// Whether to compute the logits of the last token.
    public var wantsLogits: Bool

    /// A span.
    public init(tokens: UnsafeBufferPointer<Int>, startPos: Int, cache: RunState, wantsLogits: Bool = true) {
        self.tokens = tokens
        self.startPos = startPos
        self.cache = cache
        self.wantsLogits = wantsLogits
    }
}
