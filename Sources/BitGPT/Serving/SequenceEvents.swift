/// One sequence to generate in a ``BatchDecoder`` slot.
public struct SequenceRequest: Sendable {
    /// Prompt token ids (at least one, each `< vocab`). A prompt longer than the context keeps its
    /// last `context_length` tokens, as ``Generator/start(prompt:reserve:allLogits:)`` does.
    public var prompt: [Int]
    /// Most tokens to draw (≥ 0; a stop token counts as drawn).
    public var maxNewTokens: Int
    /// Filters, RNG seed.
    public var sampling: SamplingSettings
    /// Tokens that end the sequence (typically eos); a drawn stop token is reported, then `.finished(.stop)`.
    public var stopTokens: Set<Int>
    /// Alternatives to report with each token, most likely first, 0 ... ``BatchDecoder/maxTopLogprobs``; 0 = none.
    public var topLogprobs: Int
    /// Whether each ``TokenEvent`` carries its ``TokenEvent/logprob``. Without it the decoder skips
    /// the log-sum-exp over the whole vocabulary that the logprob needs (the event's logprob is then
    /// NaN); asking for ``topLogprobs`` implies it.
    public var wantsLogprobs: Bool

    /// A request.
    public init(prompt: [Int], maxNewTokens: Int, sampling: SamplingSettings = SamplingSettings(), stopTokens: Set<Int> = [],
                topLogprobs: Int = 0, wantsLogprobs: Bool = true) {
        self.prompt = prompt
        self.maxNewTokens = maxNewTokens
        self.sampling = sampling
        self.stopTokens = stopTokens
        self.topLogprobs = topLogprobs
        self.wantsLogprobs = wantsLogprobs || topLogprobs > 0
    }
}

/// Why a sequence ended.
public enum FinishReason: String, Sendable {
    /// A stop token was drawn (it is the sequence's last reported token).
    case stop
    /// `maxNewTokens` tokens were drawn.
    case length
    /// ``BatchDecoder/cancel(slot:)`` was called.
    case cancelled
}

/// One drawn token.
public struct TokenEvent: Sendable {
    /// The token id.
    public var token: Int
    /// Its natural-log probability under the raw logits: `log_softmax(logits)[token]` at temperature
    /// 1, before the repetition penalty and every filter; NaN when the request did not want it
    /// (``SequenceRequest/wantsLogprobs``).
    public var logprob: Float
    /// The `topLogprobs` most likely tokens under the same distribution, most likely first (lower
    /// id first on ties); empty when the request asked for none.
    public var topLogprobs: [(token: Int, logprob: Float)]

    /// An event.
    public init(token: Int, logprob: Float, topLogprobs: [(token: Int, logprob: Float)] = []) {
        self.token = token
        self.logprob = logprob
        self.topLogprobs = topLogprobs
    }
}

/// What ``BatchDecoder/step()`` reports for a slot.
public enum SequenceEvent: Sendable {
    /// A token was drawn.
    case token(TokenEvent)
    /// The sequence ended and its slot is free again.
    case finished(FinishReason)
}

/// Why ``BatchDecoder/admit(_:)`` refused a request.
public enum BatchDecoderError: Error, Equatable, CustomStringConvertible {
    /// Every slot is busy.
    case noFreeSlot(slots: Int)
    /// The request itself is malformed.
    case invalidRequest(String)

    /// One line for the user.
    public var description: String {
        switch self {
        case let .noFreeSlot(n): return "all \(n) decoding slots are busy"
        case let .invalidRequest(m): return "invalid request: \(m)"
        }
    }
}
