import BitGPT
import Foundation
import TestSupport
import Testing

/// An output path that is one of the inputs (by any path, hard link or symbolic link) is refused
/// with one `Error:` line and the input is left as it was; `lm-quantize --in-place` rewrites it.
@Suite("Output equal to an input")
struct SameFileTests {
    @Test("lm-quantize refuses the input as output, by name, ./ path, hard link and symlink")
    func quantize() throws {
        let dir = try TemporaryDirectory()
        let m = dir.file("m.bgpt")
        try Tools.tinyModel(m)
        let before = try dir.read("m.bgpt")
        try FileManager.default.createSymbolicLink(atPath: dir.file("soft.bgpt"), withDestinationPath: m)
        try FileManager.default.linkItem(atPath: m, toPath: dir.file("hard.bgpt"))
        for out in [m, dir.path + "/./m.bgpt", dir.file("soft.bgpt"), dir.file("hard.bgpt")] {
            let r = try Tools.run("lm-quantize", [m, out, "--to", "int8"])
            #expect(r.status == 1, "\(out)")
            #expect(r.errorLines == ["Error: \(out): is the same file as the input \(m); writing it would destroy the input "
                                     + "(give another output path, or --in-place to rewrite it)"])
            #expect(try dir.read("m.bgpt") == before)
        }
        #expect(dir.contents().sorted() == ["hard.bgpt", "m.bgpt", "soft.bgpt"])
    }

    @Test("lm-quantize --in-place rewrites the input through the atomic writer")
    func inPlace() throws {
        let dir = try TemporaryDirectory()
        let m = dir.file("m.bgpt")
        try Tools.tinyModel(m)
        #expect(try BGPTFile(path: m).tensors.contains { $0.dtype == .t2 })
        let r = try Tools.run("lm-quantize", [m, "--in-place", "--to", "int8"])
        #expect(r.status == 0, "\(r.stderr)")
        let f = try BGPTFile(path: m)
        try f.verify()
        #expect(!f.tensors.contains { $0.dtype == .t2 } && f.tensors.contains { $0.dtype == .i8 })
        #expect(dir.contents() == ["m.bgpt"])
        // The same path given twice is fine with --in-place; another path is not.
        #expect(try Tools.run("lm-quantize", [m, m, "--in-place", "--to", "f16"]).status == 0)
        let other = try Tools.run("lm-quantize", [m, dir.file("o.bgpt"), "--in-place", "--to", "int8"])
        #expect(other.status == 1)
        #expect(other.errorLines.first == "Error: --in-place rewrites the input; do not give another output path (\(dir.file("o.bgpt")))")
    }

    @Test("lm-convert refuses the checkpoint as output; lm-run refuses the model as --logits-out")
    func convertAndRun() throws {
        let dir = try TemporaryDirectory()
        let c = try dir.write("c.bin", Tools.llama2cCheckpoint())
        let r = try Tools.run("lm-convert", [c, c])
        #expect(r.status == 1)
        #expect(r.errorLines == ["Error: \(c): is the same file as the input \(c); writing it would destroy the input (give another output path)"])
        #expect(try dir.read("c.bin") == Tools.llama2cCheckpoint())
        let ok = try Tools.run("lm-convert", [c, dir.file("c.bgpt")])
        #expect(ok.status == 0, "\(ok.stderr)")

        let m = dir.file("m.bgpt")
        try Tools.tinyModel(m)
        let before = try dir.read("m.bgpt")
        let run = try Tools.run("lm-run", [m, "--max-new-tokens", "1", "--logits-out", m])
        #expect(run.status == 1)
        #expect(run.errorLines == ["Error: \(m): is the same file as the input \(m); writing it would destroy the input (give another output path)"])
        #expect(try dir.read("m.bgpt") == before)
    }
}
