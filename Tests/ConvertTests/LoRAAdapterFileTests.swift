import BitGPT
import Foundation
import TestSupport
import Testing
@testable import BitGPTConvert

/// LoRA adapter files (issue 18): the base fingerprint, the reader's validation and its one-line refusals.
@Suite("LoRA adapter files")
struct LoRAAdapterFileTests {
    static let llama = ModelConfig(architecture: .llama, vocabSize: 256, contextLength: 16, dim: 16, nLayers: 2, nHeads: 4, nKVHeads: 2)
    static let gpt2 = ModelConfig(architecture: .gpt2, vocabSize: 256, contextLength: 16, dim: 16, nLayers: 2, nHeads: 2)

    /// A random base of `config` in `dir`, with its fingerprint.
    static func base(_ config: ModelConfig, _ dir: TemporaryDirectory, _ name: String = "base.bgpt", type: DType = .t2, seed: UInt64 = 5) throws -> String {
        let p = dir.file(name)
        try RandomModel.write(config: config, to: p, linearType: type, seed: seed, extra: RandomModel.byteTokenizer)
        return p
    }

    /// The error message of reading `path` for `config`, or nil when it reads.
    static func refusal(_ path: String, _ config: ModelConfig, fingerprint: UInt64? = nil) -> String? {
        do { _ = try LoRAAdapterFile.read(path: path, config: config, fingerprint: fingerprint); return nil } catch { return error.description }
    }

    @Test("streaming xxHash64 equals the one-shot hash for any split")
    func streamingHash() {
        var rng = SeededRandom(seed: 9)
        let bytes = (0..<300).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        for n in [0, 1, 7, 31, 32, 33, 64, 100, 300] {
            let want = XXHash64.hash(Array(bytes[0..<n]))
            for cut in [0, 1, 5, 17, 32, n / 2, n] where cut <= n {
                var h = XXHash64Stream()
                h.update(Array(bytes[0..<cut])); h.update(Array(bytes[cut..<n]))
                #expect(h.finalize() == want, "n \(n) cut \(cut)")
            }
        }
    }

    @Test("the fingerprint depends on every value and name, and equals the closure form")
    func fingerprint() throws {
        let dir = try TemporaryDirectory()
        let a = try LoRABase.fingerprint(of: BGPTFile(path: Self.base(Self.llama, dir, "a.bgpt", seed: 5)))
        let a2 = try LoRABase.fingerprint(of: BGPTFile(path: Self.base(Self.llama, dir, "a2.bgpt", seed: 5)))
        let b = try LoRABase.fingerprint(of: BGPTFile(path: Self.base(Self.llama, dir, "b.bgpt", seed: 6)))
        #expect(a == a2 && a != b)
        let file = try BGPTFile(path: dir.file("a.bgpt"))
        let viaClosure = try LoRABase.fingerprint(config: Self.llama) { try file.tensor($0.name).dequantized() }
        #expect(viaClosure == a)
    }

    @Test("a valid adapter reads back with every matrix in place", arguments: [(Self.llama, "q,k,v,o,gate,up,down"), (Self.gpt2, "q,v,o,up,down")])
    func reads(config: ModelConfig, targets: String) throws {
        let dir = try TemporaryDirectory()
        let base = try Self.base(config, dir)
        let fp = try LoRABase.fingerprint(of: BGPTFile(path: base))
        let t = try LoRATarget.parseList(targets)
        let made = try LoRAFixtures.adapter(config: config, targets: t, rank: 3, alpha: 6, fingerprint: fp, seed: 11)
        let p = try dir.write("a.safetensors", LoRAFixtures.safetensors(made.tensors, metadata: made.metadata))
        let ad = try LoRAAdapterFile.read(path: p, config: config, fingerprint: fp)
        #expect(ad.rank == 3 && ad.alpha == 6 && ad.scaling == 2 && ad.targets == t && ad.baseFingerprint == fp)
        let perLayer = config.architecture == .gpt2 ? 4 : 7
        #expect(ad.layers.count == config.nLayers * perLayer)
        for l in ad.layers {
            let aName = l.module.peftTensorName(layer: l.layer, architecture: config.architecture, matrix: "A")
            let bName = l.module.peftTensorName(layer: l.layer, architecture: config.architecture, matrix: "B")
            #expect(made.tensors.first { $0.name == aName }?.values == l.a)
            #expect(made.tensors.first { $0.name == bName }?.values == l.b)
        }
        if config.architecture == .gpt2 {
            #expect(made.metadata["target_modules"] == "[\"c_attn\",\"c_proj\",\"c_fc\"]")
            #expect(ad.layers[0].module.tensor == "attn_qkv" && ad.layers[0].outFeatures == 48)
        }
    }

