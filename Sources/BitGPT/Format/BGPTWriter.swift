import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a .bgpt file atomically, streaming tensor data.
///
/// Declare every tensor up front (name, dtype, shape), then hand over each tensor's bytes in
/// declared order with ``write(_:bytes:)``, then ``finish()``. Data goes to an ``AtomicFile`` (a
/// temporary file `.NAME.tmp-PID-N` in the destination's directory); `finish()` writes the header
/// with the checksums and commits it (`fsync`, rename over the destination, `fsync` of the
/// directory). Until then the destination is untouched; an error or a dropped writer removes the
/// temporary file, and a crash leaves at most a stray `.tmp-` file, never a half-written model.
public final class BGPTWriter {
    /// Where the file will be when ``finish()`` returns.
    public let path: String
    /// The laid-out tensor table (offsets, sizes; checksums fill in as data arrives).
    public private(set) var tensors: [TensorInfo]
    private let metadata: Metadata
    private let alignment: Int
    /// The temporary file, renamed into place by ``finish()``.
    private let file: AtomicFile
    private var next = 0
    private let dataOffset: UInt64
    private let dataSize: UInt64
    private var done = false

    /// Checks the declaration and creates the temporary file.
    ///
    /// - Parameters:
    ///   - path: destination path.
    ///   - metadata: all metadata entries, in the order to write them.
    ///   - tensors: name, dtype and shape of every tensor, in file order (offsets are computed).
    ///   - alignment: data alignment, a power of two in 8...65536 (default 64).
    /// - Throws: ``FormatError/writerMisuse(_:)`` for an invalid declaration, ``FormatError/io(call:path:message:)``.
    public init(path: String, metadata: Metadata, tensors: [TensorInfo], alignment: Int = BGPTLayout.defaultAlignment) throws(FormatError) {
        guard alignment >= BGPTLayout.minAlignment, alignment <= BGPTLayout.maxAlignment, alignment & (alignment - 1) == 0 else {
            throw .writerMisuse("alignment \(alignment) is not a power of two in 8...65536")
        }
        guard UInt64(metadata.count) <= BGPTLayout.maxMetadataCount else {
            throw .writerMisuse("\(metadata.count) metadata entries, over the limit of \(BGPTLayout.maxMetadataCount)")
        }
        guard UInt64(tensors.count) <= BGPTLayout.maxTensorCount else {
            throw .writerMisuse("\(tensors.count) tensors, over the limit of \(BGPTLayout.maxTensorCount)")
        }
        for (i, e) in metadata.entries.enumerated() {
            guard UInt64(e.key.utf8.count) <= BGPTLayout.maxKeyLength, BGPTFile.isValidKey(Array(e.key.utf8)) else {
                throw .badKey(index: i, offset: 0, reason: "\"\(e.key)\" is not lower-case dotted ASCII of at most 255 bytes")
            }
            if let reason = BGPTWriter.overLimit(e.value) { throw .writerMisuse("metadata \"\(e.key)\" \(reason)") }
        }
        var seen = Set<String>()
        for t in tensors {
            guard !t.name.isEmpty, UInt64(t.name.utf8.count) <= BGPTLayout.maxTensorNameLength else {
                throw .writerMisuse("tensor name \"\(t.name)\" must be 1 to 255 bytes")
            }
            guard seen.insert(t.name).inserted else { throw .duplicateTensor(t.name) }
            guard (1...BGPTLayout.maxDims).contains(t.shape.count) else { throw .badDimCount(tensor: t.name, count: UInt32(t.shape.count)) }
            for (axis, d) in t.shape.enumerated() where d < 1 { throw .zeroDim(tensor: t.name, axis: axis) }
            guard t.dtype.byteSize(shape: t.shape.map { UInt64($0) }) != nil else { throw .tooManyElements(tensor: t.name) }
        }
        let layout = BGPTEncoding.header(metadata: metadata, tensors: tensors, alignment: alignment)
        guard UInt64(layout.bytes.count) <= BGPTLayout.maxHeaderSize else {
            throw .writerMisuse("header of \(layout.bytes.count) bytes is over the limit of 1 GiB")
        }
        self.path = path
        self.metadata = metadata
        self.alignment = alignment
        self.tensors = layout.tensors
        self.dataOffset = layout.dataOffset
        self.dataSize = layout.dataSize

        file = try AtomicFile(path: path)
        // Size the file now: the header region and padding read as zeros until finish().
        try file.resize(to: dataOffset + dataSize)
    }

    deinit { if !done { abandon() } }

