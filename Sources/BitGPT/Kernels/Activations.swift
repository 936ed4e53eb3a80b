#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Exact (erf) GELU in place: `x = ½·x·(1 + erf(x/√2))`, as `torch.nn.GELU()` (nanoGPT).
///
/// erf is evaluated in `Double` and rounded once, so the result does not depend on the quality of a
/// platform's single-precision `erff` (and the NumPy reference can reproduce it bit for bit).
///
/// - Parameters:
///   - x: `count` values, overwritten.
///   - count: number of values.
public func geluInPlace(_ x: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count {
        let v = x[i]
        let e = Float(erf(Double(v) * 0.7071067811865476))
        x[i] = 0.5 * v * (1 + e)
    }
}

/// ReLU in place: `x = max(x, 0)` (BitGPT MLP).
///
/// - Parameters:
///   - x: `count` values, overwritten.
///   - count: number of values.
public func reluInPlace(_ x: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count where !(x[i] > 0) { x[i] = 0 }
}

/// SiLU in place: `x = x / (1 + e^(−x))` (LightGPT's un-gated MLP).
///
/// - Parameters:
///   - x: `count` values, overwritten.
///   - count: number of values.
public func siluInPlace(_ x: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count { let v = x[i]; x[i] = v / (1 + expRounded(-v)) }
}

/// SwiGLU combine: `out = silu(gate) · up` (llama2.c `hb`).
///
/// - Parameters:
///   - out: `count` results; may be `gate` itself.
///   - gate: `count` values of the gate projection.
///   - up: `count` values of the up projection.
///   - count: number of values.
public func swiglu(_ out: UnsafeMutablePointer<Float>, gate: UnsafePointer<Float>, up: UnsafePointer<Float>, count: Int) {
    for i in 0..<count { let g = gate[i]; out[i] = g / (1 + expRounded(-g)) * up[i] }
}

/// `e^x` computed in `Double` and rounded once to `Float`: the correctly rounded value in all but
/// vanishingly rare cases, so results match any accurate reference bit for bit.
///
/// - Parameter x: the exponent.
/// - Returns: `Float(exp(Double(x)))`.
@inline(__always)
public func expRounded(_ x: Float) -> Float { Float(exp(Double(x))) }
