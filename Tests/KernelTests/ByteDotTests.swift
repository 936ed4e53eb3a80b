import CBitGPTKernels
import Testing

/// Value the kernels must leave alone: outputs outside rows [r0, r1) and columns past rows of ld.
private let untouched: Int32 = -0x1234_5678

/// Fills an output buffer with `untouched`, runs `body` on it, and returns it.
func run(_ s: Shape, _ body: (UnsafeMutablePointer<Int32>?) -> Void) -> [Int32] {
    var acc = [Int32](repeating: untouched, count: s.n * s.ld)
    acc.withUnsafeMutableBufferPointer { body($0.baseAddress) }
    return acc
}

/// The oracle with `untouched` where the kernel must not write.
func expected(_ w: [Int8], _ q: [Int8], _ s: Shape) -> [Int32] {
    var e = referenceDot(w, q, s)
    for t in 0..<s.n { for r in 0..<s.ld where r < s.r0 || r >= s.r1 { e[t * s.ld + r] = untouched } }
    return e
}

func randomTernary(_ count: Int, _ rng: inout SplitMix64) -> [Int8] {
    (0..<count).map { _ in Int8(rng.int(-1...1)) }
}

func randomInt8(_ count: Int, _ rng: inout SplitMix64) -> [Int8] {
    (0..<count).map { _ in Int8(truncatingIfNeeded: rng.next()) }
}

@Suite("Ternary and int8 dot kernels are exact")
struct ByteDotTests {
    static let variants = ["scalar"] + Variants.available

    @Test("T2 dot equals the Swift oracle on odd shapes, writing only rows [r0, r1)", arguments: variants)
    func t2(variant: String) throws {
        let table = try #require(Variants.table(variant))
        let dot = try #require(table.dot_t2)
        var rng = SplitMix64(seed: 0x7432)
        for s in Shape.cases(seed: 2) {
            let t = randomTernary(s.rows * s.cols, &rng), q = randomInt8(s.n * s.cols, &rng)
            let (packed, rowBytes) = packT2(t, rows: s.rows, cols: s.cols)
            let got = run(s) { acc in
                packed.withUnsafeBufferPointer { w in
                    q.withUnsafeBufferPointer { dot(acc, s.ld, w.baseAddress, rowBytes, $0.baseAddress, s.cols, s.r0, s.r1, s.n) }
                }
            }
            #expect(got == expected(t, q, s), "\(variant) \(s)")
        }
    }

    @Test("T1 dot equals the Swift oracle on odd shapes, writing only rows [r0, r1)", arguments: variants)
    func t1(variant: String) throws {
        let table = try #require(Variants.table(variant))
        let dot = try #require(table.dot_t1)
        var rng = SplitMix64(seed: 0x7431)
        for s in Shape.cases(seed: 1) {
            let t = randomTernary(s.rows * s.cols, &rng), q = randomInt8(s.n * s.cols, &rng)
            let (packed, rowBytes) = packT1(t, rows: s.rows, cols: s.cols)
            let got = run(s) { acc in
                packed.withUnsafeBufferPointer { w in
                    q.withUnsafeBufferPointer { dot(acc, s.ld, w.baseAddress, rowBytes, $0.baseAddress, s.cols, s.r0, s.r1, s.n) }
                }
            }
            #expect(got == expected(t, q, s), "\(variant) \(s)")
        }
    }

    @Test("int8 dot equals the Swift oracle on odd shapes (q with and without -128), writing only rows [r0, r1)", arguments: variants)
    func i8(variant: String) throws {
        let table = try #require(Variants.table(variant))
        let dot = try #require(table.dot_i8)
        var rng = SplitMix64(seed: 0x1808)
        for (index, s) in Shape.cases(seed: 8).enumerated() {
            // Every other case keeps q in [-127, 127], as activation quantization does (the AVX2
            // variant has a faster path for it); the others use the full int8 range.
            var q = randomInt8(s.n * s.cols, &rng)
            if index % 2 == 0 { q = q.map { max($0, -127) } }
            let w = randomInt8(s.rows * s.cols, &rng)
            let got = run(s) { acc in
                w.withUnsafeBufferPointer { wp in
                    q.withUnsafeBufferPointer { dot(acc, s.ld, wp.baseAddress, $0.baseAddress, s.cols, s.r0, s.r1, s.n) }
                }
            }
            #expect(got == expected(w, q, s), "\(variant) \(s)")
        }
    }

