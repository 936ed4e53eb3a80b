/// An open, validated .bgpt file: header, metadata and tensor table, with zero-copy tensor views.
///
/// Opening maps the file and validates every count, length, offset and size once, with
/// overflow-checked arithmetic and before allocating anything sized by the file; it does not read
/// tensor data, so opening costs the same for a 1 MB and a 1 GB model. After that the rest of the
/// code trusts the table. ``verify()`` is the deep check: it hashes every tensor.
///
/// Layout and rules: `formats/bgpt.md`.
public final class BGPTFile: @unchecked Sendable {
    /// The file bytes. Views into it are valid while this object lives.
    public let storage: FileStorage
    /// Format version of the file (major, minor).
    public let version: (major: UInt16, minor: UInt16)
    /// Alignment of the data section and every tensor, in bytes.
    public let alignment: Int
    /// The metadata, in file order.
    public let metadata: Metadata
    /// The tensor table, in file order (which is offset order).
    public let tensors: [TensorInfo]
    /// Byte offset of the data section in the file.
    public let dataOffset: Int
    /// The header size (fixed header + metadata + tensor table), in bytes.
    public let headerSize: Int
    private let byName: [String: Int]

    /// Opens and validates the file at `path` (mapped read-only).
    ///
    /// - Throws: a ``FormatError`` that names the first problem found.
    public convenience init(path: String) throws(FormatError) {
        try self.init(storage: FileStorage(mapping: path))
    }

    /// Opens and validates a file image held in memory (the bytes are copied).
    public convenience init(bytes: UnsafeRawBufferPointer) throws(FormatError) {
        try self.init(storage: FileStorage(copying: bytes))
    }

    /// Opens and validates a file image held in a byte array (copied).
    public convenience init(bytes: [UInt8]) throws(FormatError) {
        let storage = bytes.withUnsafeBytes { FileStorage(copying: $0) }
        try self.init(storage: storage)
    }

    /// Validates `storage` as a .bgpt file.
    public init(storage: FileStorage) throws(FormatError) {
        self.storage = storage
        let fileSize = UInt64(storage.count)
        let base = storage.base
        guard fileSize >= UInt64(BGPTLayout.fixedHeaderSize) else { throw .tooSmall(size: fileSize) }

        // 1. Fixed header: magic, byte order, version, alignment, sizes.
        var r = ByteReader(base: base, offset: 0, end: BGPTLayout.fixedHeaderSize)
        let magic = try r.bytes(4, "magic")
        guard magic == BGPTLayout.magic else { throw .badMagic(found: magic) }
        let bom = try r.u32("byte_order_mark")
        if bom == BGPTLayout.byteOrderMark.byteSwapped { throw .bigEndian }
        guard bom == BGPTLayout.byteOrderMark else { throw .badByteOrderMark(found: bom) }
        let major = try r.u16("major_version")
        let minor = try r.u16("minor_version")
        guard major == BGPTLayout.majorVersion else { throw .unsupportedVersion(major: major, minor: minor) }
        let align32 = try r.u32("alignment")
        guard align32 >= UInt32(BGPTLayout.minAlignment), align32 <= UInt32(BGPTLayout.maxAlignment),
              align32 & (align32 - 1) == 0 else { throw .badAlignment(align32) }
        let align = UInt64(align32)
        let nKV = try r.u64("metadata_count")
        let nTensors = try r.u64("tensor_count")
        let headerSize = try r.u64("header_size")
        let dataOffset = try r.u64("data_offset")
        let dataSize = try r.u64("data_size")
        let storedSum = try r.u64("header_checksum")

        // header_size <= file size follows from the size check below (header_size <= data_offset),
        // which names truncation and trailing bytes as such.
        guard headerSize >= UInt64(BGPTLayout.fixedHeaderSize), headerSize <= BGPTLayout.maxHeaderSize else {
            throw .badHeaderSize(headerSize: headerSize, fileSize: fileSize)
        }
        guard let expectedDataOffset = alignUp(headerSize, align), dataOffset == expectedDataOffset else {
            throw .badDataOffset(expected: alignUp(headerSize, align) ?? 0, found: dataOffset)
        }
        let (end, endOverflow) = dataOffset.addingReportingOverflow(dataSize)
        guard !endOverflow, end == fileSize else {
            throw .fileSizeMismatch(expected: endOverflow ? UInt64.max : end, actual: fileSize)
        }

        // 2. Header checksum, before any variable-length parsing.
        let computed = BGPTFile.headerChecksum(UnsafeRawBufferPointer(start: base, count: Int(headerSize)))
        guard computed == storedSum else { throw .headerChecksumMismatch(stored: storedSum, computed: computed) }
        for i in Int(headerSize)..<Int(dataOffset) where base.load(fromByteOffset: i, as: UInt8.self) != 0 {
            throw .nonZeroPadding(offset: UInt64(i))
        }

        guard nKV <= BGPTLayout.maxMetadataCount else {
            throw .countTooLarge(field: "metadata_count", count: nKV, limit: BGPTLayout.maxMetadataCount)
        }
        guard nTensors <= BGPTLayout.maxTensorCount else {
            throw .countTooLarge(field: "tensor_count", count: nTensors, limit: BGPTLayout.maxTensorCount)
        }

        // 3. Metadata and tensor table, bounded by header_size.
        r = ByteReader(base: base, offset: BGPTLayout.fixedHeaderSize, end: Int(headerSize))
        var metadata = Metadata()
        for i in 0..<Int(nKV) {
            let (key, value) = try BGPTFile.readEntry(&r, index: i)
            guard metadata.appendUnique(key, value) else { throw .duplicateKey(key) }
        }
        var tensors: [TensorInfo] = []
        tensors.reserveCapacity(min(Int(nTensors), r.remaining / 40))
        var byName: [String: Int] = [:]
        var expectedOffset: UInt64 = 0
        for i in 0..<Int(nTensors) {
            let info = try BGPTFile.readTensorInfo(&r, index: i)
            guard byName[info.name] == nil else { throw .duplicateTensor(info.name) }
            guard info.offset % align == 0 else { throw .misaligned(tensor: info.name, offset: info.offset, alignment: align) }
            guard info.offset == expectedOffset else { throw .badTensorOffset(tensor: info.name, expected: expectedOffset, found: info.offset) }
            let (tEnd, o) = info.offset.addingReportingOverflow(info.byteSize)
            guard !o, tEnd <= dataSize else { throw .tensorOutOfBounds(tensor: info.name, end: o ? UInt64.max : tEnd, dataSize: dataSize) }
            guard let next = alignUp(tEnd, align) else { throw .tensorOutOfBounds(tensor: info.name, end: tEnd, dataSize: dataSize) }
            expectedOffset = next
            byName[info.name] = tensors.count
            tensors.append(info)
        }
        guard r.offset == Int(headerSize) else { throw .headerSizeMismatch(tableEnd: UInt64(r.offset), headerSize: headerSize) }
        guard expectedOffset == dataSize else { throw .dataSizeMismatch(expected: expectedOffset, found: dataSize) }

        self.version = (major, minor)
        self.alignment = Int(align)
        self.metadata = metadata
        self.tensors = tensors
        self.byName = byName
        self.dataOffset = Int(dataOffset)
        self.headerSize = Int(headerSize)
    }

