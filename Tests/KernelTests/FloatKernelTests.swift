import CBitGPTKernels
import Testing

/// The three float-weight matmuls, as one argument type so a failure names its case.
enum FloatKind: String, CaseIterable, CustomStringConvertible, Sendable {
    case f32, f16, bf16

    var description: String { rawValue }

    /// Random finite weights as the kernel's storage (f32 bits, or 16-bit patterns) and as Float.
    func weights(_ count: Int, _ rng: inout SplitMix64) -> (bits: [UInt32], values: [Float]) {
        var bits: [UInt32] = [], values: [Float] = []
        for _ in 0..<count {
            switch self {
            case .f32:
                let v = rng.float()
                bits.append(v.bitPattern); values.append(v)
            case .f16:
                // sign, exponent 8...21 (2^-7 ... 2^6), random mantissa: finite normal halves.
                let h = UInt16(rng.int(0...1) << 15 | rng.int(8...21) << 10 | rng.int(0...1023))
                bits.append(UInt32(h)); values.append(Float(Float16(bitPattern: h)))
            case .bf16:
                let h = UInt16(rng.float().bitPattern >> 16)
                bits.append(UInt32(h)); values.append(Float(bitPattern: UInt32(h) << 16))
            }
        }
        return (bits, values)
    }

    /// Runs this kernel of `table` and returns the (n, ld) outputs, NaN where nothing was written.
    func run(_ table: bgpt_k_table, _ w: [UInt32], _ x: [Float], _ s: Shape) throws -> [Float] {
        var out = [Float](repeating: .nan, count: s.n * s.ld)
        let w32 = w.map { Float(bitPattern: $0) }, w16 = w.map { UInt16(truncatingIfNeeded: $0) }
        switch self {
        case .f32:
            let f = try #require(table.matmul_f32)
            f(&out, s.ld, w32, x, s.cols, s.r0, s.r1, s.n)
        case .f16:
            let f = try #require(table.matmul_f16)
            f(&out, s.ld, w16, x, s.cols, s.r0, s.r1, s.n)
        case .bf16:
            let f = try #require(table.matmul_bf16)
            f(&out, s.ld, w16, x, s.cols, s.r0, s.r1, s.n)
        }
        return out
    }
}

@Suite("Float matmul kernels")
struct FloatKernelTests {
    static let variants = Variants.available

    /// Tolerance: both sums are fp32 sums of the same exact products in different orders, each
    /// within cols·2⁻²⁴·Σ|w·x| of the exact value, so they differ by at most 2·cols·2⁻²⁴·Σ|w·x|.
    @Test("SIMD matmuls match the scalar reference within 2·cols·2⁻²⁴·Σ|w·x|",
          arguments: FloatKind.allCases, variants)
    func matchesScalar(kind: FloatKind, variant: String) throws {
        let scalar = try #require(Variants.table("scalar")), simd = try #require(Variants.table(variant))
        var rng = SplitMix64(seed: 0xF10A7)
        for s in Shape.cases(seed: 32) {
            let (bits, wv) = kind.weights(s.rows * s.cols, &rng)
            let x = (0..<(s.n * s.cols)).map { _ in rng.float() * 4 }
            let want = try kind.run(scalar, bits, x, s), got = try kind.run(simd, bits, x, s)
            var worst: Float = 0
            for t in 0..<s.n {
                for r in 0..<s.ld {
                    let i = t * s.ld + r
                    if r < s.r0 || r >= s.r1 {
                        #expect(got[i].isNaN, "\(variant) \(kind) \(s): wrote outside [r0, r1) at \(i)")
                        continue
                    }
                    var magnitude: Float = 0
                    for c in 0..<s.cols { magnitude += abs(wv[r * s.cols + c] * x[t * s.cols + c]) }
                    let tolerance = 2 * Float(s.cols) * 0x1p-24 * magnitude
                    worst = max(worst, abs(got[i] - want[i]) - tolerance)
                }
            }
            #expect(worst <= 0, "\(variant) \(kind) \(s): exceeds tolerance by \(worst)")
        }
    }

