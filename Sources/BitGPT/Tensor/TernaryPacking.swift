/// T2: ternary weights at 2 bits each (`formats/bgpt.md`, "T2").
///
/// A row of `cols` weights is `cols / 128` full blocks of 32 bytes, then a tail of `cols % 128`
/// weights in `ceil(tail / 4)` bytes. Codes are `t + 1` ∈ {0, 1, 2}; 3 is invalid.
/// - In a full block, byte `j` (0..<32) holds element `32·n + j` of the block in bits `2n, 2n+1`
///   (n = 0..<4), so one 32-byte load and four shift-and-mask steps give 128 weights in order.
/// - In the tail, byte `k` holds elements `4k + n` in bits `2n, 2n+1`; unused codes are 1 (zero).
public enum T2Packing {
    /// Weights per full block.
    public static let blockWeights = 128
    /// Bytes per full block.
    public static let blockBytes = 32

    /// Packed bytes of one row of `cols` weights.
    @inlinable
    public static func rowBytes(cols: UInt64) -> UInt64 {
        (cols / 128) * 32 + (cols % 128 + 3) / 4
    }

    /// Packed bytes of one row of `cols` weights.
    @inlinable
    public static func rowBytes(cols: Int) -> Int { Int(rowBytes(cols: UInt64(cols))) }

    /// Packs one row of ternary values.
    ///
    /// - Parameters:
    ///   - out: `rowBytes(cols:)` bytes, fully written.
    ///   - t: `cols` values, each -1, 0 or +1.
    public static func packRow(_ out: UnsafeMutablePointer<UInt8>, _ t: UnsafePointer<Int8>, cols: Int) {
        let full = cols / 128
        for b in 0..<full {
            let o = out + b * 32, w = t + b * 128
            for j in 0..<32 {
                var byte: UInt8 = 0
                for n in 0..<4 { byte |= UInt8(truncatingIfNeeded: w[32 * n + j] + 1) << (2 * n) }
                o[j] = byte
            }
        }
        let tail = cols - full * 128
        let o = out + full * 32, w = t + full * 128
        for k in 0..<((tail + 3) / 4) {
            var byte: UInt8 = 0
            for n in 0..<4 {
                let i = 4 * k + n
                let code: UInt8 = i < tail ? UInt8(truncatingIfNeeded: w[i] + 1) : 1
                byte |= code << (2 * n)
            }
            o[k] = byte
        }
    }

    /// Whether any of the four 2-bit codes of `byte` is 3 (the invalid code).
    @inlinable
    public static func hasInvalidCode(_ byte: UInt8) -> Bool {
        // A slot is 3 when both its bits are set: AND the high bits with the low bits.
        (byte & (byte >> 1) & 0b0101_0101) != 0
    }

    /// Unpacks one row into ternary values.
    ///
    /// - Returns: false if any code is 3 (invalid); `t` then holds 0 there.
    @discardableResult
    public static func unpackRow(_ t: UnsafeMutablePointer<Int8>, _ packed: UnsafePointer<UInt8>, cols: Int) -> Bool {
        var ok = true
        let full = cols / 128
        for b in 0..<full {
            let p = packed + b * 32, w = t + b * 128
            for j in 0..<32 {
                let byte = p[j]
                for n in 0..<4 {
                    let c = (byte >> (2 * n)) & 3
                    if c == 3 { ok = false }
                    w[32 * n + j] = c == 3 ? 0 : Int8(c) - 1
                }
            }
        }
        let tail = cols - full * 128
        let p = packed + full * 32, w = t + full * 128
        for i in 0..<tail {
            let c = (p[i / 4] >> (2 * (i % 4))) & 3
            if c == 3 { ok = false }
            w[i] = c == 3 ? 0 : Int8(c) - 1
        }
        return ok
    }
}

/// T1: ternary weights in base 3, five to a byte, 1.6 bits each (`formats/bgpt.md`, "T1").
///
/// Five codes `c0..c4` (each `t + 1`) form `q = c0·81 + c1·27 + c2·9 + c3·3 + c4` (0...242), and
/// the byte stores `ceil(q · 256 / 243)`, the fixed-point fraction q/243 (the TQ1_0 trick of ggml).
/// Digit n decodes with `x = byte · 3^n mod 256`, `c = (x · 3) >> 8`: an 8-bit multiply, so SIMD
/// friendly. A row of `cols` weights is `cols / 160` full blocks of 32 bytes, then a tail of
/// `cols % 160` weights in `ceil(tail / 5)` bytes.
/// - In a full block, byte `j` (0..<32) holds element `32·n + j` as digit n (n = 0..<5).
/// - In the tail, byte `k` holds elements `5k + n` as digit n; unused digits are 1 (zero).
public enum T1Packing {
    /// Weights per full block.
    public static let blockWeights = 160
    /// Bytes per full block.
    public static let blockBytes = 32
    @usableFromInline static let pow3: [UInt8] = [1, 3, 9, 27, 81]

