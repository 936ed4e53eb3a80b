#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Settings of ``Sampler``; the defaults follow BitGPT `generate.py` (temperature 1, top-k 200).
public struct SamplingOptions: Equatable, Sendable {
    /// Divides the logits; 0 means greedy (argmax).
    public var temperature: Float = 1
    /// Keep the k largest logits (ties at the k-th kept); 0 = off.
    public var topK: Int = 200
    /// Keep the smallest set of most likely tokens whose probability reaches p; 1 = off.
    public var topP: Float = 1
    /// Drop tokens whose probability is below `minP ·` the top probability; 0 = off.
    public var minP: Float = 0
    /// CTRL-style repetition penalty R: a logit of a recent token is divided by R if positive,
    /// multiplied by R if not; 1 = off.
    public var repeatPenalty: Float = 1
    /// How many of the latest context tokens (prompt included) the penalty looks at.
    public var repeatWindow: Int = 64

    /// The defaults.
    public init() {}
}

/// Picks the next token from logits with a seeded generator, so a seed reproduces a run.
///
/// The filters apply in this order (each only when enabled):
/// 1. **repetition penalty** on every distinct id among the last `repeatWindow` tokens;
/// 2. **temperature 0 → argmax** (lowest id on ties) and stop;
/// 3. **temperature**: logits / T;
/// 4. **top-k**: keep logits ≥ the k-th largest (ties kept, as nanoGPT);
/// 5. **softmax** over the kept logits;
/// 6. **min-p**: drop probabilities below `minP · max p`;
/// 7. **top-p**: sort by probability, keep the shortest prefix whose sum reaches p, including the
///    token that crosses p (as llama2.c `run.c`);
/// 8. **draw**: `r = uniform · Σ kept`, the first kept token (most likely first) whose running sum exceeds r.
///
/// All working memory is allocated at construction; ``sample(_:recent:)`` allocates nothing.
public final class Sampler {
    /// The settings.
    public let options: SamplingOptions
    /// The random stream; advanced once per non-greedy draw.
    public var rng: SeededRandom
    private let vocabSize: Int
    private let cand: AlignedBuffer<Int32>  // (vocab) kept ids
    private let prob: AlignedBuffer<Float>  // (vocab) scratch values
    private let stamp: AlignedBuffer<UInt32>  // (vocab) penalty marks
    private var stampValue: UInt32 = 0

    /// Creates a sampler.
    ///
    /// - Parameters:
    ///   - vocabSize: length of the logits vectors.
    ///   - options: filters.
    ///   - seed: RNG seed.
    public init(vocabSize: Int, options: SamplingOptions, seed: UInt64) {
        self.vocabSize = vocabSize
        self.options = options
        rng = SeededRandom(seed: seed)
        cand = AlignedBuffer(count: vocabSize)
        prob = AlignedBuffer(count: vocabSize)
        stamp = AlignedBuffer(count: vocabSize)
    }

