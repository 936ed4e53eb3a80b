/// One message of a conversation.
public struct ChatMessage: Sendable, Equatable {
    /// `system`, `user`, `assistant` (any text; the template decides what it means).
    public var role: String
    /// The message text: ordinary text, never special tokens.
    public var content: String

    /// A message.
    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

/// A template that cannot be parsed or rendered; one line for the user.
public struct ChatTemplateError: Error, Equatable, CustomStringConvertible {
    /// What is wrong.
    public let description: String
    init(_ message: String) { description = "chat template: " + message }
}

/// A stretch of rendered text: the template's own (trusted: special-token text becomes the special
/// token) or from a message (ordinary text, encoded with ``Tokenizer/encodeOrdinary(_:)``).
public struct ChatSegment: Sendable, Equatable {
    /// The text.
    public var text: String
    /// Whether it comes from the template itself (literals, `bos_token`, `eos_token`).
    public var trusted: Bool

    /// A segment.
    public init(text: String, trusted: Bool) {
        self.text = text
        self.trusted = trusted
    }
}

/// A chat template: turns a conversation into the model's prompt (`formats/bgpt.md`, "Chat template").
///
/// The language is a subset of Jinja, enough for the common Hugging Face templates (ChatML,
/// Llama-2, Zephyr, Gemma): text; `{{ expr }}`; `{% for x in expr %}…{% endfor %}` with
/// `loop.index`, `loop.index0`, `loop.first`, `loop.last`, `loop.length`;
/// `{% if %}…{% elif %}…{% else %}…{% endif %}`; `{% set name = expr %}`; `{# comments #}`;
/// `-` whitespace control, with `trim_blocks` and `lstrip_blocks` on, as Hugging Face renders.
/// Expressions: string (`'…'`, `"…"`) and integer literals, `true`/`false`/`none`, names,
/// `a.b`, `a[i]`, `a[i:j]`, `+ - * % ~`, `== != < > <= >=`, `in`, `not in`, `and`, `or`, `not`,
/// `is (not) defined|undefined|none|string|true|false`, the filters `trim`, `length`, `upper`,
/// `lower`, the string methods `strip()`, `lstrip()`, `rstrip()`, `upper()`, `lower()`,
/// `startswith(s)`, `endswith(s)`, and `raise_exception(msg)`. Variables: `messages` (each with
/// `role` and `content`), `add_generation_prompt`, `bos_token`, `eos_token`. Anything else is a
/// one-line error when the template is loaded.
///
/// Rendering is bounded (hostile templates and messages): at most `maxOutputBytes` of output and
/// 200,000 evaluation steps; nesting is limited to 64 levels when parsing.
public struct ChatTemplate: Sendable {
    /// The metadata key that holds a model's template (a string).
    public static let metadataKey = "tokenizer.chat_template"
    /// Longest template accepted, in bytes.
    public static let maxSourceBytes = 256 << 10
    /// Evaluation steps one render may take.
    static let maxSteps = 200_000
    /// The plain default for models without a template: one line per message, `role: content`,
    /// and `assistant:` to prompt a reply, so that models trained on plain text can chat.
    public static let plainDefault = """
        {% for message in messages %}{{ message['role'] }}: {{ message['content'] }}
        {% endfor %}{% if add_generation_prompt %}assistant:{% endif %}
        """

    /// The template text.
    public let source: String
    /// Whether this is ``plainDefault`` because the model has no template.
    public let isDefault: Bool
    let nodes: [TemplateNode]

    /// Parses a template.
    /// - Parameter source: the template text.
    /// - Throws: ``ChatTemplateError`` naming the first construct outside the language.
    public init(source: String) throws(ChatTemplateError) {
        try self.init(source: source, isDefault: false)
    }

    private init(source: String, isDefault: Bool) throws(ChatTemplateError) {
        guard source.utf8.count <= ChatTemplate.maxSourceBytes else {
            throw ChatTemplateError("\(source.utf8.count) bytes, more than the \(ChatTemplate.maxSourceBytes) allowed")
        }
        self.source = source
        self.isDefault = isDefault
        nodes = try TemplateParser.parse(source)
    }

    /// The plain default template.
    public static var plain: ChatTemplate { try! ChatTemplate(source: plainDefault, isDefault: true) }

    /// The template stored in a model's metadata, or the plain default when there is none.
    /// - Throws: ``ChatTemplateError`` for a stored template that is not a string or does not parse.
    public static func forModel(_ metadata: Metadata) throws(ChatTemplateError) -> ChatTemplate {
        guard metadata.contains(metadataKey) else { return plain }
        guard let text = try? metadata.string(metadataKey) else { throw ChatTemplateError("\(metadataKey) is not a string") }
        return try ChatTemplate(source: text)
    }

    /// Renders a conversation.
    ///
    /// - Parameters:
    ///   - messages: the conversation so far.
    ///   - addGenerationPrompt: whether to end with the text that starts the assistant's reply.
    ///   - bosToken: the text of the bos token ("" when none).
    ///   - eosToken: the text of the eos token ("" when none).
    ///   - maxOutputBytes: the most output allowed.
    /// - Returns: the text in segments, template text apart from message text.
    /// - Throws: ``ChatTemplateError`` (a type error, `raise_exception`, or a limit).
    public func render(messages: [ChatMessage], addGenerationPrompt: Bool, bosToken: String = "", eosToken: String = "",
                       maxOutputBytes: Int = 1 << 20) throws(ChatTemplateError) -> [ChatSegment] {
        var r = TemplateRenderer(maxOutput: maxOutputBytes)
        let list = messages.map { m in
            TemplateValue.dict(["role": .string([ChatSegment(text: m.role, trusted: false)]),
                                "content": .string([ChatSegment(text: m.content, trusted: false)])])
        }
        r.scopes = [["messages": .list(list), "add_generation_prompt": .bool(addGenerationPrompt),
                     "bos_token": .string([ChatSegment(text: bosToken, trusted: true)]),
                     "eos_token": .string([ChatSegment(text: eosToken, trusted: true)])]]
        try r.run(nodes)
        return r.output
    }

    /// The rendered conversation as token ids: template text through
    /// ``Tokenizer/encodeTemplateText(_:)`` (special-token text becomes the token), message text
    /// through ``Tokenizer/encodeOrdinary(_:)`` (never a special token).
    /// - Throws: ``ChatTemplateError`` or ``TokenizerError``.
    public func encode(messages: [ChatMessage], addGenerationPrompt: Bool, tokenizer: any Tokenizer) throws -> [Int] {
        let s = tokenizer.special
        func text(_ id: Int?) -> String { id.flatMap { try? tokenizer.tokenBytes($0) }.map { String(decoding: $0, as: UTF8.self) } ?? "" }
        let segments = try render(messages: messages, addGenerationPrompt: addGenerationPrompt, bosToken: text(s.bos), eosToken: text(s.eos))
        return try ChatTemplate.encode(segments, tokenizer: tokenizer)
    }

    /// Token ids of rendered segments (see ``encode(messages:addGenerationPrompt:tokenizer:)``).
    /// - Throws: ``TokenizerError``.
    public static func encode(_ segments: [ChatSegment], tokenizer: any Tokenizer) throws(TokenizerError) -> [Int] {
        var ids: [Int] = []
        for seg in segments {
            ids += seg.trusted ? try tokenizer.encodeTemplateText(seg.text) : try tokenizer.encodeOrdinary(seg.text)
        }
        return ids
    }
}
