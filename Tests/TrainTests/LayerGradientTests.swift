import Foundation
import Testing
@testable import BitGPTTrain
import BitGPT

/// Every backward kernel against central finite differences of its forward on tiny shapes.
@Suite("Layer gradients (finite differences)")
struct LayerGradientTests {
    let tol = 2e-3

    @Test("matmul backward matches finite differences, and the BLAS forward matches the loop reference")
    func matmul() {
        var rng = SeededRandom(seed: 1)
        let n = 3, i = 5, o = 4
        let x = GradientCheck.random(n * i, &rng), w = GradientCheck.random(o * i, &rng), b = GradientCheck.random(o, &rng)
        let r = GradientCheck.check([x, w, b], forward: { a in
            withBuffers([a[0], a[1], a[2], [Float](repeating: 0, count: n * o)]) { p in
                matmulForward(p[3], p[0], p[1], p[2], n: n, inFeatures: i, outFeatures: o)
            }[3]
        }, backward: { a, d in
            let g = withBuffers([a[0], a[1], d, [Float](repeating: 0, count: n * i), [Float](repeating: 0, count: o * i), [Float](repeating: 0, count: o)]) { p in
                matmulBackward(p[3], p[4], p[5], p[2], p[0], p[1], n: n, inFeatures: i, outFeatures: o)
            }
            return [g[3], g[4], g[5]]
        })
        #expect(r.maxError < tol, "\(r)")
        let outs = withBuffers([x, w, b, [Float](repeating: 0, count: n * o), [Float](repeating: 0, count: n * o)]) { p in
            matmulForward(p[3], p[0], p[1], p[2], n: n, inFeatures: i, outFeatures: o)
            matmulForwardReference(p[4], p[0], p[1], p[2], n: n, inFeatures: i, outFeatures: o)
        }
        let diff = zip(outs[3], outs[4]).map { abs($0 - $1) }.max() ?? 0
        #expect(diff < 1e-5, "max abs diff \(diff)")
    }

    @Test("LayerNorm backward matches finite differences")
    func layerNorm() {
        var rng = SeededRandom(seed: 2)
        let n = 3, c = 6
        let x = GradientCheck.random(n * c, &rng), w = GradientCheck.random(c, &rng), b = GradientCheck.random(c, &rng)
        let r = GradientCheck.check([x, w, b], forward: { a in
            withBuffers([a[0], a[1], a[2], [Float](repeating: 0, count: n * c), [Float](repeating: 0, count: 2 * n)]) { p in
                layerNormForward(p[3], p[4], p[4] + n, p[0], p[1], p[2], n: n, c: c, eps: 1e-5)
            }[3]
        }, backward: { a, d in
            let g = withBuffers([a[0], a[1], a[2], d, [Float](repeating: 0, count: n * c), [Float](repeating: 0, count: 2 * n),
                                 [Float](repeating: 0, count: n * c), [Float](repeating: 0, count: c), [Float](repeating: 0, count: c)]) { p in
                layerNormForward(p[4], p[5], p[5] + n, p[0], p[1], p[2], n: n, c: c, eps: 1e-5)
                layerNormBackward(p[6], p[7], p[8], p[3], p[0], p[1], p[5], p[5] + n, n: n, c: c)
            }
            return [g[6], g[7], g[8]]
        })
        #expect(r.maxError < tol, "\(r)")
    }

    @Test("RMSNorm backward matches finite differences")
    func rmsNorm() {
        var rng = SeededRandom(seed: 3)
        let n = 3, c = 6
        let x = GradientCheck.random(n * c, &rng), w = GradientCheck.random(c, &rng)
        let r = GradientCheck.check([x, w], forward: { a in
            withBuffers([a[0], a[1], [Float](repeating: 0, count: n * c), [Float](repeating: 0, count: n)]) { p in
                rmsNormForward(p[2], p[3], p[0], p[1], n: n, c: c, eps: 1e-6)
            }[2]
        }, backward: { a, d in
            let g = withBuffers([a[0], a[1], d, [Float](repeating: 0, count: n * c), [Float](repeating: 0, count: n),
                                 [Float](repeating: 0, count: n * c), [Float](repeating: 0, count: c)]) { p in
                rmsNormForward(p[3], p[4], p[0], p[1], n: n, c: c, eps: 1e-6)
                rmsNormBackward(p[5], p[6], p[2], p[0], p[1], p[4], n: n, c: c)
            }
            return [g[5], g[6]]
        })
        #expect(r.maxError < tol, "\(r)")
    }

