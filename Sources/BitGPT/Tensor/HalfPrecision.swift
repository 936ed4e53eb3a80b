/// Conversions between f32 and the two 16-bit float types of the format.
public enum HalfPrecision {
    /// f32 → IEEE binary16, round to nearest even (the hardware conversion).
    @inlinable public static func toF16(_ x: Float) -> UInt16 { Float16(x).bitPattern }
    /// IEEE binary16 → f32, exact.
    @inlinable public static func fromF16(_ bits: UInt16) -> Float { Float(Float16(bitPattern: bits)) }

    /// f32 → bfloat16, round to nearest even; NaN stays a (quiet) NaN.
    @inlinable public static func toBF16(_ x: Float) -> UInt16 {
        let b = x.bitPattern
        if x.isNaN { return UInt16(b >> 16) | 0x0040 }
        let rounding: UInt32 = 0x7FFF + ((b >> 16) & 1)
        return UInt16((b &+ rounding) >> 16)
    }

    /// bfloat16 → f32, exact.
    @inlinable public static func fromBF16(_ bits: UInt16) -> Float { Float(bitPattern: UInt32(bits) << 16) }
}
