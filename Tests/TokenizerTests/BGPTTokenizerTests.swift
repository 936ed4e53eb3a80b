import BitGPT
import Foundation
import Testing

@Suite("Tokenizer in a .bgpt file")
struct BGPTTokenizerTests {
    @Test("a section written into a .bgpt file is read back by TokenizerFiles and the factory with the same ids")
    func fileRoundTrip() throws {
        let dir = TestStrings.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let sections: [TokenizerSection] = [
            try SmallBPE.section(),
            try TokenizerFiles.char(itos: Array(Set(SmallBPE.corpus.unicodeScalars)).map { String($0) }.sorted()),
            TokenizerSection(kind: .bytes, eosId: 10),
        ]
        for (n, s) in sections.enumerated() {
            let path = dir + "/m\(n).bgpt"
            let vocab = max(256, s.tokens.count) + 8  // padded embedding, as nanoGPT's 50304
            let config = ModelConfig(architecture: .llama, vocabSize: vocab, contextLength: 16, dim: 16, nLayers: 1, nHeads: 2)
            try RandomModel.write(config: config, to: path, linearType: .t2, seed: 1, extra: s.toMetadata())
            let loaded = try TokenizerFiles.load([path])
            #expect(loaded == s)
            let file = try BGPTFile(path: path)
            let t = try TokenizerFactory.make(metadata: file.metadata, vocabSize: vocab)
            let direct = try TokenizerFactory.make(section: s)
            #expect(t.vocabSize == vocab)
            let text = "the lazy fox packs five trits. It's 2024."
            #expect(try t.encode(text) == direct.encode(text))
            #expect(try t.decode(t.encode(text)) == text)
            #expect(try t.decode([vocab - 1]) == "")  // padding id
            #expect(throws: TokenizerError.unknownId(vocab, vocabSize: vocab)) { try t.decode([vocab]) }
        }
    }
}
