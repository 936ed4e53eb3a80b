import BitGPT
import TestSupport
import Testing

/// A dtype with a shape, named in test output.
struct DTypeShape: CustomStringConvertible, Sendable {
    let dtype: DType
    let shape: [Int]
    var description: String { "\(dtype) \(shape)" }
}

/// Encode → view → decode for every dtype: exact where the type is exact, within the stated
/// rounding otherwise, checked against references written here independently of the encoder.
@Suite("TensorEncoder round trip")
struct TensorEncoderTests {
    static let shapes: [[Int]] = [
        [1], [3], [4], [5], [127], [128], [129], [159], [160], [161], [300],
        [2, 3], [3, 129], [2, 161], [5, 320], [2, 3, 4], [2, 1, 3, 5], [4, 300], [1, 1, 1, 1],
    ]
    static let cases: [DTypeShape] = DType.allCases.flatMap { d in shapes.map { DTypeShape(dtype: d, shape: $0) } }

    static func values(_ n: Int, seed: UInt64, std: Float = 1) -> [Float] {
        var rng = SeededRandom(seed: seed)
        return (0..<n).map { _ in rng.normal(std: std) }
    }

    /// bfloat16 by exhaustive comparison of the two neighbours in Double (ties to the even one).
    static func referenceBF16(_ x: Float) -> Float {
        let lo = Float(bitPattern: x.bitPattern & 0xFFFF_0000)
        let hiBits = (x.bitPattern & 0xFFFF_0000) &+ 0x10000
        let hi = Float(bitPattern: hiBits)
        let dl = abs(Double(x) - Double(lo)), dh = abs(Double(x) - (hi.isInfinite ? Double(hi.sign == .minus ? -1 : 1) * 0x1p128 : Double(hi)))
        if dl < dh { return lo }
        if dh < dl { return hi }
        return (x.bitPattern >> 16) & 1 == 0 ? lo : hi
    }

    /// The absmean ternarization, in Double: γ = max(mean|w|, 1e-5), t = clamp(round_half_even(w / γ)).
    static func referenceTernary(_ w: [Float]) -> (t: [Int8], gamma: Float) {
        let mean = Float(w.reduce(0.0) { $0 + Double(abs($1)) } / Double(w.count))
        let s = 1 / max(mean, 1e-5)
        let t = w.map { x -> Int8 in
            let v = (x * s).rounded(.toNearestOrEven)
            return v > 0 ? 1 : (v < 0 ? -1 : 0)
        }
        return (t, 1 / s)
    }

