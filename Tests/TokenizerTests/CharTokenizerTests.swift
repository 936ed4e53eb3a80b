import BitGPT
import Testing

@Suite("CharTokenizer")
struct CharTokenizerTests {
    /// nanoGPT's shakespeare_char vocabulary shape: sorted(set(text)).
    static let itos = Array(Set("First Citizen:\nBefore we proceed any further, hear me speak.")).map(String.init).sorted()

    @Test("encode is the itos index of each character and decode inverts it")
    func roundTrip() throws {
        let t = try CharTokenizer(itos: Self.itos)
        let text = "hear me speak, Citizen"
        let ids = try t.encode(text)
        #expect(ids == text.map { c in Self.itos.firstIndex(of: String(c)) ?? -1 })
        #expect(try t.decode(ids) == text)
    }

    @Test("an unknown character is an error naming it under the error policy, unk under the unk policy")
    func unknown() throws {
        let t = try CharTokenizer(itos: ["a", "b", "?"])
        do {
            _ = try t.encode("abz")
            Issue.record("expected an error")
        } catch {
            #expect(error == .cannotEncode("character U+7A at position 2 is not in the vocabulary"))
        }
        let u = try CharTokenizer(itos: ["a", "b", "?"], unknownPolicy: .unk, special: SpecialTokens(unk: 2))
        #expect(try u.encode("azb") == [0, 2, 1])
    }

    @Test("characters are Unicode scalars, as Python iterates strings")
    func scalars() throws {
        let t = try CharTokenizer(itos: ["e", "\u{301}", "🤖"])
        #expect(try t.encode("e\u{301}🤖") == [0, 1, 2])
    }

    @Test("decoding an id outside the vocabulary is an error; padding ids decode to nothing")
    func badIds() throws {
        let t = try CharTokenizer(itos: ["a", "b"], vocabSize: 4)
        #expect(throws: TokenizerError.unknownId(4, vocabSize: 4)) { try t.decode([0, 4]) }
        #expect(throws: TokenizerError.unknownId(-1, vocabSize: 4)) { try t.decode([-1]) }
        #expect(try t.decode([0, 3, 1]) == "ab")
    }

    @Test("a corrupted vocabulary is an error, not a crash")
    func corrupted() {
        #expect(throws: TokenizerError.self) { try CharTokenizer(itos: []) }
        #expect(throws: TokenizerError.self) { try CharTokenizer(itos: ["a", "a"]) }
        #expect(throws: TokenizerError.self) { try CharTokenizer(itos: ["ab"]) }
        #expect(throws: TokenizerError.self) { try CharTokenizer(itos: [""]) }
        #expect(throws: TokenizerError.self) { try CharTokenizer(itos: ["a"], unknownPolicy: .unk) }
        #expect(throws: TokenizerError.self) { try CharTokenizer(itos: ["a", "b"], vocabSize: 1) }
    }

    @Test("the bytes tokenizer maps each UTF-8 byte to its value")
    func bytes() throws {
        let t = ByteTokenizer(vocabSize: 260)
        #expect(try t.encode("é!") == [0xC3, 0xA9, 0x21])
        #expect(try t.decode([0xC3, 0xA9, 257]) == "é")
        #expect(throws: TokenizerError.unknownId(260, vocabSize: 260)) { try t.tokenBytes(260) }
    }
}
