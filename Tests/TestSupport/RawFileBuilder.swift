import BitGPT

/// Builds .bgpt file images field by field, so tests can make every kind of malformed file.
///
/// Start from valid parts (``entry(_:_:)``, ``RawTensor``), then override any field: counts,
/// sizes, offsets, checksums, names, the magic. ``build()`` lays the file out the way the writer
/// would (header, zero padding to the alignment, tensors at aligned offsets), fills in what was not
/// overridden, and re-seals the header checksum, so a single wrong field reaches exactly the check
/// that targets it. All encoding goes through ``BGPTEncoding``.
public struct RawFileBuilder {
    /// One tensor of the table plus its data; every table field can be overridden.
    public struct RawTensor {
        /// The name's bytes (need not be UTF-8).
        public var name: [UInt8]
        /// The dtype id as stored.
        public var dtype: UInt32
        /// The shape as stored (outermost first); `shape.count` is stored as `n_dims`.
        public var shape: [UInt64]
        /// The tensor's bytes, placed at ``offset`` (or at the running aligned end).
        public var data: [UInt8]
        /// The stored `n_dims`; nil stores `shape.count`.
        public var nDims: UInt32?
        /// The stored data offset; nil stores the running aligned end of the previous tensor.
        public var offset: UInt64?
        /// The stored byte size; nil stores `data.count`.
        public var byteSize: UInt64?
        /// The stored checksum; nil stores the xxHash64 of `data`.
        public var checksum: UInt64?
        /// Stored name length; nil stores `name.count`.
        public var nameLength: UInt64?

        /// A tensor with the given table fields and data.
        public init(name: String, dtype: UInt32, shape: [UInt64], data: [UInt8]) {
            self.name = Array(name.utf8)
            self.dtype = dtype
            self.shape = shape
            self.data = data
        }

        /// A tensor of `dtype` and `shape` whose bytes are a deterministic, valid pattern.
        public init(name: String, dtype: DType, shape: [Int], seed: UInt64 = 1) {
            var rng = SeededRandom(seed: seed)
            let n = shape.reduce(1, *)
            let values = (0..<n).map { _ in rng.normal(std: 1) }
            let bytes = (try? TensorEncoder.encode(values, shape: shape, as: dtype, name: name)) ?? []
            self.init(name: name, dtype: dtype.rawValue, shape: shape.map { UInt64($0) }, data: bytes)
        }
    }

    /// The four magic bytes.
    public var magic: [UInt8] = BGPTLayout.magic
    /// The byte-order mark as a little-endian u32.
    public var byteOrderMark: UInt32 = BGPTLayout.byteOrderMark
    /// Major version.
    public var major: UInt16 = BGPTLayout.majorVersion
    /// Minor version.
    public var minor: UInt16 = BGPTLayout.minorVersion
    /// Stored alignment. The layout itself uses it when it is valid and 64 otherwise.
    public var alignment: UInt32 = 64
    /// Encoded metadata entries (key, type, value), in order.
    public var metadata: [[UInt8]] = []
    /// The tensors, in table order.
    public var tensors: [RawTensor] = []
    /// Bytes appended after the tensor table and counted in the header.
    public var extraHeaderBytes: [UInt8] = []
    /// Stored `metadata_count`; nil stores `metadata.count`.
    public var metadataCount: UInt64?
    /// Stored `tensor_count`; nil stores `tensors.count`.
    public var tensorCount: UInt64?
    /// Stored `header_size`; nil stores the real header length.
    public var headerSize: UInt64?
    /// Stored `data_offset`; nil stores where the data section really starts.
    public var dataOffset: UInt64?
    /// Stored `data_size`, and the real length of the data section (zero-padded or cut); nil
    /// stores the padded end of the last tensor.
    public var dataSize: UInt64?
    /// Stored `data_size` only (the data section keeps its real length); wins over ``dataSize``.
    public var storedDataSize: UInt64?
    /// The byte that fills the padding between the header and the data section.
    public var paddingByte: UInt8 = 0
    /// Bytes appended after the data section (not counted anywhere).
    public var trailing: [UInt8] = []
    /// Whether ``build()`` computes the header checksum over `[0, header_size)`.
    public var seal = true
    /// A stored header checksum that replaces the sealed one.
    public var headerChecksum: UInt64?

    /// An empty builder: no metadata, no tensors, alignment 64.
    public init() {}

    /// The encoded bytes of one valid metadata entry.
    public static func entry(_ key: String, _ value: MetadataValue) -> [UInt8] {
        var out: [UInt8] = []
        BGPTEncoding.putEntry(&out, key: key, value: value)
        return out
    }

    /// The bytes of an entry with a raw key, a raw type id and raw value bytes.
    public static func rawEntry(key: [UInt8], keyLength: UInt64? = nil, type: UInt32, value: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        BGPTEncoding.put(&out, keyLength ?? UInt64(key.count))
        out += key
        BGPTEncoding.put(&out, type)
        return out + value
    }

    /// Appends a valid metadata entry.
    public mutating func add(_ key: String, _ value: MetadataValue) {
        metadata.append(RawFileBuilder.entry(key, value))
    }

