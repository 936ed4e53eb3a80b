import BitGPT
import Foundation
import TestSupport
import Testing

/// What opening a (possibly malformed) file must give.
enum Outcome: CustomStringConvertible {
    /// Opening throws exactly this error.
    case error(FormatError)
    /// Opening throws an error accepted by the predicate (for values computed at run time).
    case matching(String, (FormatError) -> Bool)
    /// The file opens and verifies.
    case opens
    /// The file opens; `verify()` throws exactly this error.
    case verifyError(FormatError)
    /// The file opens; `verify()` throws an error accepted by the predicate.
    case verifyMatching(String, (FormatError) -> Bool)

    var description: String {
        switch self {
        case let .error(e): return "error \(e)"
        case let .matching(d, _): return "error \(d)"
        case .opens: return "opens"
        case let .verifyError(e): return "verify error \(e)"
        case let .verifyMatching(d, _): return "verify error \(d)"
        }
    }
}

/// One malformed (or edge-case valid) file and what the reader must say about it.
struct Corruption: CustomStringConvertible, @unchecked Sendable {
    let name: String
    let make: () -> (bytes: [UInt8], outcome: Outcome)
    var description: String { name }
}

/// The corruption table: every check of the reader, each reached by one wrong field in an
/// otherwise valid, re-sealed file and answered with its own specific error. The bar is
/// llama.cpp's `tests/test-gguf.cpp`; this goes further with exact error cases and offsets.
@Suite("Corruption table")
struct CorruptionTests {
    /// Two metadata entries and two tensors:
    /// header 248 bytes, data at 256, tensor "a" (F32 2×3, 24 bytes) at 0, "b" (T2 2×5, 8 bytes)
    /// at 64, data_size 128, file 384 bytes.
    static func base() -> RawFileBuilder {
        var b = RawFileBuilder()
        b.add("general.architecture", .string("llama"))
        b.add("model.dim", .uint32(4))
        b.tensors = [.init(name: "a", dtype: .f32, shape: [2, 3], seed: 1), .init(name: "b", dtype: .t2, shape: [2, 5], seed: 2)]
        return b
    }

    static let fileSize: UInt64 = 384
    static let headerSize: UInt64 = 248
    static let dataOffset: UInt64 = 256
    /// Offset of a third metadata entry appended to the base (after the two valid ones).
    static let extraEntry: UInt64 = 134
    /// Offsets of the two tensor-table entries.
    static let tensorA: UInt64 = 134, tensorB: UInt64 = 191

    /// A case built from the base by mutating the builder.
    static func edit(_ name: String, _ outcome: Outcome, _ change: @escaping (inout RawFileBuilder) -> Void) -> Corruption {
        Corruption(name: name) {
            var b = base()
            change(&b)
            return (b.build(), outcome)
        }
    }

    /// A case with a third metadata entry appended, whose outcome may depend on the built layout.
    static func entry(_ name: String, _ bytes: [UInt8], _ outcome: @escaping (RawFileBuilder) -> Outcome) -> Corruption {
        Corruption(name: name) {
            var b = base()
            b.metadata.append(bytes)
            return (b.build(), outcome(b))
        }
    }

    /// A case that edits the finished bytes of the base file.
    static func patch(_ name: String, _ outcome: Outcome, _ change: @escaping (inout [UInt8]) -> Void) -> Corruption {
        Corruption(name: name) {
            var bytes = base().build()
            change(&bytes)
            return (bytes, outcome)
        }
    }

