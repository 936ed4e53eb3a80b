import BitGPT

/// A checked `/v1/completions` or `/v1/chat/completions` request, prompt already in token ids.
struct GenerationRequest: Sendable {
    enum Kind: Sendable { case completion, chat }

    var kind: Kind
    var prompt: [Int]
    var maxTokens: Int
    var sampling: SamplingSettings
    var stop: [String]
    var stream: Bool
    /// `stream_options.include_usage`: a last chunk carries `usage`.
    var streamUsage: Bool
    /// Logprobs asked for: nil for none, else how many alternatives per token (0 = only the chosen).
    var logprobs: Int?

    /// Largest `logprobs` / `top_logprobs`.
    static let maxTopLogprobs = 20

    /// Reads and checks a request body.
    ///
    /// Rules: `model` (when given) must name the served model; `max_tokens` in 1...cap and, with
    /// the prompt, within the context; `temperature` ≥ 0; `top_p` in (0, 1]; `top_k` ≥ 0;
    /// `min_p` in [0, 1); `repeat_penalty` > 0; `seed` in 0...2^64-1 (absent: a random one); `stop`
    /// a string or up to `maxStopStrings` non-empty strings; `n` 1. Text is tokenized as ordinary
    /// text (no special tokens); token ids must lie in the vocabulary.
    static func parse(_ body: [UInt8], kind: Kind, model: ServedModel, config: ServerConfiguration) throws(APIError) -> GenerationRequest {
        let f = RequestFields(object: try JSONValue.parseObject(body))
        if let name = try f.string("model"), !model.answers(to: name) {
            throw .badField("model", "unknown model '\(name)'; this server has '\(model.id)'")
        }
        if let n = try f.integer("n", range: 1...1), n != 1 { throw .badField("n", "must be 1") }

        let prompt: [Int]
        switch kind {
        case .completion:
            guard let p = f["prompt"] else { throw .badField("prompt", "is required") }
            prompt = try promptIds(p, model: model)
        case .chat:
            guard let m = f["messages"] else { throw .badField("messages", "is required") }
            prompt = try model.renderChat(try messages(m))
        }
        let promptField = kind == .chat ? "messages" : "prompt"
        guard prompt.count <= model.transformer.config.contextLength else {
            throw .badField(promptField, "\(prompt.count) tokens are more than the model's context of \(model.transformer.config.contextLength)")
        }
        guard prompt.count < model.contextLength else {
            throw .badField(promptField, "\(prompt.count) tokens leave no room to generate within --ctx-size \(model.contextLength)")
        }

        let capName = kind == .chat && f["max_tokens"] == nil && f["max_completion_tokens"] != nil ? "max_completion_tokens" : "max_tokens"
        let room = model.contextLength - prompt.count
        var maxTokens: Int
        if let m = try f.integer(capName, range: 1...config.maxTokensCap) {
            guard m <= room else {
                throw .badField(capName, "\(m) tokens with a prompt of \(prompt.count) exceed --ctx-size \(model.contextLength)")
            }
            maxTokens = m
        } else {
            // OpenAI's defaults: 16 for completions; chat runs to the end (here: the cap).
            maxTokens = min(kind == .completion ? 16 : config.maxTokensCap, room)
        }
        maxTokens = max(maxTokens, 1)

        var s = SamplingSettings()
        if let t = try f.number("temperature") {
            guard t >= 0, t.isFinite, t <= 1e6 else { throw .badField("temperature", "must be a finite number ≥ 0") }
            s.temperature = Float(t)
        }
        if let p = try f.number("top_p") {
            guard p > 0, p <= 1 else { throw .badField("top_p", "must be in (0, 1]") }
            s.topP = Float(p)
        }
        if let k = try f.integer("top_k", range: 0...Int(Int32.max)) { s.topK = k }
        if let p = try f.number("min_p") {
            guard p >= 0, p < 1 else { throw .badField("min_p", "must be in [0, 1)") }
            s.minP = Float(p)
        }
        if let r = try f.number("repeat_penalty") {
            guard r > 0, r.isFinite, r <= 1e6 else { throw .badField("repeat_penalty", "must be a finite number > 0") }
            s.repeatPenalty = Float(r)
        }
        s.seed = try seed(f) ?? UInt64.random(in: 0...UInt64.max)

        let stop = try stopStrings(f, config: config)
        let stream = try f.bool("stream") ?? false
        let streamUsage = try f.object("stream_options")?.bool("include_usage") ?? false

        var logprobs: Int?
        switch kind {
        case .completion:
            logprobs = try f.integer("logprobs", range: 0...maxTopLogprobs)
        case .chat:
            let top = try f.integer("top_logprobs", range: 0...maxTopLogprobs)
            if try f.bool("logprobs") == true {
                logprobs = top ?? 0
            } else if top != nil {
                throw .badField("top_logprobs", "needs \"logprobs\": true")
            }
        }
        return GenerationRequest(kind: kind, prompt: prompt, maxTokens: maxTokens, sampling: s, stop: stop, stream: stream,
                                 streamUsage: streamUsage, logprobs: logprobs)
    }

