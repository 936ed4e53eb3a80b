#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Precomputed RoPE rotations for every position of the context: `cos` and `sin` of
/// `pos · θ^(−2i/head_dim)` for pair `i < head_dim/2`.
///
/// Angles are computed in `Double` and rounded once to `Float`, so the table does not depend on a
/// platform's single-precision `cos`. The NumPy reference (`tools/reference.py`) builds it the same way.
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
        var c = [Float](repeating: 0, count: positions * pairs), s = c
        for p in 0..<positions {
            for i in 0..<pairs {
                let freq = pow(Double(theta), -2.0 * Double(i) / Double(headDim))
                let a = Double(p) * freq
                c[p * pairs + i] = Float(cos(a))
                s[p * pairs + i] = Float(sin(a))
            }
        }
        cosTable = c
        sinTable = s
    }

    /// Rotates every head of one token's vector in place.
    ///
    /// Shape: `v` is (heads, head_dim); each pair `(a, b)` becomes
    /// `(a·cos − b·sin, a·sin + b·cos)`.
    /// - Parameters:
    ///   - v: the token's query or key vector, `heads · 2·pairs` floats.
    ///   - heads: number of heads in `v`.
    ///   - position: the token's position (< the table's positions).
    public func rotate(_ v: UnsafeMutablePointer<Float>, heads: Int, position: Int) {
        let hd = 2 * pairs
        cosTable.withUnsafeBufferPointer { cb in
            sinTable.withUnsafeBufferPointer { sb in
                let cp = cb.baseAddress! + position * pairs, sp = sb.baseAddress! + position * pairs
                for h in 0..<heads {
                    let x = v + h * hd
                    for i in 0..<pairs {
                        let (ia, ib) = pairing == .interleaved ? (2 * i, 2 * i + 1) : (i, i + pairs)
                        let a = x[ia], b = x[ib], c = cp[i], s = sp[i]
                        x[ia] = a * c - b * s
                        x[ib] = a * s + b * c
                    }
                }
            }
        }
    }
}