    /// The smallest useful valid file: `general.architecture = "llama"` and the given tensors.
    public static func minimal(tensors: [RawTensor] = []) -> RawFileBuilder {
        var b = RawFileBuilder()
        b.add("general.architecture", .string("llama"))
        b.tensors = tensors
        return b
    }

    /// The file offset of metadata entry `i` (or of the tensor table, for `i == metadata.count`).
    public func metadataOffset(_ i: Int) -> UInt64 {
        UInt64(BGPTLayout.fixedHeaderSize + metadata[0..<i].reduce(0) { $0 + $1.count })
    }

    /// The file offset of tensor-table entry `i` (or of the end of the table, for `i == tensors.count`).
    public func tensorEntryOffset(_ i: Int) -> UInt64 {
        metadataOffset(metadata.count) + UInt64(tensors[0..<i].reduce(0) { $0 + 8 + $1.name.count + 8 + 8 * $1.shape.count + 24 })
    }

    /// The layout alignment: the stored one when valid, else 64.
    var layoutAlignment: UInt64 {
        let a = UInt64(alignment)
        return a >= 8 && a <= 65_536 && a & (a - 1) == 0 ? a : 64
    }

    /// The file image.
    public func build() -> [UInt8] {
        let a = layoutAlignment
        // Tensor table and data placement.
        var body: [UInt8] = []
        for m in metadata { body += m }
        var placed: [(offset: UInt64, data: [UInt8])] = []
        var running: UInt64 = 0
        for t in tensors {
            let offset = t.offset ?? running
            BGPTEncoding.put(&body, t.nameLength ?? UInt64(t.name.count))
            body += t.name
            BGPTEncoding.put(&body, t.dtype)
            BGPTEncoding.put(&body, t.nDims ?? UInt32(t.shape.count))
            for d in t.shape { BGPTEncoding.put(&body, d) }
            BGPTEncoding.put(&body, offset)
            BGPTEncoding.put(&body, t.byteSize ?? UInt64(t.data.count))
            BGPTEncoding.put(&body, t.checksum ?? XXHash64.hash(t.data))
            placed.append((offset, t.data))
            running = alignUp(offset &+ UInt64(t.data.count), a) ?? running
        }
        body += extraHeaderBytes
        let realHeader = UInt64(BGPTLayout.fixedHeaderSize + body.count)
        let dataStart = alignUp(realHeader, a) ?? realHeader
        var natural: UInt64 = 0
        for p in placed where p.offset < 1 << 32 { natural = max(natural, alignUp(p.offset + UInt64(p.data.count), a) ?? 0) }
        let dataLength = dataSize ?? natural
        var data = [UInt8](repeating: 0, count: Int(dataLength))
        for p in placed where p.offset < dataLength {
            let n = min(p.data.count, Int(dataLength - p.offset))
            data.replaceSubrange(Int(p.offset)..<(Int(p.offset) + n), with: p.data[0..<n])
        }

        var file = magic
        BGPTEncoding.put(&file, byteOrderMark)
        BGPTEncoding.put(&file, major)
        BGPTEncoding.put(&file, minor)
        BGPTEncoding.put(&file, alignment)
        BGPTEncoding.put(&file, metadataCount ?? UInt64(metadata.count))
        BGPTEncoding.put(&file, tensorCount ?? UInt64(tensors.count))
        let storedHeaderSize = headerSize ?? realHeader
        BGPTEncoding.put(&file, storedHeaderSize)
        BGPTEncoding.put(&file, dataOffset ?? dataStart)
        BGPTEncoding.put(&file, storedDataSize ?? dataLength)
        BGPTEncoding.put(&file, UInt64(0))
        file += body
        file += [UInt8](repeating: paddingByte, count: Int(dataStart - realHeader))
        file += data
        file += trailing
        if seal, storedHeaderSize >= 64, storedHeaderSize <= UInt64(file.count) {
            var header = Array(file[0..<Int(storedHeaderSize)])
            BGPTEncoding.sealHeader(&header)
            file.replaceSubrange(56..<64, with: header[56..<64])
        }
        if let sum = headerChecksum { RawFileBuilder.patch(&file, at: 56, sum) }
        return file
    }

    /// Overwrites `bytes[at ..< at + size]` with `value` little-endian.
    public static func patch<T: FixedWidthInteger>(_ bytes: inout [UInt8], at: Int, _ value: T) {
        var enc: [UInt8] = []
        BGPTEncoding.put(&enc, value)
        bytes.replaceSubrange(at..<(at + enc.count), with: enc)
    }

    /// Recomputes the header checksum of a file image in place (no-op if `header_size` is unusable).
    public static func reseal(_ bytes: inout [UInt8]) {
        guard bytes.count >= 64 else { return }
        let h = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 32, as: UInt64.self)) }
        guard h >= 64, h <= UInt64(bytes.count) else { return }
        var header = Array(bytes[0..<Int(h)])
        BGPTEncoding.sealHeader(&header)
        bytes.replaceSubrange(56..<64, with: header[56..<64])
    }
}
