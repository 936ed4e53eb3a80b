import BitGPT
import Foundation
import TestSupport
import Testing
@testable import BitGPTConvert

/// `lm-quantize --merge-lora` (issue 18): merged weights give the logits of the base with the adapter
/// applied at run time; a quantized base is said to be no longer quantized, or re-quantized with its error.
@Suite("LoRA merge")
struct LoRAMergeTests {
    static let config = ModelConfig(architecture: .llama, vocabSize: 256, contextLength: 16, dim: 32, nLayers: 2, nHeads: 4, nKVHeads: 2)

    /// Every prompt position's logits of `model` (f32 cache).
    static func logits(_ model: Transformer, _ prompt: [Int]) throws -> [Float] {
        let gen = try Generator(model: model, pool: WorkerPool(threads: 1), kvType: .f32)
        var out = [Float](repeating: 0, count: prompt.count * model.config.vocabSize)
        _ = try out.withUnsafeMutableBufferPointer { try gen.start(prompt: prompt, allLogits: $0.baseAddress) }
        return out
    }

    @Test("an f32 base merged with two adapters gives the run-time logits (1e-4 of the largest)", arguments: [Architecture.llama, .gpt2])
    func mergedEqualsRunTime(arch: Architecture) throws {
        let dir = try TemporaryDirectory()
        let c = arch == .llama ? Self.config : ModelConfig(architecture: .gpt2, vocabSize: 256, contextLength: 16, dim: 32, nLayers: 2, nHeads: 4)
        let base = dir.file("base.bgpt")
        try RandomModel.write(config: c, to: base, linearType: .f32, seed: 12, extra: RandomModel.byteTokenizer, std: 0.3)
        let targets: [LoRATarget] = arch == .llama ? LoRATarget.allCases : [.q, .o, .up, .down]
        try LoRAFixtures.write(to: dir.file("a.safetensors"), base: base, targets: targets, seed: 13, std: 0.2)
        try LoRAFixtures.write(to: dir.file("b.safetensors"), base: base, targets: [.o], rank: 2, seed: 14, std: 0.2)
        let specs = [LoRASpec(path: dir.file("a.safetensors")), LoRASpec(path: dir.file("b.safetensors"), scale: -0.7)]
        let report = try Quantizer.quantize(input: base, output: dir.file("merged.bgpt"), to: .f32,
                                            merge: try LoRAMerge.updates(specs, for: base))
        #expect(report.written && report.rows.contains { $0.name == "blk.1.attn_out" })
        let runtime = try Transformer(file: try BGPTFile(path: base))
        try LoRAAdapterFile.apply(specs, to: runtime)
        let prompt = [3, 100, 7, 42, 250, 9, 9, 1]
        let want = try Self.logits(runtime, prompt)
        let got = try Self.logits(try Transformer(file: try BGPTFile(path: dir.file("merged.bgpt"))), prompt)
        let plain = try Self.logits(try Transformer(file: try BGPTFile(path: base)), prompt)
        let maxRef = want.map(abs).max() ?? 1, d = zip(want, got).map { abs($0 - $1) }.max() ?? 1
        let moved = zip(want, plain).map { abs($0 - $1) }.max() ?? 0
        print("lora merge \(arch): max |Δlogit| \(d) (max |logit| \(maxRef)); the adapters move logits by \(moved)")
        #expect(d <= 1e-4 * max(maxRef, 1) && moved > 1e-2)
    }

    @Test("lm-quantize --merge-lora on a ternary base: a note, f32 by default, --to t2 re-quantizes with the error")
    func ternaryBase() throws {
        let dir = try TemporaryDirectory()
        let base = dir.file("base.bgpt")
        try RandomModel.write(config: Self.config, to: base, linearType: .t2, seed: 12, extra: RandomModel.byteTokenizer, std: 0.3)
        try LoRAFixtures.write(to: dir.file("a.safetensors"), base: base, targets: [.q, .v], seed: 13)
        let tool = try ToolRunner.path("lm-quantize")
        let f = try ToolRunner.run(tool, [base, dir.file("f.bgpt"), "--merge-lora", dir.file("a.safetensors")])
        #expect(f.status == 0, "\(f.stderr)")
        #expect(f.stdout.contains("no longer ternary") && f.stdout.contains("merged 1 LoRA adapter into 4 tensors"), "\(f.stdout)")
        let merged = try BGPTFile(path: dir.file("f.bgpt"))
        #expect(merged.info("blk.0.attn_q")?.dtype == .f32)
        let t = try ToolRunner.run(tool, [base, dir.file("t.bgpt"), "--merge-lora", dir.file("a.safetensors") + ":0.5", "--to", "t2"])
        #expect(t.status == 0 && t.stdout.contains("re-quantized to T2"), "\(t.stdout) \(t.stderr)")
        let q = try BGPTFile(path: dir.file("t.bgpt"))
        #expect(q.info("blk.0.attn_q")?.dtype == .t2 && q.info("blk.0.attn_k")?.dtype == .t2)
        // The merged q is re-quantized (an error), the untouched k is copied (none).
        let qRow = try #require(t.stdout.split(separator: "\n").first { $0.hasPrefix("blk.0.attn_q ") })
        let kRow = try #require(t.stdout.split(separator: "\n").first { $0.hasPrefix("blk.0.attn_k ") })
        #expect(qRow != kRow && qRow.contains("e-"), "\(qRow) / \(kRow)")
        // Refusals: an adapter for another base, a bad scale, --to missing without --merge-lora.
        try RandomModel.write(config: Self.config, to: dir.file("other.bgpt"), linearType: .t2, seed: 99, extra: RandomModel.byteTokenizer)
        for (args, mention) in [([dir.file("other.bgpt"), dir.file("x.bgpt"), "--merge-lora", dir.file("a.safetensors")], "fingerprint"),
                                ([base, dir.file("x.bgpt"), "--merge-lora", dir.file("a.safetensors") + ":inf"], "not a finite number"),
                                ([base, dir.file("x.bgpt")], "--to")] {
            let r = try ToolRunner.run(tool, args)
            #expect(r.status == 1 && r.errorLines.count == 1 && r.stderr.contains(mention), "\(r.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file("x.bgpt")))
    }
}