    @Test("GELU, ReLU and SwiGLU backwards match finite differences")
    func activations() {
        var rng = SeededRandom(seed: 4)
        let n = 12
        let x = GradientCheck.random(n, &rng, awayFromZero: 0.05), y = GradientCheck.random(n, &rng)
        let zeros = [Float](repeating: 0, count: n)
        let gelu = GradientCheck.check([x], forward: { a in withBuffers([a[0], zeros]) { geluForward($0[1], nil, $0[0], n: n) }[1] },
                                       backward: { a, d in
            [withBuffers([a[0], d, zeros, zeros, zeros]) { p in
                geluForward(p[3], p[4], p[0], n: n)
                geluBackward(p[2], p[0], p[4], p[1], n: n)
            }[2]]
        })
        #expect(gelu.maxError < tol, "gelu \(gelu)")
        let relu = GradientCheck.check([x], forward: { a in withBuffers([a[0], zeros]) { reluForward($0[1], $0[0], n: n) }[1] },
                                       backward: { a, d in [withBuffers([a[0], d, zeros]) { reluBackward($0[2], $0[0], $0[1], n: n) }[2]] })
        #expect(relu.maxError < tol, "relu \(relu)")
        let swiglu = GradientCheck.check([x, y], forward: { a in
            withBuffers([a[0], a[1], zeros]) { swigluForward($0[2], $0[0], $0[1], n: n) }[2]
        }, backward: { a, d in
            let g = withBuffers([a[0], a[1], d, zeros, zeros]) { swigluBackward($0[3], $0[4], $0[2], $0[0], $0[1], n: n) }
            return [g[3], g[4]]
        })
        #expect(swiglu.maxError < tol, "swiglu \(swiglu)")
    }

    @Test("RoPE backward matches finite differences and the forward keeps norms")
    func rope() {
        var rng = SeededRandom(seed: 5)
        let b = 2, t = 3, heads = 2, hd = 4, stride = 10
        let x = GradientCheck.random(b * t * stride, &rng)
        let (c, s) = ropeTables(contextLength: t, headDim: hd, theta: 10_000)
        let r = GradientCheck.check([x], forward: { a in
            withBuffers([a[0]]) { ropeForward($0[0], c, s, b: b, t: t, heads: heads, hd: hd, stride: stride) }[0]
        }, backward: { _, d in
            [withBuffers([d]) { ropeBackward($0[0], c, s, b: b, t: t, heads: heads, hd: hd, stride: stride) }[0]]
        })
        #expect(r.maxError < tol, "\(r)")
        // Position 0 is the identity; the unused tail of each row (stride > heads·hd) is untouched.
        let y = withBuffers([x]) { ropeForward($0[0], c, s, b: b, t: t, heads: heads, hd: hd, stride: stride) }[0]
        #expect(Array(y[0..<stride]) == Array(x[0..<stride]))
        #expect(y[stride + 8] == x[stride + 8] && y[stride + 9] == x[stride + 9])
    }

    @Test("causal attention backward matches finite differences, with grouped-query heads", arguments: [1, 2])
    func attention(kvHeads: Int) {
        var rng = SeededRandom(seed: 6)
        let b = 2, t = 3, heads = 2, hd = 3
        let shape = AttentionShape(b: b, t: t, heads: heads, kvHeads: kvHeads, hd: hd, qStride: heads * hd, kvStride: kvHeads * hd)
        let q = GradientCheck.random(b * t * heads * hd, &rng), k = GradientCheck.random(b * t * kvHeads * hd, &rng)
        let v = GradientCheck.random(b * t * kvHeads * hd, &rng)
        let out = [Float](repeating: 0, count: b * t * heads * hd), att = [Float](repeating: 0, count: b * heads * t * t)
        let r = GradientCheck.check([q, k, v], forward: { a in
            withBuffers([a[0], a[1], a[2], out, att]) { attentionForward($0[3], $0[4], $0[0], $0[1], $0[2], shape) }[3]
        }, backward: { a, d in
            let g = withBuffers([a[0], a[1], a[2], out, att, d, q.map { _ in 0 }, k.map { _ in 0 }, v.map { _ in 0 }]) { p in
                attentionForward(p[3], p[4], p[0], p[1], p[2], shape)
                attentionBackward(p[6], p[7], p[8], p[5], p[4], p[0], p[1], p[2], shape)
            }
            return [g[6], g[7], g[8]]
        })
        #expect(r.maxError < tol, "\(r)")
    }

    @Test("BLAS attention equals the plain-loop reference, forward and backward, on odd shapes", arguments: [(3, 1), (4, 2), (4, 4)])
    func attentionTunedVsReference(heads: Int, kvHeads: Int) {
        var rng = SeededRandom(seed: 16)
        let b = 2, t = 7, hd = 5, qs = heads * hd + 3, kvs = kvHeads * hd + 1
        let shape = AttentionShape(b: b, t: t, heads: heads, kvHeads: kvHeads, hd: hd, qStride: qs, kvStride: kvs)
        let q = GradientCheck.random(b * t * qs, &rng), k = GradientCheck.random(b * t * kvs, &rng), v = GradientCheck.random(b * t * kvs, &rng)
        let d = GradientCheck.random(b * t * heads * hd, &rng)
        let out = [Float](repeating: 0, count: b * t * heads * hd), att = [Float](repeating: 0, count: b * heads * t * t)
        let dq = [Float](repeating: 0.5, count: q.count), dkv = [Float](repeating: 0.5, count: k.count)
        let tuned = withBuffers([q, k, v, out, att, d, dq, dkv, dkv]) { p in
            attentionForward(p[3], p[4], p[0], p[1], p[2], shape)
            attentionBackward(p[6], p[7], p[8], p[5], p[4], p[0], p[1], p[2], shape)
        }
        let ref = withBuffers([q, k, v, out, att, d, dq, dkv, dkv]) { p in
            attentionForwardReference(p[3], p[4], p[0], p[1], p[2], shape)
            attentionBackwardReference(p[6], p[7], p[8], p[5], p[4], p[0], p[1], p[2], shape)
        }
        for i in 3...8 where i != 5 {
            let diff = zip(tuned[i], ref[i]).map { abs($0 - $1) }.max() ?? 0
            #expect(diff < 1e-5, "buffer \(i): max abs diff \(diff)")
        }
    }

