import BitGPT

/// Everything `lm-serve` is started with (its command-line flags), checked by ``validate()``.
public struct ServerConfiguration: Sendable {
    /// The .bgpt model file.
    public var modelPath: String
    /// Address to listen on (loopback by default).
    public var host = "127.0.0.1"
    /// Port to listen on; 0 picks a free one (the chosen address is printed).
    public var port = 8080
    /// Sequences decoded together (decoder slots).
    public var parallel = 1
    /// Worker threads of the decoder (nil: all cores).
    public var threads: Int?
    /// Tokens per sequence, prompt and completion together (nil: the model's context length).
    public var ctxSize: Int?
    /// The bearer key every route but `/health` needs (nil: no key).
    public var apiKey: String?
    /// Largest request body in bytes; a longer one gets 413.
    public var maxBodyBytes = 1 << 20
    /// Largest `max_tokens` a request may ask for (also the chat default).
    public var maxTokensCap = 2048
    /// Requests that may wait for a slot; one more gets 503 with `Retry-After`.
    public var queue = 64
    /// Seconds in-flight requests get to finish after SIGTERM/SIGINT before they are cancelled.
    public var timeout: Double = 30
    /// KV cache element type (as `lm-run --cache-type`; f16 is its default too).
    public var cacheType: KVCacheType = .f16
    /// Most stop strings in one request.
    public var maxStopStrings = 4
    /// Longest stop string, in bytes.
    public var maxStopBytes = 256

    /// A configuration with the defaults above.
    public init(modelPath: String) { self.modelPath = modelPath }

    /// The first problem with the settings, as a message naming the flag, or nil.
    public func problem() -> String? {
        if port < 0 || port > 65535 { return "--port must be in 0...65535" }
        if parallel < 1 || parallel > 256 { return "--parallel must be in 1...256" }
        if let t = threads, let why = ThreadLimit.problem(t) { return "--threads: \(why)" }
        if let c = ctxSize, c < 2 || c > 1 << 24 { return "--ctx-size must be in 2...16777216" }
        if let k = apiKey, k.isEmpty { return "the API key is empty" }
        if maxBodyBytes < 256 || maxBodyBytes > 1 << 30 { return "--max-body-bytes must be in 256...1073741824" }
        if maxTokensCap < 1 { return "--max-tokens-cap must be at least 1" }
        if queue < 0 { return "--queue must not be negative" }
        if !(timeout >= 0 && timeout <= 86400) { return "--timeout must be in 0...86400 seconds" }
        return nil
    }
}
