/// The element types a .bgpt tensor can hold: the type registry of `formats/bgpt.md`.
///
/// Ids are never reused: a retired type keeps its id in the spec's table. Ids 0x8000_0000 and up
/// are reserved for experiments outside this project. For every type the spec gives the byte
/// layout; in short, with `rows` the product of all dimensions but the last and `cols` the last:
///
/// | id | type | bytes |
/// |---|---|---|
/// | 0 | F32 | 4 per element |
/// | 1 | F16 | 2 per element (IEEE binary16) |
/// | 2 | BF16 | 2 per element (upper half of an f32) |
/// | 8 | I8 | `rows·cols` int8 codes, then `rows` f32 scales (one per row) |
/// | 16 | T2 | `rows` packed rows of ``T2Packing/rowBytes(cols:)``, then one f32 scale γ |
/// | 17 | T1 | `rows` packed rows of ``T1Packing/rowBytes(cols:)``, then one f32 scale γ |
public enum DType: UInt32, CaseIterable, Sendable, CustomStringConvertible {
    /// IEEE 754 binary32.
    case f32 = 0
    /// IEEE 754 binary16.
    case f16 = 1
    /// bfloat16: the upper 16 bits of a binary32, rounded to nearest even.
    case bf16 = 2
    /// Signed 8-bit codes with one f32 scale per row: `w = q · scale[row]`.
    case i8 = 8
    /// Ternary {-1, 0, +1}, 2 bits per weight, with one f32 scale per tensor: `w = t · γ`.
    case t2 = 16
    /// Ternary {-1, 0, +1}, base-3, 5 weights per byte (1.6 bits), with one f32 scale per tensor.
    case t1 = 17

    /// The name used in the spec, `lm-inspect` and `--dtype` flags.
    public var description: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .bf16: return "BF16"
        case .i8: return "I8"
        case .t2: return "T2"
        case .t1: return "T1"
        }
    }

    /// Parses a name such as `f32`, `F16`, `i8`/`int8`, `t2`/`ternary`, `t1` (case-insensitive).
    public init?(name: String) {
        switch name.lowercased() {
        case "f32", "float32": self = .f32
        case "f16", "float16", "half": self = .f16
        case "bf16", "bfloat16": self = .bf16
        case "i8", "int8": self = .i8
        case "t2", "ternary", "tq2": self = .t2
        case "t1", "tq1": self = .t1
        default: return nil
        }
    }

    /// Whether the type stores quantization scales beside its codes.
    public var isQuantized: Bool { self == .i8 || self == .t2 || self == .t1 }

    /// The exact byte size of a tensor of this type and shape, or nil on overflow.
    ///
    /// - Parameter shape: the dimensions, outermost first; each at least 1, at most 4 of them.
    /// - Returns: the byte count the spec prescribes, nil if it does not fit in 64 bits.
    public func byteSize(shape: [UInt64]) -> UInt64? {
        guard let cols = shape.last else { return nil }
        var rows: UInt64 = 1
        for d in shape.dropLast() {
            let (r, o) = rows.multipliedReportingOverflow(by: d)
            if o { return nil }
            rows = r
        }
        return byteSize(rows: rows, cols: cols)
    }

    /// The exact byte size of a `rows × cols` tensor of this type, or nil on overflow.
    public func byteSize(rows: UInt64, cols: UInt64) -> UInt64? {
        let (n, o) = rows.multipliedReportingOverflow(by: cols)
        if o { return nil }
        switch self {
        case .f32: return checkedMul(n, 4)
        case .f16, .bf16: return checkedMul(n, 2)
        case .i8:
            guard let s = checkedMul(rows, 4) else { return nil }
            return checkedAdd(n, s)
        case .t2:
            guard let b = checkedMul(rows, T2Packing.rowBytes(cols: cols)) else { return nil }
            return checkedAdd(b, 4)
        case .t1:
            guard let b = checkedMul(rows, T1Packing.rowBytes(cols: cols)) else { return nil }
            return checkedAdd(b, 4)
        }
    }
}

@inline(__always) func checkedMul(_ a: UInt64, _ b: UInt64) -> UInt64? {
    let (r, o) = a.multipliedReportingOverflow(by: b)
    return o ? nil : r
}

@inline(__always) func checkedAdd(_ a: UInt64, _ b: UInt64) -> UInt64? {
    let (r, o) = a.addingReportingOverflow(b)
    return o ? nil : r
}