    /// The xxHash64 of a header image with its checksum field (bytes 56..<64) taken as zero.
    public static func headerChecksum(_ header: UnsafeRawBufferPointer) -> UInt64 {
        precondition(header.count >= BGPTLayout.fixedHeaderSize)
        var copy = [UInt8](header)
        for i in BGPTLayout.headerChecksumOffset..<(BGPTLayout.headerChecksumOffset + 8) { copy[i] = 0 }
        return XXHash64.hash(copy)
    }

    static func readEntry(_ r: inout ByteReader, index: Int) throws(FormatError) -> (String, MetadataValue) {
        let keyAt = UInt64(r.offset)
        let keyLen = try r.u64("metadata key #\(index) length")
        guard keyLen > 0 else { throw .badKey(index: index, offset: keyAt, reason: "empty key") }
        guard keyLen <= BGPTLayout.maxKeyLength else {
            throw .badKey(index: index, offset: keyAt, reason: "key length \(keyLen) is over \(BGPTLayout.maxKeyLength)")
        }
        let keyBytes = try r.bytes(Int(keyLen), "metadata key #\(index)")
        guard BGPTFile.isValidKey(keyBytes) else {
            throw .badKey(index: index, offset: keyAt, reason: "\"\(String(decoding: keyBytes, as: UTF8.self))\" is not lower-case dotted ASCII ([a-z0-9_] segments joined by '.')")
        }
        let key = String(decoding: keyBytes, as: UTF8.self)
        let typeId = try r.u32("type of \"\(key)\"")
        guard let type = MetadataType(rawValue: typeId) else { throw .badValueType(key: key, type: typeId) }
        return (key, try readValue(&r, type: type, key: key))
    }

    /// Keys are 1-255 bytes of `[a-z0-9_]` segments joined by single dots.
    static func isValidKey(_ b: [UInt8]) -> Bool {
        guard let f = b.first, let l = b.last, f != UInt8(ascii: "."), l != UInt8(ascii: ".") else { return false }
        var prevDot = false
        for c in b {
            let isDot = c == UInt8(ascii: ".")
            if isDot && prevDot { return false }
            let ok = isDot || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c == UInt8(ascii: "_")
            if !ok { return false }
            prevDot = isDot
        }
        return true
    }

