import BitGPT

/// One token's log-probabilities as the API reports them.
struct TokenLogprob: Sendable {
    var token: String
    var bytes: [UInt8]
    var logprob: Float
    var top: [(token: String, bytes: [UInt8], logprob: Float)]
}

/// Turns a sequence's token events into response text: each token's bytes as `lm-run` prints them
/// (special tokens hidden), whole UTF-8 characters only (``StreamingDecoder``), cut at the first
/// stop string (``StopMatcher``).
struct TextAssembler {
    private let generation: TextGeneration
    private var utf8 = StreamingDecoder()
    private var stops: StopMatcher
    private let wantLogprobs: Bool
    /// Tokens drawn so far (the stop token included).
    private(set) var completionTokens = 0
    /// Log-probabilities not yet handed out (with ``takeLogprobs()``).
    private var logprobs: [TokenLogprob] = []

    init(generation: TextGeneration, stop: [String], logprobs: Bool) {
        self.generation = generation
        stops = StopMatcher(stop)
        wantLogprobs = logprobs
    }

    /// Whether a stop string has ended the text.
    var stopped: Bool { stops.stopped }

    /// Adds a token; returns the text it completes (possibly empty).
    mutating func push(_ t: TokenEvent) -> String {
        completionTokens += 1
        let bytes = generation.pieceBytes(t.token)
        if wantLogprobs {
            logprobs.append(TokenLogprob(token: piece(t.token), bytes: bytes, logprob: Self.finite(t.logprob),
                                         top: t.topLogprobs.map { (piece($0.token), generation.pieceBytes($0.token), Self.finite($0.logprob)) }))
        }
        return stops.push(utf8.push(bytes))
    }

    /// The rest of the text at the end of the sequence.
    mutating func finish() -> String {
        let rest = utf8.flush()
        return stops.push(rest) + stops.flush()
    }

    /// The log-probabilities gathered since the last call.
    mutating func takeLogprobs() -> [TokenLogprob] {
        defer { logprobs = [] }
        return logprobs
    }

    /// A token's text for logprobs (a split character shows as U+FFFD).
    private func piece(_ id: Int) -> String { String(decoding: generation.pieceBytes(id), as: UTF8.self) }

    /// JSON has no -inf: a token of probability 0 reports -9999 (as OpenAI does).
    private static func finite(_ x: Float) -> Float { x.isFinite ? x : -9999 }
}
