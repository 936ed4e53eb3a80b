import BitGPT
import BitGPTConvert
import Foundation
import Testing
import TestSupport

/// `lm-run --lora` and `lm-perplexity --lora` (issue 18): the tools apply adapters exactly as the
/// library does, and refuse bad ones with one line.
@Suite("lm-run --lora")
struct LoRAToolTests {
    static let config = ModelConfig(architecture: .llama, vocabSize: 256, contextLength: 32, dim: 32, nLayers: 2, nHeads: 4, nKVHeads: 2)

    /// A T2 llama base with a byte tokenizer, and an adapter on every target.
    static func setUp(_ dir: String) throws -> (model: String, adapter: String) {
        let m = dir + "/base.bgpt"
        try RandomModel.write(config: config, to: m, linearType: .t2, seed: 2, extra: RandomModel.byteTokenizer, std: 0.3)
        try LoRAFixtures.write(to: dir + "/a.safetensors", base: m, targets: LoRATarget.allCases, seed: 8, std: 0.2)
        return (m, dir + "/a.safetensors")
    }

    func run(_ tool: String, _ args: [String]) throws -> ToolRunner.Result { try ToolRunner.run(try ToolRunner.path(tool), args) }

    @Test("--lora FILE:SCALE gives the library's logits; scale 0 gives the base's")
    func logits() throws {
        let dir = try ReferenceHarness.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (m, a) = try Self.setUp(dir)
        func npy(_ extra: [String]) throws -> [Float] {
            let r = try run("lm-run", [m, "-p", "abc", "-n", "0", "--num-samples", "1", "--cache-type", "f32", "--logits-out", dir + "/l.npy"] + extra)
            #expect(r.status == 0, "\(r.stderr)")
            return try #require(NPYFile.readFloats(dir + "/l.npy")).values
        }
        let base = try npy([]), zero = try npy(["--lora", a + ":0"]), half = try npy(["--lora", a + ":0.5"]), twice = try npy(["--lora", a, "--lora", a + ":-0.5"])
        #expect(zero == base)
        #expect(half != base)
        // The library with the same adapter at 0.5 (the sum 1 − 0.5 differs only by float rounding).
        let model = try Transformer(file: try BGPTFile(path: m))
        try LoRAAdapterFile.apply([LoRASpec(path: a, scale: 0.5)], to: model)
        let gen = try Generator(model: model, pool: WorkerPool(threads: 1), kvType: .f32)
        var lib = [Float](repeating: 0, count: 3 * 256)
        _ = try lib.withUnsafeMutableBufferPointer { try gen.start(prompt: [97, 98, 99], allLogits: $0.baseAddress) }
        #expect(half == lib)
        let d = zip(twice, half).map { abs($0 - $1) }.max() ?? 1
        #expect(d < 1e-3, "two adapters at 1 and -0.5 vs one at 0.5: \(d)")
        // lm-perplexity takes the same flag, and the adapter changes its figure.
        try Data("abcabcabcabcabcabcabcabcabcabcabcabcabcabc".utf8).write(to: URL(fileURLWithPath: dir + "/t.txt"))
        let p0 = try run("lm-perplexity", [m, "-f", dir + "/t.txt", "--json"]), p1 = try run("lm-perplexity", [m, "-f", dir + "/t.txt", "--json", "--lora", a])
        #expect(p0.status == 0 && p1.status == 0 && p0.stdout != p1.stdout, "\(p1.stderr)")
    }

    @Test("refusals: one line, exit 1", arguments: [
        (["--lora", "ADAPTER:x1"], "ADAPTER:x1"),              // not a scale: read as a path, which does not exist
        (["--lora", "ADAPTER:nan"], "not a finite number"),
        (["--lora", "ADAPTER:1e99"], "not a finite number"),
        (["--lora", "ADAPTER:-"], "is not a scale"),
        (["--lora", "/nonexistent.safetensors"], "/nonexistent.safetensors"),
        (["--lora", "OTHER"], "fingerprint"),
        (["--lora", "BASE"], "bad safetensors file"),
    ])
    func refusals(args: [String], mention: String) throws {
        let dir = try ReferenceHarness.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (m, a) = try Self.setUp(dir)
        // An adapter of the same shape made for another base (other weights): refused by the fingerprint.
        let other = dir + "/other.bgpt"
        try RandomModel.write(config: Self.config, to: other, linearType: .t2, seed: 3, extra: RandomModel.byteTokenizer, std: 0.3)
        try LoRAFixtures.write(to: dir + "/other.safetensors", base: other, targets: [.q], seed: 1)
        let real = args.map { $0.replacingOccurrences(of: "ADAPTER", with: a).replacingOccurrences(of: "OTHER", with: dir + "/other.safetensors")
            .replacingOccurrences(of: "BASE", with: m) }
        let r = try run("lm-run", [m, "-p", "a", "-n", "1"] + real)
        #expect(r.status == 1 && r.stdout.isEmpty)
        #expect(r.errorLines.count == 1 && r.stderr.hasPrefix("Error: ") && r.stderr.contains(mention.replacingOccurrences(of: "ADAPTER", with: a)), "stderr: \(r.stderr)")
    }
}
