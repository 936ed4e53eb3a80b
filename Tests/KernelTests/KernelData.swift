import CBitGPTKernels

/// SplitMix64: a small seeded generator so every test case is reproducible.
struct SplitMix64 {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform integer in `range`.
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.upperBound - range.lowerBound + 1))
    }

    /// Uniform float in [-1, 1).
    mutating func float() -> Float { Float(Int64(next() >> 40) - (1 << 23)) / Float(1 << 23) }
}

/// One kernel call's shape: W is (rows, cols), activations (n, cols), outputs (n, ld), rows [r0, r1).
struct Shape: CustomStringConvertible, Sendable {
    var rows: Int
    var cols: Int
    var n: Int
    var r0: Int
    var r1: Int
    var ld: Int

    var description: String { "rows=\(rows) cols=\(cols) n=\(n) r=[\(r0),\(r1)) ld=\(ld)" }

    /// Edge shapes (block and vector boundaries of every variant) plus random ones: cols 1...300,
    /// rows 1...70, n 1...9, random row sub-ranges and output strides wider than rows.
    static func cases(seed: UInt64, random: Int = 120) -> [Shape] {
        var rng = SplitMix64(seed: seed)
        var out: [Shape] = []
        let edgeCols = [1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 131, 159, 160, 161,
                        191, 192, 255, 256, 257, 287, 288, 300]
        for (i, cols) in edgeCols.enumerated() {
            let n = [1, 4, 5, 9][i % 4]
            let rows = [1, 5, 9, 70][(i / 4) % 4]
            out.append(Shape(rows: rows, cols: cols, n: n, r0: 0, r1: rows, ld: rows))
        }
        for _ in 0..<random {
            let rows = rng.int(1...70), cols = rng.int(1...300), n = rng.int(1...9)
            let r0 = rng.int(0...(rows - 1)), r1 = rng.int((r0 + 1)...rows)
            out.append(Shape(rows: rows, cols: cols, n: n, r0: r0, r1: r1, ld: rows + rng.int(0...3)))
        }
        return out
    }
}

/// Packs ternary rows per formats/bgpt.md "T2", written independently of the C kernels.
func packT2(_ t: [Int8], rows: Int, cols: Int) -> (bytes: [UInt8], rowBytes: Int) {
    let full = cols / 128, tail = cols % 128
    let rowBytes = 32 * full + (tail + 3) / 4
    var bytes = [UInt8](repeating: 0, count: rows * rowBytes)
    for r in 0..<rows {
        for c in 0..<cols {
            let code = UInt8(Int(t[r * cols + c]) + 1)
            let (byte, shift): (Int, Int)
            if c < 128 * full {
                byte = 32 * (c / 128) + c % 32
                shift = 2 * ((c % 128) / 32)
            } else {
                let i = c - 128 * full
                byte = 32 * full + i / 4
                shift = 2 * (i % 4)
            }
            bytes[r * rowBytes + byte] |= code << UInt8(shift)
        }
        // Unused codes of the last tail byte are 1 (weight 0).
        if tail % 4 != 0 {
            for k in (tail % 4)..<4 { bytes[r * rowBytes + rowBytes - 1] |= 1 << UInt8(2 * k) }
        }
    }
    return (bytes, rowBytes)
}

/// Packs ternary rows per formats/bgpt.md "T1" (base 3, byte = ⌈q·256/243⌉).
func packT1(_ t: [Int8], rows: Int, cols: Int) -> (bytes: [UInt8], rowBytes: Int) {
    let full = cols / 160, tail = cols % 160
    let rowBytes = 32 * full + (tail + 4) / 5
    var digits = [[Int]](repeating: [1, 1, 1, 1, 1], count: rows * rowBytes)
    for r in 0..<rows {
        for c in 0..<cols {
            let code = Int(t[r * cols + c]) + 1
            if c < 160 * full {
                digits[r * rowBytes + 32 * (c / 160) + c % 32][(c % 160) / 32] = code
            } else {
                let i = c - 160 * full
                digits[r * rowBytes + 32 * full + i / 5][i % 5] = code
            }
        }
    }
    let bytes = digits.map { d -> UInt8 in
        let q = 81 * d[0] + 27 * d[1] + 9 * d[2] + 3 * d[3] + d[4]
        return UInt8((q * 256 + 242) / 243)
    }
    return (bytes, rowBytes)
}

/// Σ_c W[r][c] · q[t][c] in Swift Int, the independent oracle of the integer kernels.
func referenceDot(_ w: [Int8], _ q: [Int8], _ s: Shape) -> [Int32] {
    var acc = [Int32](repeating: 0, count: s.n * s.ld)
    for t in 0..<s.n {
        for r in s.r0..<s.r1 {
            var sum = 0
            for c in 0..<s.cols { sum += Int(w[r * s.cols + c]) * Int(q[t * s.cols + c]) }
            acc[t * s.ld + r] = Int32(sum)
        }
    }
    return acc
}

/// Tables of the SIMD variants this CPU can run (the scalar one is the reference).
enum Variants {
    static let names = ["avx2", "avx512vnni"]

    static var available: [String] { names.filter { bgpt_k_table_named($0) != nil } }

    static func table(_ name: String) -> bgpt_k_table? { bgpt_k_table_named(name)?.pointee }
}