    @Test("int8 dot is exact at the extremes (-128 × -128, -128 × 127, -128 × -127)", arguments: variants)
    func i8Extremes(variant: String) throws {
        let table = try #require(Variants.table(variant))
        let dot = try #require(table.dot_i8)
        for (wv, qv) in [(Int8.min, Int8.min), (Int8.min, Int8.max), (Int8.max, Int8.max), (Int8.min, -127)] {
            let s = Shape(rows: 5, cols: 300, n: 5, r0: 0, r1: 5, ld: 5)
            let w = [Int8](repeating: wv, count: s.rows * s.cols), q = [Int8](repeating: qv, count: s.n * s.cols)
            let got = run(s) { acc in
                w.withUnsafeBufferPointer { wp in
                    q.withUnsafeBufferPointer { dot(acc, s.ld, wp.baseAddress, $0.baseAddress, s.cols, s.r0, s.r1, s.n) }
                }
            }
            #expect(got == [Int32](repeating: Int32(300 * Int(wv) * Int(qv)), count: 25), "\(variant) w=\(wv) q=\(qv)")
        }
    }

    @Test("ternary dots are exact at the extremes (all -1 or +1 against -128 and 127, up to 2300 columns)", arguments: variants)
    func ternaryExtremes(variant: String) throws {
        let table = try #require(Variants.table(variant))
        let dot2 = try #require(table.dot_t2), dot1 = try #require(table.dot_t1)
        // 2300 columns: 17 full T2 blocks, past the 8 blocks the AVX2 variant sums in int16.
        for (tv, qv, cols) in [(Int8(-1), Int8.min, 299), (Int8(1), Int8.min, 299), (Int8(-1), Int8.max, 299),
                               (Int8(1), Int8.min, 2300), (Int8(1), Int8.max, 2300)] {
            let s = Shape(rows: 6, cols: cols, n: 6, r0: 0, r1: 6, ld: 6)
            let t = [Int8](repeating: tv, count: s.rows * s.cols), q = [Int8](repeating: qv, count: s.n * s.cols)
            let want = [Int32](repeating: Int32(cols * Int(tv) * Int(qv)), count: 36)
            let (p2, rb2) = packT2(t, rows: s.rows, cols: s.cols), (p1, rb1) = packT1(t, rows: s.rows, cols: s.cols)
            let got2 = run(s) { acc in
                p2.withUnsafeBufferPointer { w in
                    q.withUnsafeBufferPointer { dot2(acc, s.ld, w.baseAddress, rb2, $0.baseAddress, s.cols, 0, 6, 6) }
                }
            }
            let got1 = run(s) { acc in
                p1.withUnsafeBufferPointer { w in
                    q.withUnsafeBufferPointer { dot1(acc, s.ld, w.baseAddress, rb1, $0.baseAddress, s.cols, 0, 6, 6) }
                }
            }
            #expect(got2 == want, "\(variant) T2 t=\(tv) q=\(qv) cols=\(cols)")
            #expect(got1 == want, "\(variant) T1 t=\(tv) q=\(qv) cols=\(cols)")
        }
    }
}

@Suite("Empty calls")
struct EmptyCallTests {
    static let variants = ["scalar"] + Variants.available

