import BitGPT
import BitGPTCLI
import Foundation
import Testing

/// lm-inspect's report names the chat template when the file has one.
@Suite("lm-inspect chat template")
struct InspectChatTemplateTests {
    @Test("the report shows the template's size and start; nothing without one")
    func shown() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bitgpt-inspect-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let c = ModelConfig(architecture: .gpt2, vocabSize: 256, contextLength: 8, dim: 8, nLayers: 1, nHeads: 2)
        var extra = RandomModel.byteTokenizer
        let template = String(repeating: "{{ message['content'] }}", count: 4)
        extra.set(ChatTemplate.metadataKey, .string(template))
        try RandomModel.write(config: c, to: dir + "/a.bgpt", linearType: .t2, seed: 1, extra: extra)
        try RandomModel.write(config: c, to: dir + "/b.bgpt", linearType: .t2, seed: 1, extra: RandomModel.byteTokenizer)
        let a = InspectReport(file: try BGPTFile(path: dir + "/a.bgpt"), path: "a.bgpt").text()
        #expect(a.contains("chat template: \(template.utf8.count) bytes, \"\(template.prefix(60))\"…\n"))
        let b = InspectReport(file: try BGPTFile(path: dir + "/b.bgpt"), path: "b.bgpt").text()
        #expect(!b.contains("chat template"))
    }
}
