#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory map of a whole input file (checkpoint, tokenizer), or a copy of bytes.
///
/// Readers parse headers through bounded reads and hand out tensor bytes as views into this
/// mapping, so a conversion touches each source tensor in place, once, and never holds the
/// whole checkpoint in memory. Views are valid while this object lives.
public final class SourceFile: @unchecked Sendable {
    /// The file's path (for messages), or `<memory>`.
    public let path: String
    /// The bytes; empty for an empty file.
    public let bytes: UnsafeRawBufferPointer
    private let mapped: Bool

    /// Maps `path` read-only.
    ///
    /// - Throws: ``ConvertError/io(call:path:message:)`` naming the failing call.
    public init(path: String) throws(ConvertError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw .io(call: "open", path: path, message: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) != 0 { throw .io(call: "fstat", path: path, message: String(cString: strerror(errno))) }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw .io(call: "open", path: path, message: "is a directory") }
        let size = Int(st.st_size)
        if size == 0 {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            mapped = false
            return
        }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw .io(call: "mmap", path: path, message: String(cString: strerror(errno)))
        }
        bytes = UnsafeRawBufferPointer(start: UnsafeRawPointer(p), count: size)
        mapped = true
    }

    /// Holds a copy of `data` (tests, in-memory inputs).
    public init(copying data: [UInt8], path: String = "<memory>") {
        self.path = path
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(data.count, 1), alignment: 64)
        data.withUnsafeBytes { src in
            if let b = src.baseAddress, src.count > 0 { p.copyMemory(from: b, byteCount: src.count) }
        }
        bytes = UnsafeRawBufferPointer(start: UnsafeRawPointer(p), count: data.count)
        mapped = false
    }

    deinit {
        guard let b = bytes.baseAddress else { return }
        if mapped { munmap(UnsafeMutableRawPointer(mutating: b), bytes.count) } else { UnsafeMutableRawPointer(mutating: b).deallocate() }
    }

    /// The number of bytes.
    public var count: Int { bytes.count }

    /// Tells the kernel that the mapped pages under `range` (a slice of ``bytes``) are not needed
    /// any more, so a streaming conversion keeps only the tensor at hand resident. The mapping is
    /// private and read-only, so dropped pages are simply read again from the file if touched.
    public func release(_ range: UnsafeRawBufferPointer) {
        guard mapped, let base = bytes.baseAddress, let start = range.baseAddress, range.count > 0 else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let lo = (start - base) / page * page
        let hi = min(bytes.count, ((start - base) + range.count + page - 1) / page * page)
        guard hi > lo else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base + lo), hi - lo, MADV_DONTNEED)
    }

    /// Reads a little-endian integer at `offset`; the caller has checked the bounds.
    @inline(__always) func le<T: FixedWidthInteger>(_ offset: Int, _: T.Type) -> T {
        T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// Whether `[offset, offset + length)` lies inside the file (overflow-checked).
    @inline(__always) func contains(_ offset: Int, _ length: Int) -> Bool {
        guard offset >= 0, length >= 0 else { return false }
        let (end, o) = offset.addingReportingOverflow(length)
        return !o && end <= bytes.count
    }
}
