import BitGPT
import TestSupport
import Testing

/// Seeded random damage to a valid file with every dtype, arrays and strings: the reader must
/// answer each damaged file with success or a `FormatError`, never a trap, and whatever opens must
/// survive the deep check, code validation and decoding of every tensor.
@Suite("Byte-flip mutation")
struct MutationTests {
    static let original = SampleFiles.richFileBytes()
    static let headerSize = original.withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 32, as: UInt64.self))) }

    /// Opens `bytes`; on success runs every read path over every tensor.
    ///
    /// - Returns: nil when the file opened and verified, else the first error.
    static func exercise(_ bytes: [UInt8]) -> FormatError? {
        let file: BGPTFile
        do throws(FormatError) { file = try BGPTFile(bytes: bytes) } catch { return error }
        var first: FormatError?
        do throws(FormatError) { try file.verify() } catch { first = error }
        for t in file.tensors {
            let v = file.view(t)
            do throws(FormatError) { try v.validateCodes() } catch { first = first ?? error }
            let d = v.dequantized()
            #expect(d.count == t.elementCount)
            _ = v.ternaryValues()
            _ = v.f32?.first
            if t.dtype == .i8 { _ = v.int8Scale(row: t.rows - 1) }
        }
        let m = file.metadata
        _ = try? m.string("general.architecture")
        _ = try? m.strings("tokenizer.tokens")
        _ = try? m.ints("tokenizer.token_types")
        _ = try? m.floats("tokenizer.scores")
        _ = try? m.int("model.vocab_size", in: 1...(1 << 24))
        for e in m.entries { _ = e.value.description }
        return first
    }

    /// The enum case of an error, for counting which checks the mutations reached.
    static func kind(_ e: FormatError) -> String {
        Mirror(reflecting: e).children.first?.label ?? "\(e)"
    }

    @Test("the sample file is valid")
    func sampleIsValid() {
        #expect(Self.exercise(Self.original) == nil)
        #expect(Self.headerSize > 600)
    }

    @Test("5,000 random flips as is: each open succeeds or throws, and every single-byte flip is caught")
    func flipsAsIs() {
        var rng = SeededRandom(seed: 0xB6F7_0001)
        var caught = 0, singles = 0
        for i in 0..<5000 {
            var bytes = Self.original
            let flips = i % 5 == 0 ? 2 + Int(rng.next() % 3) : 1
            for _ in 0..<flips {
                let at = Int(rng.next() % UInt64(bytes.count))
                bytes[at] ^= UInt8(1 + rng.next() % 255)
            }
            let error = Self.exercise(bytes)
            if flips == 1 {
                singles += 1
                if error != nil { caught += 1 } else { Issue.record("flip \(i) went unnoticed") }
            }
        }
        #expect(caught == singles && singles == 4000)
    }

    @Test("5,000 random header flips re-sealed: the parser itself meets every damage without trapping")
    func flipsResealed() {
        var rng = SeededRandom(seed: 0xB6F7_0002)
        var kinds: [String: Int] = [:]
        var opened = 0
        for i in 0..<5000 {
            var bytes = Self.original
            let flips = i % 3 == 0 ? 2 : 1
            for _ in 0..<flips {
                // Mostly the header (where the parser works), sometimes anywhere.
                let at = rng.next() % 10 == 0 ? Int(rng.next() % UInt64(bytes.count)) : Int(rng.next() % UInt64(Self.headerSize))
                let mask: UInt8 = rng.next() % 2 == 0 ? 1 << UInt8(rng.next() % 8) : UInt8(1 + rng.next() % 255)
                bytes[at] ^= mask
            }
            RawFileBuilder.reseal(&bytes)
            if let e = Self.exercise(bytes) { kinds[Self.kind(e), default: 0] += 1 } else { opened += 1 }
        }
        print("re-sealed flips: \(opened) opened; refused by", kinds.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        // Flips in values (a float, a string byte) leave valid files; structural flips are refused
        // by many different checks.
        #expect(opened > 100)
        #expect(kinds.count >= 15, "reached only \(kinds.keys.sorted())")
    }

    @Test("2,000 random byte insertions and deletions in the header, re-laid-out and re-sealed")
    func splices() {
        var rng = SeededRandom(seed: 0xB6F7_0003)
        let data = Array(Self.original[(Int(alignUp(UInt64(Self.headerSize), 64)!))...])
        var kinds = Set<String>()
        for i in 0..<2000 {
            var header = Array(Self.original[0..<Self.headerSize])
            let at = 64 + Int(rng.next() % UInt64(Self.headerSize - 64))
            if i % 2 == 0 { header.remove(at: at) } else { header.insert(UInt8(truncatingIfNeeded: rng.next()), at: at) }
            let dataOffset = Int(alignUp(UInt64(header.count), 64)!)
            var bytes = header + [UInt8](repeating: 0, count: dataOffset - header.count) + data
            RawFileBuilder.patch(&bytes, at: 32, UInt64(header.count))
            RawFileBuilder.patch(&bytes, at: 40, UInt64(dataOffset))
            RawFileBuilder.reseal(&bytes)
            if let e = Self.exercise(bytes) { kinds.insert(Self.kind(e)) }
        }
        #expect(kinds.count >= 8, "reached only \(kinds.sorted())")
    }
}
