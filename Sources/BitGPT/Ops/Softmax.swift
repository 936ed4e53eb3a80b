// Softmax, forward and backward side by side. The runtime's attention kernels (bgpt_k_attend_*)
// compute the same function in C, with the same exponential (see kernels_attention.c).

/// In-place softmax of `count` values: `x[i] = exp(x[i] − max) / Σ exp(x[j] − max)`.
///
/// The exponentials use ``expRounded(_:)``; the sum runs in index order and the probabilities are
/// `e_i · (1/sum)`.
/// - Parameters:
///   - x: the values (count ≥ 1), overwritten by probabilities.
///   - count: number of values.
public func softmaxForward(_ x: UnsafeMutablePointer<Float>, count: Int) {
    var m = x[0]
    for i in 1..<max(count, 1) where x[i] > m { m = x[i] }
    var sum: Float = 0
    for i in 0..<count { let e = expRounded(x[i] - m); x[i] = e; sum += e }
    let inv = 1 / sum
    for i in 0..<count { x[i] *= inv }
}

/// Backward of ``softmaxForward`` times `scale`: `dx = scale · p · (dp − Σ_j p_j dp_j)`.
///
/// Shapes: dx, p, dp (count). `dx` may alias `dp` (it is written after the sum is formed).
public func softmaxBackward(_ dx: UnsafeMutablePointer<Float>, _ p: UnsafePointer<Float>, _ dp: UnsafePointer<Float>,
                            count: Int, scale: Float = 1) {
    var dot: Float = 0
    for i in 0..<count { dot += p[i] * dp[i] }
    for i in 0..<count { dx[i] = p[i] * (dp[i] - dot) * scale }
}
