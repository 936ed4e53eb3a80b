#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One finished or growing beam-search hypothesis.
public struct BeamCandidate: Equatable, Sendable {
    /// Generated tokens (the prompt excluded, a final eos stripped).
    public var tokens: [Int]
    /// Sum of the log-probabilities of `tokens` (each renormalized within its beam).
    public var logProb: Double

    /// Ranking score: `logProb / max(len, 1)^lengthPenalty`.
    public func priority(lengthPenalty: Double) -> Double {
        logProb / pow(Double(max(tokens.count, 1)), lengthPenalty)
    }
}

/// Beam search as LightGPT had it (commits 8ce6f46–75b1591; seed-projects §4.4).
///
/// The list starts with one empty candidate. Each round pops the **last** (lowest-priority)
/// survivor. When at least `numCandidates` are completed, they are sorted by priority and cut to
/// `numCandidates`, and the search stops once the popped candidate's log-probability is below the
/// worst kept one. A candidate ending in eos is completed (eos stripped), as is one of
/// `maxTokens` tokens. Otherwise the `beamWidth` most likely next tokens are pushed, with
/// log-softmax taken over just those `beamWidth` logits; the list is sorted by priority
/// (descending) and cut to `beamWidth`. Unlike LightGPT, the result is sorted by priority and cut
/// to `numCandidates`.
public enum BeamSearch {
    /// Runs the search.
    ///
    /// - Parameters:
    ///   - generator: runs the model (its sequence is overwritten).
    ///   - prompt: prompt tokens (at least one).
    ///   - beamWidth: children per expansion and survivors per round (≥ 1).
    ///   - numCandidates: completed candidates to return (≥ 1).
    ///   - maxTokens: longest candidate.
    ///   - eos: ids that end a candidate.
    ///   - lengthPenalty: exponent of the length normalization.
    /// - Returns: up to `numCandidates` candidates, best first.
    /// - Throws: ``InferenceError``.
    public static func run(generator: Generator, prompt: [Int], beamWidth: Int, numCandidates: Int, maxTokens: Int,
                           eos: Set<Int>, lengthPenalty: Double = 1) throws(InferenceError) -> [BeamCandidate] {
        let width = max(beamWidth, 1), wanted = max(numCandidates, 1)
        var beams = [BeamCandidate(tokens: [], logProb: 0)]
        var completed: [BeamCandidate] = []
        func byPriority(_ a: BeamCandidate, _ b: BeamCandidate) -> Bool {
            a.priority(lengthPenalty: lengthPenalty) > b.priority(lengthPenalty: lengthPenalty)
        }
        while let cand = beams.popLast() {
            if completed.count >= wanted {
                completed.sort(by: byPriority)
                completed = Array(completed.prefix(wanted))
                if let worst = completed.last, cand.logProb < worst.logProb { break }
            }
            if let last = cand.tokens.last, eos.contains(last) {
                completed.append(BeamCandidate(tokens: Array(cand.tokens.dropLast()), logProb: cand.logProb))
                continue
            }
            if cand.tokens.count >= maxTokens {
                completed.append(cand)
                continue
            }
            let logits = try generator.logits(after: prompt + cand.tokens)
            // The `width` largest logits (lowest id first on ties), then log-softmax over them.
            let top = logits.indices.sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }.prefix(width)
            let mx = Double(logits[top.first ?? 0])
            let lse = mx + log(top.reduce(0.0) { $0 + exp(Double(logits[$1]) - mx) })
            for id in top {
                beams.append(BeamCandidate(tokens: cand.tokens + [id], logProb: cand.logProb + Double(logits[id]) - lse))
            }
            beams.sort(by: byPriority)
            beams = Array(beams.prefix(width))
        }
        completed.sort(by: byPriority)
        return Array(completed.prefix(wanted))
    }
}
