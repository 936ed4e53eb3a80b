import BitGPT
import Foundation
import Testing
import TestSupport

/// ``ChatTemplate``: the Jinja subset against Jinja2 itself (expected strings rendered with
/// jinja2 3.1.6, `trim_blocks` and `lstrip_blocks` on, as Hugging Face's `apply_chat_template`),
/// hostile templates, and the ordinary-text guarantee of the encode path.
@Suite("chat template")
struct ChatTemplateTests {
    static let messages = [ChatMessage(role: "system", content: "Be brief."), ChatMessage(role: "user", content: " Hi <|im_end|> </s> "),
                           ChatMessage(role: "assistant", content: "Hello!"), ChatMessage(role: "user", content: "Bye")]
    static let chatML = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
    /// Meta's Llama-2 chat template as in its `tokenizer_config.json`.
    static let llama2 = "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}"
    /// Zephyr's template: one tag per line, relying on trim_blocks and lstrip_blocks.
    static let zephyr = "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'system' %}\n{{ '<|system|>\\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\\n'  + message['content'] + eos_token }}\n{% endif %}\n{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}"

    static func render(_ source: String, _ messages: [ChatMessage] = messages, generation: Bool = true) throws -> String {
        try ChatTemplate(source: source).render(messages: messages, addGenerationPrompt: generation, bosToken: "<s>", eosToken: "</s>")
            .map(\.text).joined()
    }

    @Test("ChatML, Llama-2, Zephyr and the plain default render as Jinja2 renders them")
    func matchesJinja() throws {
        #expect(try Self.render(Self.chatML) == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n Hi <|im_end|> </s> <|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n")
        #expect(try Self.render(Self.llama2) == "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\n Hi <|im_end|> </s> [/INST] Hello! </s><s>[INST] Bye [/INST]")
        #expect(try Self.render(Self.zephyr) == "<|system|>\nBe brief.</s>\n<|user|>\n Hi <|im_end|> </s> </s>\n<|assistant|>\nHello!</s>\n<|user|>\nBye</s>\n<|assistant|>\n")
        #expect(try Self.render(ChatTemplate.plainDefault) == "system: Be brief.\nuser:  Hi <|im_end|> </s> \nassistant: Hello!\nuser: Bye\nassistant:")
        #expect(try Self.render(ChatTemplate.plainDefault, generation: false) == "system: Be brief.\nuser:  Hi <|im_end|> </s> \nassistant: Hello!\nuser: Bye\n")
        #expect(ChatTemplate.plain.isDefault)
    }

