#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Exact (erf) GELU in place: `x = ½·x·(1 + erf(x/√2))`, as `torch.nn.GELU()` (nanoGPT).
///
/// - Parameters:
///   - x: `count` values, overwritten.
///   - count: number of values.
public func geluInPlace(_ x: UnsafeMutablePointer<Float>, count: Int) {
    let invSqrt2: Float = 0.70710678118654752
    for i in 0..<count { let v = x[i]; x[i] = 0.5 * v * (1 + erff(v * invSqrt2)) }
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
    for i in 0..<count { let v = x[i]; x[i] = v / (1 + expf(-v)) }
}

/// SwiGLU combine in place: `gate = silu(gate) · up` (llama2.c `hb`).
///
/// - Parameters:
///   - gate: `count` values of the gate projection, overwritten by the product.
///   - up: `count` values of the up projection.
///   - count: number of values.
public func swigluInPlace(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, count: Int) {
    for i in 0..<count { let g = gate[i]; gate[i] = g / (1 + expf(-g)) * up[i] }
}
