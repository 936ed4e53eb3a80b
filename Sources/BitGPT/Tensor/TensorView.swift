/// A non-owning view of one tensor's bytes inside a mapped .bgpt file.
///
/// Views are plain structs of a table entry and a pointer. They are valid while the
/// ``BGPTFile`` they came from lives; keep the file alive (`withExtendedLifetime`) across long
/// uses. Accessors never copy unless their name says so (`dequantized()`).
public struct TensorView: @unchecked Sendable {
    /// The table entry.
    public let info: TensorInfo
    /// First byte of the tensor; aligned to the file's alignment.
    public let base: UnsafeRawPointer

    /// Creates a view over `info.byteSize` bytes at `base`.
    public init(info: TensorInfo, base: UnsafeRawPointer) {
        self.info = info
        self.base = base
    }

    /// The tensor's raw bytes.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: Int(info.byteSize)) }

    /// For F32 tensors: the elements in place. Nil for other dtypes.
    public var f32: UnsafeBufferPointer<Float>? {
        guard info.dtype == .f32 else { return nil }
        return UnsafeBufferPointer(start: base.assumingMemoryBound(to: Float.self), count: info.elementCount)
    }

    /// For T2 and T1 tensors: the per-tensor scale γ stored after the packed rows.
    public var ternaryScale: Float? {
        guard info.dtype == .t2 || info.dtype == .t1 else { return nil }
        return Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: Int(info.byteSize) - 4, as: UInt32.self)))
    }

    /// Packed bytes per row (T2, T1), or codes per row (I8), or element bytes × cols.
    public var rowStride: Int {
        switch info.dtype {
        case .f32: return info.cols * 4
        case .f16, .bf16: return info.cols * 2
        case .i8: return info.cols
        case .t2: return T2Packing.rowBytes(cols: info.cols)
        case .t1: return T1Packing.rowBytes(cols: info.cols)
        }
    }

    /// For I8 tensors: the scale of row `r`, stored after all codes.
    public func int8Scale(row r: Int) -> Float {
        let at = info.rows * info.cols + 4 * r
        return Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
    }

    /// Decodes the whole tensor to f32 (a copy): `rows × cols` values, row-major.
    public func dequantized() -> [Float] {
        let rows = info.rows, cols = info.cols
        var out = [Float](repeating: 0, count: rows * cols)
        out.withUnsafeMutableBufferPointer { o in
            let dst = o.baseAddress!
            switch info.dtype {
            case .f32:
                for i in 0..<(rows * cols) { dst[i] = Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
            case .f16:
                for i in 0..<(rows * cols) { dst[i] = HalfPrecision.fromF16(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
            case .bf16:
                for i in 0..<(rows * cols) { dst[i] = HalfPrecision.fromBF16(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
            case .i8:
                let q = base.assumingMemoryBound(to: Int8.self)
                for r in 0..<rows {
                    let s = int8Scale(row: r)
                    for c in 0..<cols { dst[r * cols + c] = Float(q[r * cols + c]) * s }
                }
            case .t2, .t1:
                let g = ternaryScale ?? 0
                let stride = rowStride
                var t = [Int8](repeating: 0, count: cols)
                t.withUnsafeMutableBufferPointer { tb in
                    for r in 0..<rows {
                        let p = base.assumingMemoryBound(to: UInt8.self) + r * stride
                        if info.dtype == .t2 { T2Packing.unpackRow(tb.baseAddress!, p, cols: cols) } else { T1Packing.unpackRow(tb.baseAddress!, p, cols: cols) }
                        for c in 0..<cols { dst[r * cols + c] = Float(tb[c]) * g }
                    }
                }
            }
        }
        return out
    }

    /// For T2 and T1 tensors: the ternary values {-1, 0, +1} of every row (a copy), row-major.
    public func ternaryValues() -> [Int8]? {
        guard info.dtype == .t2 || info.dtype == .t1 else { return nil }
        let rows = info.rows, cols = info.cols, stride = rowStride
        var out = [Int8](repeating: 0, count: rows * cols)
        out.withUnsafeMutableBufferPointer { o in
            for r in 0..<rows {
                let p = base.assumingMemoryBound(to: UInt8.self) + r * stride
                if info.dtype == .t2 { T2Packing.unpackRow(o.baseAddress! + r * cols, p, cols: cols) } else { T1Packing.unpackRow(o.baseAddress! + r * cols, p, cols: cols) }
            }
        }
        return out
    }

    /// Checks the codes and scales of a quantized tensor (invalid ternary codes, bad scales).
    ///
    /// - Throws: ``FormatError/badTernaryCode(tensor:row:byte:)`` or ``FormatError/badScale(tensor:row:)``.
    public func validateCodes() throws(FormatError) {
        let rows = info.rows
        switch info.dtype {
        case .f32, .f16, .bf16: return
        case .i8:
            for r in 0..<rows {
                let s = int8Scale(row: r)
                guard s.isFinite, s >= 0 else { throw .badScale(tensor: info.name, row: r) }
            }
        case .t2, .t1:
            guard let g = ternaryScale, g.isFinite, g >= 0 else { throw .badScale(tensor: info.name, row: 0) }
            // Scan every packed byte, padding included: T2 code 3 and the 13 bytes that are no
            // T1 encoding are invalid wherever they appear.
            let stride = rowStride
            let packed = base.assumingMemoryBound(to: UInt8.self)
            for r in 0..<rows {
                let p = packed + r * stride
                for b in 0..<stride {
                    let byte = p[b]
                    let invalid = info.dtype == .t2 ? T2Packing.hasInvalidCode(byte) : !T1Packing.isValid(byte)
                    if invalid { throw .badTernaryCode(tensor: info.name, row: r, byte: b) }
                }
            }
        }
    }
}