    /// `seed`: an integer in 0...2^64-1.
    private static func seed(_ f: RequestFields) throws(APIError) -> UInt64? {
        switch f["seed"] {
        case nil: return nil
        case .int(let i)?:
            guard i >= 0 else { throw .badField("seed", "must be in 0...18446744073709551615") }
            return UInt64(i)
        case .uint(let u)?: return u
        case .double(let d)?:
            guard d.isFinite, d.rounded() == d else { throw f.wrong("seed", "an integer") }
            throw .badField("seed", "must be in 0...18446744073709551615")
        default: throw f.wrong("seed", "an integer")
        }
    }

    /// `stop`: a string or an array of strings; each non-empty and at most `maxStopBytes` long.
    private static func stopStrings(_ f: RequestFields, config: ServerConfiguration) throws(APIError) -> [String] {
        var list: [String]
        switch f["stop"] {
        case nil: return []
        case .string(let s)?: list = [s]
        case .array(let a)?:
            list = []
            for v in a {
                guard case .string(let s) = v else { throw .badField("stop", "must be a string or an array of strings") }
                list.append(s)
            }
        default: throw f.wrong("stop", "a string or an array of strings")
        }
        guard list.count <= config.maxStopStrings else {
            throw .badField("stop", "at most \(config.maxStopStrings) stop strings, not \(list.count)")
        }
        for s in list {
            guard !s.isEmpty else { throw .badField("stop", "a stop string must not be empty") }
            guard s.utf8.count <= config.maxStopBytes else { throw .badField("stop", "a stop string is longer than \(config.maxStopBytes) bytes") }
        }
        return list
    }

    /// `prompt`: a non-empty string (ordinary text) or a non-empty array of token ids.
    private static func promptIds(_ v: JSONValue, model: ServedModel) throws(APIError) -> [Int] {
        switch v {
        case .string(let s):
            guard !s.isEmpty else { throw .badField("prompt", "must not be empty") }
            return try model.encodeText(s, field: "prompt")
        case .array(let a):
            guard !a.isEmpty else { throw .badField("prompt", "must not be empty") }
            if a.count == 1, case .string(let s) = a[0] { return try promptIds(.string(s), model: model) }
            var ids: [Int] = []
            ids.reserveCapacity(a.count)
            for (i, x) in a.enumerated() {
                guard case .int(let t) = x else {
                    if case .array = x { throw .badField("prompt", "a batch of prompts is not supported; send one per request") }
                    if case .string = x { throw .badField("prompt", "a batch of prompts is not supported; send one per request") }
                    throw .badField("prompt", "must be a string or an array of token ids; element \(i) is \(x.typeName)")
                }
                guard t >= 0 && t < Int64(model.vocabSize) else {
                    throw .badField("prompt", "token id \(t) at index \(i) is outside the vocabulary of \(model.vocabSize)")
                }
                ids.append(Int(t))
            }
            return ids
        default:
            throw .badField("prompt", "must be a string or an array of token ids, not \(v.typeName)")
        }
    }

    /// `messages`: a non-empty array of `{role, content}`; content a string or `[{type: "text", text}]`.
    private static func messages(_ v: JSONValue) throws(APIError) -> [ChatMessage] {
        guard case .array(let a) = v else { throw .badField("messages", "must be an array, not \(v.typeName)") }
        guard !a.isEmpty else { throw .badField("messages", "must not be empty") }
        var out: [ChatMessage] = []
        for (i, m) in a.enumerated() {
            let name = "messages[\(i)]"
            guard case .object(let o) = m else { throw .badField(name, "must be an object, not \(m.typeName)") }
            let f = RequestFields(object: o, prefix: name + ".")
            guard let role = try f.string("role") else { throw .badField(name + ".role", "is required") }
            guard ["system", "developer", "user", "assistant"].contains(role) else {
                throw .badField(name + ".role", "must be system, developer, user or assistant, not '\(role)'")
            }
            var content = ""
            switch f["content"] {
            case nil: break
            case .string(let s)?: content = s
            case .array(let parts)?:
                for p in parts {
                    guard case .object(let po) = p, case .string("text")? = po["type"], case .string(let t)? = po["text"] else {
                        throw .badField(name + ".content", "parts must be {\"type\": \"text\", \"text\": …}")
                    }
                    content += t
                }
            default: throw f.wrong("content", "a string or an array of text parts")
            }
            out.append(ChatMessage(role: role == "developer" ? "system" : role, content: content))
        }
        return out
    }
}