    /// Packed bytes of one row of `cols` weights.
    @inlinable
    public static func rowBytes(cols: UInt64) -> UInt64 {
        (cols / 160) * 32 + (cols % 160 + 4) / 5
    }

    /// Packed bytes of one row of `cols` weights.
    @inlinable
    public static func rowBytes(cols: Int) -> Int { Int(rowBytes(cols: UInt64(cols))) }

    /// Encodes five codes (each 0, 1 or 2), most significant first, as one byte.
    @inlinable
    public static func encode(_ c0: UInt8, _ c1: UInt8, _ c2: UInt8, _ c3: UInt8, _ c4: UInt8) -> UInt8 {
        let q = UInt16(c0) * 81 + UInt16(c1) * 27 + UInt16(c2) * 9 + UInt16(c3) * 3 + UInt16(c4)
        return UInt8((q * 256 + 242) / 243)
    }

    /// Decodes digit `n` (0..<5) of a packed byte.
    @inlinable
    public static func digit(_ byte: UInt8, _ n: Int) -> UInt8 {
        let x = byte &* pow3[n]
        return UInt8((UInt16(x) * 3) >> 8)
    }

    /// Whether `byte` is the encoding of some q in 0...242 (`encode` never makes the others).
    ///
    /// `ceil(q·256/243)` for q = 0...242 covers 0...255 but for 13 values; the table holds the
    /// result of re-encoding each byte's digits and comparing.
    @inlinable
    public static func isValid(_ byte: UInt8) -> Bool { validBytes[Int(byte)] }

    @usableFromInline static let validBytes: [Bool] = (0...255).map { b in
        let byte = UInt8(b)
        return encode(digit(byte, 0), digit(byte, 1), digit(byte, 2), digit(byte, 3), digit(byte, 4)) == byte
    }

    /// Packs one row of ternary values.
    ///
    /// - Parameters:
    ///   - out: `rowBytes(cols:)` bytes, fully written.
    ///   - t: `cols` values, each -1, 0 or +1.
    public static func packRow(_ out: UnsafeMutablePointer<UInt8>, _ t: UnsafePointer<Int8>, cols: Int) {
        @inline(__always) func c(_ v: Int8) -> UInt8 { UInt8(truncatingIfNeeded: v + 1) }
        let full = cols / 160
        for b in 0..<full {
            let o = out + b * 32, w = t + b * 160
            for j in 0..<32 {
                o[j] = encode(c(w[j]), c(w[32 + j]), c(w[64 + j]), c(w[96 + j]), c(w[128 + j]))
            }
        }
        let tail = cols - full * 160
        let o = out + full * 32, w = t + full * 160
        for k in 0..<((tail + 4) / 5) {
            var d: [UInt8] = [1, 1, 1, 1, 1]
            for n in 0..<5 where 5 * k + n < tail { d[n] = c(w[5 * k + n]) }
            o[k] = encode(d[0], d[1], d[2], d[3], d[4])
        }
    }

    /// Unpacks one row into ternary values.
    ///
    /// - Returns: false if any byte is not a valid encoding.
    @discardableResult
    public static func unpackRow(_ t: UnsafeMutablePointer<Int8>, _ packed: UnsafePointer<UInt8>, cols: Int) -> Bool {
        var ok = true
        let full = cols / 160
        for b in 0..<full {
            let p = packed + b * 32, w = t + b * 160
            for j in 0..<32 {
                let byte = p[j]
                if !isValid(byte) { ok = false }
                for n in 0..<5 { w[32 * n + j] = Int8(digit(byte, n)) - 1 }
            }
        }
        let tail = cols - full * 160
        let p = packed + full * 32, w = t + full * 160
        for k in 0..<((tail + 4) / 5) {
            let byte = p[k]
            if !isValid(byte) { ok = false }
            for n in 0..<5 where 5 * k + n < tail { w[5 * k + n] = Int8(digit(byte, n)) - 1 }
        }
        return ok
    }
}
