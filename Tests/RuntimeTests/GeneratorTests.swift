import BitGPT
import Foundation
import Testing

/// Sequence handling of ``Generator``: cropping, bad tokens, memory limits.
@Suite("Generator")
struct GeneratorTests {
    func model(_ config: ModelConfig, dir: String) throws -> Transformer {
        let path = dir + "/m.bgpt"
        try RandomModel.write(config: config, to: path, linearType: .t2, seed: 2)
        return try Transformer(file: try BGPTFile(path: path))
    }

    @Test("a prompt longer than the context keeps its last context_length tokens")
    func cropsPrompt() throws {
        let dir = try ReferenceHarness.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let m = try model(Family.tiny(.gpt2), dir: dir)
        let gen = try Generator(model: m, pool: WorkerPool(threads: 1))
        let long = (0..<20).map { $0 % 96 }
        #expect(try gen.start(prompt: long) == 4)
        let cropped = Array(UnsafeBufferPointer(start: gen.logits, count: 96))
        try gen.start(prompt: Array(long.suffix(16)))
        #expect(cropped == Array(UnsafeBufferPointer(start: gen.logits, count: 96)))
    }

    @Test("cached decoding equals recomputing the whole sequence")
    func cacheMatchesRecompute() throws {
        let dir = try ReferenceHarness.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let m = try model(Family.tiny(.llama, heads: 4, kv: 2), dir: dir)
        let gen = try Generator(model: m, pool: WorkerPool(threads: 2))
        try gen.start(prompt: [1, 2, 3])
        for t in [4, 5, 6] { try gen.append(t) }
        let cached = Array(UnsafeBufferPointer(start: gen.logits, count: 96))
        let fresh = try gen.logits(after: [1, 2, 3, 4, 5, 6])
        let diff = zip(cached, fresh).map { abs($0 - $1) }.max() ?? 0
        #expect(diff < 1e-5)
    }

    @Test("bad sequences throw instead of trapping")
    func badInput() throws {
        let dir = try ReferenceHarness.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let m = try model(Family.tiny(.llama), dir: dir)
        let gen = try Generator(model: m, pool: WorkerPool(threads: 1))
        #expect(throws: InferenceError.tokenOutOfRange(96, vocabSize: 96)) { try gen.start(prompt: [1, 96]) }
        #expect(throws: InferenceError.tokenOutOfRange(-1, vocabSize: 96)) { try gen.start(prompt: [-1]) }
        #expect(throws: InferenceError.self) { try gen.start(prompt: []) }
        try gen.start(prompt: [1])
        #expect(throws: InferenceError.tokenOutOfRange(500, vocabSize: 96)) { try gen.append(500) }
    }

    @Test("a context whose KV cache cannot fit in memory is refused")
    func hugeContext() throws {
        let dir = try ReferenceHarness.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // 1024 tiny layers × 2^20 positions × 8 floats × 2 (k, v) × 4 bytes = 64 GiB of cache.
        let c = ModelConfig(architecture: .llama, vocabSize: 8, contextLength: 1 << 20, dim: 8, nLayers: 1024, nHeads: 1, hiddenDim: 8)
        let m = try model(c, dir: dir)
        #expect(throws: InferenceError.self) { try Generator(model: m, pool: WorkerPool(threads: 1)) }
    }
}
