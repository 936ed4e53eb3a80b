import BitGPT
import Testing

@Suite("StreamingDecoder")
struct StreamingDecoderTests {
    @Test("a two-byte character split across tokens is emitted once complete")
    func splitTwoByte() {
        var d = StreamingDecoder()
        #expect(d.push([0x61, 0xC3]) == "a")
        #expect(d.hasPending)
        #expect(d.push([0xA9, 0x62]) == "éb")
        #expect(d.flush() == "")
    }

    @Test("an emoji split across four tokens comes out whole on the fourth")
    func emojiFourTokens() {
        var d = StreamingDecoder()
        let bytes = Array("🤖".utf8)
        #expect(bytes.count == 4)
        #expect(d.push([bytes[0]]) == "")
        #expect(d.push([bytes[1]]) == "")
        #expect(d.push([bytes[2]]) == "")
        #expect(d.push([bytes[3]]) == "🤖")
        #expect(!d.hasPending)
    }

    @Test("bytes that can never be valid come out at once as U+FFFD")
    func invalidBytes() {
        var d = StreamingDecoder()
        #expect(d.push([0xFF]) == "\u{FFFD}")
        #expect(d.push([0x80, 0x41]) == "\u{FFFD}A")
        #expect(d.push([0xC0]) == "\u{FFFD}")            // C0 never starts a valid sequence
        #expect(d.push([0xE0, 0x80]) == "\u{FFFD}\u{FFFD}")  // E0 must be followed by A0–BF
        #expect(d.push([0xED, 0xA0]) == "\u{FFFD}\u{FFFD}")  // surrogate range
        #expect(d.push([0xF4, 0x90]) == "\u{FFFD}\u{FFFD}")  // above U+10FFFF
        #expect(!d.hasPending)
    }

    @Test("an unfinished character at the end becomes U+FFFD on flush")
    func flushIncomplete() {
        var d = StreamingDecoder()
        #expect(d.push([0x41, 0xE2, 0x82]) == "A")
        #expect(d.flush() == "\u{FFFD}")
        #expect(!d.hasPending)
    }

    @Test("an interrupted sequence emits U+FFFD and keeps the next character")
    func interrupted() {
        var d = StreamingDecoder()
        #expect(d.push([0xE2, 0x82]) == "")
        #expect(d.push([0x41]) == "\u{FFFD}A")
    }

    @Test("any byte stream cut anywhere decodes to String(decoding:) of the whole")
    func randomStreams() {
        var rng = SeededRandom(seed: 7)
        let pool: [[UInt8]] = [Array("a".utf8), Array("é".utf8), Array("€".utf8), Array("🤖".utf8), [0xFF], [0x80], [0xC3], [0xE2, 0x82], [0xF0, 0x9F], [0xED, 0xA0, 0x80]]
        for _ in 0..<500 {
            var all: [UInt8] = []
            for _ in 0..<Int(rng.next() % 12) { all += pool[Int(rng.next() % UInt64(pool.count))] }
            var d = StreamingDecoder()
            var out = ""
            var i = 0
            while i < all.count {
                let n = 1 + Int(rng.next() % 3)
                let piece = Array(all[i..<min(all.count, i + n)])
                let text = d.push(piece)
                // Every piece of output holds only whole characters: none is a lone U+FFFD for a valid prefix.
                out += text
                i += n
            }
            out += d.flush()
            #expect(out == String(decoding: all, as: UTF8.self), "bytes \(all)")
        }
    }
}
