import Foundation
import BitGPT

/// The shape of one causal attention call.
///
/// Query head `h` reads key/value head `h / (heads / kvHeads)` (llama2.c `repeat_kv`). Rows of q,
/// k and v may be wider than their heads (`qStride`, `kvStride`), so GPT-2's fused qkv buffer
/// (B, T, 3C) is read in place.
public struct AttentionShape {
    public var b: Int, t: Int, heads: Int, kvHeads: Int, hd: Int
    /// Elements between consecutive positions in q and in k/v.
    public var qStride: Int, kvStride: Int

    public init(b: Int, t: Int, heads: Int, kvHeads: Int, hd: Int, qStride: Int, kvStride: Int) {
        self.b = b; self.t = t; self.heads = heads; self.kvHeads = kvHeads; self.hd = hd
        self.qStride = qStride; self.kvStride = kvStride
    }
}

/// Plain-loop reference of ``attentionForward`` (kept as the oracle of the BLAS version).
///
/// Causal scaled dot-product attention:
/// `att[b,h,t,:] = softmax(q_t · k_{≤t} / √hd)`, `out[b,t,h·hd..] = Σ_s att[b,h,t,s] · v_s`.
///
/// Shapes: out (B, T, heads·hd); att (B, heads, T, T) saved for the backward (zeros above the
/// diagonal); q (B, T, qStride); k, v (B, T, kvStride).
public func attentionForwardReference(_ out: UnsafeMutablePointer<Float>, _ att: UnsafeMutablePointer<Float>,
                             _ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>,
                             _ s: AttentionShape) {
    let T = s.t, hd = s.hd, group = s.heads / s.kvHeads, C = s.heads * hd
    let scale = 1 / Float(hd).squareRoot()
    for b in 0..<s.b {
        for t in 0..<T {
            for h in 0..<s.heads {
                let kvh = h / group
                let qt = q + (b * T + t) * s.qStride + h * hd
                let a = att + ((b * s.heads + h) * T + t) * T
                // Scores, then the softmax over s ≤ t.
                for t2 in 0...t {
                    let kt = k + (b * T + t2) * s.kvStride + kvh * hd
                    var dot: Float = 0
                    for i in 0..<hd { dot += qt[i] * kt[i] }
                    a[t2] = dot * scale
                }
                softmaxForward(a, count: t + 1)
                for t2 in (t + 1)..<T { a[t2] = 0 }
                // Weighted sum of values.
                let o = out + (b * T + t) * C + h * hd
                for i in 0..<hd { o[i] = 0 }
                for t2 in 0...t {
                    let vt = v + (b * T + t2) * s.kvStride + kvh * hd
                    let w = a[t2]
                    for i in 0..<hd { o[i] += w * vt[i] }
                }
            }
        }
    }
}

/// Plain-loop reference of ``attentionBackward``: the backward of ``attentionForwardReference``, accumulating into dq, dk, dv (same strides as q, k, v).
///
/// With `datt_s = dout_t · v_s`: `dv_s += att_s · dout_t`, `dpre_s = att_s (datt_s − Σ_j att_j datt_j)`,
/// `dq_t += Σ_s dpre_s k_s / √hd`, `dk_s += dpre_s q_t / √hd`.
public func attentionBackwardReference(_ dq: UnsafeMutablePointer<Float>, _ dk: UnsafeMutablePointer<Float>, _ dv: UnsafeMutablePointer<Float>,
                              _ dout: UnsafePointer<Float>, _ att: UnsafePointer<Float>,
                              _ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>,
                              _ s: AttentionShape) {
    let T = s.t, hd = s.hd, group = s.heads / s.kvHeads, C = s.heads * hd
    let scale = 1 / Float(hd).squareRoot()
    withUnsafeTemporaryAllocation(of: Float.self, capacity: T) { dattBuf in
        let datt = dattBuf.baseAddress!
        for b in 0..<s.b {
            for t in 0..<T {
                for h in 0..<s.heads {
                    let kvh = h / group
                    let a = att + ((b * s.heads + h) * T + t) * T
                    let d = dout + (b * T + t) * C + h * hd
                    let qt = q + (b * T + t) * s.qStride + h * hd
                    let dqt = dq + (b * T + t) * s.qStride + h * hd
                    // Through the weighted sum.
                    var dotAD: Float = 0
                    for t2 in 0...t {
                        let off = (b * T + t2) * s.kvStride + kvh * hd
                        let vt = v + off, dvt = dv + off
                        var dd: Float = 0
                        for i in 0..<hd {
                            dd += d[i] * vt[i]
                            dvt[i] += a[t2] * d[i]
                        }
                        datt[t2] = dd
                        dotAD += a[t2] * dd
                    }
                    // Through the softmax and the scaled dot products.
                    for t2 in 0...t {
                        let dpre = a[t2] * (datt[t2] - dotAD) * scale
                        let off = (b * T + t2) * s.kvStride + kvh * hd
                        let kt = k + off, dkt = dk + off
                        for i in 0..<hd {
                            dqt[i] += dpre * kt[i]
                            dkt[i] += dpre * qt[i]
                        }
                    }
                }
            }
        }
    }
}

