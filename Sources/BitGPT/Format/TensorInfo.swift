/// One row of a .bgpt tensor table: where a tensor lives and what it holds.
public struct TensorInfo: Equatable, Sendable {
    /// The tensor's name, e.g. `blk.0.attn_q` (see the naming scheme in `formats/bgpt.md`).
    public var name: String
    /// Element type.
    public var dtype: DType
    /// Dimensions, outermost first (row-major: the last dimension is contiguous). 1 to 4 of them, each ≥ 1.
    public var shape: [Int]
    /// Byte offset from the start of the data section; a multiple of the file's alignment.
    public var offset: UInt64
    /// Byte size; exactly `dtype.byteSize(shape:)`.
    public var byteSize: UInt64
    /// xxHash64 of the tensor's bytes.
    public var checksum: UInt64

    /// Creates a table entry.
    public init(name: String, dtype: DType, shape: [Int], offset: UInt64 = 0, byteSize: UInt64 = 0, checksum: UInt64 = 0) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.offset = offset
        self.byteSize = byteSize
        self.checksum = checksum
    }

    /// The number of elements (product of the shape).
    public var elementCount: Int { shape.reduce(1, *) }
    /// Rows when viewed as a matrix: the product of every dimension but the last.
    public var rows: Int { shape.dropLast().reduce(1, *) }
    /// Columns when viewed as a matrix: the last dimension.
    public var cols: Int { shape.last ?? 1 }
    /// Stored bits per weight, scales included.
    public var bitsPerWeight: Double { Double(byteSize) * 8 / Double(max(elementCount, 1)) }
}
