import Foundation

/// Generates up to `slots` sequences at once, one token for every decoding sequence per ``step()``.
///
/// Each slot has its own KV cache and ``Sampler``. A slot produces, token for token, what `lm-run`
/// (``Generator`` and ``Sampler``) produces for the same prompt ids, settings and seed, whatever
/// the other slots are doing: BitLinear quantizes activations per token and every kernel computes
/// a row the same way whichever rows share its call, so batching changes no logit. That includes
/// ``Generator``'s rules: a prompt longer than the context keeps its last `context_length` tokens,
/// and each token past the context re-runs the last `context_length` tokens as a fresh window
/// (here as prompt work, in chunks).
///
/// A step does, in order:
/// 1. one forward pass over the next token of every decoding slot, plus up to `prefillChunk`
///    pending prompt tokens of one admitted slot (the one waiting longest);
/// 2. for every slot whose logits are ready, one draw (slots draw in parallel on the pool): a ``SequenceEvent/token(_:)`` event, then
///    ``SequenceEvent/finished(_:)`` if it was a stop token or the last allowed one.
///
/// Not thread-safe: one thread owns a decoder. The model may be shared with other decoders.
public final class BatchDecoder {
    /// Most alternatives a request may ask for in ``SequenceRequest/topLogprobs``.
    public static let maxTopLogprobs = 20

    /// The model.
    public let model: Transformer
    /// Threads.
    public let pool: WorkerPool
    /// Prompt tokens of one slot run per step, at most.
    public let prefillChunk: Int
    /// Element type of the slots' KV caches.
    public let kvType: KVCacheType
    private var slotList: [Slot]
    private var pendingEvents: [(slot: Int, event: SequenceEvent)] = []
    private var nextTicket = 0
    private let work: RunState             // activations of a pass: (slots + prefillChunk) rows
    private let rowTokens: AlignedBuffer<Int>  // (work.maxTokens) the token of each row of a pass
    private var spans: [SequenceSpan] = []

    /// Forward passes run so far (each one run of the layer loop over every row of a step).
    public var forwardPasses: Int { work.passes }

    /// One sequence's state.
    private final class Slot {
        let cache: RunState
        let raw: AlignedBuffer<Float>  // (vocab) the raw logits kept for logprobs while the sampler changes cache.logits
        var active = false
        var request = SequenceRequest(prompt: [], maxNewTokens: 0)
        var sampler: Sampler?
        var tokens: [Int] = []    // prompt (cropped) and every drawn token fed back, as Generator.tokens
        var base = 0              // index in `tokens` of cache position 0
        var fed = 0               // tokens[base..<fed] are in the cache
        var drawn = 0
        var prefilling = false    // the pending tokens are prompt work (a prompt or a refilled window)
        var ticket = 0            // order of prompt work
        var endNow = false        // finish with .length at the next step without running (maxNewTokens 0)
        init(cache: RunState, vocabSize: Int) {
            self.cache = cache
            raw = AlignedBuffer(count: vocabSize)
        }
    }

    /// Creates a decoder and allocates every slot's KV cache.
    ///
    /// - Parameters:
    ///   - model: the model.
    ///   - pool: threads.
    ///   - slots: sequences at once (≥ 1).
    ///   - kvType: element type of the KV caches (`lm-run`'s default is F16).
    ///   - prefillChunk: prompt tokens run per step (≥ 1).
    /// - Throws: ``InferenceError/unsupported(_:)`` when the caches and buffers would need more than
    ///   the machine's physical memory, for a slot or chunk count below 1, or for as many slots as
    ///   the context has positions.
    public init(model: Transformer, pool: WorkerPool, slots: Int, kvType: KVCacheType, prefillChunk: Int = 64) throws {
        let c = model.config
        guard slots >= 1 else { throw InferenceError.unsupported("a batch decoder needs at least one slot") }
        guard slots < c.contextLength else {
            throw InferenceError.unsupported("\(slots) slots need a context longer than \(slots) tokens (the model's is \(c.contextLength))")
        }
        guard prefillChunk >= 1 else { throw InferenceError.unsupported("the prefill chunk must be at least one token") }
        let rows = slots.addingReportingOverflow(prefillChunk)
        let per = RunState.byteCount(config: c, maxTokens: 1, kvType: kvType)
        let shared = RunState.byteCount(config: c, maxTokens: rows.overflow ? Int.max : rows.partialValue, kvType: kvType, logitRows: slots + 1,
                                        kvCache: false)
        let (caches, o1) = per.multipliedReportingOverflow(by: slots)
        let (need, o2) = caches.addingReportingOverflow(shared)
        let have = Int(clamping: ProcessInfo.processInfo.physicalMemory)
        guard !o1, !o2, need < have else {
            throw InferenceError.unsupported("\(slots) slots with a context of \(c.contextLength) need \(need >> 20) MiB, more than this machine's \(have >> 20) MiB")
        }
        self.model = model
        self.pool = pool
        self.kvType = kvType
        self.prefillChunk = prefillChunk
        slotList = (0..<slots).map { _ in Slot(cache: RunState(config: c, maxTokens: 1, kvType: kvType), vocabSize: c.vocabSize) }
        work = RunState(config: c, maxTokens: rows.partialValue, kvType: kvType, logitRows: slots + 1, kvCache: false)
        rowTokens = AlignedBuffer(count: work.maxTokens)
        spans.reserveCapacity(slots)
    }