    @Test("every dtype and shape round-trips within its rounding rule", arguments: cases)
    func roundTrip(c: DTypeShape) throws {
        let n = c.shape.reduce(1, *)
        let cols = c.shape.last!, rows = n / cols
        let w = Self.values(n, seed: UInt64(n) &* 31 &+ UInt64(c.dtype.rawValue))
        let bytes = try TensorEncoder.encode(w, shape: c.shape, as: c.dtype, name: "t")
        #expect(UInt64(bytes.count) == c.dtype.byteSize(shape: c.shape.map { UInt64($0) }))
        try withTensorView(bytes, dtype: c.dtype, shape: c.shape) { v in
            try v.validateCodes()
            let d = v.dequantized()
            #expect(d.count == n)
            switch c.dtype {
            case .f32:
                #expect(d.map(\.bitPattern) == w.map(\.bitPattern))
                #expect(v.f32.map(Array.init) == w)
            case .f16:
                for i in 0..<n {
                    // binary16 has 11 significant bits: relative error at most 2^-11 for normal values.
                    #expect(abs(d[i] - w[i]) <= abs(w[i]) * 0x1p-11 + 0x1p-25, "element \(i)")
                    #expect(d[i] == Float(Float16(w[i])))
                }
            case .bf16:
                for i in 0..<n { #expect(d[i] == Self.referenceBF16(w[i]), "element \(i): \(w[i])") }
            case .i8:
                for r in 0..<rows {
                    let row = w[(r * cols)..<((r + 1) * cols)]
                    let scale = row.map { abs($0) }.max()! / 127
                    #expect(v.int8Scale(row: r) == scale)
                    for i in (r * cols)..<((r + 1) * cols) {
                        let q = Int((w[i] / scale).rounded(.toNearestOrEven))
                        #expect(d[i] == Float(max(-127, min(127, q))) * scale, "element \(i)")
                        #expect(abs(d[i] - w[i]) <= scale / 2 * 1.0001, "element \(i)")
                    }
                }
                #expect(v.rowStride == cols)
            case .t2, .t1:
                let (t, gamma) = Self.referenceTernary(w)
                #expect(v.ternaryScale == gamma)
                #expect(v.ternaryValues() == t)
                #expect(d == t.map { Float($0) * gamma })
                #expect(v.rowStride == (c.dtype == .t2 ? T2Packing.rowBytes(cols: cols) : T1Packing.rowBytes(cols: cols)))
            }
        }
    }

    @Test("all-zero tensors: I8 scale 0, ternary γ = 1e-5 with all codes 0", arguments: [DType.i8, .t2, .t1, .f16, .bf16])
    func zeros(dtype: DType) throws {
        let bytes = try TensorEncoder.encode([Float](repeating: 0, count: 2 * 161), shape: [2, 161], as: dtype, name: "z")
        try withTensorView(bytes, dtype: dtype, shape: [2, 161]) { v in
            try v.validateCodes()
            #expect(v.dequantized().allSatisfy { $0 == 0 })
            if dtype == .i8 { #expect(v.int8Scale(row: 0) == 0 && v.int8Scale(row: 1) == 0) }
            if dtype == .t2 || dtype == .t1 {
                #expect(v.ternaryScale == 1 / (1 / Float(1e-5)))
                #expect(v.ternaryValues()!.allSatisfy { $0 == 0 })
            }
        }
    }

    @Test("tiny and huge magnitudes stay finite in I8, T2 and T1", arguments: [DType.i8, .t2, .t1])
    func extremes(dtype: DType) throws {
        for (label, w) in [("tiny", [Float(1e-30), -2e-30, 0, 1e-38, Float(bitPattern: 4)]),
                           ("huge", [Float(3e38), -3.3e38, 1, 0, -Float.greatestFiniteMagnitude])] {
            let bytes = try TensorEncoder.encode(w, shape: [w.count], as: dtype, name: label)
            try withTensorView(bytes, dtype: dtype, shape: [w.count]) { v in
                try v.validateCodes()
                let d = v.dequantized()
                #expect(d.allSatisfy { $0.isFinite }, "\(label): \(d)")
                if dtype == .i8 {
                    // The largest magnitude maps to ±127 · scale, within float rounding of itself.
                    let m = w.indices.max { abs(w[$0]) < abs(w[$1]) }!
                    #expect(abs(d[m] - w[m]) <= abs(w[m]) * 1e-6, "\(label): \(d[m]) for \(w[m])")
                }
            }
        }
    }

    @Test("NaN or infinity is refused for I8, T2 and T1, naming the first bad element", arguments: [DType.i8, .t2, .t1])
    func nonFinite(dtype: DType) {
        for bad in [Float.nan, .infinity, -.infinity, .signalingNaN] {
            var w = [Float](repeating: 0.5, count: 12)
            w[7] = bad
            w[9] = .nan
            #expect(throws: FormatError.nonFinite(tensor: "blk.0.w", index: 7)) {
                _ = try TensorEncoder.encode(w, shape: [3, 4], as: dtype, name: "blk.0.w")
            }
        }
    }

    @Test("float types store NaN and infinity as such")
    func floatSpecials() throws {
        let w: [Float] = [.nan, .infinity, -.infinity, -0.0]
        for dtype in [DType.f32, .f16, .bf16] {
            let d = withTensorView(try TensorEncoder.encode(w, shape: [4], as: dtype, name: "s"), dtype: dtype, shape: [4]) { $0.dequantized() }
            #expect(d[0].isNaN && d[1] == .infinity && d[2] == -.infinity && d[3] == 0 && d[3].sign == .minus, "\(dtype): \(d)")
        }
    }

    @Test("F16 rounds to nearest even, overflows to infinity at 65520 and flushes below half the smallest subnormal")
    func f16Edges() {
        let cases: [(Float, UInt16)] = [
            (65504, 0x7BFF), (65519.99, 0x7BFF), (65520, 0x7C00), (70000, 0x7C00), (-1e6, 0xFC00),
            (1, 0x3C00), (1 + 0x1p-11, 0x3C00), (1 + 3 * 0x1p-11, 0x3C02), (1 + 0x1p-10, 0x3C01),
            (0x1p-24, 0x0001), (0x1p-25, 0x0000), (0x1.8p-25, 0x0001), (6.1035156e-05, 0x0400), (-0.0, 0x8000),
        ]
        for (x, bits) in cases {
            #expect(HalfPrecision.toF16(x) == bits, "\(x) → 0x\(String(HalfPrecision.toF16(x), radix: 16)), expected 0x\(String(bits, radix: 16))")
        }
        for bits in stride(from: 0, through: 0xFFFF, by: 1) where (bits & 0x7C00) != 0x7C00 {
            #expect(HalfPrecision.toF16(HalfPrecision.fromF16(UInt16(bits))) == UInt16(bits))
        }
    }

    @Test("BF16 rounds to nearest, ties to even, and keeps NaN a NaN")
    func bf16Edges() {
        let cases: [(UInt32, UInt16)] = [
            (0x3F80_8000, 0x3F80),  // tie, even below
            (0x3F81_8000, 0x3F82),  // tie, even above
            (0x3F80_8001, 0x3F81),  // just over the tie
            (0x3F80_7FFF, 0x3F80),  // just under the tie
            (0x7F7F_FFFF, 0x7F80),  // the largest float rounds to infinity
            (0x7F80_0000, 0x7F80), (0xFF80_0000, 0xFF80),
            (0x0000_0001, 0x0000), (0x8000_8000, 0x8000), (0x0001_8000, 0x0002),
        ]
        for (f, bits) in cases {
            #expect(HalfPrecision.toBF16(Float(bitPattern: f)) == bits, "0x\(String(f, radix: 16))")
            #expect(HalfPrecision.toBF16(Float(bitPattern: f)) == HalfPrecision.toBF16(Self.referenceBF16(Float(bitPattern: f))))
        }
        for nan in [Float.nan, -.nan, .signalingNaN, Float(bitPattern: 0x7F80_0001)] {
            #expect(HalfPrecision.fromBF16(HalfPrecision.toBF16(nan)).isNaN)
        }
        var rng = SeededRandom(seed: 5)
        for _ in 0..<20_000 {
            let x = Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()) & 0x7F7F_FFFF | (rng.next() & 1 == 0 ? 0 : 0x8000_0000))
            #expect(HalfPrecision.fromBF16(HalfPrecision.toBF16(x)) == Self.referenceBF16(x), "0x\(String(x.bitPattern, radix: 16))")
        }
    }

    @Test("a value count that does not match the shape is writer misuse")
    func countMismatch() {
        #expect(throws: FormatError.writerMisuse("tensor \"m\": 5 values for shape [2, 3]")) {
            _ = try TensorEncoder.encode([1, 2, 3, 4, 5], shape: [2, 3], as: .f32, name: "m")
        }
    }
}

