import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The one atomic file writer of the package: a temporary file beside the destination, then
/// `fsync`, `rename` over the destination and `fsync` of the directory.
///
/// The temporary file is `.NAME.tmp-PID-N` in the destination's directory, created exclusively.
/// Until ``commit()`` the destination keeps its old contents (or stays absent); an error, a call
/// to ``abandon()`` or a dropped writer removes the temporary file, and a crash leaves at most a
/// stray `.tmp-` file, which the next writer of the same path deletes once its process is gone
/// (``StaleTemporaryFiles``). A destination that is not a regular file (a FIFO, a link, a
/// directory, a device) is refused before anything is written (``RenameDestination``).
/// ``BGPTWriter`` streams tensors through it; the trainer's checkpoints, token caches, CSV and
/// SVG files go through ``write(path:chunks:)``.
public final class AtomicFile {
    /// Where the file will be when ``commit()`` returns.
    public let path: String
    /// The temporary file being written.
    public let tempPath: String
    private var fd: Int32
    private var done = false
    /// Numbers temporary files; writers may run on several threads at once.
    private static var counter = 0
    private static let counterLock = NSLock()

    /// Checks the destination, removes stale temporary files of dead processes, and creates the
    /// temporary file.
    ///
    /// - Throws: ``FormatError/badDestination(path:kind:)``, ``FormatError/io(call:path:message:)``.
    public init(path: String) throws(FormatError) {
        try RenameDestination.check(path)
        // "dir/" (or "/" or "") + ".NAME.tmp-PID-N".
        let slash = path.lastIndex(of: "/")
        let dirPrefix = slash.map { String(path[...$0]) } ?? ""
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        AtomicFile.counterLock.lock()
        AtomicFile.counter += 1
        let n = AtomicFile.counter
        AtomicFile.counterLock.unlock()
        self.path = path
        tempPath = dirPrefix + ".\(base).tmp-\(getpid())-\(n)"
        StaleTemporaryFiles.remove(beside: path)
        fd = open(tempPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if fd < 0 {
            done = true
            throw .io(call: "open", path: tempPath, message: errnoMessage())
        }
    }

    deinit { if !done { abandon() } }

    /// Sets the temporary file's size (new bytes read as zeros).
    /// - Throws: ``FormatError/io(call:path:message:)``; the temporary file is then removed.
    public func resize(to size: UInt64) throws(FormatError) {
        if ftruncate(fd, off_t(size)) != 0 {
            let m = errnoMessage()
            abandon()
            throw .io(call: "ftruncate", path: tempPath, message: m)
        }
    }

    /// Writes all of `bytes` at byte `offset` of the temporary file, retrying on `EINTR`.
    /// - Throws: ``FormatError/io(call:path:message:)``; the temporary file is then removed.
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(FormatError) {
        var written = 0
        while written < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + written, bytes.count - written, off_t(offset) + off_t(written))
            if n < 0 {
                if errno == EINTR { continue }
                let m = errnoMessage()
                abandon()
                throw .io(call: "pwrite", path: tempPath, message: m)
            }
            written += n
        }
    }

    /// Syncs the temporary file and renames it over ``path``, then syncs the directory.
    /// - Throws: ``FormatError/writerMisuse(_:)`` after a commit or abandon,
    ///   ``FormatError/badDestination(path:kind:)``, ``FormatError/io(call:path:message:)``; on
    ///   error the temporary file is removed and the destination is untouched.
    public func commit() throws(FormatError) {
        guard !done else { throw .writerMisuse("\(path): the file was already committed or abandoned") }
        do throws(FormatError) {
            if fsync(fd) != 0 { throw FormatError.io(call: "fsync", path: tempPath, message: errnoMessage()) }
            let closed = close(fd)
            fd = -1
            if closed != 0 { throw FormatError.io(call: "close", path: tempPath, message: errnoMessage()) }
            try RenameDestination.check(path)
            if rename(tempPath, path) != 0 { throw FormatError.io(call: "rename", path: path, message: errnoMessage()) }
        } catch {
            abandon()
            throw error
        }
        done = true
        syncDirectory(of: path)
    }

    /// Removes the temporary file; the destination keeps its old contents (or stays absent).
    public func abandon() {
        if fd >= 0 { close(fd); fd = -1 }
        if !done { unlink(tempPath) }
        done = true
    }

    /// Writes `chunks` one after another as the whole new contents of `path`, atomically.
    /// - Throws: as ``init(path:)``, ``write(_:at:)`` and ``commit()``.
    public static func write(path: String, chunks: [UnsafeRawBufferPointer]) throws(FormatError) {
        let f = try AtomicFile(path: path)
        var offset: UInt64 = 0
        for c in chunks where c.count > 0 {
            try f.write(c, at: offset)
            offset += UInt64(c.count)
        }
        try f.commit()
    }
}

/// fsyncs the directory holding `path`, so a rename survives a power cut. Best effort.
func syncDirectory(of path: String) {
    let dir = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
    let dfd = open(dir.isEmpty ? "/" : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if dfd >= 0 { _ = fsync(dfd); close(dfd) }
}
