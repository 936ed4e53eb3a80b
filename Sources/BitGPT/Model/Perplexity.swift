#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One window of a perplexity run: the model reads tokens `begin ..< begin + length` from
/// position 0 and is scored on the targets `firstTarget ..< begin + length` (the logits of the
/// token before each target predict it).
public struct PerplexityWindow: Equatable, Sendable {
    /// Index of the window's first token.
    public var begin: Int
    /// Tokens the model reads (the window length).
    public var length: Int
    /// The first target scored in this window; earlier ones were scored by an earlier window.
    public var firstTarget: Int

    /// The window's targets, as token indices.
    public var targets: Range<Int> { firstTarget ..< begin + length }

    /// Sliding windows over `count` tokens, as Hugging Face's strided perplexity places them.
    ///
    /// Window k reads `[k·stride, k·stride + window)`, except the last, which ends at the last token
    /// (and so starts earlier) to keep a full window of context. Every token but the first is a
    /// target of exactly one window: the first window scores its `window − 1` targets, each later
    /// one the tokens past the previous window's end (`stride` of them, fewer for the last), each
    /// with at least `window − stride` tokens of context. The stride is below the window, so every
    /// target has a token before it in its window.
    /// - Parameters:
    ///   - count: tokens in the text, at least `window`.
    ///   - window: tokens per window, at least 2.
    ///   - stride: `1 ..< window`.
    public static func plan(count: Int, window: Int, stride: Int) -> [PerplexityWindow] {
        precondition(window >= 2 && count >= window && stride >= 1 && stride < window, "invalid perplexity window plan")
        var out: [PerplexityWindow] = []
        var start = 0, scoredUpTo = 1
        while true {
            let end = min(start + window, count)
            out.append(PerplexityWindow(begin: end - window, length: window, firstTarget: scoredUpTo))
            scoredUpTo = end
            if end == count { return out }
            start += stride
        }
    }
}

/// What a perplexity run measured.
public struct PerplexityResult: Sendable {
    /// Targets scored (tokens in the text minus one).
    public var scored: Int
    /// Σ −log p(target), natural log, over the scored targets.
    public var nll: Double
    /// Windows run.
    public var windows: Int
    /// Tokens the model read (windows × window length).
    public var evaluated: Int
    /// Perplexity, `exp(nll / scored)`.
    public var perplexity: Double { exp(nll / Double(max(scored, 1))) }
    /// Mean negative log-likelihood per scored token, in nats.
    public var meanNLL: Double { nll / Double(max(scored, 1)) }
    /// Against a reference model, when one was given.
    public var comparison: DistributionComparison?
}

/// How a model's next-token distributions compare with a reference model's on the same targets.
public struct DistributionComparison: Sendable {
    /// Σ −log p_ref(target), natural log: the reference's own perplexity numerator.
    public var referenceNLL: Double
    /// KL(p_ref ‖ p_model) in nats, per scored position, in text order.
    public var kl: [Double]
    /// Positions whose most likely token is the same in both models.
    public var top1Agree: Int

    /// Mean KL divergence over the positions.
    public var meanKL: Double { kl.reduce(0, +) / Double(max(kl.count, 1)) }
    /// The 99th percentile of the per-position KL (nearest rank: the ⌈0.99·n⌉-th smallest).
    public var p99KL: Double { Self.percentile(kl, 0.99) }
    /// Fraction of positions whose top-1 token agrees.
    public var top1Fraction: Double { Double(top1Agree) / Double(max(kl.count, 1)) }

    /// The nearest-rank percentile `q` (in (0, 1]) of `values`; 0 for none.
    public static func percentile(_ values: [Double], _ q: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let rank = Int((q * Double(sorted.count)).rounded(.up))
        return sorted[max(0, min(sorted.count - 1, rank - 1))]
    }
}

/// Perplexity of a model over a token sequence in sliding windows (`lm-perplexity`), optionally
/// with the KL divergence of its distributions from a reference model's.
///
/// Each window runs from position 0 with a fresh KV cache (``PerplexityWindow/plan(count:window:stride:)``).
/// Log-probabilities are computed from the float32 logits in `Double`: `log p(t) = z_t − logsumexp(z)`.
public final class PerplexityEvaluator {
    let model: Transformer
    let reference: Transformer?
    let pool: WorkerPool
    let window: Int
    let state: RunState
    let referenceState: RunState?