    @Test("an output does not depend on r0, r1 or n (bit-identical for any thread split)",
          arguments: FloatKind.allCases, variants)
    func deterministic(kind: FloatKind, variant: String) throws {
        let table = try #require(Variants.table(variant))
        var rng = SplitMix64(seed: 0xDE7)
        for cols in [1, 7, 16, 100, 257, 300] {
            let rows = 11, n = 9
            let (bits, _) = kind.weights(rows * cols, &rng)
            let x = (0..<(n * cols)).map { _ in rng.float() }
            let whole = try kind.run(table, bits, x, Shape(rows: rows, cols: cols, n: n, r0: 0, r1: rows, ld: rows))
            for t in 0..<n {
                let xt = Array(x[(t * cols)..<((t + 1) * cols)])
                for r in 0..<rows {
                    let one = try kind.run(table, bits, xt, Shape(rows: rows, cols: cols, n: 1, r0: r, r1: r + 1, ld: rows))
                    #expect(one[r].bitPattern == whole[t * rows + r].bitPattern, "\(variant) \(kind) cols=\(cols) t=\(t) r=\(r)")
                }
            }
            let split = try kind.run(table, bits, x, Shape(rows: rows, cols: cols, n: n, r0: 3, r1: 10, ld: rows))
            for t in 0..<n {
                for r in 3..<10 { #expect(split[t * rows + r].bitPattern == whole[t * rows + r].bitPattern) }
            }
        }
    }
}

@Suite("Activation quantization")
struct QuantizeTests {
    static let variants = ["scalar"] + Variants.available

    private static func quantize(_ table: bgpt_k_table, _ x: [Float], n: Int, cols: Int) throws -> ([Int8], [Float]) {
        let f = try #require(table.quantize_i8)
        var q = [Int8](repeating: 0, count: n * cols), scale = [Float](repeating: 0, count: n)
        f(&q, &scale, x, n, cols)
        return (q, scale)
    }

    @Test("SIMD quantization equals the scalar reference exactly (codes and scales)", arguments: Variants.available)
    func matchesScalar(variant: String) throws {
        let scalar = try #require(Variants.table("scalar")), simd = try #require(Variants.table(variant))
        var rng = SplitMix64(seed: 0x0A17)
        for s in Shape.cases(seed: 9) {
            // Magnitudes from 1e-7 (below the 1e-5 floor) to 1e3.
            let magnitude = [Float(1e-7), 1e-3, 1, 1e3][rng.int(0...3)]
            let x = (0..<(s.n * s.cols)).map { _ in rng.float() * magnitude }
            let (wq, ws) = try Self.quantize(scalar, x, n: s.n, cols: s.cols)
            let (gq, gs) = try Self.quantize(simd, x, n: s.n, cols: s.cols)
            #expect(gq == wq, "\(variant) \(s)")
            #expect(gs.map(\.bitPattern) == ws.map(\.bitPattern), "\(variant) \(s)")
        }
    }

    @Test("codes round half to even and the scale is 127 / max|x|", arguments: variants)
    func roundsHalfToEven(variant: String) throws {
        let table = try #require(Variants.table(variant))
        // max|x| = 127 gives scale 1, so each code is round_half_even(x). 37 columns cover a vector
        // body and a tail in every variant.
        let halves: [Float] = [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 126.5, -126.5, 3.49, -3.51]
        let codes: [Int8] = [0, 2, 2, 0, -2, -2, 126, -126, 3, -4]
        var x = [Float](repeating: 0, count: 37), want = [Int8](repeating: 0, count: 37)
        x[36] = -127; want[36] = -127
        for (i, v) in halves.enumerated() {
            x[i] = v; want[i] = codes[i]
            x[26 + i] = v; want[26 + i] = codes[i]
        }
        let (q, scale) = try Self.quantize(table, x, n: 1, cols: 37)
        #expect(scale == [1])
        #expect(q == want, "\(variant)")
    }
}

@Suite("Kernel dispatch")
struct DispatchTests {
    @Test("the chosen variant is one this CPU can run")
    func chosenRuns() {
        let name = String(cString: bgpt_k_variant())
        #expect(["scalar", "avx2", "avx512vnni"].contains(name))
        #expect(bgpt_k_table_named(name) != nil)
    }

    @Test("unknown names give no table; scalar always exists")
    func names() {
        #expect(bgpt_k_table_named("sse9") == nil)
        #expect(bgpt_k_table_named(nil) == nil)
        #expect(bgpt_k_table_named("scalar") != nil)
    }
}