    @Test("n = 0, r0 = r1 and cols = 0 write nothing or zeros, and never read past the data", arguments: variants)
    func empty(variant: String) throws {
        let table = try #require(Variants.table(variant))
        let t2 = try #require(table.dot_t2), i8 = try #require(table.dot_i8), f32 = try #require(table.matmul_f32)
        let w = [UInt8](repeating: 0x55, count: 64), q = [Int8](repeating: 3, count: 64), x = [Float](repeating: 1, count: 64)
        var acc = [Int32](repeating: untouched, count: 8), out = [Float](repeating: .nan, count: 8)
        w.withUnsafeBufferPointer { wp in
            q.withUnsafeBufferPointer { qp in
                t2(&acc, 4, wp.baseAddress, 32, qp.baseAddress, 128, 0, 2, 0)  // n = 0
                t2(&acc, 4, wp.baseAddress, 32, qp.baseAddress, 128, 1, 1, 2)  // r0 = r1
                wp.withMemoryRebound(to: Int8.self) { i8(&acc, 4, $0.baseAddress, qp.baseAddress, 64, 2, 2, 2) }
            }
        }
        #expect(acc == [Int32](repeating: untouched, count: 8))
        // cols = 0: every sum is empty, so the rows written are zero.
        w.withUnsafeBufferPointer { wp in
            q.withUnsafeBufferPointer { qp in t2(&acc, 4, wp.baseAddress, 0, qp.baseAddress, 0, 0, 4, 2) }
        }
        x.withUnsafeBufferPointer { xp in f32(&out, 4, xp.baseAddress, xp.baseAddress, 0, 0, 4, 2) }
        #expect(acc == [Int32](repeating: 0, count: 8))
        #expect(out == [Float](repeating: 0, count: 8))
    }
}

@Suite("Long prompts")
struct LongPromptTests {
    static let variants = ["scalar"] + Variants.available

    /// The SIMD variants cut calls into chunks of 64 tokens; 150 tokens cross two boundaries.
    @Test("n = 150 tokens (three token chunks) gives the oracle's sums in every byte kernel", arguments: variants)
    func manyTokens(variant: String) throws {
        let table = try #require(Variants.table(variant))
        let dot2 = try #require(table.dot_t2), dot1 = try #require(table.dot_t1), dot8 = try #require(table.dot_i8)
        var rng = SplitMix64(seed: 0x150)
        let s = Shape(rows: 7, cols: 291, n: 150, r0: 1, r1: 7, ld: 8)
        let t = randomTernary(s.rows * s.cols, &rng), w = randomInt8(s.rows * s.cols, &rng)
        let q = randomInt8(s.n * s.cols, &rng)
        let (p2, rb2) = packT2(t, rows: s.rows, cols: s.cols), (p1, rb1) = packT1(t, rows: s.rows, cols: s.cols)
        let got2 = run(s) { acc in
            p2.withUnsafeBufferPointer { wp in
                q.withUnsafeBufferPointer { dot2(acc, s.ld, wp.baseAddress, rb2, $0.baseAddress, s.cols, s.r0, s.r1, s.n) }
            }
        }
        let got1 = run(s) { acc in
            p1.withUnsafeBufferPointer { wp in
                q.withUnsafeBufferPointer { dot1(acc, s.ld, wp.baseAddress, rb1, $0.baseAddress, s.cols, s.r0, s.r1, s.n) }
            }
        }
        let got8 = run(s) { acc in
            w.withUnsafeBufferPointer { wp in
                q.withUnsafeBufferPointer { dot8(acc, s.ld, wp.baseAddress, $0.baseAddress, s.cols, s.r0, s.r1, s.n) }
            }
        }
        #expect(got2 == expected(t, q, s), "\(variant) T2")
        #expect(got1 == expected(t, q, s), "\(variant) T1")
        #expect(got8 == expected(w, q, s), "\(variant) I8")
    }

    @Test("n = 150 tokens gives the same float bits as one-token calls", arguments: FloatKind.allCases, Variants.available)
    func manyTokensFloat(kind: FloatKind, variant: String) throws {
        let table = try #require(Variants.table(variant))
        var rng = SplitMix64(seed: 0x151)
        let rows = 5, cols = 77, n = 150
        let (bits, _) = kind.weights(rows * cols, &rng)
        let x = (0..<(n * cols)).map { _ in rng.float() }
        let whole = try kind.run(table, bits, x, Shape(rows: rows, cols: cols, n: n, r0: 0, r1: rows, ld: rows))
        for t in [0, 63, 64, 65, 127, 128, 149] {
            let one = try kind.run(table, bits, Array(x[(t * cols)..<((t + 1) * cols)]),
                                   Shape(rows: rows, cols: cols, n: 1, r0: 0, r1: rows, ld: rows))
            #expect(one.map(\.bitPattern) == whole[(t * rows)..<((t + 1) * rows)].map(\.bitPattern), "\(variant) \(kind) t=\(t)")
        }
    }
}
