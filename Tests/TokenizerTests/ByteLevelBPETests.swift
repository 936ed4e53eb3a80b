@testable import BitGPT
import Foundation
import Testing

@Suite("ByteLevelBPE")
struct ByteLevelBPETests {
    @Test("bytes_to_unicode matches GPT-2's samples and inverts")
    func alphabet() {
        let a = ByteLevelAlphabet.scalarOfByte
        #expect(a[0] == 0x100 && a[9] == 0x109 && a[10] == 0x10A && a[32] == 0x120 && a[127] == 0x121)
        #expect(a[33] == 33 && a[0xA1] == 0xA1 && a[0xAD] == 0x143)
        let all = (0..<256).map { UInt8($0) }
        #expect(ByteLevelAlphabet.decode(ByteLevelAlphabet.encode(all)) == all)
        #expect(ByteLevelAlphabet.decode("a\u{200}") == nil)
    }

    /// Strings on which ICU's `\s` (which lacks U+000B and U+0085) agrees with Unicode White_Space.
    static let icuComparable = TestStrings.battery().filter { !$0.unicodeScalars.contains { $0.value == 0x0B || $0.value == 0x85 || $0.value == 0x1C || $0.value == 0x1F } }

    @Test("hand-written pre-tokenizers cut exactly where ICU's regex engine does", arguments: [
        PreTokenizer.gpt2Pattern, PreTokenizer.r50kPattern, PreTokenizer.cl100kPattern, PreTokenizer.cl100kHFPattern,
    ])
    func preTokenizerMatchesRegex(pattern: String) throws {
        let native = try PreTokenizer(pattern: pattern)
        #expect(native.isNative)
        // Wrapping in a group makes the pattern unknown, so it runs on NSRegularExpression.
        let icu = try PreTokenizer(pattern: "(?:" + pattern + ")")
        #expect(!icu.isNative)
        for s in Self.icuComparable {
            #expect(native.pieces(s) == icu.pieces(s), "\(s.debugDescription)")
        }
    }

    @Test("GPT-2 pattern pieces of a known sentence")
    func gpt2Pieces() throws {
        let p = try PreTokenizer(pattern: PreTokenizer.gpt2Pattern)
        let s = "I've  got 12 apples!\n\n"
        let pieces = p.pieces(s).map { String(decoding: Array(s.utf8)[$0], as: UTF8.self) }
        #expect(pieces == ["I", "'ve", " ", " got", " 12", " apples", "!", "\n\n"])
    }

    @Test("encode equals GPT-2's reference algorithm on the battery, and decode inverts it")
    func matchesReference() throws {
        let s = try SmallBPE.section()
        let t = try ByteLevelBPE(section: s)
        for text in TestStrings.battery() {
            let ids = try t.encode(text, allowSpecial: false)
            #expect(ids == (try SmallBPE.referenceEncode(text, section: s)), "\(text.debugDescription)")
            #expect(try t.decode(ids) == text)
        }
        let corpusIds = try t.encode(SmallBPE.corpus)
        #expect(corpusIds == (try SmallBPE.referenceEncode(SmallBPE.corpus, section: s)))
        #expect(corpusIds.count * 3 < SmallBPE.corpus.utf8.count * 2, "\(corpusIds.count) ids for \(SmallBPE.corpus.utf8.count) bytes")
    }

    @Test("heap merging equals the quadratic reference on long pieces")
    func heapEqualsQuadratic() throws {
        let t = try ByteLevelBPE(section: SmallBPE.section())
        var rng = SeededRandom(seed: 3)
        let corpus = Array(SmallBPE.corpus.utf8)
        for _ in 0..<200 {
            let n = 2 + Int(rng.next() % 300)
            var piece: [UInt8] = []
            while piece.count < n {
                let at = Int(rng.next() % UInt64(corpus.count - 8))
                piece += corpus[at..<(at + 1 + Int(rng.next() % 6))]
            }
            let ids0 = piece.map { t.byteIds[Int($0)] }
            var a = ids0, b = ids0
            ByteLevelBPE.mergeQuadratic(&a, t.pairs)
            ByteLevelBPE.mergeHeap(&b, t.pairs)
            #expect(a == b)
        }
    }

    @Test("added tokens are single ids when allowed and plain text otherwise")
    func addedTokens() throws {
        let s = try SmallBPE.section()
        let t = try ByteLevelBPE(section: s)
        let eot = s.tokens.count - 1
        #expect(try t.encode("<|endoftext|>") == [eot])
        let mixed = try t.encode("a<|endoftext|>b")
        #expect(mixed == [97, eot, 98])
        let plain = try t.encode("<|endoftext|>", allowSpecial: false)
        #expect(!plain.contains(eot))
        #expect(try t.decode(plain) == "<|endoftext|>")
        #expect(t.special.control.contains(eot))
        #expect(t.special.eos == eot)
    }

    @Test("a very long word encodes and decodes")
    func longWord() throws {
        let t = try ByteLevelBPE(section: SmallBPE.section())
        let text = String(repeating: "the", count: 20_000)
        let ids = try t.encode(text)
        #expect(try t.decode(ids) == text)
        let short = String(repeating: "the", count: 300)
        #expect(try t.encode(short) == SmallBPE.referenceEncode(short, section: SmallBPE.section()))
    }

    @Test("a vocabulary missing a byte gives cannotEncode without unk")
    func missingByte() throws {
        var s = try SmallBPE.section()
        s.tokens[0x7A] = ByteLevelAlphabet.encode([0x7A, 0x7A, 0x7A, 0x7A])  // drop "z"
        s.merges = []
        let t = try ByteLevelBPE(section: s)
        #expect(throws: TokenizerError.self) { try t.encode("z") }
        #expect(throws: TokenizerError.unknownId(s.tokens.count, vocabSize: s.tokens.count)) { try t.decode([s.tokens.count]) }
    }

    @Test("bad sections are errors: non byte-level token, unknown merge, duplicate token, bad pattern")
    func badSections() throws {
        let good = try SmallBPE.section()
        var a = good
        a.tokens[5] = "a\u{300}"
        #expect(throws: TokenizerError.self) { try ByteLevelBPE(section: a) }
        var b = good
        b.merges.append("x qq")
        #expect(throws: TokenizerError.self) { try ByteLevelBPE(section: b) }
        var c = good
        c.merges.append("abc")
        #expect(throws: TokenizerError.self) { try ByteLevelBPE(section: c) }
        var d = good
        d.tokens[6] = d.tokens[5]
        #expect(throws: TokenizerError.self) { try ByteLevelBPE(section: d) }
        var e = good
        e.prePattern = "(unclosed"
        #expect(throws: TokenizerError.self) { try ByteLevelBPE(section: e) }
    }
}

