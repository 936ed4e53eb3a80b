/// Everything that can be wrong with a .bgpt file, each case carrying what a user needs to find it.
///
/// The reader throws exactly one of these for a malformed file; tests match the case. The
/// `description` is one line naming the field and the byte offset.
public enum FormatError: Error, Equatable, CustomStringConvertible {
    // MARK: - I/O
    /// A system call failed (`open`, `fstat`, `mmap`, `write`, `fsync`, `rename`, ...).
    case io(call: String, path: String, message: String)

    // MARK: - Fixed header
    /// The file is shorter than the 64-byte fixed header.
    case tooSmall(size: UInt64)
    /// The first four bytes are not "BGPT".
    case badMagic(found: [UInt8])
    /// The byte-order mark reads reversed: the file was written big-endian.
    case bigEndian
    /// The byte-order mark is neither order.
    case badByteOrderMark(found: UInt32)
    /// The file's major version is newer than this reader's (or zero).
    case unsupportedVersion(major: UInt16, minor: UInt16)
    /// The alignment is not a power of two in 8...65536.
    case badAlignment(UInt32)
    /// `header_size` is smaller than the fixed header, larger than the cap, or past the end of file.
    case badHeaderSize(headerSize: UInt64, fileSize: UInt64)
    /// `data_offset` is not `header_size` rounded up to the alignment.
    case badDataOffset(expected: UInt64, found: UInt64)
    /// `data_offset + data_size` is not the file size (truncated file, or trailing bytes).
    case fileSizeMismatch(expected: UInt64, actual: UInt64)
    /// The header checksum does not match the header bytes.
    case headerChecksumMismatch(stored: UInt64, computed: UInt64)
    /// A count in the header exceeds its limit.
    case countTooLarge(field: String, count: UInt64, limit: UInt64)

    // MARK: - Bounded reads
    /// A field runs past the end of the header.
    case truncated(field: String, offset: UInt64, needed: UInt64, available: UInt64)
    /// A length field exceeds its cap.
    case lengthTooLarge(field: String, offset: UInt64, length: UInt64, limit: UInt64)
    /// A string is not valid UTF-8.
    case invalidUTF8(field: String, offset: UInt64)
    /// The metadata and tensor table end before `header_size`.
    case headerSizeMismatch(tableEnd: UInt64, headerSize: UInt64)
    /// The bytes between `header_size` and `data_offset` are not zero.
    case nonZeroPadding(offset: UInt64)

    // MARK: - Metadata
    /// A key is empty, too long, or not lower-case dotted ASCII.
    case badKey(index: Int, offset: UInt64, reason: String)
    /// The same key appears twice.
    case duplicateKey(String)
    /// A value type id is unknown.
    case badValueType(key: String, type: UInt32)
    /// An array's element type is ARRAY (nesting is not allowed) or unknown.
    case badArrayType(key: String, type: UInt32)
    /// A BOOL byte is neither 0 nor 1.
    case badBool(key: String, value: UInt8)
    /// A required key is missing.
    case missingKey(String)
    /// A key holds a value of another type than the one asked for.
    case wrongType(key: String, expected: String, found: String)
    /// A key's value is out of range or inconsistent with the rest of the file.
    case invalidValue(key: String, reason: String)

    // MARK: - Tensor table
    /// A tensor name is empty, too long, or not valid UTF-8.
    case badTensorName(index: Int, offset: UInt64, reason: String)
    /// The same tensor name appears twice.
    case duplicateTensor(String)
    /// A tensor has 0 or more than 4 dimensions.
    case badDimCount(tensor: String, count: UInt32)
    /// A tensor has a zero dimension.
    case zeroDim(tensor: String, axis: Int)
    /// A tensor's element count overflows or exceeds 2^48.
    case tooManyElements(tensor: String)
    /// A tensor's dtype id is not in this reader's registry.
    case unknownDType(tensor: String, id: UInt32)
    /// A tensor's byte size is not the one its shape and dtype give.
    case sizeMismatch(tensor: String, expected: UInt64, found: UInt64)
    /// A tensor's offset is not a multiple of the alignment.
    case misaligned(tensor: String, offset: UInt64, alignment: UInt64)
    /// A tensor does not start where the previous one (padded) ends: overlap, gap, or out of order.
    case badTensorOffset(tensor: String, expected: UInt64, found: UInt64)
    /// A tensor ends past the data section.
    case tensorOutOfBounds(tensor: String, end: UInt64, dataSize: UInt64)
    /// The data section is not the padded end of the last tensor.
    case dataSizeMismatch(expected: UInt64, found: UInt64)

    // MARK: - Tensor contents (deep check, packing)
    /// A tensor's bytes do not match its checksum.
    case tensorChecksumMismatch(tensor: String, stored: UInt64, computed: UInt64)
    /// No tensor has this name.
    case tensorNotFound(String)
    /// A tensor has another dtype or shape than the one asked for.
    case unexpectedTensor(tensor: String, reason: String)
    /// Input to a quantizer holds NaN or infinity.
    case nonFinite(tensor: String, index: Int)
    /// A ternary tensor holds an invalid code (a T2 `3`, a T1 byte that decodes past 242).
    case badTernaryCode(tensor: String, row: Int, byte: Int)
    /// A scale stored in a quantized tensor is not finite, or negative.
    case badScale(tensor: String, row: Int)
    /// Data passed to the writer has the wrong length, or tensors came out of declared order.
    case writerMisuse(String)
    /// A writer's destination exists and is not a regular file (a FIFO, device, directory,
    /// socket or symbolic link), which renaming a temporary file over it would replace.
    case badDestination(path: String, kind: String)

