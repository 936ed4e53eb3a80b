import BitGPT
import Foundation
import TestSupport
import Testing

/// The tiny example file of `formats/bgpt.md`, byte for byte: the writer, the spec's hex dump and
/// an independent encoder (`tools/bgpt_golden_dump.py`, which produced this literal) must agree.
@Suite("GoldenFileTests")
struct GoldenFileTests {
    /// The dump printed by `python3 tools/bgpt_golden_dump.py` (written from the spec alone).
    static let dump = """
        00000000  42 47 50 54 0d 0c 0b 0a 01 00 00 00 40 00 00 00  |BGPT........@...|
        00000010  01 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00  |................|
        00000020  a6 00 00 00 00 00 00 00 c0 00 00 00 00 00 00 00  |................|
        00000030  40 00 00 00 00 00 00 00 57 61 5f 0b 63 35 c7 4f  |@.......Wa_.c5.O|
        00000040  14 00 00 00 00 00 00 00 67 65 6e 65 72 61 6c 2e  |........general.|
        00000050  61 72 63 68 69 74 65 63 74 75 72 65 0b 00 00 00  |architecture....|
        00000060  05 00 00 00 00 00 00 00 6c 6c 61 6d 61 01 00 00  |........llama...|
        00000070  00 00 00 00 00 77 00 00 00 00 02 00 00 00 02 00  |.....w..........|
        00000080  00 00 00 00 00 00 02 00 00 00 00 00 00 00 00 00  |................|
        00000090  00 00 00 00 00 00 10 00 00 00 00 00 00 00 dd 69  |...............i|
        000000a0  cb 3a ab b9 6e 64 00 00 00 00 00 00 00 00 00 00  |.:..nd..........|
        000000b0  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  |................|
        000000c0  00 00 80 3f 00 00 00 40 00 00 40 40 00 00 80 40  |...?...@..@@...@|
        000000d0  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  |................|
        000000e0  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  |................|
        000000f0  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  |................|
        """

    /// The bytes of a `hexdump -C`-style dump: the 16 hex columns after each offset.
    static func bytes(ofDump text: String) -> [UInt8] {
        text.split(separator: "\n").flatMap { line -> [UInt8] in
            let cols = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().prefix { !$0.hasPrefix("|") }
            return cols.compactMap { UInt8($0, radix: 16) }
        }
    }

    static func writeGolden(to path: String) throws(FormatError) {
        var m = Metadata()
        m.set("general.architecture", .string("llama"))
        let w = try TensorEncoder.encode([1, 2, 3, 4], shape: [2, 2], as: .f32, name: "w")
        try BGPTWriter.write(path: path, metadata: m, tensors: [(TensorInfo(name: "w", dtype: .f32, shape: [2, 2]), w)], alignment: 64)
    }

    @Test("the writer produces exactly the bytes of the spec's example")
    func writerMatchesLiteral() throws {
        let expected = Self.bytes(ofDump: Self.dump)
        #expect(expected.count == 256)
        let dir = try TemporaryDirectory()
        try Self.writeGolden(to: dir.file("tiny.bgpt"))
        let got = try dir.read("tiny.bgpt")
        #expect(got == expected, "first difference at byte \(got.indices.first { $0 >= expected.count || got[$0] != expected[$0] } ?? got.count)")
        let f = try BGPTFile(bytes: got)
        try f.verify()
        #expect(f.headerSize == 166 && f.dataOffset == 192 && f.fileSize == 256)
        #expect(try f.metadata.string("general.architecture") == "llama")
        #expect(try f.tensor("w").f32.map(Array.init) == [1, 2, 3, 4])
    }

    @Test("the hex dump in formats/bgpt.md is this literal")
    func specMatchesLiteral() throws {
        // #filePath is …/Tests/BitGPTTests/GoldenFileTests.swift; the spec is in the package.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let spec = try String(contentsOf: root.appendingPathComponent("formats/bgpt.md"), encoding: .utf8)
        let section = try #require(spec.range(of: "## Example: a tiny file")).upperBound
        let open = try #require(spec.range(of: "```\n", range: section..<spec.endIndex))
        let close = try #require(spec.range(of: "\n```", range: open.upperBound..<spec.endIndex))
        #expect(String(spec[open.upperBound..<close.lowerBound]) == Self.dump)
    }
}
