import BitGPT

/// Element types found in foreign checkpoints (PyTorch storages, safetensors, llama2.c).
public enum SourceDType: String, Equatable, Sendable, CustomStringConvertible {
    case f64, f32, f16, bf16, i64, i32, i16, i8, u8, bool

    /// Bytes per element.
    public var byteWidth: Int {
        switch self {
        case .f64, .i64: return 8
        case .f32, .i32: return 4
        case .f16, .bf16, .i16: return 2
        case .i8, .u8, .bool: return 1
        }
    }

    public var description: String { rawValue }

    /// The dtype of a `torch.<Name>Storage` type name, or nil.
    public init?(storageName: String) {
        switch storageName {
        case "FloatStorage": self = .f32
        case "DoubleStorage": self = .f64
        case "HalfStorage": self = .f16
        case "BFloat16Storage": self = .bf16
        case "LongStorage": self = .i64
        case "IntStorage": self = .i32
        case "ShortStorage": self = .i16
        case "CharStorage": self = .i8
        case "ByteStorage": self = .u8
        case "BoolStorage": self = .bool
        default: return nil
        }
    }

    /// The dtype of a safetensors dtype name (the byte-sized ones this converter reads), or nil.
    public init?(safetensorsName: String) {
        switch safetensorsName {
        case "F64": self = .f64
        case "F32": self = .f32
        case "F16": self = .f16
        case "BF16": self = .bf16
        case "I64": self = .i64
        case "I32": self = .i32
        case "I16": self = .i16
        case "I8": self = .i8
        case "U8": self = .u8
        case "BOOL": self = .bool
        default: return nil
        }
    }
}

/// One tensor of a source checkpoint: its name, shape, element type and bytes in place.
///
/// The bytes point into the reader's mapped file, so they are valid while that reader lives.
/// llama2.c's int8 export stores per-group scales beside the codes (``groupScales``).
public struct SourceTensor: @unchecked Sendable {
    /// Name in the source's own scheme (e.g. `transformer.h.0.attn.c_attn.weight`).
    public var name: String
    /// Dimensions, outermost first (empty for a 0-d tensor).
    public var shape: [Int]
    /// Element type of ``bytes``.
    public var dtype: SourceDType
    /// `elementCount · dtype.byteWidth` bytes, little-endian, row-major.
    public var bytes: UnsafeRawBufferPointer
    /// Identity of the underlying storage and offset (`key@offset`), to recognise tied tensors.
    public var storageID: String
    /// For llama2.c Q8_0 tensors: one f32 scale per `groupSize` consecutive elements.
    public var groupScales: UnsafeRawBufferPointer?
    /// Elements per scale group (with ``groupScales``).
    public var groupSize: Int = 0

    /// The number of elements (1 for a 0-d tensor).
    public var elementCount: Int { shape.reduce(1, *) }

    /// Every element as f32 (a copy): floats widened or narrowed, integers converted, Q8_0 groups dequantized.
    public func floats() -> [Float] {
        let n = elementCount
        var out = [Float](repeating: 0, count: n)
        out.withUnsafeMutableBufferPointer { o in
            let b = bytes
            switch dtype {
            case .f32: for i in 0..<n { o[i] = Float(bitPattern: UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
            case .f64: for i in 0..<n { o[i] = Float(Double(bitPattern: UInt64(littleEndian: b.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
            case .f16: for i in 0..<n { o[i] = HalfPrecision.fromF16(UInt16(littleEndian: b.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
            case .bf16: for i in 0..<n { o[i] = HalfPrecision.fromBF16(UInt16(littleEndian: b.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
            case .i64: for i in 0..<n { o[i] = Float(Int64(littleEndian: b.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))) }
            case .i32: for i in 0..<n { o[i] = Float(Int32(littleEndian: b.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))) }
            case .i16: for i in 0..<n { o[i] = Float(Int16(littleEndian: b.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self))) }
            case .i8: for i in 0..<n { o[i] = Float(Int8(bitPattern: b[i])) }
            case .u8, .bool: for i in 0..<n { o[i] = Float(b[i]) }
            }
            if let s = groupScales, groupSize > 0 {
                for i in 0..<n {
                    let g = Float(bitPattern: UInt32(littleEndian: s.loadUnaligned(fromByteOffset: 4 * (i / groupSize), as: UInt32.self)))
                    o[i] *= g
                }
            }
        }
        return out
    }

    /// For an i8 tensor holding only −1, 0 and +1 (BitGPT's saved BitLinear weights): the values.
    /// Nil for other dtypes or any other value.
    public func ternaryCodes() -> [Int8]? {
        guard dtype == .i8, groupScales == nil else { return nil }
        var out = [Int8](repeating: 0, count: elementCount)
        for i in 0..<elementCount {
            let v = Int8(bitPattern: bytes[i])
            guard v >= -1 && v <= 1 else { return nil }
            out[i] = v
        }
        return out
    }
}

/// A checkpoint opened for conversion: its tensors and the hyper-parameters it records.
public protocol CheckpointSource: AnyObject {
    /// The source file's path.
    var path: String { get }
    /// Every tensor of the model, by source name, in file order.
    var tensors: [SourceTensor] { get }
    /// Hyper-parameters the checkpoint records (`model_args`, a config record, safetensors
    /// `__metadata__`, a llama2.c header), as plain values; keys as the source names them.
    var hyperParameters: [String: PickleValue] { get }
    /// A short name of the container (`pytorch`, `safetensors`, `llama2c-v0`, ...).
    var container: String { get }
}