    /// Number of slots.
    public var slots: Int { slotList.count }
    /// Slots a request can be admitted to now.
    public var freeSlots: Int { slotList.reduce(0) { $0 + ($1.active ? 0 : 1) } }
    /// Slots holding a sequence (prompt work, decoding, or a finish not yet reported).
    public var activeSlots: Int { slots - freeSlots }

    /// Puts a request into a free slot; its prompt runs in the following steps.
    ///
    /// - Parameter request: the sequence.
    /// - Returns: the slot id, `0..<slots`; events of this sequence carry it.
    /// - Throws: ``BatchDecoderError/noFreeSlot(slots:)``, or ``BatchDecoderError/invalidRequest(_:)``
    ///   for an empty prompt, a token id outside the vocabulary, a negative `maxNewTokens`, bad
    ///   sampling settings, or `topLogprobs` outside `0...maxTopLogprobs`.
    public func admit(_ request: SequenceRequest) throws -> Int {
        let c = model.config, V = c.vocabSize
        guard !request.prompt.isEmpty else { throw BatchDecoderError.invalidRequest("the prompt is empty (give at least one token)") }
        if let bad = request.prompt.first(where: { $0 < 0 || $0 >= V }) {
            throw BatchDecoderError.invalidRequest("prompt token id \(bad) is outside the vocabulary (size \(V))")
        }
        guard request.maxNewTokens >= 0 else { throw BatchDecoderError.invalidRequest("max new tokens must not be negative") }
        if let why = request.sampling.problem { throw BatchDecoderError.invalidRequest(why) }
        guard (0...BatchDecoder.maxTopLogprobs).contains(request.topLogprobs) else {
            throw BatchDecoderError.invalidRequest("top logprobs must be in 0...\(BatchDecoder.maxTopLogprobs)")
        }
        guard let id = slotList.firstIndex(where: { !$0.active }) else { throw BatchDecoderError.noFreeSlot(slots: slots) }
        let s = slotList[id]
        s.active = true
        s.request = request
        s.sampler = Sampler(vocabSize: V, options: request.sampling.options, seed: request.sampling.seed)
        s.tokens = Array(request.prompt.suffix(c.contextLength))
        s.base = 0
        s.fed = 0
        s.drawn = 0
        s.prefilling = request.maxNewTokens > 0
        s.endNow = request.maxNewTokens == 0
        s.ticket = nextTicket
        nextTicket += 1
        return id
    }

    /// Ends the sequence in `slot` and frees the slot at once; the next ``step()`` reports
    /// `.finished(.cancelled)` for it, first among its events (before any event of a request
    /// admitted to the same slot meanwhile). A free slot or an id out of range is ignored.
    public func cancel(slot: Int) {
        guard slotList.indices.contains(slot), slotList[slot].active else { return }
        release(slotList[slot])
        pendingEvents.append((slot, .finished(.cancelled)))
    }