/// Causal scaled dot-product attention, per (batch, head) as three matrix products:
/// `S (T, T) = Q_h (T, hd) · K_hᵀ / √hd`, causal softmax of each row into `att`,
/// `out_h (T, hd) = att · V_h`. Query head `h` uses key/value head `h / (heads / kvHeads)`.
///
/// Shapes: out (B, T, heads·hd); att (B, heads, T, T) saved for the backward (zeros above the
/// diagonal); q (B, T, qStride); k, v (B, T, kvStride). Same results as
/// ``attentionForwardReference`` up to float summation order.
public func attentionForward(_ out: UnsafeMutablePointer<Float>, _ att: UnsafeMutablePointer<Float>,
                             _ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>,
                             _ s: AttentionShape) {
    let T = s.t, hd = s.hd, group = s.heads / s.kvHeads, C = s.heads * hd
    let scale = 1 / Float(hd).squareRoot()
    for b in 0..<s.b {
        for h in 0..<s.heads {
            let kvh = h / group
            let qh = q + b * T * s.qStride + h * hd
            let kh = k + b * T * s.kvStride + kvh * hd, vh = v + b * T * s.kvStride + kvh * hd
            let a = att + (b * s.heads + h) * T * T
            BLAS.sgemm(transA: false, transB: true, m: T, n: T, k: hd, alpha: scale, a: qh, lda: s.qStride, b: kh, ldb: s.kvStride,
                       beta: 0, c: a, ldc: T)
            for t in 0..<T {
                let row = a + t * T
                softmaxForward(row, count: t + 1)
                for t2 in (t + 1)..<T { row[t2] = 0 }
            }
            BLAS.sgemm(transA: false, transB: false, m: T, n: hd, k: T, a: a, lda: T, b: vh, ldb: s.kvStride,
                       beta: 0, c: out + b * T * C + h * hd, ldc: C)
        }
    }
}

/// Backward of ``attentionForward``, accumulating into dq, dk, dv (same strides as q, k, v):
/// `dAtt = dout_h · V_hᵀ`, `dV_h += attᵀ · dout_h`, `dS = att ⊙ (dAtt − rowsum(att ⊙ dAtt)) / √hd`,
/// `dQ_h += dS · K_h`, `dK_h += dSᵀ · Q_h`.
public func attentionBackward(_ dq: UnsafeMutablePointer<Float>, _ dk: UnsafeMutablePointer<Float>, _ dv: UnsafeMutablePointer<Float>,
                              _ dout: UnsafePointer<Float>, _ att: UnsafePointer<Float>,
                              _ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>,
                              _ s: AttentionShape) {
    let T = s.t, hd = s.hd, group = s.heads / s.kvHeads, C = s.heads * hd
    let scale = 1 / Float(hd).squareRoot()
    withUnsafeTemporaryAllocation(of: Float.self, capacity: T * T) { scratch in
        let ds = scratch.baseAddress!
        for b in 0..<s.b {
            for h in 0..<s.heads {
                let kvh = h / group
                let qo = b * T * s.qStride + h * hd, ko = b * T * s.kvStride + kvh * hd
                let a = att + (b * s.heads + h) * T * T
                let d = dout + b * T * C + h * hd
                // dAtt (T, T) = dout_h (T, hd) · V_hᵀ
                BLAS.sgemm(transA: false, transB: true, m: T, n: T, k: hd, a: d, lda: C, b: v + ko, ldb: s.kvStride,
                           beta: 0, c: ds, ldc: T)
                // dV_h (T, hd) += attᵀ · dout_h
                BLAS.sgemm(transA: true, transB: false, m: T, n: hd, k: T, a: a, lda: T, b: d, ldb: C,
                           beta: 1, c: dv + ko, ldc: s.kvStride)
                // Softmax backward, row by row, into dS (scaled).
                for t in 0..<T {
                    let ar = a + t * T, dr = ds + t * T
                    softmaxBackward(dr, ar, dr, count: t + 1, scale: scale)
                    for t2 in (t + 1)..<T { dr[t2] = 0 }
                }
                // dQ_h += dS · K_h ; dK_h += dSᵀ · Q_h
                BLAS.sgemm(transA: false, transB: false, m: T, n: hd, k: T, a: ds, lda: T, b: k + ko, ldb: s.kvStride,
                           beta: 1, c: dq + qo, ldc: s.qStride)
                BLAS.sgemm(transA: true, transB: false, m: T, n: hd, k: T, a: ds, lda: T, b: q + qo, ldb: s.qStride,
                           beta: 1, c: dk + ko, ldc: s.kvStride)
            }
        }
    }
}
