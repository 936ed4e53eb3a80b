import Foundation

/// Softmax and cross-entropy per position: `probs = softmax(logits)`, `losses = −log probs[target]`.
///
/// Shapes: probs, logits (N, V); targets (N), each < V (checked when the data was loaded);
/// losses (N).
public func crossEntropyForward(_ losses: UnsafeMutablePointer<Float>, _ probs: UnsafeMutablePointer<Float>,
                                _ logits: UnsafePointer<Float>, _ targets: UnsafePointer<Int32>, n: Int, v: Int) {
    for r in 0..<n {
        let l = logits + r * v, p = probs + r * v
        var m = -Float.infinity
        for i in 0..<v { m = max(m, l[i]) }
        var sum: Float = 0
        for i in 0..<v { p[i] = expf(l[i] - m); sum += p[i] }
        let inv = 1 / sum
        for i in 0..<v { p[i] *= inv }
        // log-softmax directly, so a tiny probability does not underflow to log 0.
        losses[r] = -(l[Int(targets[r])] - m - logf(sum))
    }
}

/// Backward of ``crossEntropyForward`` for the loss `scale · Σ losses`:
/// `dlogits += scale · (probs − onehot(target))`. Shapes as the forward.
public func crossEntropyBackward(_ dlogits: UnsafeMutablePointer<Float>, _ probs: UnsafePointer<Float>,
                                 _ targets: UnsafePointer<Int32>, scale: Float, n: Int, v: Int) {
    for r in 0..<n {
        let d = dlogits + r * v, p = probs + r * v
        let y = Int(targets[r])
        for i in 0..<v { d[i] += scale * (p[i] - (i == y ? 1 : 0)) }
    }
}