/// `TensorView.validateCodes()` rejects what the packers never write.
@Suite("TensorView code validation")
struct TensorViewValidationTests {
    @Test("a T2 code 3 anywhere is found, with its row and byte")
    func t2Code3() throws {
        let shape = [3, 133]
        let good = try TensorEncoder.encode(TensorEncoderTests.values(3 * 133, seed: 9), shape: shape, as: .t2, name: "q")
        let stride = T2Packing.rowBytes(cols: 133)
        for (row, byte, slot) in [(0, 0, 0), (1, 5, 3), (2, stride - 1, 0), (2, 31, 2), (1, 32, 1)] {
            var bad = good
            bad[row * stride + byte] |= 3 << (2 * slot)
            withTensorView(bad, dtype: .t2, shape: shape, name: "q") { v in
                #expect(throws: FormatError.badTernaryCode(tensor: "q", row: row, byte: byte)) { try v.validateCodes() }
                _ = v.dequantized()  // decodes (as 0) without trapping
            }
        }
    }

    @Test("a code 3 in the unused slots of a T2 tail is refused too (code 3 is invalid everywhere)")
    func t2PaddingCode3() throws {
        var bytes = try TensorEncoder.encode([1, 0, -1, 1, 0], shape: [1, 5], as: .t2, name: "p")
        bytes[1] |= 0b1100_0000  // slot 3 of the second byte is padding
        withTensorView(bytes, dtype: .t2, shape: [1, 5], name: "p") { v in
            #expect(throws: FormatError.badTernaryCode(tensor: "p", row: 0, byte: 1)) { try v.validateCodes() }
            #expect(v.ternaryValues() == [1, 0, -1, 1, 0], "decoding ignores the padding")
        }
    }

