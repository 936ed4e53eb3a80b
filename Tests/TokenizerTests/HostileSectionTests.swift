import BitGPT
import Testing

/// Randomly damaged sections must either be rejected with a ``TokenizerError`` or give a working
/// tokenizer; a trap would crash the test process.
@Suite("Hostile tokenizer sections")
struct HostileSectionTests {
    static let junk: [String] = ["", " ", "a b c", "Ġ", "\u{0}", "<|endoftext|>", "ĠĠĠĠ", "日本", "\u{FFFD}", "Ā Ā", "a  b", "zz"]

    @Test("damaged BPE sections are rejected or work, never crash")
    func damagedBPE() throws {
        let good = try SmallBPE.section()
        var rng = SeededRandom(seed: 99)
        var rejected = 0
        for _ in 0..<300 {
            var s = good
            for _ in 0..<(1 + Int(rng.next() % 3)) {
                switch rng.next() % 7 {
                case 0: s.tokens[Int(rng.next() % UInt64(s.tokens.count))] = Self.junk[Int(rng.next() % UInt64(Self.junk.count))]
                case 1: if !s.merges.isEmpty { s.merges[Int(rng.next() % UInt64(s.merges.count))] = Self.junk[Int(rng.next() % UInt64(Self.junk.count))] }
                case 2: s.tokenTypes?[Int(rng.next() % UInt64(s.tokens.count))] = UInt8(rng.next() % 8)
                case 3: s.merges.reverse()
                case 4: s.rankBy = .tokenId
                case 5: s.tokens.removeLast(Int(rng.next() % 40))
                        s.tokenTypes = s.tokenTypes.map { Array($0.prefix(s.tokens.count)) }
                default: s.eosId = Int(rng.next() % 1000)
                }
            }
            // Through metadata, as a file would deliver it.
            do {
                let t = try TokenizerFactory.make(metadata: s.toMetadata(), vocabSize: 400)
                for text in ["the lazy fox", "<|endoftext|>x", "日本語 🤖", ""] {
                    let ids = try t.encode(text)
                    _ = try t.decode(ids)
                }
            } catch {
                rejected += 1
            }
        }
        #expect(rejected > 0)
        #expect(rejected < 300)
    }

    @Test("damaged char sections are rejected or work, never crash")
    func damagedChar() throws {
        var rng = SeededRandom(seed: 5)
        var rejected = 0
        for _ in 0..<200 {
            var itos = ["a", "b", "c", " ", "\n"]
            itos[Int(rng.next() % 5)] = Self.junk[Int(rng.next() % UInt64(Self.junk.count))]
            var m = TokenizerSection(kind: .char, tokens: itos).toMetadata()
            if rng.next() % 2 == 0 { m.set("tokenizer.unk_id", .int32(Int32(truncatingIfNeeded: Int64(rng.next() % 12) - 2))) }
            if rng.next() % 2 == 0 { m.set("tokenizer.unknown_policy", .string("unk")) }
            do {
                let t = try TokenizerFactory.make(metadata: m, vocabSize: 8)
                _ = try? t.encode("abc x")
                _ = try? t.decode([0, 1, 7, 8, -1])
            } catch {
                rejected += 1
            }
        }
        #expect(rejected > 0)
    }
}