    /// Why a metadata value breaks a reader limit (string, bytes, array lengths), or nil.
    static func overLimit(_ v: MetadataValue) -> String? {
        switch v {
        case let .string(s) where UInt64(s.utf8.count) > BGPTLayout.maxStringLength:
            return "is a string of \(s.utf8.count) bytes, over the limit of \(BGPTLayout.maxStringLength)"
        case let .bytes(b) where UInt64(b.count) > BGPTLayout.maxBytesLength:
            return "holds \(b.count) bytes, over the limit of \(BGPTLayout.maxBytesLength)"
        case let .array(a):
            if UInt64(a.count) > BGPTLayout.maxArrayCount {
                return "has \(a.count) elements, over the limit of \(BGPTLayout.maxArrayCount)"
            }
            if case let .string(x) = a, let long = x.first(where: { UInt64($0.utf8.count) > BGPTLayout.maxStringLength }) {
                return "has a string element of \(long.utf8.count) bytes, over the limit of \(BGPTLayout.maxStringLength)"
            }
            if case let .bytes(x) = a, let long = x.first(where: { UInt64($0.count) > BGPTLayout.maxBytesLength }) {
                return "has a bytes element of \(long.count) bytes, over the limit of \(BGPTLayout.maxBytesLength)"
            }
            return nil
        default:
            return nil
        }
    }

    /// The name of the next tensor ``write(_:bytes:)`` expects, or nil when all are written.
    public var nextTensorName: String? { next < tensors.count ? tensors[next].name : nil }

    /// Writes the bytes of the next declared tensor.
    ///
    /// - Parameters:
    ///   - name: must be the next declared tensor's name.
    ///   - bytes: exactly its byte size (see ``TensorEncoder``).
    /// - Throws: ``FormatError/writerMisuse(_:)`` for the wrong tensor or length, ``FormatError/io(call:path:message:)``.
    public func write(_ name: String, bytes: UnsafeRawBufferPointer) throws(FormatError) {
        guard !done, next < tensors.count, tensors[next].name == name else {
            throw .writerMisuse("writer expected tensor \"\(nextTensorName ?? "(none)")\", got \"\(name)\"")
        }
        let t = tensors[next]
        guard UInt64(bytes.count) == t.byteSize else {
            throw .writerMisuse("tensor \"\(name)\" needs \(t.byteSize) bytes, got \(bytes.count)")
        }
        tensors[next].checksum = XXHash64.hash(bytes)
        do throws(FormatError) { try file.write(bytes, at: dataOffset + t.offset) } catch { abandon(); throw error }
        next += 1
    }

    /// Writes the bytes of the next declared tensor from an array.
    public func write(_ name: String, bytes: [UInt8]) throws(FormatError) {
        let r = bytes.withUnsafeBytes { b in Result { () throws(FormatError) in try write(name, bytes: b) } }
        try r.get()
    }

    /// Writes the header, syncs, and renames the file into place.
    /// - Throws: ``FormatError/writerMisuse(_:)`` if tensors are missing, ``FormatError/io(call:path:message:)``.
    public func finish() throws(FormatError) {
        guard !done else { throw .writerMisuse("writer already finished") }
        guard next == tensors.count else {
            abandon()
            throw .writerMisuse("tensor \"\(tensors[next].name)\" was declared but never written")
        }
        let header = BGPTEncoding.header(metadata: metadata, tensors: tensors, alignment: alignment).bytes
        do throws(FormatError) {
            try header.withUnsafeBytes { h in Result { () throws(FormatError) in try file.write(h, at: 0) } }.get()
            try file.commit()
        } catch {
            abandon()
            throw error
        }
        done = true
    }

    /// Removes the temporary file; the destination keeps its old contents (or stays absent).
    public func abandon() {
        file.abandon()
        done = true
    }

    // MARK: - Convenience

    /// Writes a whole file from in-memory tensors, atomically.
    ///
    /// - Parameters:
    ///   - path: destination.
    ///   - metadata: the metadata.
    ///   - tensors: (name, dtype, shape, bytes) in file order; bytes as ``TensorEncoder`` makes them.
    public static func write(path: String, metadata: Metadata, tensors: [(info: TensorInfo, bytes: [UInt8])],
                             alignment: Int = BGPTLayout.defaultAlignment) throws(FormatError) {
        let w = try BGPTWriter(path: path, metadata: metadata, tensors: tensors.map { $0.info }, alignment: alignment)
        for t in tensors { try w.write(t.info.name, bytes: t.bytes) }
        try w.finish()
    }
}
