import Foundation

/// Exact (erf) GELU, PyTorch's `nn.GELU()` default: `out = x · Φ(x) = ½x(1 + erf(x/√2))`.
///
/// Shapes: out, inp (N); cdf (N) receives Φ(x) for the backward (nil: not needed).
public func geluForward(_ out: UnsafeMutablePointer<Float>, _ cdf: UnsafeMutablePointer<Float>?, _ inp: UnsafePointer<Float>, n: Int) {
    for i in 0..<n {
        let x = inp[i]
        let c = 0.5 * (1 + erff(x * 0.70710678))
        out[i] = x * c
        cdf?[i] = c
    }
}

/// Backward of ``geluForward``: `dinp += dout · (Φ(x) + x · φ(x))`, with Φ(x) saved by the forward.
public func geluBackward(_ dinp: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, _ cdf: UnsafePointer<Float>,
                         _ dout: UnsafePointer<Float>, n: Int) {
    for i in 0..<n {
        let x = inp[i]
        let pdf = expf(-0.5 * x * x) * 0.39894228
        dinp[i] += dout[i] * (cdf[i] + x * pdf)
    }
}

/// ReLU: `out = max(x, 0)`. Shapes: out, inp (N).
public func reluForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, n: Int) {
    for i in 0..<n { out[i] = inp[i] > 0 ? inp[i] : 0 }
}

/// Backward of ``reluForward``: `dinp += dout · [x > 0]`.
public func reluBackward(_ dinp: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, _ dout: UnsafePointer<Float>, n: Int) {
    for i in 0..<n where inp[i] > 0 { dinp[i] += dout[i] }
}

/// SwiGLU gate of llama2.c's FFN: `out = silu(gate) · up`, `silu(g) = g · σ(g)`. Shapes: out, gate, up (N).
public func swigluForward(_ out: UnsafeMutablePointer<Float>, _ gate: UnsafePointer<Float>, _ up: UnsafePointer<Float>, n: Int) {
    for i in 0..<n {
        let g = gate[i]
        out[i] = g / (1 + expf(-g)) * up[i]
    }
}

/// Backward of ``swigluForward``: `dup += dout · silu(g)`, `dgate += dout · up · σ(g)(1 + g(1 − σ(g)))`.
public func swigluBackward(_ dgate: UnsafeMutablePointer<Float>, _ dup: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>,
                           _ gate: UnsafePointer<Float>, _ up: UnsafePointer<Float>, n: Int) {
    for i in 0..<n {
        let g = gate[i]
        let sig = 1 / (1 + expf(-g))
        dup[i] += dout[i] * g * sig
        dgate[i] += dout[i] * up[i] * sig * (1 + g * (1 - sig))
    }
}

/// Residual add: `out = a + b`. Shapes (N).
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
