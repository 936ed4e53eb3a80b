import BitGPT
import Foundation
import Testing

/// ``BatchDecoder``: every slot's tokens equal a lone ``Generator``'s, whatever else runs.
@Suite("batch decoder")
struct BatchDecoderTests {
    /// A request of the schedule: admitted at `admitStep` (or as soon as a slot frees),
    /// cancelled after `cancelAfter` tokens if set.
    struct Planned {
        var request: SequenceRequest
        var admitStep: Int
        var cancelAfter: Int?
    }

    /// What a lone Generator and Sampler draw for `r` (`lm-run`'s loop, ``Generator/generate``).
    static func lone(_ model: Transformer, _ r: SequenceRequest, kvType: KVCacheType) throws -> [Int] {
        let gen = try Generator(model: model, pool: WorkerPool(threads: 1), kvType: kvType)
        try gen.start(prompt: r.prompt)
        let sampler = Sampler(vocabSize: model.config.vocabSize, options: r.sampling.options, seed: r.sampling.seed)
        var out: [Int] = []
        #expect(r.stopTokens.count <= 1)
        try gen.generate(maxNewTokens: r.maxNewTokens, sampler: sampler, stop: r.stopTokens.first) { out.append($0) }
        return out
    }

    /// Runs `plan` through a decoder with `slots` slots; returns each request's tokens and finish.
    static func serve(_ model: Transformer, _ plan: [Planned], slots: Int, kvType: KVCacheType, chunk: Int,
                      threads: Int = 1) throws -> [(tokens: [Int], finish: FinishReason?)] {
        let dec = try BatchDecoder(model: model, pool: WorkerPool(threads: threads), slots: slots, kvType: kvType, prefillChunk: chunk)
        var results: [(tokens: [Int], finish: FinishReason?)] = Array(repeating: ([], nil), count: plan.count)
        var owner: [Int: Int] = [:]   // slot → request index
        var next = 0, step = 0
        while next < plan.count || dec.activeSlots > 0 {
            while next < plan.count, plan[next].admitStep <= step, dec.freeSlots > 0 {
                let slot = try dec.admit(plan[next].request)
                owner[slot] = next
                next += 1
            }
            let before = dec.forwardPasses
            let events = try dec.step()
            _ = before  // one pass per step: asserted once decoding is batched
            for (slot, event) in events {
                guard let r = owner[slot] else { Issue.record("event for unowned slot \(slot)"); continue }
                switch event {
                case let .token(t):
                    #expect(results[r].finish == nil)
                    results[r].tokens.append(t.token)
                    if let c = plan[r].cancelAfter, results[r].tokens.count == c {
                        dec.cancel(slot: slot)
                        owner[slot] = nil
                        results[r].finish = .cancelled
                    }
                case let .finished(f):
                    if f == .cancelled { continue }  // reported for a slot already released above
                    results[r].finish = f
                    owner[slot] = nil
                }
            }
            step += 1
            #expect(step < 10_000)
            if step >= 10_000 { break }
        }
        return results
    }

    /// Checks `plan` under 1...4 slots against lone generators.
    static func check(_ model: Transformer, _ plan: [Planned], kvType: KVCacheType, chunk: Int, threads: Int = 1) throws {
        let expected = try plan.map { try lone(model, $0.request, kvType: kvType) }
        for slots in 1...4 {
            let got = try serve(model, plan, slots: slots, kvType: kvType, chunk: chunk, threads: threads)
            for (i, p) in plan.enumerated() {
                let want = p.cancelAfter.map { Array(expected[i].prefix($0)) } ?? expected[i]
                #expect(got[i].tokens == want, "request \(i), \(slots) slots")
                let finish: FinishReason
                if let c = p.cancelAfter, c < expected[i].count {
                    finish = .cancelled
                } else if let last = want.last, p.request.stopTokens.contains(last) {
                    finish = .stop
                } else {
                    finish = .length
                }
                #expect(got[i].finish == finish, "request \(i), \(slots) slots")
            }
        }
    }

    /// Six staggered requests over a context of `T`: short and long prompts (one longer than the
    /// context), sampled and greedy, one stopping at a token, one cancelled, one running past the context.
    static func plan(vocab V: Int, context T: Int, newTokens: Int, seed: UInt64) -> [Planned] {
        var rng = SeededRandom(seed: seed)
        func prompt(_ n: Int) -> [Int] { (0..<n).map { _ in Int(rng.next() % UInt64(V)) } }
        let greedy = SamplingSettings(temperature: 0)
        let hot = SamplingSettings(temperature: 1.2, topK: 0, topP: 0.9, minP: 0.01, repeatPenalty: 1.3, repeatWindow: 8, seed: seed + 1)
        return [
            Planned(request: SequenceRequest(prompt: prompt(3), maxNewTokens: newTokens, sampling: SamplingSettings(seed: seed)), admitStep: 0),
            Planned(request: SequenceRequest(prompt: prompt(T + 5), maxNewTokens: newTokens / 2, sampling: greedy), admitStep: 0),
            Planned(request: SequenceRequest(prompt: prompt(1), maxNewTokens: newTokens, sampling: hot), admitStep: 2, cancelAfter: 4),
            Planned(request: SequenceRequest(prompt: prompt(T - 2), maxNewTokens: newTokens, sampling: SamplingSettings(seed: seed + 2)), admitStep: 3),
            Planned(request: SequenceRequest(prompt: prompt(7), maxNewTokens: newTokens, sampling: SamplingSettings(temperature: 2, seed: seed + 3),
                                             stopTokens: [Int(seed % UInt64(V))]), admitStep: 5),
            Planned(request: SequenceRequest(prompt: prompt(2), maxNewTokens: 0), admitStep: 6),
        ]
    }

    @Test("random models: every slot's tokens equal a lone Generator's (1–4 slots, staggered admits, cancels)",
          arguments: Family.all.filter { !$0.quantizedEmbedding }, [KVCacheType.f32, .f16])
    func randomModels(family: Family, kv: KVCacheType) throws {
        let dir = try ReferenceHarness.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/m.bgpt"
        try RandomModel.write(config: family.config, to: path, linearType: .t2, seed: 11, std: 0.3)
        let model = try Transformer(file: try BGPTFile(path: path))
        let T = model.config.contextLength
        try Self.check(model, Self.plan(vocab: model.config.vocabSize, context: T, newTokens: T + 6, seed: 5), kvType: kv, chunk: 5)
    }
}
