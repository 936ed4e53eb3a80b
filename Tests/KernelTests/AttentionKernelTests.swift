import CBitGPTKernels
import Foundation
import Testing

/// `bgpt_k_attend_f32/f16` in every variant against a plain Swift loop with the same operations.
@Suite("Attention kernels")
struct AttentionKernelTests {
    /// The contract of bitgpt_kernels.h, written out: scores summed in index order (a product, then
    /// a sum), × scale, the maximum, exp in double rounded once, the sum in index order, × 1/sum,
    /// then the weighted values accumulated in position order.
    static func reference(q: [Float], k: [Float], ktLd: Int, v: [Float], vLd: Int, hd: Int, npos: Int, scale: Float) -> (out: [Float], p: [Float]) {
        var s = [Float](repeating: 0, count: npos)
        for j in 0..<npos {
            var dot: Float = 0
            for i in 0..<hd { dot += q[i] * k[i * ktLd + j] }
            s[j] = dot * scale
        }
        var m = s[0]
        for j in 1..<npos where s[j] > m { m = s[j] }
        var sum: Float = 0
        for j in 0..<npos { s[j] = Float(exp(Double(s[j] - m))); sum += s[j] }
        let inv = 1 / sum
        for j in 0..<npos { s[j] *= inv }
        var out = [Float](repeating: 0, count: hd)
        for j in 0..<npos { for i in 0..<hd { out[i] += s[j] * v[j * vLd + i] } }
        return (out, s)
    }

    @Test("every variant equals the written-out contract bit for bit (F32 and F16 caches)",
          arguments: ["scalar"] + Variants.available)
    func matchesContract(variant: String) throws {
        let table = try #require(Variants.table(variant))
        let f32 = try #require(table.attend_f32), f16 = try #require(table.attend_f16)
        var rng = SplitMix64(seed: 0xA77E)
        for hd in [1, 8, 17, 32, 64, 80, 128] {
            for npos in [1, 2, 15, 16, 17, 63, 64, 65, 130] {
                let ktLd = npos + rng.int(0...5), vLd = hd + rng.int(0...3)
                let q = (0..<hd).map { _ in rng.float() * 2 }
                let kBits = (0..<(hd * ktLd)).map { _ in Float16(rng.float() * 3) }
                let vBits = (0..<(npos * vLd)).map { _ in Float16(rng.float() * 3) }
                let k = kBits.map(Float.init), v = vBits.map(Float.init)
                let scale = 1 / Float(hd).squareRoot()
                let want = Self.reference(q: q, k: k, ktLd: ktLd, v: v, vLd: vLd, hd: hd, npos: npos, scale: scale)
                // F32 cache; one sentinel after the output must stay untouched.
                var out = [Float](repeating: .nan, count: hd + 1), att = [Float](repeating: .nan, count: npos)
                f32(&out, q, k, ktLd, v, vLd, hd, npos, scale, &att)
                #expect(Array(out[0..<hd]) == want.out, "\(variant) f32 hd \(hd) npos \(npos)")
                #expect(att == want.p)
                #expect(out[hd].isNaN)
                // F16 cache: the same values stored as binary16 give the same results.
                out = [Float](repeating: .nan, count: hd + 1)
                f16(&out, q, kBits.map(\.bitPattern), ktLd, vBits.map(\.bitPattern), vLd, hd, npos, scale, &att)
                #expect(Array(out[0..<hd]) == want.out, "\(variant) f16 hd \(hd) npos \(npos)")
                #expect(out[hd].isNaN)
            }
        }
    }

    @Test("no positions: nothing is written")
    func empty() throws {
        var out: [Float] = [.nan], att: [Float] = [.nan]
        let q: [Float] = [1], k: [Float] = [1], v: [Float] = [1]
        bgpt_k_attend_f32(&out, q, k, 1, v, 1, 1, 0, 1, &att)
        #expect(out[0].isNaN && att[0].isNaN)
    }

    @Test("F16 subnormals and infinities convert exactly in the scalar variant")
    func f16Conversion() throws {
        let table = try #require(Variants.table("scalar"))
        let f16 = try #require(table.attend_f16)
        // One position: the output is exactly the value row (p = 1).
        let bits: [UInt16] = [0x0001, 0x03FF, 0x8001, 0x3C00, 0x7BFF, 0xFC00, 0x0000, 0x7C00]
        var out = [Float](repeating: .nan, count: bits.count), att: [Float] = [0]
        let q = [Float](repeating: 0, count: bits.count), kt = [UInt16](repeating: 0, count: bits.count)
        f16(&out, q, kt, 1, bits, bits.count, bits.count, 1, 1, &att)
        #expect(out.map(\.bitPattern) == bits.map { Float(Float16(bitPattern: $0)).bitPattern })
    }

    @Test("storing into an F16 cache rounds like Float16(x), with a stride")
    func f16Store() throws {
        var rng = SplitMix64(seed: 0xF16)
        var x = (0..<500).map { _ in rng.float() * Float(1 << rng.int(0...20)) / 1024 }
        x += [0, -0, 65504, 65520, 1e9, -1e9, 6e-8, 3e-8, 1e-10, .infinity, -.infinity, 1.00048828125, 1.000732421875]
        var dst = [UInt16](repeating: 0xABCD, count: 3 * x.count)
        bgpt_k_f32_to_f16(&dst, 3, x, x.count)
        for (i, v) in x.enumerated() {
            #expect(dst[3 * i] == Float16(v).bitPattern, "\(v)")
            #expect(dst[3 * i + 1] == 0xABCD && dst[3 * i + 2] == 0xABCD)
        }
    }
}