    /// Chooses a token; `logits` is modified (penalty, temperature).
    ///
    /// - Parameters:
    ///   - logits: (vocab) scores of the next token.
    ///   - recent: the context so far (only its last `repeatWindow` ids matter).
    /// - Returns: a token id in `0..<vocab`.
    public func sample(_ logits: UnsafeMutablePointer<Float>, recent: UnsafeBufferPointer<Int>) -> Int {
        let V = vocabSize, o = options
        // 1. Repetition penalty, once per distinct id.
        if o.repeatPenalty != 1 && o.repeatPenalty > 0 {
            stampValue &+= 1
            if stampValue == 0 { for i in 0..<V { stamp.pointer[i] = 0 }; stampValue = 1 }
            for id in recent.suffix(max(o.repeatWindow, 0)) where id >= 0 && id < V && stamp.pointer[id] != stampValue {
                stamp.pointer[id] = stampValue
                logits[id] = logits[id] > 0 ? logits[id] / o.repeatPenalty : logits[id] * o.repeatPenalty
            }
        }
        // 2. Greedy.
        if o.temperature <= 0 { return Sampler.argmax(logits, count: V) }
        // 3. Temperature.
        for i in 0..<V { logits[i] /= o.temperature }
        // 4. Top-k: threshold at the k-th largest, ties kept.
        var m = 0
        let c = cand.pointer, p = prob.pointer
        if o.topK > 0 && o.topK < V {
            for i in 0..<V { p[i] = logits[i] }
            let kth = Sampler.select(p, count: V, k: o.topK - 1)
            for i in 0..<V where logits[i] >= kth { c[m] = Int32(i); m += 1 }
        } else {
            for i in 0..<V { c[i] = Int32(i) }
            m = V
        }
        // 5. Softmax over the kept logits.
        var mx = -Float.infinity
        for j in 0..<m where logits[Int(c[j])] > mx { mx = logits[Int(c[j])] }
        var sum: Float = 0
        for j in 0..<m { let e = expf(logits[Int(c[j])] - mx); p[j] = e; sum += e }
        guard sum > 0 && sum.isFinite else { return Sampler.argmax(logits, count: V) }
        for j in 0..<m { p[j] /= sum }
        // 6. Min-p.
        if o.minP > 0 {
            var pmax: Float = 0
            for j in 0..<m where p[j] > pmax { pmax = p[j] }
            var w = 0
            for j in 0..<m where p[j] >= o.minP * pmax { c[w] = c[j]; p[w] = p[j]; w += 1 }
            m = w
        }
        // 7. Top-p: most likely first, cut after the token that reaches p.
        if o.topP < 1 && o.topP > 0 {
            Sampler.sortDescending(c, p, count: m)
            var cum: Float = 0
            var keep = m
            for j in 0..<m {
                cum += p[j]
                if cum >= o.topP { keep = j + 1; break }
            }
            m = keep
        }
        // 8. Draw.
        var total: Float = 0
        for j in 0..<m { total += p[j] }
        let r = rng.uniform() * total
        var run: Float = 0
        for j in 0..<m {
            run += p[j]
            if r < run { return Int(c[j]) }
        }
        return Int(c[m - 1])
    }

    /// Index of the largest of `count` values (the lowest index on ties).
    ///
    /// - Parameters:
    ///   - x: values.
    ///   - count: number of values (≥ 1).
    /// - Returns: the index.
    public static func argmax(_ x: UnsafePointer<Float>, count: Int) -> Int {
        var best = 0
        for i in 1..<max(count, 1) where x[i] > x[best] { best = i }
        return best
    }

    /// The value that would sit at index `k` if `x` were sorted descending (quickselect; reorders `x`).
    static func select(_ x: UnsafeMutablePointer<Float>, count: Int, k: Int) -> Float {
        var lo = 0, hi = count - 1
        while lo < hi {
            let pivot = x[(lo + hi) / 2]
            var i = lo, j = hi
            while i <= j {
                while x[i] > pivot { i += 1 }
                while x[j] < pivot { j -= 1 }
                if i <= j { x.swapAt(i, j); i += 1; j -= 1 }
            }
            if k <= j { hi = j } else if k >= i { lo = i } else { return x[k] }
        }
        return x[k]
    }

    /// Heap sort of (`ids`, `p`) by probability descending, then id ascending; in place, no allocation.
    static func sortDescending(_ ids: UnsafeMutablePointer<Int32>, _ p: UnsafeMutablePointer<Float>, count: Int) {
        // "a before b" in the final order; the heap keeps the last-in-order element on top.
        func before(_ a: Int, _ b: Int) -> Bool { p[a] > p[b] || (p[a] == p[b] && ids[a] < ids[b]) }
        func swap(_ a: Int, _ b: Int) { ids.swapAt(a, b); p.swapAt(a, b) }
        func sift(_ start: Int, _ end: Int) {
            var root = start
            while 2 * root + 1 < end {
                var child = 2 * root + 1
                if child + 1 < end && before(child, child + 1) { child += 1 }
                if before(root, child) { swap(root, child); root = child } else { return }
            }
        }
        if count < 2 { return }
        for s in stride(from: count / 2 - 1, through: 0, by: -1) { sift(s, count) }
        for end in stride(from: count - 1, to: 0, by: -1) {
            swap(0, end)
            sift(0, end)
        }
    }
}

extension UnsafeMutablePointer {
    @inline(__always) fileprivate func swapAt(_ i: Int, _ j: Int) {
        let t = self[i]
        self[i] = self[j]
        self[j] = t
    }
}
