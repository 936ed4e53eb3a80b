import Foundation

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

/// Causal scaled dot-product attention:
/// `att[b,h,t,:] = softmax(q_t · k_{≤t} / √hd)`, `out[b,t,h·hd..] = Σ_s att[b,h,t,s] · v_s`.
///
/// Shapes: out (B, T, heads·hd); att (B, heads, T, T) saved for the backward (zeros above the
/// diagonal); q (B, T, qStride); k, v (B, T, kvStride).
public func attentionForward(_ out: UnsafeMutablePointer<Float>, _ att: UnsafeMutablePointer<Float>,
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
                // Scores and their maximum.
                var m = -Float.infinity
                for t2 in 0...t {
                    let kt = k + (b * T + t2) * s.kvStride + kvh * hd
                    var dot: Float = 0
                    for i in 0..<hd { dot += qt[i] * kt[i] }
                    a[t2] = dot * scale
                    m = max(m, a[t2])
                }
                // Softmax over s ≤ t.
                var sum: Float = 0
                for t2 in 0...t { a[t2] = expf(a[t2] - m); sum += a[t2] }
                let inv = 1 / sum
                for t2 in 0..<T { a[t2] = t2 <= t ? a[t2] * inv : 0 }
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

/// Backward of ``attentionForward``, accumulating into dq, dk, dv (same strides as q, k, v).
///
/// With `datt_s = dout_t · v_s`: `dv_s += att_s · dout_t`, `dpre_s = att_s (datt_s − Σ_j att_j datt_j)`,
/// `dq_t += Σ_s dpre_s k_s / √hd`, `dk_s += dpre_s q_t / √hd`.
public func attentionBackward(_ dq: UnsafeMutablePointer<Float>, _ dk: UnsafeMutablePointer<Float>, _ dv: UnsafeMutablePointer<Float>,
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
