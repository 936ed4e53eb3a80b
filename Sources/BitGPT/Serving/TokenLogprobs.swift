#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Log-probabilities of the raw next-token logits: `log_softmax(x)[i] = x[i] − max − log Σ exp(x − max)`.
public enum TokenLogprobs {
    /// `log Σ_i exp(x[i])`, computed as `max + log Σ exp(x − max)` (exact for a single finite maximum).
    ///
    /// - Parameters:
    ///   - x: logits, (count).
    ///   - count: the vocabulary size (≥ 1).
    /// - Returns: the log-sum-exp.
    public static func logSumExp(_ x: UnsafePointer<Float>, count: Int) -> Float {
        var mx = -Float.infinity
        for i in 0..<count where x[i] > mx { mx = x[i] }
        guard mx.isFinite else { return mx }
        var sum: Double = 0
        for i in 0..<count { sum += Double(expf(x[i] - mx)) }
        return mx + Float(log(sum))
    }

    /// The `k` largest logits as log-probabilities, largest first, lower id first on ties.
    ///
    /// - Parameters:
    ///   - x: logits, (count).
    ///   - count: the vocabulary size.
    ///   - k: how many (clamped to `0...count`).
    ///   - lse: ``logSumExp(_:count:)`` of `x`.
    /// - Returns: `(token, logprob)` pairs.
    public static func top(_ x: UnsafePointer<Float>, count: Int, k: Int, lse: Float) -> [(token: Int, logprob: Float)] {
        let k = min(max(k, 0), count)
        guard k > 0 else { return [] }
        // Insertion into a sorted list of k ids; O(count · k) worst case, k is small.
        var ids: [Int] = []
        ids.reserveCapacity(k + 1)
        for i in 0..<count {
            if ids.count == k, let last = ids.last, !(x[i] > x[last]) { continue }
            var j = ids.count
            while j > 0 && x[i] > x[ids[j - 1]] { j -= 1 }
            ids.insert(i, at: j)
            if ids.count > k { ids.removeLast() }
        }
        return ids.map { ($0, x[$0] - lse) }
    }
}
