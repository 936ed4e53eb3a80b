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
    let x: AlignedBuffer<Float>      // (maxTokens, dim) residual stream
    let xb: AlignedBuffer<Float>     // (maxTokens, dim) normed input / projection output
    let xb2: AlignedBuffer<Float>    // (maxTokens, dim) attention output
    let q: AlignedBuffer<Float>      // (maxTokens, dim) queries
    let qkv: AlignedBuffer<Float>    // (maxTokens, 3·dim) fused projection (gpt2 only)
    let hb: AlignedBuffer<Float>     // (maxTokens, hidden)
    let hb2: AlignedBuffer<Float>    // (maxTokens, hidden)
    let att: AlignedBuffer<Float>    // (heads, contextLength) attention scores, one row per head
    let keyCache: AlignedBuffer<Float>    // (layers, contextLength, kvDim)
    let valueCache: AlignedBuffer<Float>  // (layers, contextLength, kvDim)
    let embedCodes: AlignedBuffer<Int8>   // (dim) an unpacked ternary embedding row
    let xn: AlignedBuffer<Float>     // (maxTokens, maxCols) Linear scratch
    let qcodes: AlignedBuffer<Int8>  // (maxTokens, maxCols)
    let scales: AlignedBuffer<Float> // (maxTokens)
    let acc: AlignedBuffer<Int32>    // max(maxTokens · maxRows, vocab)
    /// Logits of the last token of the latest forward pass, (vocab).
    public let logits: AlignedBuffer<Float>

    /// Allocates a state for `model`.
    ///
    /// - Parameters:
    ///   - config: the model's configuration.
    ///   - maxTokens: batch capacity for prompt processing (default: the context length, capped at 512).
    public init(config c: ModelConfig, maxTokens: Int? = nil) {
        let T = c.contextLength, D = c.dim, H = c.hiddenDim
        let n = max(1, min(maxTokens ?? min(T, 512), T))
        self.maxTokens = n
        contextLength = T
        let kvDim = c.nKVHeads * c.headDim
        x = AlignedBuffer(count: n * D)
        xb = AlignedBuffer(count: n * D)
        xb2 = AlignedBuffer(count: n * D)
        q = AlignedBuffer(count: n * D)
        qkv = AlignedBuffer(count: c.architecture == .gpt2 ? n * 3 * D : 0)
        hb = AlignedBuffer(count: n * H)
        hb2 = AlignedBuffer(count: n * H)
        att = AlignedBuffer(count: c.nHeads * T)
        keyCache = AlignedBuffer(count: c.nLayers * T * kvDim)
        valueCache = AlignedBuffer(count: c.nLayers * T * kvDim)
        embedCodes = AlignedBuffer(count: D)
        let maxCols = max(D, H)
        xn = AlignedBuffer(count: n * maxCols)
        qcodes = AlignedBuffer(count: n * maxCols)
        scales = AlignedBuffer(count: n)
        acc = AlignedBuffer(count: max(n * max(3 * D, H), c.vocabSize))
        logits = AlignedBuffer(count: c.vocabSize)
    }

    /// Bytes a state for `config` allocates (activations, KV cache, scratch, logits).
    ///
    /// - Parameters:
    ///   - config: the model's configuration.
    ///   - maxTokens: batch capacity, as for ``init(config:maxTokens:)``.
    /// - Returns: the byte count (saturating, so hostile sizes cannot overflow).
    public static func byteCount(config c: ModelConfig, maxTokens: Int? = nil) -> Int {
        let T = c.contextLength, D = c.dim, H = c.hiddenDim
        let n = max(1, min(maxTokens ?? min(T, 512), T))
        let kvDim = c.nKVHeads * c.headDim
        let parts = [n * D * 4, n * 3 * D, 2 * n * H, c.nHeads * T, 2 * c.nLayers * T * kvDim, n * max(D, H),
                     max(n * max(3 * D, H), c.vocabSize), c.vocabSize]
        return parts.reduce(0) { $0 + 4 * $1 }
    }

    /// The Linear scratch view of this state's buffers.
    var linearScratch: LinearScratch {
        LinearScratch(xn: xn.pointer, q: qcodes.pointer, scales: scales.pointer, acc: acc.pointer,
                      maxTokens: maxTokens, accCapacity: acc.count)
    }
}
