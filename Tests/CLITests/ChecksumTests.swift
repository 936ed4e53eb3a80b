import BitGPT
import Foundation
import TestSupport
import Testing

/// One flipped byte in tensor data: the tools that read every tensor (`lm-quantize`, `lm-diff`,
/// `lm-run --verify`) refuse the file with one `Error:` line naming the file and the tensor,
/// instead of passing the damage on.
@Suite("Tensor checksums on read")
struct ChecksumTests {
    /// Writes a tiny model and a copy with one bit flipped in `blk.0.ffn_up`; returns both
    /// paths and the expected error line for the damaged one.
    static func damaged(_ dir: TemporaryDirectory) throws -> (good: String, bad: String, error: String) {
        let good = dir.file("good.bgpt")
        try Tools.tinyModel(good)
        var bytes = try dir.read("good.bgpt")
        let f = try BGPTFile(path: good)
        let t = try #require(f.tensors.first { $0.name.hasSuffix("ffn_up") })
        let start = f.dataOffset + Int(t.offset)
        bytes[start + 5] ^= 0x10
        let bad = try dir.write("bad.bgpt", bytes)
        let computed = XXHash64.hash(Array(bytes[start..<(start + Int(t.byteSize))]))
        let error = "Error: \(bad): \(FormatError.tensorChecksumMismatch(tensor: t.name, stored: t.checksum, computed: computed))"
        return (good, bad, error)
    }

    @Test("lm-quantize refuses a damaged input and writes nothing")
    func quantize() throws {
        let dir = try TemporaryDirectory()
        let (good, bad, error) = try Self.damaged(dir)
        for extra in [[dir.file("out.bgpt")], ["--dry-run"]] {
            let r = try Tools.run("lm-quantize", [bad] + extra + ["--to", "int8"])
            #expect(r.status == 1)
            #expect(r.errorLines == [error])
            #expect(r.stdout == "")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file("out.bgpt")))
        #expect(try Tools.run("lm-quantize", [good, dir.file("out.bgpt"), "--to", "int8"]).status == 0)
    }

    @Test("lm-diff refuses a damaged file on either side")
    func diff() throws {
        let dir = try TemporaryDirectory()
        let (good, bad, error) = try Self.damaged(dir)
        for args in [[good, bad], [bad, good]] {
            let r = try Tools.run("lm-diff", args)
            #expect(r.status == 1)
            #expect(r.errorLines == [error])
        }
        #expect(try Tools.run("lm-diff", [good, good]).status == 0)
    }

    @Test("lm-run --verify refuses a damaged model; without it the run goes ahead")
    func run() throws {
        let dir = try TemporaryDirectory()
        let (good, bad, error) = try Self.damaged(dir)
        let r = try Tools.run("lm-run", [bad, "--verify", "--max-new-tokens", "2"])
        #expect(r.status == 1)
        #expect(r.errorLines == [error])
        #expect(r.stdout == "")
        #expect(try Tools.run("lm-run", [good, "--verify", "--max-new-tokens", "2"]).status == 0)
        #expect(try Tools.run("lm-run", [bad, "--max-new-tokens", "2"]).status == 0)
    }
}
