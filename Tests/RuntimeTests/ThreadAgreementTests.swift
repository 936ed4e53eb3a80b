import BitGPT
import Foundation
import Testing
import TestSupport

/// Every code path the worker pool splits gives the same bits on 1, 2 and 3 threads. Small and
/// quick on purpose: these are the tests `tools/test-sanitizers.sh` runs under ThreadSanitizer.
@Suite("Thread agreement")
struct ThreadAgreementTests {
    static let families = Family.all.filter { ["gpt2-untied-bias", "bitgpt", "llama-gqa-interleaved"].contains($0.name) }

    @Test("prompt logits and 20 greedy tokens agree bit for bit on 1, 2 and 3 threads",
          arguments: families, [DType.f32, .f16, .i8, .t2, .t1])
    func forward(family: Family, dtype: DType) throws {
        let dir = try ReferenceHarness.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (_, model, prompt) = try ParityTests.randomCase(family, dtype, dir: dir)
        let runs = try [1, 2, 3].map { try ParityTests.run(model, prompt, threads: $0, kvType: .f32, steps: 20) }
        for r in runs.dropFirst() {
            #expect(r.logits == runs[0].logits, "\(family) \(dtype): logits differ between thread counts")
            #expect(r.greedy == runs[0].greedy)
        }
    }

    @Test("a batch decoder with 4 slots gives the same tokens on 1 and 3 threads", arguments: families)
    func batchDecoder(family: Family) throws {
        try BatchDecoderTests.withModel(family) { model in
            let plan = BatchDecoderTests.plan(vocab: model.config.vocabSize, context: model.config.contextLength, newTokens: 10, seed: 4)
            let one = try BatchDecoderTests.serve(model, plan, slots: 4, kvType: .f16, chunk: 5, threads: 1)
            let three = try BatchDecoderTests.serve(model, plan, slots: 4, kvType: .f16, chunk: 5, threads: 3)
            #expect(one.map(\.tokens) == three.map(\.tokens))
        }
    }

    @Test("a LoRA update equals the plain loops bit for bit, on 1 and 3 threads, for ranks that are and are not multiples of 8",
          arguments: [(8, 64, 96), (5, 37, 13), (16, 24, 40)])
    func loraUpdate(rank: Int, inFeatures: Int, outFeatures: Int) throws {
        var rng = SeededRandom(seed: UInt64(rank * 1000 + inFeatures))
        let a = (0..<(rank * inFeatures)).map { _ in rng.normal(std: 1) }
        let b = (0..<(outFeatures * rank)).map { _ in rng.normal(std: 1) }
        let n = 9, ldx = inFeatures + 3, ld = outFeatures + 2
        let x = (0..<(n * ldx)).map { _ in rng.normal(std: 1) }
        let y0 = (0..<(n * ld)).map { _ in rng.normal(std: 1) }
        let coef: Float = 0.37
        // The contract in LoRAUpdate.apply's doc comment, as plain loops.
        var want = y0
        for t in 0..<n {
            let h = (0..<rank).map { j in
                var s: Float = 0
                for i in 0..<inFeatures { s += a[j * inFeatures + i] * x[t * ldx + i] }
                return s
            }
            for o in 0..<outFeatures {
                var s: Float = 0
                for j in 0..<rank { s += b[o * rank + j] * h[j] }
                want[t * ld + o] += coef * s
            }
        }
        let u = LoRAUpdate(LoRALayer(layer: 0, module: try LoRAModule.module(for: .q, architecture: .llama), outFeatures: outFeatures, inFeatures: inFeatures, a: a, b: b),
                           rank: rank, coef: coef)
        for threads in [1, 3] {
            var y = y0
            y.withUnsafeMutableBufferPointer { yb in
                x.withUnsafeBufferPointer { xb in
                    u.apply(yb.baseAddress!, ld: ld, xb.baseAddress!, ldx: ldx, n: n, pool: WorkerPool(threads: threads))
                }
            }
            #expect(y == want, "rank \(rank), \(threads) threads")
        }
    }
}