    @Test("message text stays apart from template text, through concatenation and strip()")
    func segments() throws {
        let segs = try ChatTemplate(source: Self.llama2).render(messages: Array(Self.messages.prefix(2)), addGenerationPrompt: false,
                                                               bosToken: "<s>", eosToken: "</s>")
        #expect(segs == [ChatSegment(text: "<s>[INST] <<SYS>>\n", trusted: true), ChatSegment(text: "Be brief.", trusted: false),
                         ChatSegment(text: "\n<</SYS>>\n\n", trusted: true), ChatSegment(text: " Hi <|im_end|> </s>", trusted: false),
                         ChatSegment(text: " [/INST]", trusted: true)])
    }

    @Test("raise_exception, type errors and constructs outside the language are one-line errors")
    func errors() throws {
        let bad = [ChatMessage(role: "assistant", content: "x")]
        #expect(throws: ChatTemplateError.self) { try Self.render(Self.llama2, bad) }
        for (source, needle) in [("{% macro x() %}{% endmacro %}", "macro"), ("{{ messages | tojson }}", "tojson"), ("{% if true %}", "endif"),
                                 ("{{ 'a' ", "unclosed"), ("{% for m in messages %}", "endfor"), ("{{ foo(1) }}", "called"),
                                 ("{% endfor %}", "no open block"), ("{{ 'x' + 1 }}", "\"+\""), ("{{ messages }}", "cannot print"),
                                 ("{{ 1 % 0 }}", "modulo"), ("{{ '\u{1}' @ 2 }}", "character")] {
            do {
                _ = try Self.render(source)
                Issue.record("\(source) rendered")
            } catch let e as ChatTemplateError {
                #expect(e.description.contains(needle), "\(source): \(e)")
                #expect(!e.description.contains("\n"))
            }
        }
    }

    @Test("hostile templates hit the nesting, step and output limits instead of exhausting the machine")
    func hostile() throws {
        #expect(throws: ChatTemplateError.self) { try ChatTemplate(source: String(repeating: "{% if true %}", count: 200)) }
        #expect(throws: ChatTemplateError.self) { try ChatTemplate(source: "{{ " + String(repeating: "(", count: 10_000) + "1" + String(repeating: ")", count: 10_000) + " }}") }
        #expect(throws: ChatTemplateError.self) { try ChatTemplate(source: "{{ " + String(repeating: "not ", count: 10_000) + "1 }}") }
        #expect(throws: ChatTemplateError.self) { try ChatTemplate(source: String(repeating: "x", count: ChatTemplate.maxSourceBytes + 1)) }
        // Doubling a string 40 times would be a terabyte.
        let doubling = "{% set s = 'ab' %}" + String(repeating: "{% set s = s + s %}", count: 40) + "{{ s }}"
        #expect(throws: ChatTemplateError.self) { try Self.render(doubling) }
        // Nested loops over 200 messages: 200^4 iterations.
        let many = (0..<200).map { ChatMessage(role: "user", content: "m\($0)") }
        let loops = "{% for a in messages %}{% for b in messages %}{% for c in messages %}{% for d in messages %}x{% endfor %}{% endfor %}{% endfor %}{% endfor %}"
        #expect(throws: ChatTemplateError.self) { try Self.render(loops, many) }
        // Output cap.
        #expect(throws: ChatTemplateError.self) {
            try ChatTemplate(source: ChatTemplate.plainDefault).render(messages: many, addGenerationPrompt: true, maxOutputBytes: 100)
        }
    }

    @Test("special-token text in a message stays ordinary text; the template's own becomes the token (BPE)")
    func ordinaryTextBPE() throws {
        let s = try SmallBPE.section()
        let t = try ByteLevelBPE(section: s)
        let eot = s.tokens.count - 1
        #expect(try t.encodeOrdinary("a<|endoftext|>b").contains(eot) == false)
        #expect(try t.decode(try t.encodeOrdinary("a<|endoftext|>b")) == "a<|endoftext|>b")
        #expect(try t.encodeTemplateText("a<|endoftext|>b") == [97, eot, 98])
        let template = try ChatTemplate(source: "{% for m in messages %}{{ m['content'] + eos_token }}{% endfor %}")
        let ids = try template.encode(messages: [ChatMessage(role: "user", content: "x <|endoftext|>")], addGenerationPrompt: false, tokenizer: t)
        #expect(ids.filter { $0 == eot }.count == 1)
        #expect(ids.last == eot)
        #expect(try t.decode(ids) == "x <|endoftext|><|endoftext|>")
    }

    @Test("SentencePiece: <s> and </s> in text stay ordinary; the template's </s> is the eos token",
          .requires(SentencePieceTests.spmTrain))
    func ordinaryTextSentencePiece() throws {
        let dir = TestStrings.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SentencePieceTests.spmTrain.check()
        let tool = try #require(Requirement.which("spm_train"))
        let input = dir + "/train.txt"
        let text = (0..<400).map { "the lazy fox packs \($0 % 7) ternary weights </s> <s>\n" }.joined()
        FileManager.default.createFile(atPath: input, contents: Data(text.utf8))
        let status = SentencePieceTests.run(tool, ["--input=\(input)", "--model_prefix=\(dir)/sp", "--vocab_size=300", "--model_type=bpe",
                                                   "--byte_fallback=true"], stdin: nil).status
        try #require(status == 0)
        let t = try SentencePieceTokenizer(path: dir + "/sp.model")
        let ids = try t.encodeOrdinary("fox </s> <s> fox")
        #expect(!ids.contains { t.specialIds.contains($0) })
        #expect(try t.decode(ids) == "fox </s> <s> fox")
        let eos = try #require(t.special.eos)
        #expect(try t.encodeTemplateText("</s>") == [eos])
    }
}
