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
            #expect(dec.forwardPasses - before <= 1, "one forward pass per step")
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

    @Test("shipped models: every slot's tokens equal a lone Generator's", arguments: ["shakespeare-char-t2.bgpt", "shakespeare-bpe-llama-t2.bgpt"])
    func shippedModels(name: String) throws {
        let model = try ShippedModelTests.open(name).model
        let T = model.config.contextLength
        try Self.check(model, Self.plan(vocab: model.config.vocabSize, context: T, newTokens: 12, seed: 9), kvType: .f16, chunk: 16, threads: 2)
    }

    /// A random T2 model of `family` in a temporary folder (removed when `body` returns).
    static func withModel(_ family: Family, _ body: (Transformer) throws -> Void) throws {
        let dir = try ReferenceHarness.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/m.bgpt"
        try RandomModel.write(config: family.config, to: path, linearType: .t2, seed: 12, std: 0.3)
        try body(try Transformer(file: try BGPTFile(path: path)))
    }

    @Test("batched logits equal the single-sequence path bit for bit (prompt chunks and decode rows mixed)",
          arguments: Family.all, [KVCacheType.f32, .f16])
    func logitsBitIdentical(family: Family, kv: KVCacheType) throws {
        try Self.withModel(family) { model in
            let V = model.config.vocabSize, pool = WorkerPool(threads: 2)
            let prompts = [[1, 2, 3, 4, 5], [7, 8, 9], [11]]
            let gens = try prompts.map { _ in try Generator(model: model, pool: pool, kvType: kv) }
            let caches = prompts.map { _ in RunState(config: model.config, maxTokens: 1, kvType: kv) }
            // logitRows 2 < 3 sequences: the classifier runs in two groups.
            let work = RunState(config: model.config, maxTokens: 12, kvType: kv, logitRows: 2, kvCache: false)
            func compare(_ what: String) {
                for i in prompts.indices {
                    let a = Array(UnsafeBufferPointer(start: gens[i].logits, count: V))
                    let b = Array(UnsafeBufferPointer(start: caches[i].logits.pointer, count: V))
                    #expect(a.map(\.bitPattern) == b.map(\.bitPattern), "sequence \(i), \(what)")
                }
            }
            var positions = prompts.map(\.count)
            let flat = prompts.flatMap { $0 }
            try flat.withUnsafeBufferPointer { b in
                var spans: [SequenceSpan] = []
                var at = 0
                for (i, p) in prompts.enumerated() {
                    spans.append(SequenceSpan(tokens: UnsafeBufferPointer(rebasing: b[at ..< at + p.count]), startPos: 0, cache: caches[i]))
                    at += p.count
                }
                try spans.withUnsafeBufferPointer { try model.forward(spans: $0, state: work, pool: pool) }
            }
            for (g, p) in zip(gens, prompts) { try g.start(prompt: p) }
            compare("prompt")
            for step in 0..<6 {
                let next = prompts.indices.map { (step * 31 + $0 * 17) % V }
                try next.withUnsafeBufferPointer { b in
                    let spans = prompts.indices.map {
                        SequenceSpan(tokens: UnsafeBufferPointer(rebasing: b[$0 ... $0]), startPos: positions[$0], cache: caches[$0])
                    }
                    try spans.withUnsafeBufferPointer { try model.forward(spans: $0, state: work, pool: pool) }
                }
                for i in prompts.indices { try gens[i].append(next[i]); positions[i] += 1 }
                compare("decode step \(step)")
            }
        }
    }

    @Test("a step with N decoding slots is one forward pass with as many parallel loops as one slot's, plus one for the draws")
    func onePassPerStep() throws {
        try Self.withModel(Family.all[5]) { model in
            func loopsPerDecodeStep(slots: Int) throws -> Int {
                let pool = WorkerPool(threads: 2)
                let dec = try BatchDecoder(model: model, pool: pool, slots: slots, kvType: .f32, prefillChunk: 8)
                for i in 0..<slots { _ = try dec.admit(SequenceRequest(prompt: [i + 1, 2], maxNewTokens: 10)) }
                // Prompts run one slot per step, the first tokens are drawn as each one finishes.
                for _ in 0..<slots { _ = try dec.step() }
                let passes = dec.forwardPasses, loops = pool.loops
                let events = try dec.step()
                #expect(dec.forwardPasses == passes + 1)
                #expect(events.count == slots)
                #expect(events.allSatisfy { if case .token = $0.event { true } else { false } })
                return pool.loops - loops
            }
            let one = try loopsPerDecodeStep(slots: 1)
            #expect(one > 0)
            // Two or more slots draw their tokens in one more parallel loop (one slot draws inline).
            for n in 2...4 { #expect(try loopsPerDecodeStep(slots: n) == one + 1, "\(n) slots") }
        }
    }

    @Test("logprobs are the log-softmax of the raw logits; greedy picks the top one")
    func logprobs() throws {
        try Self.withModel(Family.all[0]) { model in
            let V = model.config.vocabSize
            let gen = try Generator(model: model, pool: WorkerPool(threads: 1))
            try gen.start(prompt: [3, 4])
            let logits = Array(UnsafeBufferPointer(start: gen.logits, count: V)).map(Double.init)
            let m = logits.max()!
            let lse = m + log(logits.reduce(0) { $0 + exp($1 - m) })
            let order = logits.indices.sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
            let dec = try BatchDecoder(model: model, pool: WorkerPool(threads: 1), slots: 1, kvType: .f32)
            _ = try dec.admit(SequenceRequest(prompt: [3, 4], maxNewTokens: 1, sampling: SamplingSettings(temperature: 0, repeatPenalty: 1.5),
                                              topLogprobs: 3))
            let events = try dec.step()
            guard case let .token(t) = events.first?.event else { Issue.record("no token"); return }
            #expect(t.topLogprobs.map(\.token) == Array(order.prefix(3)))
            for (tok, lp) in t.topLogprobs { #expect(abs(Double(lp) - (logits[tok] - lse)) < 1e-5) }
            #expect(abs(Double(t.logprob) - (logits[t.token] - lse)) < 1e-5)
            if case .finished(.length) = events.last?.event {} else { Issue.record("expected .finished(.length), got \(events)") }
            // Without logprobs the same token is drawn, and no logprob is computed.
            let plain = try BatchDecoder(model: model, pool: WorkerPool(threads: 1), slots: 1, kvType: .f32)
            _ = try plain.admit(SequenceRequest(prompt: [3, 4], maxNewTokens: 1, sampling: SamplingSettings(temperature: 0, repeatPenalty: 1.5),
                                                wantsLogprobs: false))
            guard case let .token(u) = try plain.step().first?.event else { Issue.record("no token"); return }
            #expect(u.token == t.token)
            #expect(u.logprob.isNaN && u.topLogprobs.isEmpty)
        }
    }

    @Test("bad requests and settings are refused with a clear error")
    func admitErrors() throws {
        try Self.withModel(Family.all[0]) { model in
            let pool = WorkerPool(threads: 1)
            #expect(throws: InferenceError.self) { try BatchDecoder(model: model, pool: pool, slots: 0, kvType: .f32) }
            #expect(throws: InferenceError.self) { try BatchDecoder(model: model, pool: pool, slots: 16, kvType: .f32) }
            #expect(throws: InferenceError.self) { try BatchDecoder(model: model, pool: pool, slots: 1, kvType: .f32, prefillChunk: 0) }
            let dec = try BatchDecoder(model: model, pool: pool, slots: 2, kvType: .f32)
            func refused(_ r: SequenceRequest, _ needle: String) {
                do {
                    _ = try dec.admit(r)
                    Issue.record("admitted a request that should fail with '\(needle)'")
                } catch let e as BatchDecoderError {
                    #expect(e.description.contains(needle), "\(e)")
                } catch { Issue.record("unexpected \(error)") }
            }
            refused(SequenceRequest(prompt: [], maxNewTokens: 1), "empty")
            refused(SequenceRequest(prompt: [1, 96], maxNewTokens: 1), "96")
            refused(SequenceRequest(prompt: [-3], maxNewTokens: 1), "-3")
            refused(SequenceRequest(prompt: [1], maxNewTokens: -1), "negative")
            refused(SequenceRequest(prompt: [1], maxNewTokens: 1, sampling: SamplingSettings(temperature: .nan)), "temperature")
            refused(SequenceRequest(prompt: [1], maxNewTokens: 1, sampling: SamplingSettings(topP: 0)), "top_p")
            refused(SequenceRequest(prompt: [1], maxNewTokens: 1, topLogprobs: 21), "logprobs")
            #expect(dec.freeSlots == 2)
            let a = try dec.admit(SequenceRequest(prompt: [1], maxNewTokens: 5))
            _ = try dec.admit(SequenceRequest(prompt: [2], maxNewTokens: 5))
            #expect(dec.freeSlots == 0 && dec.activeSlots == 2)
            refused(SequenceRequest(prompt: [1], maxNewTokens: 1), "busy")
            dec.cancel(slot: a)
            dec.cancel(slot: a)   // twice: ignored
            dec.cancel(slot: 99)  // out of range: ignored
            #expect(dec.freeSlots == 1)
            let events = try dec.step()
            #expect(events.filter { if case .finished(.cancelled) = $0.event { true } else { false } }.map(\.slot) == [a])
            #expect(events.first.map { $0.slot == a } == true)
        }
    }

    @Test("SamplingSettings defaults are lm-run's: SamplingOptions' defaults and seed 1337")
    func defaults() {
        #expect(SamplingSettings().options == SamplingOptions())
        #expect(SamplingSettings().seed == 1337)
        #expect(SamplingSettings().problem == nil)
    }

    @Test("batched passes refuse bad spans: shared or missing caches, too many rows, empty spans, bad positions")
    func badSpans() throws {
        try Self.withModel(Family.all[5]) { model in
            let pool = WorkerPool(threads: 1), c = model.config
            let work = RunState(config: c, maxTokens: 4, kvCache: false)
            let a = RunState(config: c, maxTokens: 1), b = RunState(config: c, maxTokens: 1)
            let tokens = [1, 2, 3, 4, 5]
            #expect(throws: InferenceError.self) { try tokens.withUnsafeBufferPointer { try model.forward($0, startPos: 0, state: work, pool: pool) } }
            func pass(_ spans: [(Range<Int>, Int, RunState)]) throws {
                try tokens.withUnsafeBufferPointer { t in
                    let s = spans.map { SequenceSpan(tokens: UnsafeBufferPointer(rebasing: t[$0.0]), startPos: $0.1, cache: $0.2) }
                    try s.withUnsafeBufferPointer { try model.forward(spans: $0, state: work, pool: pool) }
                }
            }
            try pass([(0..<2, 0, a), (2..<4, 0, b)])
            // logitRows 1: each sequence's logits still land in its own cache, equal to a lone pass.
            for (cache, prompt) in [(a, [1, 2]), (b, [3, 4])] {
                let g = try Generator(model: model, pool: pool)
                try g.start(prompt: prompt)
                #expect(Array(UnsafeBufferPointer(start: g.logits, count: c.vocabSize)).map(\.bitPattern)
                        == Array(UnsafeBufferPointer(start: cache.logits.pointer, count: c.vocabSize)).map(\.bitPattern))
            }
            #expect(throws: InferenceError.unsupported("spans 0 and 1 share a KV cache")) { try pass([(0..<1, 0, a), (1..<2, 1, a)]) }
            #expect(throws: InferenceError.self) { try pass([(0..<1, 0, work)]) }
            #expect(throws: InferenceError.self) { try pass([(0..<5, 0, a)]) }
            #expect(throws: InferenceError.self) { try pass([(0..<0, 0, a)]) }
            #expect(throws: InferenceError.self) { try pass([(0..<2, c.contextLength - 1, a)]) }
        }
    }
}