    @Test("activation fake-quant rounds half to even exactly as Float.rounded(.toNearestOrEven)")
    func activationRounding() {
        // Row max 127 makes the scale exactly 1, so x·a = x: ties at ±0.5, ±1.5, ±2.5 must go to even.
        let x: [Float] = [127, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.4999998, -126.5, 0.49999997]
        let q = withBuffers([x, x.map { _ in 0 }]) { activationQuantForward($0[1], $0[0], n: 1, c: x.count) }[1]
        #expect(q == x.map { $0.rounded(.toNearestOrEven) })
        var rng = SeededRandom(seed: 30)
        let y = GradientCheck.random(4 * 33, &rng, std: 3)
        let qy = withBuffers([y, y.map { _ in 0 }]) { activationQuantForward($0[1], $0[0], n: 4, c: 33) }[1]
        for r in 0..<4 {
            let row = y[(r * 33)..<(r * 33 + 33)]
            let a = 127 / max(row.map { abs($0) }.max() ?? 0, 1e-5)
            #expect(Array(qy[(r * 33)..<(r * 33 + 33)]) == row.map { max(-128, min(127, ($0 * a).rounded(.toNearestOrEven))) / a })
        }
    }

    @Test("cross-entropy backward matches finite differences, and the loss is −log softmax")
    func crossEntropy() {
        var rng = SeededRandom(seed: 8)
        let n = 3, v = 5
        let logits = GradientCheck.random(n * v, &rng)
        var targets: [Int32] = [0, 4, 2]
        let probs = [Float](repeating: 0, count: n * v), losses = [Float](repeating: 0, count: n)
        let r = GradientCheck.check([logits], forward: { a in
            withBuffers([a[0], probs, losses]) { p in targets.withUnsafeBufferPointer { crossEntropyForward(p[2], p[1], p[0], $0.baseAddress!, n: n, v: v) } }[2]
        }, backward: { a, d in
            // dout per row is d[r]: loss = Σ d_r · loss_r, so backward row by row with scale d_r.
            let g = withBuffers([a[0], probs, losses, a[0].map { _ in 0 }]) { p in
                targets.withUnsafeMutableBufferPointer { tb in
                    crossEntropyForward(p[2], p[1], p[0], tb.baseAddress!, n: n, v: v)
                    for row in 0..<n { crossEntropyBackward(p[3] + row * v, p[1] + row * v, tb.baseAddress! + row, scale: d[row], n: 1, v: v) }
                }
            }
            return [g[3]]
        })
        #expect(r.maxError < tol, "\(r)")
        let l = withBuffers([logits, probs, losses]) { p in targets.withUnsafeBufferPointer { crossEntropyForward(p[2], p[1], p[0], $0.baseAddress!, n: n, v: v) } }[2]
        let row = logits[5..<10].map { Double($0) }
        let ref = -(row[4] - log(row.map { exp($0) }.reduce(0, +)))
        #expect(abs(Double(l[1]) - ref) < 1e-5)
        targets[0] = 0
    }

    @Test("token + position embedding backward matches finite differences")
    func encoder() {
        var rng = SeededRandom(seed: 9)
        let b = 2, t = 3, c = 4, vocab = 5
        let wte = GradientCheck.random(vocab * c, &rng), wpe = GradientCheck.random(t * c, &rng)
        let tokens: [Int32] = [1, 3, 1, 0, 4, 4]
        let out = [Float](repeating: 0, count: b * t * c)
        let r = GradientCheck.check([wte, wpe], forward: { a in
            withBuffers([a[0], a[1], out]) { p in tokens.withUnsafeBufferPointer { encoderForward(p[2], $0.baseAddress!, p[0], p[1], b: b, t: t, c: c) } }[2]
        }, backward: { _, d in
            let g = withBuffers([d, wte.map { _ in 0 }, wpe.map { _ in 0 }]) { p in
                tokens.withUnsafeBufferPointer { encoderBackward(p[1], p[2], p[0], $0.baseAddress!, b: b, t: t, c: c) }
            }
            return [g[1], g[2]]
        })
        #expect(r.maxError < tol, "\(r)")
    }
}
