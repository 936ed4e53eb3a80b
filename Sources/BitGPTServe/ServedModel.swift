import BitGPT
import Foundation

/// The model a server answers with: its weights, tokenizer, name and limits.
///
/// The transformer is used only by the ``Scheduler``'s thread; the tokenizer is thread-safe.
public final class ServedModel: @unchecked Sendable {
    /// The name clients use (`model` in requests): the file name without `.bgpt`.
    public let id: String
    /// The weights.
    public let transformer: Transformer
    /// The tokenizer.
    public let tokenizer: any Tokenizer
    /// Text rules shared with `lm-run` (hidden special tokens, eos).
    public let generation: TextGeneration
    /// The model's chat template (`tokenizer.chat_template`), or the plain default.
    public let chatTemplate: ChatTemplate
    /// Tokens per request, prompt and completion together (`--ctx-size`).
    public let contextLength: Int
    /// Vocabulary size.
    public var vocabSize: Int { transformer.config.vocabSize }
    /// When the file was loaded (`created` of `/v1/models`).
    public let created = Int(Date().timeIntervalSince1970)

    /// Opens and checks a model file.
    ///
    /// - Parameters:
    ///   - path: the .bgpt file.
    ///   - ctxSize: `--ctx-size` (nil: the model's context length). A larger value lets generation
    ///     run past the context, re-running the last `context_length` tokens as `lm-run` does.
    /// - Throws: an error whose description says what is wrong with the file.
    public init(path: String, ctxSize: Int?) throws {
        let file = try BGPTFile(path: path)
        transformer = try Transformer(file: file)
        tokenizer = try TokenizerFactory.make(metadata: file.metadata, vocabSize: transformer.config.vocabSize)
        generation = TextGeneration(tokenizer: tokenizer)
        chatTemplate = try ChatTemplate.forModel(file.metadata)
        contextLength = ctxSize ?? transformer.config.contextLength
        var name = URL(fileURLWithPath: path).lastPathComponent
        if name.hasSuffix(".bgpt") { name.removeLast(5) }
        id = name
    }

    /// Whether a request's `model` names this model (its id, or the file name).
    func answers(to name: String) -> Bool { name == id || name == id + ".bgpt" }

    /// The token ids of request text, encoded as ordinary text: the text of a special token
    /// (`<|endoftext|>`, `</s>`) stays text, never a special or control id.
    func encodeText(_ text: String, field: String) throws(APIError) -> [Int] {
        let ids: [Int]
        do { ids = try tokenizer.encodeOrdinary(text) } catch { throw .badField(field, "cannot be tokenized: \(error)") }
        if let bad = ids.first(where: { $0 < 0 || $0 >= vocabSize }) {
            throw .badField(field, "encodes to token \(bad), outside the model's vocabulary of \(vocabSize)")
        }
        return ids
    }

    /// The token ids of a chat: the messages rendered with the model's chat template, ending with
    /// the start of the assistant's reply. Message text stays ordinary text (no special tokens).
    func renderChat(_ messages: [ChatMessage]) throws(APIError) -> [Int] {
        let ids: [Int]
        do { ids = try chatTemplate.encode(messages: messages, addGenerationPrompt: true, tokenizer: tokenizer) } catch {
            throw .badField("messages", "cannot be rendered with the model's chat template: \(error)")
        }
        guard !ids.isEmpty else { throw .badField("messages", "the chat template renders them as no tokens") }
        if let bad = ids.first(where: { $0 < 0 || $0 >= vocabSize }) {
            throw .badField("messages", "encode to token \(bad), outside the model's vocabulary of \(vocabSize)")
        }
        return ids
    }
}
