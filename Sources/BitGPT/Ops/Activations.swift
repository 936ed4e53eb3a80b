#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The MLP non-linearities of every family and the residual add, forward and backward side by side
// (llm.c style). One numeric policy: erf and exp are evaluated in Double and rounded once to Float
// (``expRounded(_:)``), so results do not depend on a platform's single-precision libm and the
// NumPy reference (tools/reference.py) reproduces the forwards bit for bit. Every op works in
// place when `out` is `inp`.

/// Exact (erf) GELU, `torch.nn.GELU()` (nanoGPT): `out = ½·x·(1 + erf(x/√2))`.
///
/// Shapes: out, inp (n); cdf (n) receives Φ(x) = ½(1 + erf(x/√2)) for the backward (nil: not needed).
public func geluForward(_ out: UnsafeMutablePointer<Float>, _ cdf: UnsafeMutablePointer<Float>?, _ inp: UnsafePointer<Float>, n: Int) {
    for i in 0..<n {
        let v = inp[i]
        let e = Float(erf(Double(v) * 0.7071067811865476))
        out[i] = 0.5 * v * (1 + e)
        cdf?[i] = 0.5 * (1 + e)
    }
}

/// Backward of ``geluForward``: `dinp += dout · (Φ(x) + x · φ(x))`, with Φ(x) saved by the forward
/// and `φ(x) = e^(−x²/2)/√(2π)`.
public func geluBackward(_ dinp: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, _ cdf: UnsafePointer<Float>,
                         _ dout: UnsafePointer<Float>, n: Int) {
    for i in 0..<n {
        let x = inp[i]
        let pdf = expRounded(-0.5 * x * x) * 0.39894228
        dinp[i] += dout[i] * (cdf[i] + x * pdf)
    }
}

/// ReLU (BitGPT's MLP): `out = max(x, 0)` (NaN gives 0). Shapes: out, inp (n).
public func reluForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, n: Int) {
    for i in 0..<n { out[i] = inp[i] > 0 ? inp[i] : 0 }
}

/// Backward of ``reluForward``: `dinp += dout · [x > 0]`.
public func reluBackward(_ dinp: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, _ dout: UnsafePointer<Float>, n: Int) {
    for i in 0..<n where inp[i] > 0 { dinp[i] += dout[i] }
}

/// SiLU (LightGPT's un-gated MLP): `out = x / (1 + e^(−x))`. Shapes: out, inp (n). Inference only:
/// lm-train does not train that family, so there is no backward.
public func siluForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, n: Int) {
    for i in 0..<n { let v = inp[i]; out[i] = v / (1 + expRounded(-v)) }
}

/// SwiGLU gate of llama2.c's FFN: `out = silu(gate) · up`. Shapes: out, gate, up (n); `out` may be `gate`.
public func swigluForward(_ out: UnsafeMutablePointer<Float>, _ gate: UnsafePointer<Float>, _ up: UnsafePointer<Float>, n: Int) {
    for i in 0..<n { let g = gate[i]; out[i] = g / (1 + expRounded(-g)) * up[i] }
}

/// Backward of ``swigluForward``: `dup += dout · silu(g)`, `dgate += dout · up · σ(g)(1 + g(1 − σ(g)))`.
public func swigluBackward(_ dgate: UnsafeMutablePointer<Float>, _ dup: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>,
                           _ gate: UnsafePointer<Float>, _ up: UnsafePointer<Float>, n: Int) {
    for i in 0..<n {
        let g = gate[i]
        let sig = 1 / (1 + expRounded(-g))
        dup[i] += dout[i] * g * sig
        dgate[i] += dout[i] * up[i] * sig * (1 + g * (1 - sig))
    }
}

/// Residual add: `out = a + b`. Shapes (n); `out` may be `a`.
public func residualForward(_ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, n: Int) {
    for i in 0..<n { out[i] = a[i] + b[i] }
}

/// Backward of ``residualForward``: `da += dout`, `db += dout`.
public func residualBackward(_ da: UnsafeMutablePointer<Float>, _ db: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>, n: Int) {
    for i in 0..<n {
        da[i] += dout[i]
        db[i] += dout[i]
    }
}

/// `e^x` computed in `Double` and rounded once to `Float`: the correctly rounded value in all but
/// vanishingly rare cases, so results match any accurate reference bit for bit.
@inline(__always)
public func expRounded(_ x: Float) -> Float { Float(exp(Double(x))) }