    @Test("each of the 13 invalid T1 bytes is found, with its row and byte")
    func t1Invalid() throws {
        let shape = [2, 165]
        let good = try TensorEncoder.encode(TensorEncoderTests.values(2 * 165, seed: 10), shape: shape, as: .t1, name: "q")
        let stride = T1Packing.rowBytes(cols: 165)
        let invalid = (0...255).map { UInt8($0) }.filter { !T1Packing.isValid($0) }
        for (k, b) in invalid.enumerated() {
            let row = k % 2, byte = (k * 5) % stride
            var bad = good
            bad[row * stride + byte] = b
            withTensorView(bad, dtype: .t1, shape: shape, name: "q") { v in
                #expect(throws: FormatError.badTernaryCode(tensor: "q", row: row, byte: byte)) { try v.validateCodes() }
                _ = v.dequantized()
            }
        }
    }

    @Test("negative or non-finite scales are refused", arguments: [DType.i8, .t2, .t1])
    func badScales(dtype: DType) throws {
        let shape = [3, 10]
        let good = try TensorEncoder.encode(TensorEncoderTests.values(30, seed: 11), shape: shape, as: dtype, name: "s")
        for scale in [Float(-1), .nan, .infinity, -.infinity] {
            var bad = good
            // I8: the scale of row 2 is the last f32; T2/T1: γ is the last f32.
            RawFileBuilder.patch(&bad, at: bad.count - 4, scale.bitPattern)
            withTensorView(bad, dtype: dtype, shape: shape, name: "s") { v in
                #expect(throws: FormatError.badScale(tensor: "s", row: dtype == .i8 ? 2 : 0)) { try v.validateCodes() }
            }
        }
    }
}

/// Programmer errors (never file contents) stop the process through `precondition`.
@Suite("Encoder preconditions")
struct EncoderPreconditionTests {
    @Test("ternary() refuses a non-ternary dtype")
    func ternaryDType() async {
        await #expect(processExitsWith: .failure) {
            _ = TensorEncoder.ternary([1, 0], scale: 1, rows: 1, cols: 2, as: .f32)
        }
    }

    @Test("ternary() refuses a value count that is not rows × cols")
    func ternaryCount() async {
        await #expect(processExitsWith: .failure) {
            _ = TensorEncoder.ternary([1, 0, 1], scale: 1, rows: 1, cols: 2, as: .t2)
        }
    }

    @Test("int8() refuses scales that do not match the rows")
    func int8Scales() async {
        await #expect(processExitsWith: .failure) {
            _ = TensorEncoder.int8(codes: [1, 2], scales: [1, 1], rows: 1, cols: 2)
        }
    }

    @Test("headerChecksum() refuses a buffer shorter than the fixed header")
    func shortHeader() async {
        await #expect(processExitsWith: .failure) {
            _ = [UInt8](repeating: 0, count: 10).withUnsafeBytes { BGPTFile.headerChecksum($0) }
        }
    }
}