    static func readValue(_ r: inout ByteReader, type: MetadataType, key: String) throws(FormatError) -> MetadataValue {
        switch type {
        case .uint8: return .uint8(try r.u8(key))
        case .int8: return .int8(Int8(bitPattern: try r.u8(key)))
        case .uint16: return .uint16(try r.u16(key))
        case .int16: return .int16(Int16(bitPattern: try r.u16(key)))
        case .uint32: return .uint32(try r.u32(key))
        case .int32: return .int32(Int32(bitPattern: try r.u32(key)))
        case .uint64: return .uint64(try r.u64(key))
        case .int64: return .int64(Int64(bitPattern: try r.u64(key)))
        case .float32: return .float32(Float(bitPattern: try r.u32(key)))
        case .float64: return .float64(Double(bitPattern: try r.u64(key)))
        case .bool:
            let b = try r.u8(key)
            guard b <= 1 else { throw .badBool(key: key, value: b) }
            return .bool(b == 1)
        case .string: return .string(try r.string("value of \"\(key)\"", limit: BGPTLayout.maxStringLength))
        case .bytes:
            let n = try r.length("value of \"\(key)\"", limit: BGPTLayout.maxBytesLength)
            return .bytes(try r.bytes(n, key))
        case .array: return .array(try readArray(&r, key: key))
        }
    }

    static func readArray(_ r: inout ByteReader, key: String) throws(FormatError) -> MetadataArray {
        let elemId = try r.u32("element type of \"\(key)\"")
        guard let elem = MetadataType(rawValue: elemId), elem != .array else { throw .badArrayType(key: key, type: elemId) }
        let countAt = UInt64(r.offset)
        let count = try r.u64("element count of \"\(key)\"")
        guard count <= BGPTLayout.maxArrayCount else {
            throw .lengthTooLarge(field: "element count of \"\(key)\"", offset: countAt, length: count, limit: BGPTLayout.maxArrayCount)
        }
        // Every element takes at least one byte (8 for a length prefix): check before allocating.
        let minElem = UInt64(elem.fixedSize ?? 8)
        try r.need(count * minElem, "\(count) elements of \"\(key)\"")
        let n = Int(count)
        func fixed<T>(_ read: (inout ByteReader) throws(FormatError) -> T) throws(FormatError) -> [T] {
            var out: [T] = []
            out.reserveCapacity(n)
            for _ in 0..<n { out.append(try read(&r)) }
            return out
        }
        switch elem {
        case .uint8: return .uint8(try r.bytes(n, key))
        case .int8: return .int8(try r.bytes(n, key).map { Int8(bitPattern: $0) })
        case .uint16: return .uint16(try fixed { (r: inout ByteReader) throws(FormatError) in try r.u16(key) })
        case .int16: return .int16(try fixed { (r: inout ByteReader) throws(FormatError) in Int16(bitPattern: try r.u16(key)) })
        case .uint32: return .uint32(try fixed { (r: inout ByteReader) throws(FormatError) in try r.u32(key) })
        case .int32: return .int32(try fixed { (r: inout ByteReader) throws(FormatError) in Int32(bitPattern: try r.u32(key)) })
        case .uint64: return .uint64(try fixed { (r: inout ByteReader) throws(FormatError) in try r.u64(key) })
        case .int64: return .int64(try fixed { (r: inout ByteReader) throws(FormatError) in Int64(bitPattern: try r.u64(key)) })
        case .float32: return .float32(try fixed { (r: inout ByteReader) throws(FormatError) in Float(bitPattern: try r.u32(key)) })
        case .float64: return .float64(try fixed { (r: inout ByteReader) throws(FormatError) in Double(bitPattern: try r.u64(key)) })
        case .bool:
            return .bool(try fixed { (r: inout ByteReader) throws(FormatError) in
                let b = try r.u8(key)
                guard b <= 1 else { throw FormatError.badBool(key: key, value: b) }
                return b == 1
            })
        case .string:
            return .string(try fixed { (r: inout ByteReader) throws(FormatError) in
                try r.string("element of \"\(key)\"", limit: BGPTLayout.maxStringLength)
            })
        case .bytes:
            return .bytes(try fixed { (r: inout ByteReader) throws(FormatError) in
                let len = try r.length("element of \"\(key)\"", limit: BGPTLayout.maxBytesLength)
                return try r.bytes(len, key)
            })
        case .array: throw .badArrayType(key: key, type: elemId)
        }
    }

