/// Prompt text in, streamed text out: the generation loop that `lm-run` and `libbitgpt`'s
/// `bg_generate` share, so both print the same bytes for the same settings.
///
/// Rules:
/// - The prompt is encoded without bos/eos; an empty prompt starts from the bos token (or id 0).
///   A prompt longer than the context keeps its last `context_length` tokens.
/// - Each step samples from the current logits, streams the token's text, and stops at the eos
///   token (unless `ignoreEos`) or after `maxNewTokens` tokens.
/// - Special tokens (control and user-defined ones, bos, eos, pad) produce no text unless
///   `printSpecial`; then they print as their text (e.g. `</s>`).
/// - Text is emitted in whole UTF-8 characters (``StreamingDecoder``).
public struct TextGeneration {
    /// The tokenizer.
    public let tokenizer: any Tokenizer
    /// Whether special tokens print their text.
    public var printSpecial: Bool
    /// Whether generation continues past the eos token.
    public var ignoreEos: Bool
    private let hidden: Set<Int>

    /// - Parameters:
    ///   - tokenizer: the model's tokenizer.
    ///   - printSpecial: print special tokens' text.
    ///   - ignoreEos: do not stop at eos.
    public init(tokenizer: any Tokenizer, printSpecial: Bool = false, ignoreEos: Bool = false) {
        self.tokenizer = tokenizer
        self.printSpecial = printSpecial
        self.ignoreEos = ignoreEos
        let s = tokenizer.special
        hidden = s.control.union([s.bos, s.eos, s.pad].compactMap { $0 })
    }

    /// The token that ends generation, or nil.
    public var stopToken: Int? { ignoreEos ? nil : tokenizer.special.eos }

    /// Prompt text → the ids to feed, and how many were dropped to fit the context.
    ///
    /// - Throws: ``TokenizerError`` if the text cannot be encoded or encodes outside the vocabulary.
    public func promptIds(_ text: String, vocabSize: Int, contextLength: Int) throws(TokenizerError) -> (ids: [Int], dropped: Int) {
        var ids = try tokenizer.encode(text)
        if let bad = ids.first(where: { $0 < 0 || $0 >= vocabSize }) {
            throw .cannotEncode("the prompt encodes to token \(bad), outside the model's vocabulary of \(vocabSize)")
        }
        if ids.isEmpty { ids = [tokenizer.special.bos ?? 0] }
        let dropped = max(0, ids.count - contextLength)
        return (Array(ids[dropped...]), dropped)
    }

    /// The bytes token `id` prints as (empty for hidden special tokens and unknown ids).
    public func pieceBytes(_ id: Int) -> [UInt8] {
        if hidden.contains(id) && !printSpecial { return [] }
        return (try? tokenizer.tokenBytes(id)) ?? []
    }

    /// The prompt as it prints before the generated text: the whole sequence decoded (so a
    /// SentencePiece model drops its dummy-prefix space), special tokens hidden unless `printSpecial`.
    public func promptText(_ ids: [Int]) -> String {
        (try? tokenizer.decode(ids.filter { printSpecial || !hidden.contains($0) })) ?? ""
    }

    /// Runs the prompt, then samples and streams up to `maxNewTokens` tokens.
    ///
    /// - Parameters:
    ///   - generator: decoding state; restarted with `prompt`.
    ///   - prompt: ids from ``promptIds(_:vocabSize:contextLength:)``.
    ///   - maxNewTokens: most tokens to draw.
    ///   - sampler: filters and RNG.
    ///   - feedLast: after the last drawn token (unless it is the stop token or text output was
    ///     stopped), also run its forward pass while it fits the context, so that every generated
    ///     token is in the KV cache (a following turn continues from it) and `n` tokens cost `n`
    ///     single-token passes, as llama.cpp counts them.
    ///   - onPromptDone: called once the prompt's batched pass is done (for timing).
    ///   - onText: receives each non-empty piece of text; return false to stop.
    /// - Returns: tokens drawn (the eos included), whether `onText` stopped generation, and
    ///   whether the last token drawn was the stop token (eos; never with `ignoreEos`).
    /// - Throws: ``InferenceError``.
    @discardableResult
    public func run(_ generator: Generator, prompt: [Int], maxNewTokens: Int, sampler: Sampler, feedLast: Bool = false,
                    onPromptDone: () -> Void = {}, onText: (String) -> Bool) throws(InferenceError) -> (drawn: Int, stopped: Bool, eos: Bool) {
        try generator.start(prompt: prompt, reserve: maxNewTokens)
        onPromptDone()
        var decoder = StreamingDecoder()
        let stop = stopToken
        let vocab = generator.model.config.vocabSize
        var drawn = 0, eos = false
        while drawn < maxNewTokens {
            let next = generator.tokens.withUnsafeBufferPointer { sampler.sample(generator.logits, recent: $0) }
            drawn += 1
            eos = next == stop
            let text = decoder.push(pieceBytes(next))
            if !text.isEmpty && !onText(text) { return (drawn, true, eos) }
            if eos { break }
            if drawn == maxNewTokens {
                if feedLast && generator.tokens.count < generator.model.config.contextLength { try generator.append(next) }
                break
            }
            guard next >= 0 && next < vocab else { throw .tokenOutOfRange(next, vocabSize: vocab) }
            try generator.append(next)
        }
        let rest = decoder.flush()
        if !rest.isEmpty && !onText(rest) { return (drawn, true, eos) }
        return (drawn, false, eos)
    }
}
