import BitGPT
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-file reads and atomic whole-file writes (temp file in the same directory, fsync, rename,
/// fsync of the directory), each libc failure turned into a ``TrainError/io(path:reason:)``.
enum FileIO {
    static func read(_ path: String) throws(TrainError) -> [UInt8] {
        guard let d = FileManager.default.contents(atPath: path) else {
            throw .io(path: path, reason: FileManager.default.fileExists(atPath: path) ? "cannot read" : "no such file")
        }
        return [UInt8](d)
    }

    /// Writes `chunks` one after another to `path`, atomically.
    static func writeAtomically(_ path: String, _ chunks: [UnsafeRawBufferPointer]) throws(TrainError) {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        let temp = dir + "/." + url.lastPathComponent + ".tmp-\(getpid())"
        if let kind = RenameDestination.unsuitableKind(path) { throw .io(path: path, reason: RenameDestination.message(kind: kind)) }
        StaleTemporaryFiles.remove(beside: path)
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io(path: temp, reason: "open: \(String(cString: strerror(errno)))") }
        var ok = true
        var why = ""
        outer: for c in chunks {
            var done = 0
            while done < c.count {
                let n = write(fd, c.baseAddress! + done, c.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    ok = false; why = "write: \(String(cString: strerror(errno)))"; break outer
                }
                done += n
            }
        }
        if ok && fsync(fd) != 0 { ok = false; why = "fsync: \(String(cString: strerror(errno)))" }
        close(fd)
        guard ok else { unlink(temp); throw .io(path: temp, reason: why) }
        guard rename(temp, path) == 0 else {
            let why = "rename: \(String(cString: strerror(errno)))"
            unlink(temp)
            throw .io(path: path, reason: why)
        }
        let dfd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
    }

    static func writeAtomically(_ path: String, _ bytes: [UInt8]) throws(TrainError) {
        var failure: TrainError?
        bytes.withUnsafeBytes { b in
            do throws(TrainError) { try writeAtomically(path, [b]) } catch { failure = error }
        }
        if let failure { throw failure }
    }
}