    @Test("refusals are one line naming the file and the problem")
    func refusals() throws {
        let dir = try TemporaryDirectory()
        let base = try Self.base(Self.llama, dir)
        let fp = try LoRABase.fingerprint(of: BGPTFile(path: base))
        let made = try LoRAFixtures.adapter(config: Self.llama, targets: [.q, .v], rank: 2, alpha: 4, fingerprint: fp, seed: 1)
        func check(_ name: String, _ tensors: [(name: String, shape: [Int], values: [Float])], _ meta: [String: String],
                   config: ModelConfig = Self.llama, fingerprint: UInt64? = nil, _ expected: String) throws {
            let p = try dir.write(name, LoRAFixtures.safetensors(tensors, metadata: meta))
            let e = Self.refusal(p, config, fingerprint: fingerprint ?? fp)
            #expect(e?.contains(expected) == true, "\(name): \(e ?? "read")")
            #expect(e?.hasPrefix(p) == true && e?.contains("\n") == false, "\(name): \(e ?? "read")")
        }
        var m = made.metadata
        try check("ok.safetensors", made.tensors, m, fingerprint: fp &+ 1, "base fingerprint")
        #expect(Self.refusal(dir.file("ok.safetensors"), Self.llama, fingerprint: fp) == nil)
        // Base mismatches: architecture, layers, shapes.
        var other = Self.llama; other.nLayers = 3
        try check("layers.safetensors", made.tensors, m, config: other, "adapter is for 2 layers, the base has 3")
        try check("arch.safetensors", made.tensors, m, config: Self.gpt2, "adapter is for a llama model, the base is gpt2")
        var wide = Self.llama; wide.hiddenDim = 64; wide.dim = 32
        try check("shape.safetensors", made.tensors, m, config: wide, "expected [2, 32]")
        // Tensors: unknown, missing, wrong shape.
        try check("unknown.safetensors", made.tensors + [("extra.weight", [1], [0])], m, "unknown tensor extra.weight")
        try check("missing.safetensors", Array(made.tensors.dropLast()), m, "is missing")
        var bad = made.tensors; bad[0].shape = [bad[0].values.count]
        try check("badshape.safetensors", bad, m, "has shape")
        // Metadata.
        m["format"] = "gguf"; try check("format.safetensors", made.tensors, m, "expected \"bitgpt-lora\""); m = made.metadata
        m["format_version"] = "2"; try check("version.safetensors", made.tensors, m, "format_version"); m = made.metadata
        m["rank"] = "0"; try check("rank.safetensors", made.tensors, m, "rank \"0\""); m = made.metadata
        m["alpha"] = "nan"; try check("alpha.safetensors", made.tensors, m, "alpha \"nan\""); m = made.metadata
        m["targets"] = "q,x"; try check("targets.safetensors", made.tensors, m, "unknown LoRA target \"x\""); m = made.metadata
        m["base_fingerprint"] = "XYZ"; try check("fp.safetensors", made.tensors, m, "16 lowercase hex"); m = made.metadata
        m["architecture"] = "bitgpt"; try check("archmeta.safetensors", made.tensors, m, "adapter is for a bitgpt model"); m = made.metadata
        m.removeValue(forKey: "rank"); try check("norank.safetensors", made.tensors, m, "has no \"rank\""); m = made.metadata
        // gate on gpt2 and any bitgpt base.
        #expect(throws: LoRAError.unsupported("gpt2 models have no gate projection")) { try LoRAModule.module(for: .gate, architecture: .gpt2) }
        // Truncated: the container's own check.
        let whole = try dir.read("ok.safetensors")
        let p = try dir.write("cut.safetensors", Array(whole.dropLast(3)))
        let e = Self.refusal(p, Self.llama)
        #expect(e?.hasPrefix(p) == true && e?.contains("truncated") == true, "\(e ?? "read")")
    }
}
