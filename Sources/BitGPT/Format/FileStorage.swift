#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Read-only bytes of a whole .bgpt file: a private `mmap` of a path, or a copy of a memory buffer.
///
/// It owns the mapping and unmaps it in `deinit`. Every ``TensorView`` points into it, and every
/// holder of a view keeps the ``BGPTFile`` (and so this storage) alive.
public final class FileStorage: @unchecked Sendable {
    /// First byte of the file. Page-aligned for a mapping, 64-byte aligned for a copy.
    public let base: UnsafeRawPointer
    /// Size of the file in bytes.
    public let count: Int
    private let mapped: Bool

    /// Maps `path` read-only. Directories, FIFOs and devices are refused.
    ///
    /// - Throws: ``FormatError/io(call:path:message:)`` naming the failing call, or
    ///   ``FormatError/tooSmall(size:)`` for a file shorter than the fixed header.
    public init(mapping path: String) throws(FormatError) {
        // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below).
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        if fd < 0 { throw .io(call: "open", path: path, message: errnoMessage()) }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) != 0 { throw .io(call: "fstat", path: path, message: errnoMessage()) }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw .io(call: "open", path: path, message: "is a directory") }
        if (st.st_mode & S_IFMT) != S_IFREG { throw .io(call: "open", path: path, message: "is not a regular file") }
        let size = Int(st.st_size)
        if size < BGPTLayout.fixedHeaderSize { throw .tooSmall(size: UInt64(max(size, 0))) }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw .io(call: "mmap", path: path, message: errnoMessage())
        }
        base = UnsafeRawPointer(p)
        count = size
        mapped = true
    }

    /// Copies `bytes` into a 64-byte aligned buffer that this object owns.
    public init(copying bytes: UnsafeRawBufferPointer) {
        let n = max(bytes.count, 1)
        let p = UnsafeMutableRawPointer.allocate(byteCount: n, alignment: 64)
        if let src = bytes.baseAddress, bytes.count > 0 { p.copyMemory(from: src, byteCount: bytes.count) }
        base = UnsafeRawPointer(p)
        count = bytes.count
        mapped = false
    }

    deinit {
        if mapped { munmap(UnsafeMutableRawPointer(mutating: base), count) } else { UnsafeMutableRawPointer(mutating: base).deallocate() }
    }

    /// The whole file as a buffer. Do not let it escape the lifetime of this object.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }
}

/// The current `errno` as text.
func errnoMessage() -> String {
    String(cString: strerror(errno))
}