    public var description: String {
        switch self {
        case let .io(call, path, message): return "\(call)(\(path)) failed: \(message)"
        case let .tooSmall(size): return "not a .bgpt file: only \(size) bytes, the fixed header alone is 64"
        case let .badMagic(found):
            let shown = found.map { (0x20..<0x7f).contains($0) ? String(UnicodeScalar($0)) : "." }.joined()
            return "not a .bgpt file: magic is \"\(shown)\" (\(hex(found))), expected \"BGPT\""
        case .bigEndian: return "byte-order mark at offset 4 is reversed: the file was written big-endian, which version 1 does not allow"
        case let .badByteOrderMark(found): return "bad byte-order mark at offset 4: 0x\(String(found, radix: 16)), expected 0x0a0b0c0d"
        case let .unsupportedVersion(major, minor):
            return "format version \(major).\(minor) is not supported: this reader reads major version \(BGPTLayout.majorVersion)"
                + (major > BGPTLayout.majorVersion ? "; upgrade BitGPT to read it" : "")
        case let .badAlignment(a): return "alignment \(a) at offset 12 is not a power of two in 8...65536"
        case let .badHeaderSize(h, f): return "header_size \(h) at offset 32 is out of range (file is \(f) bytes, cap 1 GiB)"
        case let .badDataOffset(e, f): return "data_offset at offset 40 is \(f), expected \(e) (header_size rounded up to the alignment)"
        case let .fileSizeMismatch(e, a): return "file is \(a) bytes but data_offset + data_size = \(e) (truncated or has trailing bytes)"
        case let .headerChecksumMismatch(s, c): return "header checksum mismatch: stored \(hex64(s)), computed \(hex64(c)) (header is corrupted)"
        case let .countTooLarge(field, count, limit): return "\(field) is \(count), over the limit of \(limit)"
        case let .truncated(field, offset, needed, available):
            return "\(field) at offset \(offset) needs \(needed) bytes but only \(available) remain in the header"
        case let .lengthTooLarge(field, offset, length, limit): return "\(field) at offset \(offset) has length \(length), over the limit of \(limit)"
        case let .invalidUTF8(field, offset): return "\(field) at offset \(offset) is not valid UTF-8"
        case let .headerSizeMismatch(end, h): return "metadata and tensor table end at offset \(end) but header_size is \(h)"
        case let .nonZeroPadding(offset): return "padding byte at offset \(offset) before the data section is not zero"
        case let .badKey(index, offset, reason): return "metadata key #\(index) at offset \(offset): \(reason)"
        case let .duplicateKey(k): return "metadata key \"\(k)\" appears twice"
        case let .badValueType(k, t): return "metadata key \"\(k)\" has unknown value type \(t)"
        case let .badArrayType(k, t): return "metadata key \"\(k)\" is an array of type \(t), which is not allowed (no nested or unknown arrays)"
        case let .badBool(k, v): return "metadata key \"\(k)\" is a bool holding \(v), expected 0 or 1"
        case let .missingKey(k): return "metadata key \"\(k)\" is missing"
        case let .wrongType(k, e, f): return "metadata key \"\(k)\" is \(f), expected \(e)"
        case let .invalidValue(k, reason): return "metadata key \"\(k)\": \(reason)"
        case let .badTensorName(index, offset, reason): return "tensor #\(index) at offset \(offset): name \(reason)"
        case let .duplicateTensor(n): return "tensor \"\(n)\" appears twice"
        case let .badDimCount(t, c): return "tensor \"\(t)\" has \(c) dimensions, expected 1 to 4"
        case let .zeroDim(t, axis): return "tensor \"\(t)\" has a zero or negative dimension at axis \(axis)"
        case let .tooManyElements(t): return "tensor \"\(t)\" has more than 2^48 elements"
        case let .unknownDType(t, id): return "tensor \"\(t)\" has unknown dtype id \(id)"
        case let .sizeMismatch(t, e, f): return "tensor \"\(t)\" is \(f) bytes but its shape and dtype need \(e)"
        case let .misaligned(t, o, a): return "tensor \"\(t)\" offset \(o) is not a multiple of the alignment \(a)"
        case let .badTensorOffset(t, e, f): return "tensor \"\(t)\" starts at data offset \(f), expected \(e) (tensors must be in order, without gaps or overlap)"
        case let .tensorOutOfBounds(t, end, ds): return "tensor \"\(t)\" ends at data offset \(end), past the data section (\(ds) bytes)"
        case let .dataSizeMismatch(e, f): return "data_size at offset 48 is \(f), expected \(e) (the padded end of the last tensor)"
        case let .tensorChecksumMismatch(t, s, c): return "tensor \"\(t)\" checksum mismatch: stored \(hex64(s)), computed \(hex64(c))"
        case let .tensorNotFound(n): return "no tensor named \"\(n)\""
        case let .unexpectedTensor(t, reason): return "tensor \"\(t)\": \(reason)"
        case let .nonFinite(t, i): return "tensor \"\(t)\" element \(i) is NaN or infinite: cannot quantize"
        case let .badTernaryCode(t, row, byte): return "tensor \"\(t)\" row \(row) byte \(byte) holds an invalid ternary code"
        case let .badScale(t, row): return "tensor \"\(t)\" scale for row \(row) is negative or not finite"
        case let .writerMisuse(m): return m
        case let .badDestination(p, k): return "\(p): " + RenameDestination.message(kind: k)
        }
    }
}

func hex(_ bytes: [UInt8]) -> String {
    bytes.map { b in let s = String(b, radix: 16); return s.count == 1 ? "0" + s : s }.joined(separator: " ")
}

func hex64(_ v: UInt64) -> String {
    let s = String(v, radix: 16)
    return "0x" + String(repeating: "0", count: 16 - s.count) + s
}
