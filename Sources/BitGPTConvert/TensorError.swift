/// How far one tensor's values are from another's: the numbers `lm-quantize` and `lm-diff` report.
public struct TensorError: Equatable, Sendable {
    /// Largest |a − b|.
    public var maxAbs: Double
    /// sqrt(mean((a − b)²)).
    public var rmse: Double
    /// ‖a − b‖ / ‖a‖ (0 when both are zero; infinity when only `a` is).
    public var relativeRMS: Double
    /// a·b / (‖a‖ ‖b‖) in [−1, 1]; exactly 1 for identical values (both zero included), 0 when only one is zero.
    public var cosine: Double

    /// Compares two equally long value arrays, accumulating in `Double`.
    ///
    /// - Parameters:
    ///   - a: the reference values.
    ///   - b: the values compared with it; `b.count` must equal `a.count`.
    public init(_ a: [Float], _ b: [Float]) {
        precondition(a.count == b.count, "TensorError needs equal lengths")
        var maxAbs = 0.0, d2 = 0.0, a2 = 0.0, b2 = 0.0, ab = 0.0
        for i in a.indices {
            let x = Double(a[i]), y = Double(b[i]), d = x - y
            if !(abs(d) <= maxAbs) { maxAbs = abs(d) } // NaN propagates as a difference
            d2 += d * d
            a2 += x * x
            b2 += y * y
            ab += x * y
        }
        self.maxAbs = maxAbs
        rmse = a.isEmpty ? 0 : (d2 / Double(a.count)).squareRoot()
        relativeRMS = a2 > 0 ? (d2 / a2).squareRoot() : (d2 == 0 ? 0 : .infinity)
        if d2 == 0 {
            cosine = a2 == 0 && b2 == 0 || a2 > 0 ? 1 : 0 // identical values: exactly 1, without rounding
        } else {
            cosine = a2 > 0 && b2 > 0 ? max(-1, min(1, ab / (a2.squareRoot() * b2.squareRoot()))) : 0
        }
    }
}