    /// An evaluator for windows of `window` tokens.
    ///
    /// - Parameters:
    ///   - model: the model scored.
    ///   - reference: a model with the same vocabulary to compare with, or nil.
    ///   - pool: threads.
    ///   - window: tokens per window, `2 ... contextLength` of both models.
    /// - Throws: ``InferenceError/unsupported(_:)`` for a window that does not fit, or a reference
    ///   with another vocabulary size.
    public init(model: Transformer, reference: Transformer? = nil, pool: WorkerPool, window: Int) throws(InferenceError) {
        let context = min(model.config.contextLength, reference?.config.contextLength ?? .max)
        guard window >= 2 && window <= context else {
            throw .unsupported("a window of \(window) tokens; it must be 2 to \(context) (the context length)")
        }
        if let r = reference, r.config.vocabSize != model.config.vocabSize {
            throw .unsupported("the reference model has a vocabulary of \(r.config.vocabSize) tokens, the model \(model.config.vocabSize)")
        }
        self.model = model
        self.reference = reference
        self.pool = pool
        self.window = window
        state = RunState(config: model.config, maxTokens: window)
        referenceState = reference.map { RunState(config: $0.config, maxTokens: window) }
    }

    /// Scores `ids` (at least `window` tokens, each in the vocabulary).
    ///
    /// - Parameters:
    ///   - stride: tokens between window starts, `1 ..< window`.
    ///   - progress: called after each window with (windows done, windows in all).
    /// - Throws: ``InferenceError`` for ids outside the vocabulary.
    public func run(_ ids: [Int], stride: Int, progress: ((Int, Int) -> Void)? = nil) throws(InferenceError) -> PerplexityResult {
        precondition(ids.count >= window && stride >= 1 && stride < window)
        let V = model.config.vocabSize
        let windows = PerplexityWindow.plan(count: ids.count, window: window, stride: stride)
        var logits = [Float](repeating: 0, count: window * V)
        var refLogits = [Float](repeating: 0, count: reference == nil ? 0 : window * V)
        var result = PerplexityResult(scored: 0, nll: 0, windows: windows.count, evaluated: windows.count * window)
        var cmp = reference.map { _ in DistributionComparison(referenceNLL: 0, kl: [], top1Agree: 0) }
        for (i, w) in windows.enumerated() {
            try ids.withUnsafeBufferPointer { b throws(InferenceError) in
                let tokens = UnsafeBufferPointer(rebasing: b[w.begin ..< w.begin + w.length])
                try logits.withUnsafeMutableBufferPointer { l throws(InferenceError) in
                    try model.forward(tokens, startPos: 0, state: state, pool: pool, allLogits: l.baseAddress)
                }
                if let r = reference, let rs = referenceState {
                    try refLogits.withUnsafeMutableBufferPointer { l throws(InferenceError) in
                        try r.forward(tokens, startPos: 0, state: rs, pool: pool, allLogits: l.baseAddress)
                    }
                }
            }
            for t in w.targets {
                let row = (t - 1 - w.begin) * V
                let lse = Self.logSumExp(logits, row, V)
                result.nll += lse - Double(logits[row + ids[t]])
                result.scored += 1
                guard cmp != nil else { continue }
                let rlse = Self.logSumExp(refLogits, row, V)
                cmp!.referenceNLL += rlse - Double(refLogits[row + ids[t]])
                var kl = 0.0
                var best = 0, refBest = 0
                for j in 0..<V {
                    let lp = Double(refLogits[row + j]) - rlse, lq = Double(logits[row + j]) - lse
                    kl += exp(lp) * (lp - lq)
                    if logits[row + j] > logits[row + best] { best = j }
                    if refLogits[row + j] > refLogits[row + refBest] { refBest = j }
                }
                cmp!.kl.append(max(0, kl))
                if best == refBest { cmp!.top1Agree += 1 }
            }
            progress?(i + 1, windows.count)
        }
        result.comparison = cmp
        return result
    }

    /// log Σ exp(z[row + j]) over `j < n`, in `Double`, shifted by the maximum.
    static func logSumExp(_ z: [Float], _ row: Int, _ n: Int) -> Double {
        var m = -Double.infinity
        for j in 0..<n { m = max(m, Double(z[row + j])) }
        var s = 0.0
        for j in 0..<n { s += exp(Double(z[row + j]) - m) }
        return m + log(s)
    }
}
