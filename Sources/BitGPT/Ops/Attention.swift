import CBitGPTKernels

/// Causal attention over a batch of whole sequences with the runtime's kernel
/// (`bgpt_k_attend_f32`, the F32 KV cache's path): for query head h (key/value head
/// `h / (heads / kvHeads)`) at position t, `softmax(q_t·k_s / √hd over s ≤ t) · v`, computed as
/// `Transformer` computes it for a token at position t, so the results are the runtime's bit for bit.
/// The keys of each (sequence, key/value head) are laid out transposed first, as the cache holds them.
/// The trainer's eval forward (`ForwardArithmetic.runtime`) calls this; training keeps its own
/// OpenBLAS attention with its backward (BitGPTTrain `attentionForward`/`attentionBackward`).
///
/// Shapes: out (b, t, heads·hd); att (b, heads, t, t) receives each row's probabilities, zeros
/// above the diagonal; q (b, t, qStride); k, v (b, t, kvStride) (rows may be wider than their heads,
/// as GPT-2's fused qkv is).
public func causalAttentionForward(_ out: UnsafeMutablePointer<Float>, _ att: UnsafeMutablePointer<Float>,
                                   _ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>,
                                   b B: Int, t T: Int, heads: Int, kvHeads: Int, hd: Int, qStride: Int, kvStride: Int) {
    let group = heads / kvHeads, C = heads * hd
    let scale = 1 / Float(hd).squareRoot()
    withUnsafeTemporaryAllocation(of: Float.self, capacity: max(hd * T, 1)) { ktb in
        let kt = ktb.baseAddress!
        for b in 0..<B {
            for kvh in 0..<kvHeads {
                for j in 0..<T {
                    let row = k + (b * T + j) * kvStride + kvh * hd
                    for i in 0..<hd { kt[i * T + j] = row[i] }
                }
                let vb = v + b * T * kvStride + kvh * hd
                for h in (kvh * group)..<((kvh + 1) * group) {
                    for t in 0..<T {
                        let a = att + ((b * heads + h) * T + t) * T
                        bgpt_k_attend_f32(out + (b * T + t) * C + h * hd, q + (b * T + t) * qStride + h * hd, kt, T, vb, kvStride,
                                          hd, t + 1, scale, a)
                        for s in (t + 1)..<T { a[s] = 0 }
                    }
                }
            }
        }
    }
}