    /// Runs one forward pass (prompt work and one token per decoding slot) and draws one token for
    /// every slot whose logits are ready.
    ///
    /// - Returns: the events of this step in slot order (cancellations first); empty when idle.
    /// - Throws: ``InferenceError`` only on an internal inconsistency; the decoder is then unusable.
    public func step() throws -> [(slot: Int, event: SequenceEvent)] {
        var events = pendingEvents
        pendingEvents = []
        for (i, s) in slotList.enumerated() where s.active && s.endNow {
            release(s)
            events.append((i, .finished(.length)))
        }
        try runForward()
        // The draws of the slots are independent (each has its own logits, sampler and buffers), so
        // they run on the pool; events and feeding back stay in slot order.
        let ready = slotList.indices.filter { slotList[$0].active && !slotList[$0].prefilling && slotList[$0].fed == slotList[$0].tokens.count }
        var drawnTokens = [TokenEvent](repeating: TokenEvent(token: 0, logprob: 0), count: ready.count)
        drawnTokens.withUnsafeMutableBufferPointer { out in
            pool.forRanges(ready.count) { a, b in
                for k in a..<b { out[k] = draw(slotList[ready[k]]) }
            }
        }
        for (k, i) in ready.enumerated() {
            let s = slotList[i], next = drawnTokens[k].token
            s.drawn += 1
            events.append((i, .token(drawnTokens[k])))
            let end: FinishReason? = s.request.stopTokens.contains(next) ? .stop : s.drawn >= s.request.maxNewTokens ? .length : nil
            if let reason = end {
                release(s)
                events.append((i, .finished(reason)))
            } else {
                feed(next, to: s)
            }
        }
        return events
    }

    // MARK: - Internals

    /// This step's single pass: one token per decoding slot, and a chunk of the oldest prompt work
    /// (as much as the rows left allow), each at its own positions in its own cache.
    private func runForward() throws {
        spans.removeAll(keepingCapacity: true)
        var rows = 0
        func add(_ s: Slot, _ n: Int, logits: Bool) {
            for i in 0..<n { rowTokens.pointer[rows + i] = s.tokens[s.fed + i] }
            spans.append(SequenceSpan(tokens: UnsafeBufferPointer(start: rowTokens.pointer + rows, count: n), startPos: s.fed - s.base,
                                      cache: s.cache, wantsLogits: logits))
            rows += n
        }
        for s in slotList where s.active && !s.prefilling && s.fed == s.tokens.count - 1 { add(s, 1, logits: true) }
        var prompt: Slot?
        if let p = slotList.filter({ $0.active && $0.prefilling }).min(by: { $0.ticket < $1.ticket }) {
            let n = min(prefillChunk, p.tokens.count - p.fed, work.maxTokens - rows)
            add(p, n, logits: p.fed + n == p.tokens.count)
            prompt = p
        }
        guard !spans.isEmpty else { return }
        try spans.withUnsafeBufferPointer { try model.forward(spans: $0, state: work, pool: pool) }
        for s in slotList where s.active && !s.prefilling && s.fed == s.tokens.count - 1 { s.fed += 1 }
        if let p = prompt {
            p.fed += spans[spans.count - 1].tokens.count
            if p.fed == p.tokens.count { p.prefilling = false }
        }
    }

    /// Draws the next token of `s` from its logits (touching only `s`, so slots can draw concurrently).
    ///
    /// - Returns: the token's event.
    private func draw(_ s: Slot) -> TokenEvent {
        let V = model.config.vocabSize, logits = s.cache.logits.pointer, raw = s.raw
        // The sampler changes the logits in place: keep the raw ones only when logprobs are wanted.
        var lse = Float.nan, top: [(token: Int, logprob: Float)] = []
        if s.request.wantsLogprobs {
            raw.pointer.update(from: logits, count: V)
            lse = TokenLogprobs.logSumExp(raw.pointer, count: V)
            top = TokenLogprobs.top(raw.pointer, count: V, k: s.request.topLogprobs, lse: lse)
        }
        let next = s.tokens.withUnsafeBufferPointer { s.sampler!.sample(logits, recent: $0) }
        return TokenEvent(token: next, logprob: s.request.wantsLogprobs ? raw.pointer[next] - lse : .nan, topLogprobs: top)
    }

    /// Appends a drawn token: the next pass runs it at the next position, or, past the context,
    /// re-runs the last `context_length` tokens from position 0 (``Generator/append(_:)``).
    private func feed(_ token: Int, to s: Slot) {
        let T = model.config.contextLength
        s.tokens.append(token)
        if s.tokens.count > T {
            s.base = s.tokens.count - T
            s.fed = s.base
            s.prefilling = true
            s.ticket = nextTicket
            nextTicket += 1
        }
    }

    private func release(_ s: Slot) {
        s.active = false
        s.sampler = nil
        s.tokens = []
        s.prefilling = false
        s.endNow = false
    }
}