    static func readTensorInfo(_ r: inout ByteReader, index: Int) throws(FormatError) -> TensorInfo {
        let at = UInt64(r.offset)
        let nameLen = try r.u64("tensor #\(index) name length")
        guard nameLen > 0 else { throw .badTensorName(index: index, offset: at, reason: "is empty") }
        guard nameLen <= BGPTLayout.maxTensorNameLength else {
            throw .badTensorName(index: index, offset: at, reason: "length \(nameLen) is over \(BGPTLayout.maxTensorNameLength)")
        }
        let nameBytes = try r.bytes(Int(nameLen), "tensor #\(index) name")
        guard let name = String(validating: nameBytes, as: UTF8.self) else {
            throw .badTensorName(index: index, offset: at, reason: "is not valid UTF-8")
        }
        let dtypeId = try r.u32("dtype of tensor \"\(name)\"")
        let ndim = try r.u32("dimension count of tensor \"\(name)\"")
        guard ndim >= 1, ndim <= UInt32(BGPTLayout.maxDims) else { throw .badDimCount(tensor: name, count: ndim) }
        var shape: [UInt64] = []
        var elements: UInt64 = 1
        for axis in 0..<Int(ndim) {
            let d = try r.u64("dimension \(axis) of tensor \"\(name)\"")
            guard d >= 1 else { throw .zeroDim(tensor: name, axis: axis) }
            let (e, o) = elements.multipliedReportingOverflow(by: d)
            guard !o, e <= BGPTLayout.maxElements else { throw .tooManyElements(tensor: name) }
            elements = e
            shape.append(d)
        }
        let offset = try r.u64("offset of tensor \"\(name)\"")
        let size = try r.u64("byte size of tensor \"\(name)\"")
        let checksum = try r.u64("checksum of tensor \"\(name)\"")
        guard let dtype = DType(rawValue: dtypeId) else { throw .unknownDType(tensor: name, id: dtypeId) }
        guard let expected = dtype.byteSize(shape: shape) else { throw .tooManyElements(tensor: name) }
        guard expected == size else { throw .sizeMismatch(tensor: name, expected: expected, found: size) }
        return TensorInfo(name: name, dtype: dtype, shape: shape.map { Int($0) }, offset: offset, byteSize: size, checksum: checksum)
    }

    // MARK: - Access

    /// The size of the file in bytes.
    public var fileSize: Int { storage.count }

    /// The table entry of the tensor called `name`, or nil.
    public func info(_ name: String) -> TensorInfo? {
        guard let i = byName[name] else { return nil }
        return tensors[i]
    }

    /// A zero-copy view of the tensor called `name`.
    /// - Throws: ``FormatError/tensorNotFound(_:)``.
    public func tensor(_ name: String) throws(FormatError) -> TensorView {
        guard let i = byName[name] else { throw .tensorNotFound(name) }
        return view(tensors[i])
    }

    /// A zero-copy view of the tensor described by `info` (an entry of ``tensors``).
    public func view(_ info: TensorInfo) -> TensorView {
        TensorView(info: info, base: storage.base + dataOffset + Int(info.offset))
    }

    /// Hashes one tensor's bytes and compares the hash with its stored checksum.
    ///
    /// Tools that read every tensor anyway (`lm-quantize`, `lm-diff`) call this as they read each
    /// one, so a damaged file is refused instead of passed on.
    /// - Parameter info: an entry of ``tensors``.
    /// - Throws: ``FormatError/tensorChecksumMismatch(tensor:stored:computed:)``.
    public func checkChecksum(_ info: TensorInfo) throws(FormatError) {
        let h = XXHash64.hash(view(info).bytes)
        guard h == info.checksum else { throw .tensorChecksumMismatch(tensor: info.name, stored: info.checksum, computed: h) }
    }

    /// Deep check: hashes every tensor and compares with the table, and checks that the
    /// alignment padding between tensors is zero.
    ///
    /// - Parameter progress: called after each tensor with the bytes checked so far.
    /// - Throws: ``FormatError/tensorChecksumMismatch(tensor:stored:computed:)`` naming the first
    ///   bad tensor, or ``FormatError/nonZeroPadding(offset:)`` with the file offset of a non-zero
    ///   padding byte after a tensor.
    public func verify(progress: ((Int) -> Void)? = nil) throws(FormatError) {
        var done = 0
        let dataEnd = fileSize - dataOffset
        for (i, t) in tensors.enumerated() {
            let v = view(t)
            let h = XXHash64.hash(v.bytes)
            guard h == t.checksum else { throw .tensorChecksumMismatch(tensor: t.name, stored: t.checksum, computed: h) }
            // Padding up to the next tensor (or the end of the data section): fewer than `alignment` bytes.
            let end = Int(t.offset + t.byteSize)
            let next = i + 1 < tensors.count ? Int(tensors[i + 1].offset) : dataEnd
            for o in end..<next where storage.base.load(fromByteOffset: dataOffset + o, as: UInt8.self) != 0 {
                throw .nonZeroPadding(offset: UInt64(dataOffset + o))
            }
            done = next
            progress?(done)
        }
    }
}
