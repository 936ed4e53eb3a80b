import BitGPT
import Foundation
import Testing

/// The filters and the seeded draw of ``Sampler``.
@Suite("Sampler")
struct SamplerTests {
    /// Draws `count` tokens from fixed logits and returns how often each id came up.
    func histogram(_ logits: [Float], _ options: SamplingOptions, count: Int = 4000, seed: UInt64 = 1, recent: [Int] = []) -> [Int] {
        let s = Sampler(vocabSize: logits.count, options: options, seed: seed)
        var h = [Int](repeating: 0, count: logits.count)
        for _ in 0..<count {
            var l = logits
            let id = l.withUnsafeMutableBufferPointer { lb in recent.withUnsafeBufferPointer { s.sample(lb.baseAddress!, recent: $0) } }
            h[id] += 1
        }
        return h
    }

    func opts(_ f: (inout SamplingOptions) -> Void) -> SamplingOptions {
        var o = SamplingOptions()
        o.topK = 0
        f(&o)
        return o
    }

    let probs: [Float] = [0.5, 0.3, 0.15, 0.05]
    var logits: [Float] { probs.map { logf($0) } }

    @Test("temperature 0 is argmax, lowest id on ties")
    func greedy() {
        #expect(histogram([0.1, 3, 3, -1], opts { $0.temperature = 0 }, count: 10) == [0, 10, 0, 0])
    }

    @Test("plain sampling follows the softmax distribution")
    func distribution() {
        let h = histogram(logits, opts { _ in })
        for i in 0..<4 { #expect(abs(Double(h[i]) / 4000 - Double(probs[i])) < 0.03, "id \(i): \(h[i])") }
    }

    @Test("the same seed gives the same draws; another seed other draws")
    func seeded() {
        let s1 = Sampler(vocabSize: 4, options: opts { _ in }, seed: 42), s2 = Sampler(vocabSize: 4, options: opts { _ in }, seed: 42)
        let s3 = Sampler(vocabSize: 4, options: opts { _ in }, seed: 43)
        var a: [Int] = [], b: [Int] = [], c: [Int] = []
        for _ in 0..<64 {
            for (s, out) in [(s1, 0), (s2, 1), (s3, 2)] {
                var l = logits
                let id = l.withUnsafeMutableBufferPointer { s.sample($0.baseAddress!, recent: UnsafeBufferPointer(start: nil, count: 0)) }
                if out == 0 { a.append(id) } else if out == 1 { b.append(id) } else { c.append(id) }
            }
        }
        #expect(a == b)
        #expect(a != c)
    }

    @Test("top-k keeps the k largest, ties at the k-th included")
    func topK() {
        let h = histogram([1, 1, 1, 0, -5], opts { $0.topK = 2 })
        #expect(h[3] == 0 && h[4] == 0)
        #expect(h[0] > 0 && h[1] > 0 && h[2] > 0)
        #expect(histogram(logits, opts { $0.topK = 1 }, count: 50) == [50, 0, 0, 0])
    }

    @Test("top-p keeps the shortest prefix reaching p, including the crossing token")
    func topP() {
        let h = histogram(logits, opts { $0.topP = 0.7 })
        #expect(h[2] == 0 && h[3] == 0)
        #expect(abs(Double(h[0]) / 4000 - 0.5 / 0.8) < 0.03)
        #expect(histogram(logits, opts { $0.topP = 0.5 }, count: 50) == [50, 0, 0, 0])
    }

    @Test("min-p drops tokens below minP times the top probability")
    func minP() {
        let h = histogram(logits, opts { $0.minP = 0.35 })  // keeps p ≥ 0.175
        #expect(h[2] == 0 && h[3] == 0 && h[1] > 0)
    }

    @Test("temperature sharpens the distribution")
    func temperature() {
        let h = histogram(logits, opts { $0.temperature = 0.5 })  // p ∝ p², so 0.25/0.365 for id 0
        #expect(abs(Double(h[0]) / 4000 - 0.25 / 0.365) < 0.03)
    }

    @Test("the repetition penalty divides positive and multiplies negative logits of recent tokens")
    func repetitionPenalty() {
        #expect(histogram([2, 1.9, 0], opts { $0.temperature = 0; $0.repeatPenalty = 2 }, count: 5, recent: [0, 0]) == [0, 5, 0])
        #expect(histogram([-1, -1.5, -9], opts { $0.temperature = 0; $0.repeatPenalty = 2 }, count: 5, recent: [0]) == [0, 5, 0])
        // Outside the window: no penalty.
        #expect(histogram([2, 1.9, 0], opts { $0.temperature = 0; $0.repeatPenalty = 2; $0.repeatWindow = 1 }, count: 5, recent: [0, 2]) == [5, 0, 0])
    }
}

/// Beam search over a tiny model, checked against exhaustive search.
@Suite("Beam search")
struct BeamSearchTests {
    /// A random model and a generator over it.
    func generator(vocab: Int, seed: UInt64, dir: String) throws -> Generator {
        var config = Family.tiny(.llama)
        config.vocabSize = vocab
        let path = dir + "/m.bgpt"
        try RandomModel.write(config: config, to: path, linearType: .t2, seed: seed)
        return try Generator(model: try Transformer(file: try BGPTFile(path: path)), pool: WorkerPool(threads: 1))
    }

