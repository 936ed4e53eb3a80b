import Foundation
@testable import BitGPTTrain
import BitGPT

/// Finite-difference checking on tiny shapes.
///
/// The scalar checked is `L = Σ r_i · out_i` with fixed random `r`, summed in `Double`; the
/// analytic gradient is the backward given `dout = r`. Central differences with step `eps` in
/// `Float` (truncation error O(eps²), rounding noise ~1e-7·|L|/eps).
enum GradientCheck {
    /// Max over elements of |analytic − numeric| / max(1, |numeric|).
    struct Result: CustomStringConvertible {
        var maxError: Double = 0
        var worst = ""
        var description: String { String(format: "max error %.3g at %@", maxError, worst) }
    }

    static func random(_ n: Int, _ rng: inout SeededRandom, std: Float = 1, awayFromZero: Float = 0) -> [Float] {
        (0..<n).map { _ in
            let x = rng.normal(std: std)
            return x >= 0 ? x + awayFromZero : x - awayFromZero
        }
    }

    /// Checks an op with inputs `inputs`, forward `f(inputs) -> out`, backward `b(inputs, dout) -> dinputs`.
    static func check(_ inputs: [[Float]], eps: Float = 1e-2, seed: UInt64 = 7,
                      forward f: ([[Float]]) -> [Float], backward b: ([[Float]], [Float]) -> [[Float]]) -> Result {
        var rng = SeededRandom(seed: seed)
        let out0 = f(inputs)
        let r = random(out0.count, &rng)
        func loss(_ x: [[Float]]) -> Double {
            let o = f(x)
            var s = 0.0
            for i in 0..<o.count { s += Double(o[i]) * Double(r[i]) }
            return s
        }
        let analytic = b(inputs, r)
        var res = Result()
        for k in 0..<inputs.count {
            for i in 0..<inputs[k].count {
                var xp = inputs, xm = inputs
                xp[k][i] += eps
                xm[k][i] -= eps
                let numeric = (loss(xp) - loss(xm)) / Double((xp[k][i] - xm[k][i]))
                let err = abs(Double(analytic[k][i]) - numeric) / max(1, abs(numeric))
                if err > res.maxError { res.maxError = err; res.worst = "input \(k)[\(i)]: analytic \(analytic[k][i]) numeric \(numeric)" }
            }
        }
        return res
    }
}

/// Runs `body` with mutable pointers to copies of `arrays`, returning the copies.
func withBuffers(_ arrays: [[Float]], _ body: ([UnsafeMutablePointer<Float>]) -> Void) -> [[Float]] {
    let bufs = arrays.map { a -> UnsafeMutablePointer<Float> in
        let p = UnsafeMutablePointer<Float>.allocate(capacity: max(a.count, 1))
        p.initialize(repeating: 0, count: max(a.count, 1))
        for i in 0..<a.count { p[i] = a[i] }
        return p
    }
    body(bufs)
    let out = zip(bufs, arrays).map { Array(UnsafeBufferPointer(start: $0.0, count: $0.1.count)) }
    bufs.forEach { $0.deallocate() }
    return out
}