    static func u32(_ v: UInt32) -> [UInt8] { var o: [UInt8] = []; BGPTEncoding.put(&o, v); return o }
    static func u64(_ v: UInt64) -> [UInt8] { var o: [UInt8] = []; BGPTEncoding.put(&o, v); return o }
    static func str(_ s: [UInt8]) -> [UInt8] { u64(UInt64(s.count)) + s }
    static let x: [UInt8] = Array("x".utf8)
    /// The bytes a key must never hold, with the reason the reader gives.
    static func keyReason(_ k: [UInt8]) -> String {
        "\"\(String(decoding: k, as: UTF8.self))\" is not lower-case dotted ASCII ([a-z0-9_] segments joined by '.')"
    }
    static var realChecksum: UInt64 {
        let b = base().build()
        return b.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 56, as: UInt64.self)) }
    }

    static let cases: [Corruption] = fixedHeaderCases + metadataCases + tensorCases + dataCases

    // MARK: - Fixed header

    static let fixedHeaderCases: [Corruption] = [
        Corruption(name: "empty file") { ([], .error(.tooSmall(size: 0))) },
        Corruption(name: "63 bytes") { (Array(base().build().prefix(63)), .error(.tooSmall(size: 63))) },
        Corruption(name: "64 zero bytes") { ([UInt8](repeating: 0, count: 64), .error(.badMagic(found: [0, 0, 0, 0]))) },
        edit("magic GGUF", .error(.badMagic(found: Array("GGUF".utf8)))) { $0.magic = Array("GGUF".utf8) },
        edit("magic in lower case", .error(.badMagic(found: Array("bgpt".utf8)))) { $0.magic = Array("bgpt".utf8) },
        edit("big-endian byte-order mark", .error(.bigEndian)) { $0.byteOrderMark = 0x0D0C_0B0A },
        edit("zero byte-order mark", .error(.badByteOrderMark(found: 0))) { $0.byteOrderMark = 0 },
        edit("byte-order mark off by one", .error(.badByteOrderMark(found: 0x0A0B_0C0E))) { $0.byteOrderMark = 0x0A0B_0C0E },
        edit("major version 2 (newer) refused", .error(.unsupportedVersion(major: 2, minor: 0))) { $0.major = 2 },
        edit("major version 0 refused", .error(.unsupportedVersion(major: 0, minor: 0))) { $0.major = 0 },
        edit("major version 65535 refused", .error(.unsupportedVersion(major: 65535, minor: 3))) { $0.major = 65535; $0.minor = 3 },
        edit("minor version 1 (newer) accepted", .opens) { $0.minor = 1 },
        edit("minor version 65535 accepted", .opens) { $0.minor = 65535 },
        edit("alignment 0", .error(.badAlignment(0))) { $0.alignment = 0 },
        edit("alignment 3", .error(.badAlignment(3))) { $0.alignment = 3 },
        edit("alignment 4 (below 8)", .error(.badAlignment(4))) { $0.alignment = 4 },
        edit("alignment 96 (not a power of two)", .error(.badAlignment(96))) { $0.alignment = 96 },
        edit("alignment 2^17 (above 65536)", .error(.badAlignment(1 << 17))) { $0.alignment = 1 << 17 },
        edit("alignment 2^31", .error(.badAlignment(1 << 31))) { $0.alignment = 1 << 31 },
        edit("alignment 2^32 - 1", .error(.badAlignment(.max))) { $0.alignment = .max },
        edit("alignment 8 accepted", .opens) { $0.alignment = 8 },
        edit("alignment 65536 accepted", .opens) { $0.alignment = 65536 },
        edit("header_size 0", .error(.badHeaderSize(headerSize: 0, fileSize: fileSize))) { $0.headerSize = 0; $0.dataOffset = 0 },
        edit("header_size 63", .error(.badHeaderSize(headerSize: 63, fileSize: fileSize))) { $0.headerSize = 63 },
        edit("header_size 1 GiB + 1", .error(.badHeaderSize(headerSize: (1 << 30) + 1, fileSize: fileSize))) { $0.headerSize = (1 << 30) + 1 },
        edit("header_size 2^64 - 1", .error(.badHeaderSize(headerSize: .max, fileSize: fileSize))) { $0.headerSize = .max },
        edit("header_size past the end of the file", .error(.fileSizeMismatch(expected: 512 + 128, actual: fileSize))) {
            $0.headerSize = 500; $0.dataOffset = 512
        },
        edit("data_offset 320 (one alignment too far)", .error(.badDataOffset(expected: dataOffset, found: 320))) { $0.dataOffset = 320 },
        edit("data_offset = header_size (not aligned)", .error(.badDataOffset(expected: dataOffset, found: headerSize))) { $0.dataOffset = headerSize },
        edit("data_offset 0", .error(.badDataOffset(expected: dataOffset, found: 0))) { $0.dataOffset = 0 },
        edit("one trailing byte", .error(.fileSizeMismatch(expected: fileSize, actual: fileSize + 1))) { $0.trailing = [0] },
        edit("a trailing second file", .error(.fileSizeMismatch(expected: fileSize, actual: fileSize * 2))) { $0.trailing = base().build() },
        patch("last byte cut off", .error(.fileSizeMismatch(expected: fileSize, actual: fileSize - 1))) { $0.removeLast() },
        edit("data_size one too large", .error(.fileSizeMismatch(expected: fileSize + 1, actual: fileSize))) { $0.storedDataSize = 129 },
        edit("data_offset + data_size overflows", .error(.fileSizeMismatch(expected: .max, actual: fileSize))) { $0.storedDataSize = .max - 100 },
        edit("header checksum wrong", .matching("headerChecksumMismatch(stored: 0x1234)") {
            $0 == .headerChecksumMismatch(stored: 0x1234, computed: realChecksum)
        }) { $0.headerChecksum = 0x1234 },
        edit("header not sealed", .matching("headerChecksumMismatch(stored: 0)") {
            $0 == .headerChecksumMismatch(stored: 0, computed: realChecksum)
        }) { $0.seal = false },
        patch("a metadata byte changed after sealing", .matching("headerChecksumMismatch") {
            if case let .headerChecksumMismatch(stored, computed) = $0 { return stored == realChecksum && computed != stored }
            return false
        }) { $0[100] ^= 0x20 },
        edit("non-zero padding before the data", .error(.nonZeroPadding(offset: headerSize))) { $0.paddingByte = 0xAA },
        patch("last padding byte before the data is 1", .error(.nonZeroPadding(offset: dataOffset - 1))) { $0[Int(dataOffset) - 1] = 1 },
        edit("metadata_count 65537", .error(.countTooLarge(field: "metadata_count", count: 65537, limit: 65536))) { $0.metadataCount = 65537 },
        edit("metadata_count 2^64 - 1", .error(.countTooLarge(field: "metadata_count", count: .max, limit: 65536))) { $0.metadataCount = .max },
        edit("tensor_count 1048577", .error(.countTooLarge(field: "tensor_count", count: 1_048_577, limit: 1_048_576))) { $0.tensorCount = 1_048_577 },
        edit("tensor_count 2^63", .error(.countTooLarge(field: "tensor_count", count: 1 << 63, limit: 1_048_576))) { $0.tensorCount = 1 << 63 },
    ]

    // MARK: - Metadata

    static let metadataCases: [Corruption] = [
        entry("empty key", rawKey([], type: 4, value: u32(1))) { _ in .error(.badKey(index: 2, offset: extraEntry, reason: "empty key")) },
        entry("key of 256 bytes", rawKey([UInt8](repeating: 0x61, count: 256), type: 4, value: u32(1))) { _ in
            .error(.badKey(index: 2, offset: extraEntry, reason: "key length 256 is over 255"))
        },
        entry("key length 2^63", RawFileBuilder.rawEntry(key: [], keyLength: 1 << 63, type: 4, value: u32(1))) { _ in
            .error(.badKey(index: 2, offset: extraEntry, reason: "key length 9223372036854775808 is over 255"))
        },
        entry("key of 255 bytes accepted", rawKey([UInt8](repeating: 0x61, count: 255), type: 4, value: u32(1))) { _ in .opens },
        entry("key with an upper-case letter", rawKey(Array("General.name".utf8), type: 4, value: u32(1))) { _ in
            .error(.badKey(index: 2, offset: extraEntry, reason: keyReason(Array("General.name".utf8))))
        },
        entry("key with an empty segment", rawKey(Array("a..b".utf8), type: 4, value: u32(1))) { _ in
            .error(.badKey(index: 2, offset: extraEntry, reason: keyReason(Array("a..b".utf8))))
        },
        entry("key starting with a dot", rawKey(Array(".a".utf8), type: 4, value: u32(1))) { _ in
            .error(.badKey(index: 2, offset: extraEntry, reason: keyReason(Array(".a".utf8))))
        },
        entry("key ending with a dot", rawKey(Array("a.".utf8), type: 4, value: u32(1))) { _ in
            .error(.badKey(index: 2, offset: extraEntry, reason: keyReason(Array("a.".utf8))))
        },
        entry("key with a dash", rawKey(Array("a-b".utf8), type: 4, value: u32(1))) { _ in
            .error(.badKey(index: 2, offset: extraEntry, reason: keyReason(Array("a-b".utf8))))
        },
        entry("key with a space", rawKey(Array("a b".utf8), type: 4, value: u32(1))) { _ in
            .error(.badKey(index: 2, offset: extraEntry, reason: keyReason(Array("a b".utf8))))
        },
        entry("key with a NUL", rawKey([0x61, 0, 0x62], type: 4, value: u32(1))) { _ in
            .error(.badKey(index: 2, offset: extraEntry, reason: keyReason([0x61, 0, 0x62])))
        },
        entry("key with non-ASCII UTF-8", rawKey(Array("café".utf8), type: 4, value: u32(1))) { _ in
            .error(.badKey(index: 2, offset: extraEntry, reason: keyReason(Array("café".utf8))))
        },
        entry("key with invalid UTF-8", rawKey([0x61, 0xFF], type: 4, value: u32(1))) { _ in
            .error(.badKey(index: 2, offset: extraEntry, reason: keyReason([0x61, 0xFF])))
        },
        entry("key length past the header", RawFileBuilder.rawEntry(key: [], keyLength: 200, type: 4, value: [])) { b in
            .error(.truncated(field: "metadata key #2", offset: extraEntry + 8, needed: 200, available: b.tensorEntryOffset(2) - extraEntry - 8))
        },
        entry("duplicate key", RawFileBuilder.entry("general.architecture", .string("gpt2"))) { _ in .error(.duplicateKey("general.architecture")) },
        entry("value type 14 (unknown)", rawKey(x, type: 14, value: u32(1))) { _ in .error(.badValueType(key: "x", type: 14)) },
        entry("value type 2^32 - 1", rawKey(x, type: .max, value: [])) { _ in .error(.badValueType(key: "x", type: .max)) },
        entry("nested array", rawKey(x, type: 12, value: u32(12) + u64(0))) { _ in .error(.badArrayType(key: "x", type: 12)) },
        entry("array of unknown type 99", rawKey(x, type: 12, value: u32(99) + u64(0))) { _ in .error(.badArrayType(key: "x", type: 99)) },
        entry("bool holding 2", rawKey(x, type: 10, value: [2])) { _ in .error(.badBool(key: "x", value: 2)) },
        entry("bool holding 255", rawKey(x, type: 10, value: [255])) { _ in .error(.badBool(key: "x", value: 255)) },
        entry("bool array holding 2", rawKey(x, type: 12, value: u32(10) + u64(3) + [1, 0, 2])) { _ in .error(.badBool(key: "x", value: 2)) },
        entry("string length 2^40", rawKey(x, type: 11, value: u64(1 << 40))) { _ in
            .error(.lengthTooLarge(field: "value of \"x\"", offset: extraEntry + 13, length: 1 << 40, limit: 64 << 20))
        },
        entry("string length 64 MiB + 1", rawKey(x, type: 11, value: u64((64 << 20) + 1))) { _ in
            .error(.lengthTooLarge(field: "value of \"x\"", offset: extraEntry + 13, length: (64 << 20) + 1, limit: 64 << 20))
        },
        entry("string running past the header", rawKey(x, type: 11, value: u64(1000) + Array("abc".utf8))) { b in
            .error(.truncated(field: "value of \"x\"", offset: extraEntry + 21, needed: 1000, available: b.tensorEntryOffset(2) - extraEntry - 21))
        },
        entry("bytes length 512 MiB + 1", rawKey(x, type: 13, value: u64((512 << 20) + 1))) { _ in
            .error(.lengthTooLarge(field: "value of \"x\"", offset: extraEntry + 13, length: (512 << 20) + 1, limit: 512 << 20))
        },
        entry("array count 2^40", rawKey(x, type: 12, value: u32(4) + u64(1 << 40))) { _ in
            .error(.lengthTooLarge(field: "element count of \"x\"", offset: extraEntry + 17, length: 1 << 40, limit: 16 << 20))
        },
        entry("array count 16 Mi + 1", rawKey(x, type: 12, value: u32(0) + u64((16 << 20) + 1))) { _ in
            .error(.lengthTooLarge(field: "element count of \"x\"", offset: extraEntry + 17, length: (16 << 20) + 1, limit: 16 << 20))
        },
        entry("array of a million u32 in a small header", rawKey(x, type: 12, value: u32(4) + u64(1_000_000))) { b in
            .error(.truncated(field: "1000000 elements of \"x\"", offset: extraEntry + 25, needed: 4_000_000, available: b.tensorEntryOffset(2) - extraEntry - 25))
        },
        entry("array of 16 Mi strings in a small header", rawKey(x, type: 12, value: u32(11) + u64(16 << 20))) { b in
            .error(.truncated(field: "\(16 << 20) elements of \"x\"", offset: extraEntry + 25, needed: 8 << 24, available: b.tensorEntryOffset(2) - extraEntry - 25))
        },
        entry("string array element of 2^40 bytes", rawKey(x, type: 12, value: u32(11) + u64(1) + u64(1 << 40))) { _ in
            .error(.lengthTooLarge(field: "element of \"x\"", offset: extraEntry + 25, length: 1 << 40, limit: 64 << 20))
        },
        entry("invalid UTF-8 string", rawKey(x, type: 11, value: str([0xC3, 0x28]))) { _ in
            .error(.invalidUTF8(field: "value of \"x\"", offset: extraEntry + 13))
        },
        entry("overlong UTF-8 encoding", rawKey(x, type: 11, value: str([0xC0, 0xAF]))) { _ in
            .error(.invalidUTF8(field: "value of \"x\"", offset: extraEntry + 13))
        },
        entry("UTF-8 surrogate", rawKey(x, type: 11, value: str([0xED, 0xA0, 0x80]))) { _ in
            .error(.invalidUTF8(field: "value of \"x\"", offset: extraEntry + 13))
        },
        entry("invalid UTF-8 in a string array", rawKey(x, type: 12, value: u32(11) + u64(2) + str(Array("ok".utf8)) + str([0xFF]))) { _ in
            .error(.invalidUTF8(field: "element of \"x\"", offset: extraEntry + 35))
        },
        entry("u64 value with no bytes swallows the table's first field", rawKey(x, type: 6, value: [])) { _ in
            // The value takes tensor "a"'s name length; the next u64 read as a name length is
            // 'a', dtype 0 and n_dims 2: 0x61 + 2 << 40.
            .error(.badTensorName(index: 0, offset: extraEntry + 21, reason: "length \(0x61 + (2 << 40)) is over 255"))
        },
        Corruption(name: "metadata_count one more than present") {
            var b = RawFileBuilder.minimal()
            b.metadataCount = 2
            return (b.build(), .error(.truncated(field: "metadata key #1 length", offset: b.metadataOffset(1), needed: 8, available: 0)))
        },
        Corruption(name: "u32 value cut by the end of the header") {
            var b = RawFileBuilder.minimal()
            b.metadata.append(rawKey(x, type: 4, value: [1, 2]))
            return (b.build(), .error(.truncated(field: "x", offset: b.metadataOffset(1) + 13, needed: 4, available: 2)))
        },
        Corruption(name: "empty string value and empty arrays accepted") {
            var b = RawFileBuilder.minimal()
            b.add("a.s", .string(""))
            b.add("a.b", .bytes([]))
            b.add("a.arr", .array(.string([])))
            b.add("a.arr2", .array(.string(["", ""])))
            return (b.build(), .opens)
        },
    ]

    static func rawKey(_ key: [UInt8], type: UInt32, value: [UInt8]) -> [UInt8] {
        RawFileBuilder.rawEntry(key: key, type: type, value: value)
    }

    // MARK: - Tensor table

    static let tensorCases: [Corruption] = [
        edit("empty tensor name", .error(.badTensorName(index: 0, offset: tensorA, reason: "is empty"))) { $0.tensors[0].name = [] },
        edit("tensor name of 256 bytes", .error(.badTensorName(index: 0, offset: tensorA, reason: "length 256 is over 255"))) {
            $0.tensors[0].name = [UInt8](repeating: 0x61, count: 256)
        },
        edit("tensor name length 2^64 - 1", .error(.badTensorName(index: 1, offset: tensorB, reason: "length 18446744073709551615 is over 255"))) {
            $0.tensors[1].nameLength = .max
        },
        edit("tensor name of invalid UTF-8", .error(.badTensorName(index: 1, offset: tensorB, reason: "is not valid UTF-8"))) {
            $0.tensors[1].name = [0xFF]
        },
        edit("tensor name of 255 bytes accepted", .opens) { $0.tensors[0].name = [UInt8](repeating: 0x61, count: 255) },
        edit("duplicate tensor", .error(.duplicateTensor("a"))) { $0.tensors[1].name = Array("a".utf8) },
        edit("0 dimensions", .error(.badDimCount(tensor: "a", count: 0))) { $0.tensors[0].shape = [] },
        edit("5 dimensions", .error(.badDimCount(tensor: "a", count: 5))) { $0.tensors[0].shape = [1, 1, 1, 2, 3] },
        edit("n_dims 2^32 - 1", .error(.badDimCount(tensor: "b", count: .max))) { $0.tensors[1].nDims = .max },
        edit("zero dimension at axis 1", .error(.zeroDim(tensor: "a", axis: 1))) { $0.tensors[0].shape = [2, 0, 3] },
        edit("zero dimension in a vector", .error(.zeroDim(tensor: "b", axis: 0))) { $0.tensors[1].shape = [0] },
        edit("element count overflows 64 bits", .error(.tooManyElements(tensor: "a"))) { $0.tensors[0].shape = [1 << 32, 1 << 32] },
        edit("element count 2^48 + 1", .error(.tooManyElements(tensor: "a"))) { $0.tensors[0].shape = [(1 << 48) + 1] },
        edit("element count 2^49 over three dims", .error(.tooManyElements(tensor: "b"))) { $0.tensors[1].shape = [1 << 24, 2, 1 << 24] },
        edit("2^48 elements with a small byte size", .error(.sizeMismatch(tensor: "a", expected: 1 << 50, found: 24))) {
            $0.tensors[0].shape = [1 << 24, 1 << 24]
        },
        edit("2^48 elements with the matching byte size", .error(.tensorOutOfBounds(tensor: "a", end: 1 << 50, dataSize: 128))) {
            $0.tensors[0].shape = [1 << 24, 1 << 24]; $0.tensors[0].byteSize = 1 << 50
        },
        edit("dtype 3 (reserved)", .error(.unknownDType(tensor: "a", id: 3))) { $0.tensors[0].dtype = 3 },
        edit("dtype 18 (reserved ternary)", .error(.unknownDType(tensor: "b", id: 18))) { $0.tensors[1].dtype = 18 },
        edit("dtype 0x80000000 (vendor)", .error(.unknownDType(tensor: "a", id: 0x8000_0000))) { $0.tensors[0].dtype = 0x8000_0000 },
        edit("byte size one short", .error(.sizeMismatch(tensor: "a", expected: 24, found: 23))) { $0.tensors[0].byteSize = 23 },
        edit("byte size 0", .error(.sizeMismatch(tensor: "a", expected: 24, found: 0))) { $0.tensors[0].byteSize = 0 },
        edit("byte size 2^64 - 1", .error(.sizeMismatch(tensor: "b", expected: 8, found: .max))) { $0.tensors[1].byteSize = .max },
        edit("T2 byte size without the scale", .error(.sizeMismatch(tensor: "b", expected: 8, found: 4))) { $0.tensors[1].byteSize = 4 },
        edit("dtype changed to T1 (other size)", .error(.sizeMismatch(tensor: "b", expected: 6, found: 8))) { $0.tensors[1].dtype = 17 },
        edit("misaligned offset 32", .error(.misaligned(tensor: "b", offset: 32, alignment: 64))) { $0.tensors[1].offset = 32 },
        edit("misaligned offset 65", .error(.misaligned(tensor: "b", offset: 65, alignment: 64))) { $0.tensors[1].offset = 65 },
        edit("overlapping tensors", .error(.badTensorOffset(tensor: "b", expected: 64, found: 0))) { $0.tensors[1].offset = 0 },
        edit("gap between tensors", .error(.badTensorOffset(tensor: "b", expected: 64, found: 128))) { $0.tensors[1].offset = 128 },
        edit("first tensor not at 0", .error(.badTensorOffset(tensor: "a", expected: 0, found: 64))) { $0.tensors[0].offset = 64 },
        edit("offset 2^64 - 64", .error(.badTensorOffset(tensor: "b", expected: 64, found: UInt64.max - 63))) { $0.tensors[1].offset = UInt64.max - 63 },
        edit("tensor past the data section", .error(.tensorOutOfBounds(tensor: "b", end: 72, dataSize: 64))) { $0.dataSize = 64 },
        edit("data_size 0 with tensors", .error(.tensorOutOfBounds(tensor: "a", end: 24, dataSize: 0))) { $0.dataSize = 0 },
        edit("data_size one alignment too large", .error(.dataSizeMismatch(expected: 128, found: 192))) { $0.dataSize = 192 },
        edit("data_size = unpadded end of the last tensor", .error(.dataSizeMismatch(expected: 128, found: 72))) { $0.dataSize = 72 },
        Corruption(name: "data section without tensors") {
            var b = RawFileBuilder.minimal()
            b.dataSize = 64
            return (b.build(), .error(.dataSizeMismatch(expected: 0, found: 64)))
        },
        Corruption(name: "no tensors and no data accepted") { (RawFileBuilder.minimal().build(), .opens) },
        Corruption(name: "no metadata and no tensors accepted") { (RawFileBuilder().build(), .opens) },
        edit("table ends 4 bytes before header_size", .error(.headerSizeMismatch(tableEnd: headerSize, headerSize: headerSize + 4))) {
            $0.extraHeaderBytes = [0, 0, 0, 0]
        },
        edit("table ends 8 bytes before header_size", .error(.headerSizeMismatch(tableEnd: headerSize, headerSize: headerSize + 8))) {
            $0.extraHeaderBytes = [UInt8](repeating: 0, count: 8)
        },
        edit("tensor_count one less than the table", .error(.headerSizeMismatch(tableEnd: tensorB, headerSize: headerSize))) { $0.tensorCount = 1 },
        edit("tensor_count one more than the table", .error(.truncated(field: "tensor #2 name length", offset: headerSize, needed: 8, available: 0))) {
            $0.tensorCount = 3
        },
        edit("header_size cuts the last checksum", .error(.truncated(field: "checksum of tensor \"b\"", offset: 240, needed: 8, available: 0))) {
            $0.headerSize = 240; $0.tensors[1].checksum = 0
        },
        edit("header_size cuts the table (non-zero bytes become padding)", .error(.nonZeroPadding(offset: 240))) {
            $0.headerSize = 240; $0.tensors[1].checksum = 0x0101_0101_0101_0101
        },
    ]

    // MARK: - Data (deep check)

    static let dataCases: [Corruption] = [
        Corruption(name: "wrong tensor checksum") {
            var b = base()
            b.tensors[1].checksum = 0xDEAD
            return (b.build(), .verifyError(.tensorChecksumMismatch(tensor: "b", stored: 0xDEAD, computed: XXHash64.hash(b.tensors[1].data))))
        },
        patch("flipped bit in tensor data", .verifyMatching("tensorChecksumMismatch(b)") {
            if case let .tensorChecksumMismatch(t, s, c) = $0 { return t == "b" && s != c } else { return false }
        }) { $0[Int(dataOffset) + 64] ^= 1 },
        patch("flipped bit in the T2 scale", .verifyMatching("tensorChecksumMismatch(b)") {
            if case .tensorChecksumMismatch("b", _, _) = $0 { return true } else { return false }
        }) { $0[Int(dataOffset) + 71] ^= 0x80 },
        patch("non-zero padding between tensors", .verifyError(.nonZeroPadding(offset: dataOffset + 24))) { $0[Int(dataOffset) + 24] = 7 },
        patch("non-zero padding after the last tensor", .verifyError(.nonZeroPadding(offset: fileSize - 1))) { $0[Int(fileSize) - 1] = 1 },
    ]

    static func run(_ bytes: [UInt8]) -> Result<BGPTFile, FormatError> {
        do throws(FormatError) { return .success(try BGPTFile(bytes: bytes)) } catch { return .failure(error) }
    }

    static func check(_ result: Result<BGPTFile, FormatError>, _ outcome: Outcome, _ label: String) {
        switch (outcome, result) {
        case let (.error(e), .failure(got)):
            #expect(got == e, "\(label)")
        case let (.matching(d, ok), .failure(got)):
            #expect(ok(got), "\(label): expected \(d), got \(got)")
        case (.opens, .success(let f)):
            #expect(throws: Never.self, "\(label)") { try f.verify() }
        case let (.verifyError(e), .success(f)):
            #expect(throws: e, "\(label)") { try f.verify() }
        case let (.verifyMatching(d, ok), .success(f)):
            do throws(FormatError) { try f.verify(); Issue.record("\(label): verify passed, expected \(d)") } catch {
                #expect(ok(error), "\(label): expected \(d), got \(error)")
            }
        case (_, .success):
            Issue.record("\(label): opened, expected \(outcome)")
        case let (_, .failure(got)):
            Issue.record("\(label): expected \(outcome), got \(got)")
        }
    }

    @Test("the base file is valid and laid out as the table's offsets assume")
    func baseFile() throws {
        let b = Self.base()
        let bytes = b.build()
        #expect(UInt64(bytes.count) == Self.fileSize)
        #expect(b.metadataOffset(2) == Self.extraEntry)
        #expect(b.tensorEntryOffset(0) == Self.tensorA && b.tensorEntryOffset(1) == Self.tensorB && b.tensorEntryOffset(2) == Self.headerSize)
        let f = try BGPTFile(bytes: bytes)
        try f.verify()
        #expect(f.headerSize == Int(Self.headerSize) && f.dataOffset == Int(Self.dataOffset))
        #expect(f.tensors.map(\.offset) == [0, 64])
        // The builder lays out exactly what the writer's encoder does.
        var m = Metadata()
        m.set("general.architecture", .string("llama"))
        m.set("model.dim", .uint32(4))
        let infos = b.tensors.enumerated().map { i, t in
            TensorInfo(name: String(decoding: t.name, as: UTF8.self), dtype: DType(rawValue: t.dtype)!, shape: t.shape.map { Int($0) }, checksum: XXHash64.hash(t.data))
        }
        #expect(Array(bytes.prefix(Int(Self.headerSize))) == BGPTEncoding.header(metadata: m, tensors: infos, alignment: 64).bytes)
    }

    @Test("each malformed file gives its own specific error, from memory and from disk", arguments: cases)
    func corruption(_ c: Corruption) throws {
        let (bytes, outcome) = c.make()
        Self.check(Self.run(bytes), outcome, c.name)
        // The mapped reader must agree with the in-memory one.
        let dir = try TemporaryDirectory()
        let path = try dir.write("case.bgpt", bytes)
        let mapped: Result<BGPTFile, FormatError>
        do throws(FormatError) { mapped = .success(try BGPTFile(path: path)) } catch { mapped = .failure(error) }
        Self.check(mapped, outcome, c.name + " (mapped)")
    }

    @Test("the table has at least 100 distinct cases")
    func tableSize() {
        #expect(Self.cases.count >= 100)
        #expect(Set(Self.cases.map(\.name)).count == Self.cases.count, "case names are unique")
    }

    @Test("truncating a file at every offset gives tooSmall or fileSizeMismatch, never a crash")
    func truncationEverywhere() {
        for bytes in [Self.base().build(), SampleFiles.richFileBytes()] {
            for n in 0..<bytes.count {
                let expected: FormatError = n < 64 ? .tooSmall(size: UInt64(n)) : .fileSizeMismatch(expected: UInt64(bytes.count), actual: UInt64(n))
                #expect(throws: expected, "cut at \(n)") { _ = try BGPTFile(bytes: Array(bytes.prefix(n))) }
            }
        }
    }

    @Test("truncating the header and re-sealing what is left still gives an error, never a crash")
    func truncationResealed() {
        // header_size and data_offset are set to the cut, so the parser itself meets the end.
        let b = Self.base()
        let full = b.build()
        for cut in 64..<Int(Self.headerSize) {
            var bytes = Array(full.prefix(cut))
            RawFileBuilder.patch(&bytes, at: 32, UInt64(cut))
            let padded = Int(alignUp(UInt64(cut), 64)!)
            RawFileBuilder.patch(&bytes, at: 40, UInt64(padded))
            RawFileBuilder.patch(&bytes, at: 48, UInt64(0))
            bytes += [UInt8](repeating: 0, count: padded - cut)
            RawFileBuilder.reseal(&bytes)
            if case .success = Self.run(bytes) { Issue.record("cut at \(cut) opened") }
        }
    }
}
