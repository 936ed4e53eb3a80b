#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Rotary position embedding (llama2.c `precompute_freqs_cis` and its rotation), forward and
// backward side by side. Angles `pos · θ^(−2i/head_dim)` are computed in Double and rounded once to
// Float, so the tables do not depend on a platform's single-precision cos and sin, and the NumPy
// reference (tools/reference.py) builds the same ones. The runtime rotates one token at a time
// through ``RopeTable``; the trainer rotates whole batches with ``ropeForward`` and
// ``ropeBackward``; both use ``ropeRotate(_:cos:sin:heads:headDim:pairing:inverse:)``.

/// The cos and sin tables, each (positions, headDim/2) row-major.
public func ropeTables(contextLength positions: Int, headDim: Int, theta: Float) -> (cos: [Float], sin: [Float]) {
    let pairs = headDim / 2
    var c = [Float](repeating: 0, count: positions * pairs), s = c
    for p in 0..<positions {
        for i in 0..<pairs {
            let freq = pow(Double(theta), -2.0 * Double(i) / Double(headDim))
            let a = Double(p) * freq
            c[p * pairs + i] = Float(cos(a))
            s[p * pairs + i] = Float(sin(a))
        }
    }
    return (c, s)
}

/// Rotates every head of one vector in place by one position's angles.
///
/// Shapes: v (heads, headDim); cos, sin (headDim/2) for the position. Each pair `(a, b)` (dims
/// `(2i, 2i+1)` interleaved, or `(i, i + headDim/2)` half) becomes `(a·cos − b·sin, a·sin + b·cos)`,
/// or with `inverse` (the backward: the transpose) `(a·cos + b·sin, −a·sin + b·cos)`.
@inline(__always)
public func ropeRotate(_ v: UnsafeMutablePointer<Float>, cos: UnsafePointer<Float>, sin: UnsafePointer<Float>, heads: Int,
                       headDim: Int, pairing: RopePairing, inverse: Bool = false) {
    let pairs = headDim / 2
    for h in 0..<heads {
        let x = v + h * headDim
        for i in 0..<pairs {
            let (ia, ib) = pairing == .interleaved ? (2 * i, 2 * i + 1) : (i, i + pairs)
            let a = x[ia], b = x[ib], c = cos[i], s = sin[i]
            if inverse {
                x[ia] = a * c + b * s
                x[ib] = -a * s + b * c
            } else {
                x[ia] = a * c - b * s
                x[ib] = a * s + b * c
            }
        }
    }
}

/// RoPE over a batch, in place: row `bt` of `x` (b·t rows of `stride` floats, heads of `hd` at the
/// start of each) is rotated by position `bt mod t`, pairs interleaved (llama2.c).
///
/// Shapes: x (b, t, stride); cos, sin (≥ t, hd/2) from ``ropeTables(contextLength:headDim:theta:)``.
public func ropeForward(_ x: UnsafeMutablePointer<Float>, _ cos: UnsafePointer<Float>, _ sin: UnsafePointer<Float>,
                        b: Int, t: Int, heads: Int, hd: Int, stride: Int) {
    for bt in 0..<(b * t) {
        let pos = bt % t
        ropeRotate(x + bt * stride, cos: cos + pos * hd / 2, sin: sin + pos * hd / 2, heads: heads, headDim: hd, pairing: .interleaved)
    }
}

/// Backward of ``ropeForward``, in place: the gradient rotated back by the transpose. Shapes as the forward.
public func ropeBackward(_ dx: UnsafeMutablePointer<Float>, _ cos: UnsafePointer<Float>, _ sin: UnsafePointer<Float>,
                         b: Int, t: Int, heads: Int, hd: Int, stride: Int) {
    for bt in 0..<(b * t) {
        let pos = bt % t
        ropeRotate(dx + bt * stride, cos: cos + pos * hd / 2, sin: sin + pos * hd / 2, heads: heads, headDim: hd, pairing: .interleaved,
                   inverse: true)
    }
}

/// The runtime's RoPE: the tables for every position of the context and a per-token rotation.
public final class RopeTable {
    /// Pairs per head, `head_dim / 2`.
    public let pairs: Int
    /// How a head's dimensions are paired.
    public let pairing: RopePairing
    private let cosTable: [Float]  // (positions, pairs)
    private let sinTable: [Float]  // (positions, pairs)

    /// Builds the table.
    ///
    /// - Parameters:
    ///   - headDim: head width (even).
    ///   - positions: context length.
    ///   - theta: RoPE base.
    ///   - pairing: interleaved `(2i, 2i+1)` or half `(i, i + head_dim/2)`.
    public init(headDim: Int, positions: Int, theta: Float, pairing: RopePairing) {
        pairs = headDim / 2
        self.pairing = pairing
        (cosTable, sinTable) = ropeTables(contextLength: positions, headDim: headDim, theta: theta)
    }

    /// Rotates every head of one token's vector in place.
    ///
    /// - Parameters:
    ///   - v: the token's query or key vector, (heads, 2·pairs).
    ///   - heads: number of heads in `v`.
    ///   - position: the token's position (< the table's positions).
    public func rotate(_ v: UnsafeMutablePointer<Float>, heads: Int, position: Int) {
        cosTable.withUnsafeBufferPointer { cb in
            sinTable.withUnsafeBufferPointer { sb in
                ropeRotate(v, cos: cb.baseAddress! + position * pairs, sin: sb.baseAddress! + position * pairs, heads: heads,
                           headDim: 2 * pairs, pairing: pairing)
            }
        }
    }
}
