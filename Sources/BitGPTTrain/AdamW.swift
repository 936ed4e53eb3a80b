import Foundation

/// AdamW over the flat parameter buffer, as PyTorch's `torch.optim.AdamW` (decoupled weight decay).
///
/// Per step t (from 1) and element: `p −= lr·wd·p` (decaying tensors only), `m = β1·m + (1−β1)·g`,
/// `v = β2·v + (1−β2)·g²`, `p −= (lr / (1−β1^t)) · m / (√v / √(1−β2^t) + eps)`.
/// Weight decay applies to 2-D tensors only (nanoGPT `configure_optimizers`).
public final class AdamW {
    public var beta1: Float, beta2: Float, eps: Float, weightDecay: Float
    /// First and second moments, laid out as the parameters.
    public let m: FloatBuffer, v: FloatBuffer
    /// Steps taken so far.
    public var t: Int = 0
    /// [start, end) element ranges that decay.
    let decayRanges: [Range<Int>]
    let count: Int

    /// - Parameters:
    ///   - layout: the parameter table (which tensors decay).
    public init(layout: ParameterLayout, beta1: Float = 0.9, beta2: Float = 0.95, eps: Float = 1e-8, weightDecay: Float = 0.1) {
        self.beta1 = beta1; self.beta2 = beta2; self.eps = eps; self.weightDecay = weightDecay
        m = FloatBuffer(count: layout.count)
        v = FloatBuffer(count: layout.count)
        count = layout.count
        decayRanges = layout.entries.filter { $0.decays }.map { $0.offset..<($0.offset + $0.count) }
    }

    /// Applies one update to `params` (n elements) from `grads` at learning rate `lr`.
    public func step(params: UnsafeMutablePointer<Float>, grads: UnsafePointer<Float>, lr: Float) {
        t += 1
        let bc1 = Float(1 - pow(Double(beta1), Double(t)))
        let bc2sqrt = Float((1 - pow(Double(beta2), Double(t))).squareRoot())
        let stepSize = lr / bc1
        let decay = 1 - lr * weightDecay
        for r in decayRanges { for i in r { params[i] *= decay } }
        let mp = m.base, vp = v.base
        let b1 = beta1, b2 = beta2
        for i in 0..<count {
            let g = grads[i]
            mp[i] = b1 * mp[i] + (1 - b1) * g
            vp[i] = b2 * vp[i] + (1 - b2) * g * g
            let denom = vp[i].squareRoot() / bc2sqrt + eps
            params[i] -= stepSize * (mp[i] / denom)
        }
    }
}

/// Scales gradients so their global L2 norm is at most `maxNorm` (PyTorch `clip_grad_norm_`:
/// factor `maxNorm / (norm + 1e-6)` when below 1).
///
/// - Returns: the norm before clipping (summed in `Double`).
@discardableResult
public func clipGradients(_ grads: UnsafeMutablePointer<Float>, count: Int, maxNorm: Float) -> Float {
    var ss = 0.0
    for i in 0..<count { ss += Double(grads[i]) * Double(grads[i]) }
    let norm = Float(ss.squareRoot())
    guard maxNorm > 0 else { return norm }
    let coef = maxNorm / (norm + 1e-6)
    if coef < 1 { for i in 0..<count { grads[i] *= coef } }
    return norm
}

/// nanoGPT's `get_lr`: linear warmup `lr·(it+1)/(warmup+1)`, then cosine decay to `minLR` at
/// `decayIters`, then `minLR`.
public struct LearningRateSchedule: Equatable {
    public var lr: Float, minLR: Float, warmupIters: Int, decayIters: Int, decay: Bool

    public init(lr: Float, minLR: Float, warmupIters: Int, decayIters: Int, decay: Bool = true) {
        self.lr = lr; self.minLR = minLR; self.warmupIters = warmupIters; self.decayIters = decayIters; self.decay = decay
    }

    /// The learning rate of iteration `it` (from 0).
    public func rate(_ it: Int) -> Float {
        guard decay else { return lr }
        if it < warmupIters { return lr * Float(it + 1) / Float(warmupIters + 1) }
        if it > decayIters { return minLR }
        let ratio = Double(it - warmupIters) / Double(max(decayIters - warmupIters, 1))
        let coeff = 0.5 * (1 + cos(Double.pi * ratio))
        return minLR + Float(coeff) * (lr - minLR)
    }
}
