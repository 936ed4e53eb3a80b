import BitGPT
import Foundation
import TestSupport
import Testing

/// Opening by path: what is not a regular .bgpt file gets a one-line error, never a hang or a trap.
@Suite("BGPTFile open")
struct BGPTFileTests {
    static func openError(_ path: String) -> FormatError? {
        do throws(FormatError) { _ = try BGPTFile(path: path); return nil } catch { return error }
    }

    @Test("missing files, directories, FIFOs, devices and empty files are refused with their reason")
    func notFiles() throws {
        let dir = try TemporaryDirectory()
        #expect(Self.openError(dir.file("none")) == .io(call: "open", path: dir.file("none"), message: "No such file or directory"))
        #expect(Self.openError(dir.path) == .io(call: "open", path: dir.path, message: "is a directory"))
        let fifo = dir.file("fifo")
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(Self.openError(fifo) == .io(call: "open", path: fifo, message: "is not a regular file"))
        #expect(Self.openError("/dev/null") == .io(call: "open", path: "/dev/null", message: "is not a regular file"))
        let empty = try dir.write("empty.bgpt", [])
        #expect(Self.openError(empty) == .tooSmall(size: 0))
    }

    @Test("a file opened by path and the same bytes opened from memory give the same model")
    func pathAndMemoryAgree() throws {
        let dir = try TemporaryDirectory()
        let path = try dir.write("rich.bgpt", SampleFiles.richFileBytes())
        let mapped = try BGPTFile(path: path), copied = try BGPTFile(bytes: SampleFiles.richFileBytes())
        #expect(mapped.metadata == copied.metadata)
        #expect(mapped.tensors == copied.tensors)
        #expect(mapped.storage.base != copied.storage.base)
        for t in mapped.tensors { #expect(mapped.view(t).dequantized() == copied.view(t).dequantized()) }
    }

    @Test("views stay valid while the file object lives, and every tensor is aligned in memory")
    func viewAlignment() throws {
        let f = try BGPTFile(bytes: SampleFiles.richFileBytes())
        for t in f.tensors {
            let v = f.view(t)
            #expect(Int(bitPattern: v.base) % 64 == 0, "\(t.name)")
            #expect(v.bytes.count == Int(t.byteSize))
        }
    }
}
