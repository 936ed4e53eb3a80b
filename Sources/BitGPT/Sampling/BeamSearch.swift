#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One finished or growing beam-search hypothesis.
public struct BeamCandidate: Equatable, Sendable {
    /// Generated tokens (the prompt excluded, a final eos stripped).
    public var tokens: [Int]
    /// Sum of the model's log-probabilities of the generated tokens, a stripped eos included (each
    /// a log-softmax over the whole vocabulary).
    public var logProb: Double

    /// A candidate with the given tokens and log-probability.
    public init(tokens: [Int], logProb: Double) {
        self.tokens = tokens
        self.logProb = logProb
    }

    /// Ranking score: `logProb / max(len, 1)^lengthPenalty`.
    public func priority(lengthPenalty: Double) -> Double {
        logProb / pow(Double(max(tokens.count, 1)), lengthPenalty)
    }
}

/// Breadth-first beam search: every live beam grows by one token per step.
///
/// Each step scores every child of every live beam with the model's log-softmax over the whole
/// vocabulary and walks the children from the most likely down: a child ending in an eos id is
/// completed (eos stripped, its log-probability kept), any other becomes one of the next step's
/// `beamWidth` live beams, and the walk stops once there are `beamWidth` of them. After
/// `maxTokens` steps the live beams are completed too. The completed candidates are ranked by
/// ``BeamCandidate/priority(lengthPenalty:)`` and the best `numCandidates` returned.
///
/// `numCandidates` only cuts the returned list, so the best candidate never depends on it. With
/// `beamWidth` ≥ vocab^(maxTokens − 1) no prefix is ever pruned and the search is exhaustive;
/// with `beamWidth` 1 it is greedy decoding. Ties go to the earlier beam, then the lower id, so a
/// search is deterministic. Cost: up to `beamWidth × maxTokens` forward passes over the whole
/// sequence (``Generator/logits(after:)`` recomputes from scratch).
public enum BeamSearch {
    /// Runs the search.
    ///
    /// - Parameters:
    ///   - generator: runs the model (its sequence is overwritten).
    ///   - prompt: prompt tokens (at least one).
    ///   - beamWidth: live beams kept per step (values below 1 count as 1).
    ///   - numCandidates: completed candidates to return (values below 1 count as 1).
    ///   - maxTokens: longest candidate; 0 returns one empty candidate.
    ///   - eos: ids that end a candidate.
    ///   - lengthPenalty: exponent of the length normalization used to rank completed candidates.
    /// - Returns: up to `numCandidates` candidates, best first.
    /// - Throws: ``InferenceError``.
    public static func run(generator: Generator, prompt: [Int], beamWidth: Int, numCandidates: Int, maxTokens: Int,
                           eos: Set<Int>, lengthPenalty: Double = 1) throws(InferenceError) -> [BeamCandidate] {
        let width = max(beamWidth, 1), wanted = max(numCandidates, 1)
        var live = [BeamCandidate(tokens: [], logProb: 0)]
        var completed: [BeamCandidate] = []
        var step = 0
        while step < maxTokens && !live.isEmpty {
            // (beam index, token id, total log-probability) of each child worth ranking: a beam
            // contributes at most its `width + eos.count` most likely tokens, enough to fill the
            // next step alone even if every eos ranks among them.
            var children: [(beam: Int, id: Int, logProb: Double)] = []
            for (b, beam) in live.enumerated() {
                let logits = try generator.logits(after: prompt + beam.tokens)
                let lse = logSumExp(logits)
                for id in topIndices(logits, count: width + eos.count) {
                    children.append((b, id, beam.logProb + Double(logits[id]) - lse))
                }
            }
            children.sort { ($0.logProb, -$0.beam, -$0.id) > ($1.logProb, -$1.beam, -$1.id) }
            var next: [BeamCandidate] = []
            for c in children where next.count < width {
                if eos.contains(c.id) {
                    completed.append(BeamCandidate(tokens: live[c.beam].tokens, logProb: c.logProb))
                } else {
                    next.append(BeamCandidate(tokens: live[c.beam].tokens + [c.id], logProb: c.logProb))
                }
            }
            live = next
            step += 1
        }
        completed += live
        // Stable order for equal priorities: the order found (more likely first within a step).
        let ranked = completed.enumerated().sorted {
            let (p, q) = ($0.element.priority(lengthPenalty: lengthPenalty), $1.element.priority(lengthPenalty: lengthPenalty))
            return p != q ? p > q : $0.offset < $1.offset
        }
        return ranked.prefix(wanted).map(\.element)
    }

    /// log Σ exp(x) over all logits, in double precision.
    static func logSumExp(_ x: [Float]) -> Double {
        let mx = Double(x.max() ?? 0)
        return mx + log(x.reduce(0.0) { $0 + exp(Double($1) - mx) })
    }

    /// Indices of the `count` largest values, largest first (lower index first on ties).
    static func topIndices(_ x: [Float], count: Int) -> [Int] {
        let k = min(count, x.count)
        if k >= x.count / 4 {
            return Array(x.indices.sorted { x[$0] > x[$1] || (x[$0] == x[$1] && $0 < $1) }.prefix(k))
        }
        // Partial selection for a large vocabulary: keep a sorted list of the best k seen.
        var best: [Int] = []
        best.reserveCapacity(k + 1)
        for i in x.indices {
            if best.count == k, let last = best.last, !(x[i] > x[last]) { continue }
            var lo = 0, hi = best.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if x[best[mid]] >= x[i] { lo = mid + 1 } else { hi = mid }
            }
            best.insert(i, at: lo)
            if best.count > k { best.removeLast() }
        }
        return best
    }
}
