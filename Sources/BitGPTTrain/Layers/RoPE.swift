import Foundation

/// The cos/sin tables of rotary position embedding: `angle(t, i) = t · θ^(−2i/hd)` for
/// t < T, i < hd/2, as llama2.c's `precompute_freqs_cis`.
///
/// - Returns: (cos, sin), each (T, hd/2) row-major.
public func ropeTables(contextLength t: Int, headDim hd: Int, theta: Float) -> (cos: [Float], sin: [Float]) {
    var c = [Float](repeating: 0, count: t * hd / 2), s = c
    for pos in 0..<t {
        for i in 0..<(hd / 2) {
            let freq = 1 / powf(theta, Float(2 * i) / Float(hd))
            let a = Float(pos) * freq
            c[pos * hd / 2 + i] = cosf(a)
            s[pos * hd / 2 + i] = sinf(a)
        }
    }
    return (c, s)
}

/// RoPE over interleaved pairs `(2i, 2i+1)` of every head, in place:
/// `(x0, x1) ← (x0·cos − x1·sin, x0·sin + x1·cos)`.
///
/// Shapes: x (B, T, stride) holding `heads` heads of `hd` at the start of each row; cos, sin (T, hd/2).
public func ropeForward(_ x: UnsafeMutablePointer<Float>, _ cos: UnsafePointer<Float>, _ sin: UnsafePointer<Float>,
                        b: Int, t: Int, heads: Int, hd: Int, stride: Int) {
    for bt in 0..<(b * t) {
        let pos = bt % t
        let c = cos + pos * hd / 2, s = sin + pos * hd / 2
        for h in 0..<heads {
            let v = x + bt * stride + h * hd
            for i in 0..<(hd / 2) {
                let x0 = v[2 * i], x1 = v[2 * i + 1]
                v[2 * i] = x0 * c[i] - x1 * s[i]
                v[2 * i + 1] = x0 * s[i] + x1 * c[i]
            }
        }
    }
}

/// Backward of ``ropeForward``, in place: the gradient is rotated back by the transpose,
/// `(d0, d1) ← (d0·cos + d1·sin, −d0·sin + d1·cos)`. Shapes as ``ropeForward``.
public func ropeBackward(_ dx: UnsafeMutablePointer<Float>, _ cos: UnsafePointer<Float>, _ sin: UnsafePointer<Float>,
                         b: Int, t: Int, heads: Int, hd: Int, stride: Int) {
    for bt in 0..<(b * t) {
        let pos = bt % t
        let c = cos + pos * hd / 2, s = sin + pos * hd / 2
        for h in 0..<heads {
            let v = dx + bt * stride + h * hd
            for i in 0..<(hd / 2) {
                let d0 = v[2 * i], d1 = v[2 * i + 1]
                v[2 * i] = d0 * c[i] + d1 * s[i]
                v[2 * i + 1] = -d0 * s[i] + d1 * c[i]
            }
        }
    }
}
