import BitGPT
import Testing

@Suite("TokenizerSection")
struct TokenizerSectionTests {
    @Test("each kind written to metadata and read back is equal and gives the same ids")
    func roundTrip() throws {
        let sections: [TokenizerSection] = [
            TokenizerSection(kind: .bytes, eosId: 0),
            TokenizerSection(kind: .char, tokens: ["\n", " ", "a", "b", "é", "?"], unkId: 5, unknownPolicy: .unk),
            try SmallBPE.section(),
        ]
        for s in sections {
            let m = s.toMetadata()
            let back = try TokenizerSection(metadata: m, vocabSize: max(256, s.tokens.count))
            #expect(back == s)
            let t1 = try TokenizerFactory.make(section: s)
            let t2 = try TokenizerFactory.make(metadata: m, vocabSize: max(256, s.tokens.count))
            for text in ["ab a\nb", "", "bab é"] {
                #expect(try t1.encode(text) == t2.encode(text))
            }
        }
    }

    @Test("write(into:) replaces an earlier tokenizer section and keeps other keys")
    func replaces() throws {
        var m = Metadata()
        m.set("general.name", .string("x"))
        TokenizerSection(kind: .char, tokens: ["a"]).write(into: &m)
        TokenizerSection(kind: .bytes).write(into: &m)
        #expect(m["general.name"] == .string("x"))
        #expect(m["tokenizer.tokens"] == nil)
        #expect(try TokenizerSection(metadata: m).kind == .bytes)
    }

    @Test("malformed sections are errors naming the key")
    func malformed() {
        func expectInvalid(_ m: Metadata, _ fragment: String, vocab: Int? = nil) {
            do {
                _ = try TokenizerSection(metadata: m, vocabSize: vocab)
                Issue.record("expected an error containing \(fragment)")
            } catch {
                #expect(error.description.contains(fragment), "\(error)")
            }
        }
        var m = Metadata()
        expectInvalid(m, "no tokenizer section")
        m.set("tokenizer.kind", .uint32(3))
        expectInvalid(m, "tokenizer.kind is u32")
        m.set("tokenizer.kind", .string("wordpiece"))
        expectInvalid(m, "wordpiece")
        m.set("tokenizer.kind", .string("char"))
        expectInvalid(m, "needs tokenizer.tokens")
        m.set("tokenizer.tokens", .array(.string(["a", "b"])))
        m.set("tokenizer.scores", .array(.float32([0])))
        expectInvalid(m, "tokenizer.scores has 1")
        m.remove("tokenizer.scores")
        m.set("tokenizer.token_types", .array(.uint8([1, 9])))
        expectInvalid(m, "token_types[1] = 9")
        m.remove("tokenizer.token_types")
        m.set("tokenizer.eos_id", .int32(7))
        expectInvalid(m, "tokenizer.eos_id = 7", vocab: 4)
        m.set("tokenizer.eos_id", .string("1"))
        expectInvalid(m, "tokenizer.eos_id is string")
        m.remove("tokenizer.eos_id")
        m.set("tokenizer.unknown_policy", .string("unk"))
        expectInvalid(m, "no tokenizer.unk_id")
        m.set("tokenizer.unknown_policy", .string("skip"))
        expectInvalid(m, "\"skip\"")
        m.remove("tokenizer.unknown_policy")
        expectInvalid(m, "more than model.vocab_size", vocab: 1)
        var b = Metadata()
        b.set("tokenizer.kind", .string("bpe"))
        b.set("tokenizer.tokens", .array(.string(["a"])))
        expectInvalid(b, "pre_pattern")
        b.set("tokenizer.pre_pattern", .string(PreTokenizer.gpt2Pattern))
        expectInvalid(b, "needs tokenizer.merges")
        var s = Metadata()
        s.set("tokenizer.kind", .string("sentencepiece"))
        expectInvalid(s, "tokenizer.sentencepiece.model")
    }

    @Test("a bytes section rejects a model vocabulary under 256")
    func bytesTooSmall() {
        #expect(throws: TokenizerError.self) { try TokenizerFactory.make(section: TokenizerSection(kind: .bytes), vocabSize: 100) }
    }
}
