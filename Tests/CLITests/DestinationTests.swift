import BitGPT
import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The writers rename a temporary file over their destination, so they write only onto a regular
/// file or a new name: a FIFO, a directory or a symbolic link (all made in a temporary folder)
/// is refused with one `Error:` line and left as it was.
@Suite("Special-file destinations")
struct DestinationTests {
    /// A FIFO, a directory and a symlink to a regular file in `dir`, with the kind each is reported as.
    static func specials(_ dir: TemporaryDirectory) throws -> [(path: String, kind: String)] {
        let fifo = dir.file("fifo")
        #expect(mkfifo(fifo, 0o644) == 0)
        try FileManager.default.createDirectory(atPath: dir.file("folder"), withIntermediateDirectories: false)
        _ = try dir.write("target.bgpt", Array("keep".utf8))
        try FileManager.default.createSymbolicLink(atPath: dir.file("link.bgpt"), withDestinationPath: dir.file("target.bgpt"))
        return [(fifo, "a FIFO"), (dir.file("folder"), "a directory"), (dir.file("link.bgpt"), "a symbolic link")]
    }

    /// Checks that the special files are still what they were.
    static func unchanged(_ dir: TemporaryDirectory) throws {
        var s = stat()
        #expect(lstat(dir.file("fifo"), &s) == 0 && s.st_mode & S_IFMT == S_IFIFO)
        #expect(lstat(dir.file("folder"), &s) == 0 && s.st_mode & S_IFMT == S_IFDIR)
        #expect(lstat(dir.file("link.bgpt"), &s) == 0 && s.st_mode & S_IFMT == S_IFLNK)
        #expect(try dir.read("target.bgpt") == Array("keep".utf8))
        #expect(!dir.contents().contains { $0.contains(".tmp-") })
    }

    @Test("lm-quantize, lm-init, lm-convert and lm-run --logits-out refuse a FIFO, a directory and a symlink")
    func tools() throws {
        let dir = try TemporaryDirectory()
        let m = dir.file("m.bgpt")
        try Tools.tinyModel(m)
        let c = try dir.write("c.bin", Tools.llama2cCheckpoint())
        for (path, kind) in try Self.specials(dir) {
            let expected = ["Error: \(path): is \(kind); the output must be a regular file or a new name"]
            for (tool, args) in [("lm-quantize", [m, path, "--to", "int8"]),
                                 ("lm-init", [path, "--dim", "32", "--n-layers", "1", "--n-heads", "4"]),
                                 ("lm-convert", [c, path]),
                                 ("lm-run", [m, "--max-new-tokens", "1", "--logits-out", path])] {
                let r = try Tools.run(tool, args)
                #expect(r.status == 1, "\(tool) \(path)")
                #expect(r.errorLines == expected, "\(tool) \(path)")
            }
        }
        try Self.unchanged(dir)
    }

    @Test("BGPTWriter and NPYFile refuse them too (the library check, for every caller)")
    func library() throws {
        let dir = try TemporaryDirectory()
        for (path, kind) in try Self.specials(dir) {
            #expect(throws: FormatError.badDestination(path: path, kind: kind)) {
                try BGPTWriter.write(path: path, metadata: Metadata(), tensors: [])
            }
            #expect(throws: FormatError.badDestination(path: path, kind: kind)) {
                try [Float(1)].withUnsafeBufferPointer { try NPYFile.writeFloat32($0, shape: [1], to: path) }
            }
        }
        try Self.unchanged(dir)
        // A regular file and a new name are fine.
        try BGPTWriter.write(path: dir.file("target.bgpt"), metadata: Metadata(), tensors: [])
        try BGPTWriter.write(path: dir.file("new.bgpt"), metadata: Metadata(), tensors: [])
        try BGPTFile(path: dir.file("target.bgpt")).verify()
    }
}
