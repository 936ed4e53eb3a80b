/// Byte-level encoders for every part of a .bgpt header, shared by ``BGPTWriter`` and the tests
/// that build malformed files field by field.
public enum BGPTEncoding {
    /// Appends `v` little-endian.
    public static func put<T: FixedWidthInteger>(_ out: inout [UInt8], _ v: T) {
        withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
    }

    /// Appends a u64 length and the UTF-8 bytes of `s`.
    public static func putString(_ out: inout [UInt8], _ s: String) {
        put(&out, UInt64(s.utf8.count))
        out.append(contentsOf: s.utf8)
    }

    /// The 64-byte fixed header with the given fields (checksum as given; see ``sealHeader(_:)``).
    public static func fixedHeader(alignment: UInt32, metadataCount: UInt64, tensorCount: UInt64, headerSize: UInt64,
                                   dataOffset: UInt64, dataSize: UInt64, checksum: UInt64 = 0,
                                   major: UInt16 = BGPTLayout.majorVersion, minor: UInt16 = BGPTLayout.minorVersion) -> [UInt8] {
        var h = BGPTLayout.magic
        put(&h, BGPTLayout.byteOrderMark)
        put(&h, major)
        put(&h, minor)
        put(&h, alignment)
        put(&h, metadataCount)
        put(&h, tensorCount)
        put(&h, headerSize)
        put(&h, dataOffset)
        put(&h, dataSize)
        put(&h, checksum)
        return h
    }

    /// Writes the header checksum of `header` (at least 64 bytes: fixed header + tables) in place.
    public static func sealHeader(_ header: inout [UInt8]) {
        let sum = header.withUnsafeBytes { BGPTFile.headerChecksum($0) }
        withUnsafeBytes(of: sum.littleEndian) { s in
            for i in 0..<8 { header[BGPTLayout.headerChecksumOffset + i] = s[i] }
        }
    }

    /// Appends one metadata entry: key, type id, value.
    public static func putEntry(_ out: inout [UInt8], key: String, value: MetadataValue) {
        putString(&out, key)
        put(&out, value.type.rawValue)
        putValue(&out, value)
    }

    /// Appends a value's bytes (without its type id).
    public static func putValue(_ out: inout [UInt8], _ value: MetadataValue) {
        switch value {
        case let .uint8(v): put(&out, v)
        case let .int8(v): put(&out, v)
        case let .uint16(v): put(&out, v)
        case let .int16(v): put(&out, v)
        case let .uint32(v): put(&out, v)
        case let .int32(v): put(&out, v)
        case let .uint64(v): put(&out, v)
        case let .int64(v): put(&out, v)
        case let .float32(v): put(&out, v.bitPattern)
        case let .float64(v): put(&out, v.bitPattern)
        case let .bool(v): put(&out, UInt8(v ? 1 : 0))
        case let .string(s): putString(&out, s)
        case let .bytes(b): put(&out, UInt64(b.count)); out.append(contentsOf: b)
        case let .array(a):
            put(&out, a.elementType.rawValue)
            put(&out, UInt64(a.count))
            switch a {
            case let .uint8(x): out.append(contentsOf: x)
            case let .int8(x): for v in x { put(&out, v) }
            case let .uint16(x): for v in x { put(&out, v) }
            case let .int16(x): for v in x { put(&out, v) }
            case let .uint32(x): for v in x { put(&out, v) }
            case let .int32(x): for v in x { put(&out, v) }
            case let .uint64(x): for v in x { put(&out, v) }
            case let .int64(x): for v in x { put(&out, v) }
            case let .float32(x): for v in x { put(&out, v.bitPattern) }
            case let .float64(x): for v in x { put(&out, v.bitPattern) }
            case let .bool(x): for v in x { put(&out, UInt8(v ? 1 : 0)) }
            case let .string(x): for v in x { putString(&out, v) }
            case let .bytes(x): for v in x { put(&out, UInt64(v.count)); out.append(contentsOf: v) }
            }
        }
    }

    /// Appends one tensor-table entry.
    public static func putTensor(_ out: inout [UInt8], name: String, dtype: UInt32, shape: [UInt64],
                                 offset: UInt64, byteSize: UInt64, checksum: UInt64) {
        putString(&out, name)
        put(&out, dtype)
        put(&out, UInt32(shape.count))
        for d in shape { put(&out, d) }
        put(&out, offset)
        put(&out, byteSize)
        put(&out, checksum)
    }

    /// Lays out `tensors` (offsets and sizes filled in) and serializes the whole header.
    ///
    /// - Returns: the sealed header bytes (length `header_size`), the laid-out table, the data
    ///   offset and the data size.
    public static func header(metadata: Metadata, tensors: [TensorInfo], alignment: Int)
        -> (bytes: [UInt8], tensors: [TensorInfo], dataOffset: UInt64, dataSize: UInt64) {
        let a = UInt64(alignment)
        var laid = tensors
        var off: UInt64 = 0
        for i in laid.indices {
            laid[i].offset = off
            laid[i].byteSize = laid[i].dtype.byteSize(shape: laid[i].shape.map { UInt64($0) }) ?? 0
            off = alignUp(off + laid[i].byteSize, a) ?? 0
        }
        var body: [UInt8] = []
        for e in metadata.entries { putEntry(&body, key: e.key, value: e.value) }
        for t in laid {
            putTensor(&body, name: t.name, dtype: t.dtype.rawValue, shape: t.shape.map { UInt64($0) },
                      offset: t.offset, byteSize: t.byteSize, checksum: t.checksum)
        }
        let headerSize = UInt64(BGPTLayout.fixedHeaderSize + body.count)
        let dataOffset = alignUp(headerSize, a)!
        var bytes = fixedHeader(alignment: UInt32(alignment), metadataCount: UInt64(metadata.count), tensorCount: UInt64(laid.count),
                                headerSize: headerSize, dataOffset: dataOffset, dataSize: off)
        bytes += body
        sealHeader(&bytes)
        return (bytes, laid, dataOffset, off)
    }
}
