/// A conversation with a model through its chat template, kept in the KV cache: each turn runs
/// only the new tokens (the end of the previous reply, the user's message, the reply prompt).
///
/// Per turn: the conversation with the new user message is rendered (``ChatTemplate``). When the
/// text already in the cache is a prefix of the rendering, only the rest is encoded and run, in
/// one batched pass; otherwise (a template that rewrites history) the whole rendering is run
/// again. A reply ends at the eos token, after `maxNewTokens` tokens, when the context is full, or,
/// with the plain default template (one line per message), at the end of its line.
/// When a turn would not leave `replyRoom` positions free for the reply, the oldest messages are
/// dropped (a leading `system` message is kept) and the cropped history runs from scratch.
/// With the plain default template a reply's leading space is not stored in its message (the
/// template writes `assistant: ` + content after prompting with `assistant:`), so the cached
/// text stays a prefix of the next rendering.
public final class ChatSession {
    /// Decoding state.
    public let generator: Generator
    /// The model's tokenizer.
    public let tokenizer: any Tokenizer
    /// The template.
    public let template: ChatTemplate
    /// Filters and RNG, shared by every reply.
    public let sampler: Sampler
    /// The conversation so far (replies as printed).
    public private(set) var messages: [ChatMessage] = []
    /// Positions a turn keeps free for its reply before the history is cropped.
    public var replyRoom: Int
    private let generation: TextGeneration
    /// The text the cached tokens stand for (the latest rendering up to the reply prompt, then the reply).
    private var cachedText = ""

    /// How a turn went.
    public struct Turn {
        /// The reply text.
        public var reply: String
        /// Tokens run for this turn's prompt (the new part only, unless `restarted`).
        public var promptTokens: Int
        /// Whether the history was run from scratch (a template that rewrote it, or a crop).
        public var restarted: Bool
        /// Messages dropped from the front to fit the context.
        public var dropped: Int
        /// Whether the reply stopped because the context was full.
        public var contextFull: Bool
    }

    /// - Parameters:
    ///   - generator: decoding state (restarted by the first turn).
    ///   - tokenizer: the model's tokenizer.
    ///   - template: the chat template (``ChatTemplate/forModel(_:)``).
    ///   - sampler: filters and RNG.
    ///   - system: an optional first `system` message.
    public init(generator: Generator, tokenizer: any Tokenizer, template: ChatTemplate, sampler: Sampler, system: String? = nil) {
        self.generator = generator
        self.tokenizer = tokenizer
        self.template = template
        self.sampler = sampler
        generation = TextGeneration(tokenizer: tokenizer)
        replyRoom = max(1, generator.model.config.contextLength / 4)
        if let system { messages.append(ChatMessage(role: "system", content: system)) }
    }

    /// Adds the user's message, runs the new tokens and streams the reply.
    ///
    /// - Parameters:
    ///   - text: the user's message (ordinary text).
    ///   - maxNewTokens: most reply tokens.
    ///   - onText: receives the reply's text as it is generated.
    /// - Returns: what happened.
    /// - Throws: ``TokenizerError`` when the message cannot be encoded (the conversation is then
    ///   unchanged), ``ChatTemplateError`` or ``InferenceError``.
    public func send(_ text: String, maxNewTokens: Int, onText: (String) -> Void) throws -> Turn {
        let T = generator.model.config.contextLength
        // A message the tokenizer cannot take is refused before it joins the conversation.
        _ = try tokenizer.encodeOrdinary(text)
        messages.append(ChatMessage(role: "user", content: text))
        var turn = Turn(reply: "", promptTokens: 0, restarted: false, dropped: 0, contextFull: false)
        var segments = try render()
        var flat = segments.map(\.text).joined()
        let room = min(replyRoom, T - 1)
        var delta: [Int]? = nil
        if !generator.tokens.isEmpty, flat.hasPrefix(cachedText) {
            let ids = try ChatTemplate.encode(ChatSegment.drop(cachedText.count, from: segments), tokenizer: tokenizer)
            if generator.tokens.count + ids.count + room <= T { delta = ids }
        }
        if let delta {
            try generator.append(contentsOf: delta)
            turn.promptTokens = delta.count
        } else {
            var ids = try ChatTemplate.encode(segments, tokenizer: tokenizer)
            // Crop the oldest messages until the prompt leaves room for the reply (or one message is left).
            let keep = messages.first?.role == "system" ? 1 : 0
            while ids.count + room > T && messages.count > keep + 1 {
                messages.remove(at: keep)
                turn.dropped += 1
                segments = try render()
                ids = try ChatTemplate.encode(segments, tokenizer: tokenizer)
            }
            flat = segments.map(\.text).joined()
            if ids.isEmpty { ids = [tokenizer.special.bos ?? 0] }
            try generator.start(prompt: ids, reserve: maxNewTokens)
            turn.restarted = true
            turn.promptTokens = min(ids.count, T)
            if ids.count > T { flat = "\u{0}" }  // the cache holds a cropped prompt: no text prefix to reuse
        }
        cachedText = flat
        turn.reply = try reply(maxNewTokens: maxNewTokens, turn: &turn, onText: onText)
        // The plain template renders "assistant: " + content after prompting with "assistant:", so
        // the reply's own leading space is the one the template adds.
        let content = template.isDefault && turn.reply.hasPrefix(" ") ? String(turn.reply.dropFirst()) : turn.reply
        messages.append(ChatMessage(role: "assistant", content: content))
        return turn
    }

    private func render() throws(ChatTemplateError) -> [ChatSegment] {
        let s = tokenizer.special
        func text(_ id: Int?) -> String { id.flatMap { try? tokenizer.tokenBytes($0) }.map { String(decoding: $0, as: UTF8.self) } ?? "" }
        return try template.render(messages: messages, addGenerationPrompt: true, bosToken: text(s.bos), eosToken: text(s.eos))
    }

    /// Samples the reply; every token kept is in the cache and its text in `cachedText`.
    private func reply(maxNewTokens: Int, turn: inout Turn, onText: (String) -> Void) throws -> String {
        let T = generator.model.config.contextLength, eos = tokenizer.special.eos
        var decoder = StreamingDecoder()
        var reply = "", drawn = 0
        while drawn < maxNewTokens {
            let next = generator.tokens.withUnsafeBufferPointer { sampler.sample(generator.logits, recent: $0) }
            drawn += 1
            if next == eos { break }
            var text = decoder.push(generation.pieceBytes(next))
            if template.isDefault, let nl = text.firstIndex(of: "\n") {
                // The plain template ends each message at a newline: the reply ends there.
                text = String(text[..<nl])
                reply += text
                onText(text)
                return reply
            }
            reply += text
            onText(text)
            if generator.tokens.count >= T {
                turn.contextFull = true
                cachedText = "\u{0}"  // the last token is not in the cache
                break
            }
            try generator.append(next)
            cachedText += text
        }
        let rest = decoder.flush()
        if !rest.isEmpty && !(template.isDefault && rest.contains("\n")) {
            reply += rest
            onText(rest)
            cachedText += rest
        }
        return reply
    }
}

extension ChatSegment {
    /// `segments` without their first `count` characters.
    static func drop(_ count: Int, from segments: [ChatSegment]) -> [ChatSegment] {
        var left = count
        var out: [ChatSegment] = []
        for s in segments {
            let n = s.text.count
            if left >= n { left -= n; continue }
            out.append(ChatSegment(text: String(s.text.dropFirst(left)), trusted: s.trusted))
            left = 0
        }
        return out
    }
}
