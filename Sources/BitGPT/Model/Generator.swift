import Foundation

/// Keeps one growing token sequence and the model's logits for its next token, reusing the KV cache.
///
/// The prompt goes through in one batched pass; each appended token is then one single-token pass.
/// **Past the context length** every family behaves as nanoGPT's and BitGPT's `generate()`: the
/// last `context_length` tokens are re-run as a fresh window with positions from 0, so output
/// matches PyTorch; RoPE and no-position models do the same (the simplest rule that is exact for
/// learned positions). Each token past the context thus costs a full-window pass.
public final class Generator {
    /// The model.
    public let model: Transformer
    /// Buffers and KV cache.
    public let state: RunState
    /// Threads.
    public let pool: WorkerPool
    /// Every token so far (prompt and generated).
    public private(set) var tokens: [Int] = []
    /// Positions of `tokens` whose keys and values are in the cache (the cache holds tokens 0..<cached).
    private var cached = 0
    /// Tokens appended since the last ``start(prompt:reserve:allLogits:)`` (one forward pass each
    /// through ``append(_:)``).
    public private(set) var appendedSinceStart = 0
    /// When the latest forward pass (prompt or appended token) finished.
    public private(set) var lastPassEnd = ContinuousClock.now

    /// Creates a generator.
    ///
    /// - Parameters:
    ///   - model: the model.
    ///   - pool: threads.
    ///   - maxBatch: tokens per batched pass (default: the context, capped at 512).
    ///   - kvType: element type of the KV cache (F32 exact; F16 reads half the bytes).
    /// - Throws: ``InferenceError/unsupported(_:)`` when the buffers (mostly the KV cache for the
    ///   full context) would need more than the machine's physical memory.
    public init(model: Transformer, pool: WorkerPool, maxBatch: Int? = nil, kvType: KVCacheType = .f32) throws(InferenceError) {
        let need = RunState.byteCount(config: model.config, maxTokens: maxBatch, kvType: kvType)
        let have = Int(clamping: ProcessInfo.processInfo.physicalMemory)
        guard need < have else {
            throw .unsupported("the KV cache and buffers for a context of \(model.config.contextLength) need \(need >> 20) MiB, more than this machine's \(have >> 20) MiB")
        }
        self.model = model
        self.pool = pool
        state = RunState(config: model.config, maxTokens: maxBatch, kvType: kvType)
    }

    /// Logits of the next token, (vocab); valid until the next call that changes the sequence.
    public var logits: UnsafeMutablePointer<Float> { state.logits.pointer }

    /// Starts a new sequence with `prompt` and computes the next-token logits.
    ///
    /// A prompt longer than the context keeps only its last `context_length` tokens.
    /// - Parameters:
    ///   - prompt: token ids (at least one).
    ///   - reserve: expected tokens to be appended (avoids reallocating while decoding).
    ///   - allLogits: if not nil, receives every prompt position's logits, (kept prompt tokens, vocab).
    /// - Returns: the number of prompt tokens dropped from the front (0 if it fit).
    /// - Throws: ``InferenceError``.
    @discardableResult
    public func start(prompt: [Int], reserve: Int = 0, allLogits: UnsafeMutablePointer<Float>? = nil) throws(InferenceError) -> Int {
        let T = model.config.contextLength
        guard !prompt.isEmpty else { throw .unsupported("an empty prompt (give at least one token)") }
        let dropped = max(0, prompt.count - T)
        tokens = []
        tokens.reserveCapacity(prompt.count - dropped + reserve)
        tokens.append(contentsOf: prompt[dropped...])
        cached = 0
        try tokens.withUnsafeBufferPointer { (b) throws(InferenceError) in
            try model.forward(b, startPos: 0, state: state, pool: pool, allLogits: allLogits)
        }
        cached = tokens.count
        appendedSinceStart = 0
        lastPassEnd = .now
        return dropped
    }

    /// Appends a token and computes the next logits: one cached single-token pass while the
    /// sequence fits the context, otherwise a fresh pass over the last `context_length` tokens.
    ///
    /// - Parameter token: id `< vocab`.
    /// - Throws: ``InferenceError/tokenOutOfRange(_:vocabSize:)``.
    public func append(_ token: Int) throws(InferenceError) {
        let T = model.config.contextLength
        tokens.append(token)
        let count = tokens.count
        try tokens.withUnsafeBufferPointer { (b) throws(InferenceError) in
            if count <= T {
                try model.forward(UnsafeBufferPointer(rebasing: b[cached..<count]), startPos: cached, state: state, pool: pool)
                cached = count
            } else {
                try model.forward(UnsafeBufferPointer(rebasing: b[(count - T)..<count]), startPos: 0, state: state, pool: pool)
                cached = 0
            }
        }
        appendedSinceStart += 1
        lastPassEnd = .now
    }

    /// Appends several tokens: one batched pass while they fit the context after a cached
    /// sequence, otherwise token by token as ``append(_:)`` (the same logits either way).
    ///
    /// - Parameter new: ids `< vocab`; nothing happens when empty.
    /// - Throws: ``InferenceError/tokenOutOfRange(_:vocabSize:)``.
    public func append(contentsOf new: [Int]) throws(InferenceError) {
        let V = model.config.vocabSize
        if let bad = new.first(where: { $0 < 0 || $0 >= V }) { throw .tokenOutOfRange(bad, vocabSize: V) }
        guard !new.isEmpty else { return }
        guard !tokens.isEmpty, cached == tokens.count, tokens.count + new.count <= model.config.contextLength else {
            for t in new { try append(t) }
            return
        }
        try new.withUnsafeBufferPointer { (b) throws(InferenceError) in try model.forward(b, startPos: cached, state: state, pool: pool) }
        tokens += new
        cached = tokens.count
        appendedSinceStart += new.count
        lastPassEnd = .now
    }
}

extension Generator {
    /// Samples up to `maxNewTokens` tokens after ``start(prompt:reserve:allLogits:)``.
    ///
    /// Each step draws from the current logits, reports the token, and (if more are wanted)
    /// appends it. Generation stops early at `stop` (which is reported but not appended).
    /// - Parameters:
    ///   - maxNewTokens: most tokens to draw.
    ///   - sampler: the filters and RNG.
    ///   - stop: a token that ends generation (eos), or nil.
    ///   - onToken: called with each drawn token, in order.
    /// - Returns: the number of tokens drawn (the stop token included).
    /// - Throws: ``InferenceError``.
    @discardableResult
    public func generate(maxNewTokens: Int, sampler: Sampler, stop: Int?, onToken: (Int) -> Void) throws(InferenceError) -> Int {
        var drawn = 0
        while drawn < maxNewTokens {
            let next = tokens.withUnsafeBufferPointer { sampler.sample(logits, recent: $0) }
            drawn += 1
            onToken(next)
            if next == stop || drawn == maxNewTokens { break }
            try append(next)
        }
        return drawn
    }

    /// Next-token logits after an arbitrary sequence, computed from scratch (no cache reuse); for
    /// beam search. The sequence is cropped to its last `context_length` tokens.
    ///
    /// - Parameter sequence: token ids (at least one).
    /// - Returns: a copy of the logits, (vocab).
    /// - Throws: ``InferenceError``.
    public func logits(after sequence: [Int]) throws(InferenceError) -> [Float] {
        try start(prompt: sequence)
        return Array(UnsafeBufferPointer(start: logits, count: model.config.vocabSize))
    }
}
