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

/// Beam search over a tiny model.
@Suite("Beam search")
struct BeamSearchTests {
    @Test("width 1 is greedy decoding; wider beams return sorted candidates")
    func greedyEquivalence() throws {
        let dir = try ReferenceHarness.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/m.bgpt"
        try RandomModel.write(config: Family.tiny(.llama), to: path, linearType: .t2, seed: 9)
        let model = try Transformer(file: try BGPTFile(path: path))
        let gen = try Generator(model: model, pool: WorkerPool(threads: 1))
        let prompt = [3, 1, 4]
        let beam = try BeamSearch.run(generator: gen, prompt: prompt, beamWidth: 1, numCandidates: 1, maxTokens: 6, eos: [])
        var greedy: [Int] = []
        var o = SamplingOptions()
        o.temperature = 0
        try gen.start(prompt: prompt)
        try gen.generate(maxNewTokens: 6, sampler: Sampler(vocabSize: 96, options: o, seed: 0), stop: nil) { greedy.append($0) }
        #expect(beam.count == 1)
        #expect(beam.first?.tokens == greedy)

        let wide = try BeamSearch.run(generator: gen, prompt: prompt, beamWidth: 4, numCandidates: 3, maxTokens: 4, eos: [])
        #expect(wide.count == 3)
        #expect(wide.allSatisfy { $0.tokens.count == 4 && $0.logProb <= 0 })
        #expect(zip(wide, wide.dropFirst()).allSatisfy { $0.priority(lengthPenalty: 1) >= $1.priority(lengthPenalty: 1) })
    }
}
