import BitGPT
import TestSupport
import Testing

/// T2 and T1 bit layouts: exhaustive codes, every tail length, and the reference test block.
@Suite("Ternary packing")
struct TernaryPackingTests {
    /// Column counts around both block sizes (128 for T2, 160 for T1) and both pack widths (4, 5).
    static let colCounts = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 127, 128, 129, 131, 159, 160, 161, 164, 165, 255, 256, 257, 300, 319, 320, 321, 640, 768]

    static func randomTernary(_ n: Int, seed: UInt64) -> [Int8] {
        var rng = SeededRandom(seed: seed)
        return (0..<n).map { _ in Int8(Int(rng.next() % 3) - 1) }
    }

    @Test("T2 row size is 32 bytes per 128 weights plus ceil(tail / 4)", arguments: colCounts)
    func t2RowBytes(cols: Int) {
        #expect(T2Packing.rowBytes(cols: cols) == 32 * (cols / 128) + (cols % 128 + 3) / 4)
        #expect(T2Packing.rowBytes(cols: UInt64(cols)) == UInt64(T2Packing.rowBytes(cols: cols)))
    }

    @Test("T1 row size is 32 bytes per 160 weights plus ceil(tail / 5)", arguments: colCounts)
    func t1RowBytes(cols: Int) {
        #expect(T1Packing.rowBytes(cols: cols) == 32 * (cols / 160) + (cols % 160 + 4) / 5)
    }

    @Test("T2 packs and unpacks every row length exactly, and pads unused codes with 1", arguments: colCounts)
    func t2RoundTrip(cols: Int) {
        let t = Self.randomTernary(cols, seed: UInt64(cols))
        var packed = [UInt8](repeating: 0xEE, count: T2Packing.rowBytes(cols: cols))
        packed.withUnsafeMutableBufferPointer { p in t.withUnsafeBufferPointer { T2Packing.packRow(p.baseAddress!, $0.baseAddress!, cols: cols) } }
        var back = [Int8](repeating: 99, count: cols)
        let ok = back.withUnsafeMutableBufferPointer { b in packed.withUnsafeBufferPointer { T2Packing.unpackRow(b.baseAddress!, $0.baseAddress!, cols: cols) } }
        #expect(ok)
        #expect(back == t)
        // The tail's unused code slots hold 1 (weight 0); no byte holds code 3.
        let tail = cols % 128
        if tail % 4 != 0, let last = packed.last {
            for n in (tail % 4)..<4 { #expect((last >> (2 * n)) & 3 == 1, "unused slot \(n) of the last byte") }
        }
        #expect(!packed.contains { b in (0..<4).contains { (b >> (2 * $0)) & 3 == 3 } })
    }

    @Test("T2 full block: byte j holds elements j, 32+j, 64+j, 96+j at bits 0, 2, 4, 6")
    func t2BlockLayout() {
        for element in 0..<128 {
            var t = [Int8](repeating: 0, count: 128)
            t[element] = 1
            var packed = [UInt8](repeating: 0, count: 32)
            packed.withUnsafeMutableBufferPointer { p in t.withUnsafeBufferPointer { T2Packing.packRow(p.baseAddress!, $0.baseAddress!, cols: 128) } }
            for j in 0..<32 {
                var expected: UInt8 = 0b0101_0101  // four zeros (code 1)
                if j == element % 32 { expected = expected & ~(3 << (2 * (element / 32))) | (2 << (2 * (element / 32))) }
                #expect(packed[j] == expected, "element \(element), byte \(j)")
            }
        }
    }

    @Test("T2 tail: byte k holds tail elements 4k...4k+3 from the low bits up")
    func t2TailLayout() {
        let t: [Int8] = [-1, 0, 1, -1, 1, 1]  // codes 0 1 2 0 | 2 2 (1 1)
        var packed = [UInt8](repeating: 0, count: 2)
        packed.withUnsafeMutableBufferPointer { p in t.withUnsafeBufferPointer { T2Packing.packRow(p.baseAddress!, $0.baseAddress!, cols: 6) } }
        #expect(packed == [0b00_10_01_00, 0b01_01_10_10])
    }

    @Test("T2 code-3 detection agrees with a slot-by-slot check on all 256 bytes")
    func t2InvalidBytes() {
        for b in 0...255 {
            let slow = (0..<4).contains { (b >> (2 * $0)) & 3 == 3 }
            #expect(T2Packing.hasInvalidCode(UInt8(b)) == slow, "byte \(b)")
        }
        #expect((0...255).filter { T2Packing.hasInvalidCode(UInt8($0)) }.count == 256 - 81)
    }

    @Test("T1 tail: byte k holds tail elements 5k...5k+4 as digits 0 to 4, unused digits 1")
    func t1TailLayout() {
        let t: [Int8] = [1, 0, -1, 1, 0, -1, 1]  // codes 2 1 0 2 1 | 0 2 (1 1 1)
        var packed = [UInt8](repeating: 0, count: 2)
        packed.withUnsafeMutableBufferPointer { p in t.withUnsafeBufferPointer { T1Packing.packRow(p.baseAddress!, $0.baseAddress!, cols: 7) } }
        // q = 196 → ceil(196·256/243) = 207; q = 67 → ceil(67·256/243) = 71.
        #expect(packed == [207, 71])
    }

    @Test("T1 encodes all 243 digit combinations and decodes them back")
    func t1Exhaustive() {
        var seen = Set<UInt8>()
        for q in 0..<243 {
            let c = [q / 81, q / 27 % 3, q / 9 % 3, q / 3 % 3, q % 3].map { UInt8($0) }
            let b = T1Packing.encode(c[0], c[1], c[2], c[3], c[4])
            #expect(Int(b) == (q * 256 + 242) / 243, "q = \(q): ceil(q·256/243)")
            #expect((0..<5).map { T1Packing.digit(b, $0) } == c, "q = \(q), byte \(b)")
            #expect(T1Packing.isValid(b))
            seen.insert(b)
        }
        #expect(seen.count == 243, "encodings are distinct")
        let invalid = (0...255).map { UInt8($0) }.filter { !T1Packing.isValid($0) }
        #expect(invalid.count == 13)
        #expect(Set(invalid).isDisjoint(with: seen))
    }

    @Test("T1 packs and unpacks every row length exactly, and pads unused digits with 1", arguments: colCounts)
    func t1RoundTrip(cols: Int) {
        let t = Self.randomTernary(cols, seed: 1000 + UInt64(cols))
        var packed = [UInt8](repeating: 0xEE, count: T1Packing.rowBytes(cols: cols))
        packed.withUnsafeMutableBufferPointer { p in t.withUnsafeBufferPointer { T1Packing.packRow(p.baseAddress!, $0.baseAddress!, cols: cols) } }
        var back = [Int8](repeating: 99, count: cols)
        let ok = back.withUnsafeMutableBufferPointer { b in packed.withUnsafeBufferPointer { T1Packing.unpackRow(b.baseAddress!, $0.baseAddress!, cols: cols) } }
        #expect(ok)
        #expect(back == t)
        #expect(packed.allSatisfy { T1Packing.isValid($0) })
        let tail = cols % 160
        if tail % 5 != 0, let last = packed.last {
            for n in (tail % 5)..<5 { #expect(T1Packing.digit(last, n) == 1, "unused digit \(n)") }
        }
    }

    @Test("T1 full block: byte j holds elements j, 32+j, 64+j, 96+j, 128+j as digits 0 (most significant) to 4")
    func t1BlockLayout() {
        let t = Self.randomTernary(160, seed: 7)
        var packed = [UInt8](repeating: 0, count: 32)
        packed.withUnsafeMutableBufferPointer { p in t.withUnsafeBufferPointer { T1Packing.packRow(p.baseAddress!, $0.baseAddress!, cols: 160) } }
        for j in 0..<32 {
            for n in 0..<5 { #expect(Int8(T1Packing.digit(packed[j], n)) - 1 == t[32 * n + j], "byte \(j) digit \(n)") }
        }
    }

    // MARK: - Reference test block (ggml `src/ggml-quants.c` TQ1_0/TQ2_0, microsoft/BitNet I2_S)

    /// One 256-weight test block, t[i] = (-1, 0, 1)[i mod 3], packed by ggml's and BitNet's layouts.
    static let a2Block: [Int8] = (0..<256).map { [-1, 0, 1][$0 % 3] }

    @Test("T2 of the A.2 block equals ggml TQ2_0's qs bytes (same layout per 128 weights)")
    func t2MatchesTQ2() {
        var packed = [UInt8](repeating: 0, count: 64)
        packed.withUnsafeMutableBufferPointer { p in Self.a2Block.withUnsafeBufferPointer { T2Packing.packRow(p.baseAddress!, $0.baseAddress!, cols: 256) } }
        // TQ2_0 qs[0..63] = 18 61 86 × 21, then 18 (Appendix A.2).
        let expected: [UInt8] = (0..<21).flatMap { _ in [UInt8]([0x18, 0x61, 0x86]) } + [0x18]
        #expect(packed == expected)
        #expect(packed.prefix(8) == [0x18, 0x61, 0x86, 0x18, 0x61, 0x86, 0x18, 0x61])
    }

    @Test("T1's first full block of the A.2 block equals ggml TQ1_0's qs[0..31]")
    func t1MatchesTQ1() {
        let cols = 160
        var packed = [UInt8](repeating: 0, count: 32)
        packed.withUnsafeMutableBufferPointer { p in Self.a2Block.withUnsafeBufferPointer { T1Packing.packRow(p.baseAddress!, $0.baseAddress!, cols: cols) } }
        // TQ1_0 qs[0..31] = 45 6c cf × 10, then 45 6c (elements m + 32n, n = 0...4, as ours).
        let expected: [UInt8] = (0..<10).flatMap { _ in [UInt8]([0x45, 0x6C, 0xCF]) } + [0x45, 0x6C]
        #expect(packed == expected)
    }

    @Test("the worked decode: 0x45 is digits (0, 2, 1, 0, 2), and those digits encode to 0x45")
    func t1WorkedExample() {
        #expect((0..<5).map { T1Packing.digit(0x45, $0) } == [0, 2, 1, 0, 2])
        // t = byte · 3^n mod 256 for n = 0...4: 69, 207, 109, 71, 213 (Appendix A.2 table).
        #expect([1, 3, 9, 27, 81].map { UInt8(truncatingIfNeeded: 0x45 * $0) } == [69, 207, 109, 71, 213])
        #expect(T1Packing.encode(0, 2, 1, 0, 2) == 0x45)
    }
}
