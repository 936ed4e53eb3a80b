import BitGPT
@testable import BitGPTServe
import Foundation
import TestSupport
import Testing

/// Request text is ordinary text: on a byte-level BPE model whose eos is `<|endoftext|>`, that
/// text in a prompt or a chat message stays bytes; only the chat template's own text and explicit
/// token ids carry the special token.
@Suite("lm-serve special tokens")
struct ServedModelTests {
    static let eos = 256

    /// A random llama model with a byte-level BPE of the 256 bytes plus `<|endoftext|>` (control,
    /// eos) and a chat template that puts that token before each message.
    static func model(in dir: TemporaryDirectory) throws -> ServedModel {
        var names = (0..<256).map { ByteLevelAlphabet.encode([UInt8($0)]) }
        names.append("<|endoftext|>")
        var types = [UInt8](repeating: 1, count: names.count)
        types[eos] = 3
        let section = TokenizerSection(kind: .bpe, tokens: names, tokenTypes: types, merges: [], prePattern: PreTokenizer.gpt2Pattern,
                                       eosId: eos)
        var meta = Metadata()
        section.write(into: &meta)
        meta.set(ChatTemplate.metadataKey, .string("{% for m in messages %}<|endoftext|>{{ m['content'] }}{% endfor %}"))
        let path = dir.file("bpe.bgpt")
        let config = ModelConfig(architecture: .llama, vocabSize: 264, contextLength: 32, dim: 16, nLayers: 1, nHeads: 2)
        try RandomModel.write(config: config, to: path, linearType: .t2, seed: 3, extra: meta)
        return try ServedModel(path: path, ctxSize: nil)
    }

    func parse(_ json: String, _ kind: GenerationRequest.Kind, _ m: ServedModel) throws -> GenerationRequest {
        try GenerationRequest.parse(Array(json.utf8), kind: kind, model: m, config: ServerConfiguration(modelPath: "bpe.bgpt"))
    }

    @Test("special-token text in prompts and messages stays text; ids and the template carry the token")
    func specialText() throws {
        let dir = try TemporaryDirectory()
        let m = try Self.model(in: dir)
        let bytes = Array("a<|endoftext|>b".utf8).map(Int.init)
        // The tokenizer itself would read the text as the token (lm-run's prompt behaviour).
        #expect(try m.tokenizer.encode("a<|endoftext|>b").contains(Self.eos))
        #expect(try m.encodeText("a<|endoftext|>b", field: "prompt") == bytes)
        #expect(try parse(#"{"prompt": "a<|endoftext|>b"}"#, .completion, m).prompt == bytes)
        #expect(try parse(#"{"prompt": [97, 256]}"#, .completion, m).prompt == [97, Self.eos])
        let chat = try parse(#"{"messages": [{"role": "user", "content": "a<|endoftext|>b"}]}"#, .chat, m)
        #expect(chat.prompt == [Self.eos] + bytes)
        #expect(try parse(#"{"prompt": "x", "seed": 18446744073709551615, "max_tokens": 31}"#, .completion, m).sampling.seed == UInt64.max)
        #expect(throws: APIError.badField("max_tokens", "32 tokens with a prompt of 1 exceed --ctx-size 32")) {
            try parse(#"{"prompt": "x", "max_tokens": 32}"#, .completion, m)
        }
    }
}
