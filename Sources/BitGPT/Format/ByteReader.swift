/// A bounded little-endian cursor over the header bytes of a .bgpt file.
///
/// Every read checks the bytes that remain before it touches memory, and every length is capped
/// and compared with what remains before anything is allocated (ggml `gguf.cpp`'s
/// `nbytes_remain` discipline). Failures name the field and its byte offset.
struct ByteReader {
    let base: UnsafeRawPointer
    let end: Int
    private(set) var offset: Int

    init(base: UnsafeRawPointer, offset: Int, end: Int) {
        self.base = base
        self.offset = offset
        self.end = end
    }

    var remaining: Int { end - offset }

    mutating func need(_ n: UInt64, _ field: @autoclosure () -> String) throws(FormatError) {
        if n > UInt64(remaining) {
            throw .truncated(field: field(), offset: UInt64(offset), needed: n, available: UInt64(remaining))
        }
    }

    mutating func u8(_ field: @autoclosure () -> String) throws(FormatError) -> UInt8 {
        try need(1, field())
        defer { offset += 1 }
        return base.load(fromByteOffset: offset, as: UInt8.self)
    }

    mutating func u16(_ field: @autoclosure () -> String) throws(FormatError) -> UInt16 {
        try need(2, field())
        defer { offset += 2 }
        return UInt16(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    mutating func u32(_ field: @autoclosure () -> String) throws(FormatError) -> UInt32 {
        try need(4, field())
        defer { offset += 4 }
        return UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    mutating func u64(_ field: @autoclosure () -> String) throws(FormatError) -> UInt64 {
        try need(8, field())
        defer { offset += 8 }
        return UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// Reads a u64 length, checks it against `limit` and the bytes left, and returns it.
    mutating func length(_ field: @autoclosure () -> String, limit: UInt64) throws(FormatError) -> Int {
        let at = UInt64(offset)
        let n = try u64(field())
        if n > limit { throw .lengthTooLarge(field: field(), offset: at, length: n, limit: limit) }
        try need(n, field())
        return Int(n)
    }

    /// Reads `n` raw bytes (already checked by the caller or checked here).
    mutating func bytes(_ n: Int, _ field: @autoclosure () -> String) throws(FormatError) -> [UInt8] {
        try need(UInt64(n), field())
        defer { offset += n }
        return [UInt8](UnsafeRawBufferPointer(start: base + offset, count: n))
    }

    /// Reads a u64-length-prefixed UTF-8 string of at most `limit` bytes.
    mutating func string(_ field: @autoclosure () -> String, limit: UInt64) throws(FormatError) -> String {
        let at = UInt64(offset)
        let n = try length(field(), limit: limit)
        let buf = UnsafeRawBufferPointer(start: base + offset, count: n)
        guard let s = String(validating: buf.bindMemory(to: UInt8.self), as: UTF8.self) else {
            throw .invalidUTF8(field: field(), offset: at)
        }
        offset += n
        return s
    }
}