    /// Log-softmax of the next token after `sequence`, over the whole vocabulary.
    func logSoftmax(_ gen: Generator, _ sequence: [Int]) throws -> [Double] {
        let logits = try gen.logits(after: sequence).map(Double.init)
        let mx = logits.max()!
        let lse = mx + log(logits.reduce(0) { $0 + exp($1 - mx) })
        return logits.map { $0 - lse }
    }

    /// Every candidate of at most `steps` tokens: ended by an eos (stripped, its log-probability
    /// kept) or `steps` long, with its exact log-probability.
    func exhaustive(_ gen: Generator, prompt: [Int], vocab: Int, steps: Int, eos: Set<Int>) throws -> [BeamCandidate] {
        var out: [BeamCandidate] = []
        var frontier = [BeamCandidate(tokens: [], logProb: 0)]
        for _ in 0..<steps {
            var next: [BeamCandidate] = []
            for c in frontier {
                let lp = try logSoftmax(gen, prompt + c.tokens)
                for id in 0..<vocab {
                    let child = BeamCandidate(tokens: c.tokens + [id], logProb: c.logProb + lp[id])
                    if eos.contains(id) { out.append(BeamCandidate(tokens: c.tokens, logProb: child.logProb)) } else { next.append(child) }
                }
            }
            frontier = next
        }
        return out + frontier
    }

    @Test("a beam as wide as every prefix finds the exhaustive optimum, with and without eos", arguments: [0.0, 1.0])
    func matchesExhaustive(lengthPenalty: Double) throws {
        let dir = try ReferenceHarness.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let vocab = 6, steps = 3, prompt = [1, 4]
        let gen = try generator(vocab: vocab, seed: 21, dir: dir)
        for eos: Set<Int> in [[], [2]] {
            let all = try exhaustive(gen, prompt: prompt, vocab: vocab, steps: steps, eos: eos)
            let best = all.map { $0.priority(lengthPenalty: lengthPenalty) }.max()!
            // Width vocab^steps keeps every candidate; width vocab^(steps-1) still finds the best.
            let everything = try BeamSearch.run(generator: gen, prompt: prompt, beamWidth: 216, numCandidates: 1000, maxTokens: steps,
                                                eos: eos, lengthPenalty: lengthPenalty)
            #expect(everything.count == all.count)
            for c in everything {
                let truth = try #require(all.first { $0.tokens == c.tokens })
                #expect(abs(truth.logProb - c.logProb) < 1e-9)
            }
            let found = try BeamSearch.run(generator: gen, prompt: prompt, beamWidth: 36, numCandidates: 1, maxTokens: steps,
                                           eos: eos, lengthPenalty: lengthPenalty)
            let top = try #require(found.first)
            #expect(abs(top.priority(lengthPenalty: lengthPenalty) - best) < 1e-9)
            #expect(abs(everything[0].priority(lengthPenalty: lengthPenalty) - best) < 1e-9)
        }
    }

    @Test("the best candidate does not depend on --num-candidates")
    func bestIndependentOfCandidates() throws {
        let dir = try ReferenceHarness.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let gen = try generator(vocab: 96, seed: 9, dir: dir)
        for width in [2, 4] {
            let runs = try [1, 3, 6].map {
                try BeamSearch.run(generator: gen, prompt: [3, 1, 4], beamWidth: width, numCandidates: $0, maxTokens: 8, eos: [5])
            }
            #expect(runs.map(\.count) == [1, 3, 6].map { min($0, runs[2].count) })
            #expect(runs[0].first == runs[1].first && runs[1].first == runs[2].first)
            #expect(Array(runs[2].prefix(3)) == runs[1])
        }
    }

    @Test("width 1 is greedy decoding and reports the tokens' real log-probability")
    func greedyEquivalence() throws {
        let dir = try ReferenceHarness.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let gen = try generator(vocab: 96, seed: 9, dir: dir)
        let prompt = [3, 1, 4]
        let beam = try BeamSearch.run(generator: gen, prompt: prompt, beamWidth: 1, numCandidates: 1, maxTokens: 6, eos: [])
        var greedy: [Int] = []
        var o = SamplingOptions()
        o.temperature = 0
        try gen.start(prompt: prompt)
        try gen.generate(maxNewTokens: 6, sampler: Sampler(vocabSize: 96, options: o, seed: 0), stop: nil) { greedy.append($0) }
        #expect(beam.count == 1)
        #expect(beam.first?.tokens == greedy)
        var expected = 0.0
        for (i, t) in greedy.enumerated() { expected += try logSoftmax(gen, prompt + greedy.prefix(i))[t] }
        #expect(expected < 0)
        #expect(abs((beam.first?.logProb ?? 0) - expected) < 1e-9)

        let wide = try BeamSearch.run(generator: gen, prompt: prompt, beamWidth: 4, numCandidates: 3, maxTokens: 4, eos: [])
        #expect(wide.count == 3)
        #expect(wide.allSatisfy { $0.tokens.count == 4 && $0.logProb < 0 })
        #expect(zip(wide, wide.dropFirst()).allSatisfy { $0.priority(lengthPenalty: 1) >= $1.priority(lengthPenalty: 1) })
    }
}
