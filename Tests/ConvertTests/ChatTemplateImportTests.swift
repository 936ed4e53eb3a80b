import BitGPT
import BitGPTConvert
import Foundation
import Testing

/// lm-convert carries `chat_template` from a `tokenizer_config.json` beside the checkpoint.
@Suite("chat template import")
struct ChatTemplateImportTests {
    static let chatML = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n'}}{% endfor %}"

    /// Converts the llama2.c safetensors fixture from a folder holding `config` as tokenizer_config.json (if any).
    static func convert(config: Any?) throws -> (BGPTFile, Converter.Summary) {
        let dir = TestFiles.tempDir()
        let src = dir + "/model.safetensors"
        try FileManager.default.copyItem(atPath: TestFiles.fixtures + "/llama2c_st.safetensors", toPath: src)
        if let config {
            TestFiles.write(Array(try JSONSerialization.data(withJSONObject: config)), to: dir + "/tokenizer_config.json")
        }
        let summary = try Converter.convert(input: src, output: dir + "/out.bgpt")
        return (try BGPTFile(path: dir + "/out.bgpt"), summary)
    }

    @Test("a string chat_template is stored under tokenizer.chat_template and parses")
    func string() throws {
        let (file, summary) = try Self.convert(config: ["chat_template": Self.chatML, "bos_token": "<s>"])
        #expect(try file.metadata.string(ChatTemplate.metadataKey) == Self.chatML)
        #expect(summary.notes.contains { $0.contains("chat template carried over") })
        let t = try ChatTemplate.forModel(file.metadata)
        #expect(!t.isDefault)
        #expect(try t.render(messages: [ChatMessage(role: "user", content: "hi")], addGenerationPrompt: false).map(\.text).joined()
                == "<|im_start|>user\nhi<|im_end|>\n")
    }

    @Test("a list of named templates gives the one named default")
    func list() throws {
        let (file, _) = try Self.convert(config: ["chat_template": [["name": "tool_use", "template": "x"], ["name": "default", "template": Self.chatML]]])
        #expect(try file.metadata.string(ChatTemplate.metadataKey) == Self.chatML)
    }

    @Test("no config, or one without a template: no key, and chat falls back to the plain default")
    func absent() throws {
        for config in [nil, ["bos_token": "<s>"] as Any, ["chat_template": NSNull()] as Any] {
            let (file, _) = try Self.convert(config: config)
            #expect(!file.metadata.contains(ChatTemplate.metadataKey))
            #expect(try ChatTemplate.forModel(file.metadata).isDefault)
        }
    }

    @Test("a malformed chat_template is a clear error; one outside the language is kept with a note")
    func malformed() throws {
        #expect(throws: ConvertError.self) { try Self.convert(config: ["chat_template": 3]) }
        #expect(throws: ConvertError.self) { try Self.convert(config: ["chat_template": [["name": "default"]]]) }
        let (file, summary) = try Self.convert(config: ["chat_template": "{% macro m() %}{% endmacro %}"])
        #expect(file.metadata.contains(ChatTemplate.metadataKey))
        #expect(summary.notes.contains { $0.contains("outside the runtime's template language") })
    }
}
