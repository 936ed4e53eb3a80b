/// Constants of the .bgpt container, version 1: magic, versions, the fixed header's field
/// offsets and the hard limits a reader enforces before it allocates anything.
///
/// `formats/bgpt.md` is the specification; every number here appears there.
public enum BGPTLayout {
    /// The four bytes every .bgpt file starts with: ASCII "BGPT".
    public static let magic: [UInt8] = [0x42, 0x47, 0x50, 0x54]
    /// The byte-order mark, stored at offset 4. A little-endian file holds bytes `0D 0C 0B 0A`.
    public static let byteOrderMark: UInt32 = 0x0A0B_0C0D
    /// The major version this library reads and writes. A file with a newer major is refused.
    public static let majorVersion: UInt16 = 1
    /// The minor version this library writes. Files with a newer minor are read.
    public static let minorVersion: UInt16 = 0
    /// Size in bytes of the fixed header that precedes the metadata.
    public static let fixedHeaderSize = 64
    /// Byte offset of the header checksum field inside the fixed header.
    public static let headerChecksumOffset = 56
    /// The alignment the writer uses for the data section and every tensor.
    public static let defaultAlignment = 64

    // MARK: - Limits (checked at open, before any allocation)

    /// Smallest allowed alignment (bytes).
    public static let minAlignment = 8
    /// Largest allowed alignment (bytes).
    public static let maxAlignment = 65_536
    /// Largest header (fixed header + metadata + tensor table), in bytes: 1 GiB.
    public static let maxHeaderSize: UInt64 = 1 << 30
    /// Most metadata entries.
    public static let maxMetadataCount: UInt64 = 65_536
    /// Most tensors.
    public static let maxTensorCount: UInt64 = 1_048_576
    /// Longest metadata key (bytes).
    public static let maxKeyLength: UInt64 = 255
    /// Longest tensor name (bytes).
    public static let maxTensorNameLength: UInt64 = 255
    /// Longest string value or string array element (bytes): 64 MiB.
    public static let maxStringLength: UInt64 = 64 << 20
    /// Longest BYTES value (bytes): 512 MiB.
    public static let maxBytesLength: UInt64 = 512 << 20
    /// Most elements in one array value: 16 Mi.
    public static let maxArrayCount: UInt64 = 16 << 20
    /// Most dimensions of a tensor.
    public static let maxDims = 4
    /// Most elements in one tensor: 2^48.
    public static let maxElements: UInt64 = 1 << 48
}

/// Rounds `x` up to a multiple of `alignment` (a power of two), or returns nil on overflow.
@inlinable
public func alignUp(_ x: UInt64, _ alignment: UInt64) -> UInt64? {
    let (s, o) = x.addingReportingOverflow(alignment - 1)
    return o ? nil : s & ~(alignment - 1)
}
