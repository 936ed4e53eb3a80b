import BitGPT
import BitGPTConvert
import Foundation
import Testing
import TestSupport

/// LoRA adapters at run time (issue 18) against `tools/reference.py --lora`, the independent NumPy
/// forward pass that reads the adapter file itself.
@Suite("LoRA at run time")
struct LoRAParityTests {
    static let families: [Family] = {
        // The shipped models' kind: BitLinears with their own RMSNorm (the adapter reads the linear's input, before that norm).
        var bitNorm = Family.tiny(.llama, heads: 4, kv: 2)
        bitNorm.bitLinear = true
        bitNorm.bitLinearNorm = true
        return [Family(name: "llama-gqa", config: Family.tiny(.llama, heads: 4, kv: 2)), Family(name: "gpt2-tied", config: Family.tiny(.gpt2)),
                Family(name: "llama-bitlinear-norm", config: bitNorm)]
    }()

    /// The adapters of a case: llama gets two (every target at scale 1, q,v at scale 0.5); gpt2 one over the fused c_attn.
    static func adapters(_ family: Family, base: String, dir: String) throws -> [(path: String, scale: Float)] {
        if family.config.architecture == .llama {
            try LoRAFixtures.write(to: dir + "/all.safetensors", base: base, targets: LoRATarget.allCases, rank: 4, alpha: 8, seed: 21)
            try LoRAFixtures.write(to: dir + "/qv.safetensors", base: base, targets: [.q, .v], rank: 2, alpha: 2, seed: 22, std: 0.3)
            return [(dir + "/all.safetensors", 1), (dir + "/qv.safetensors", 0.5)]
        }
        try LoRAFixtures.write(to: dir + "/a.safetensors", base: base, targets: [.q, .k, .v, .o, .up, .down], rank: 4, alpha: 8, seed: 23)
        return [(dir + "/a.safetensors", 1)]
    }

    /// `model` with the adapters read through `LoRAAdapterFile` (fingerprint checked) and applied.
    static func load(_ path: String, adapters: [(path: String, scale: Float)]) throws -> Transformer {
        let file = try BGPTFile(path: path)
        let model = try Transformer(file: file)
        let fp = try LoRABase.fingerprint(of: file)
        for a in adapters {
            try model.addAdapter(try LoRAAdapterFile.read(path: a.path, config: model.config, fingerprint: fp), scale: a.scale)
        }
        return model
    }

    @Test("logits at every position and 30 greedy tokens match NumPy with the adapters", .requires(ReferenceHarness.numpy),
          arguments: families, [DType.f32, .i8, .t2])
    func parity(family: Family, dtype: DType) throws {
        try ReferenceHarness.numpy.check()
        let dir = try ReferenceHarness.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (path, base, prompt) = try ParityTests.randomCase(family, dtype, dir: dir)
        let adapters = try Self.adapters(family, base: path, dir: dir)
        let model = try Self.load(path, adapters: adapters)
        // Batched prompt (chunks of 5) and single-token decode, with 1 and 3 threads: identical.
        let runs = try [1, 3].map { try ParityTests.run(model, prompt, threads: $0, kvType: .f32, steps: 30) }
        #expect(runs[1].logits == runs[0].logits && runs[1].greedy == runs[0].greedy, "thread counts disagree")
        let plain = try ParityTests.run(base, prompt, threads: 1, kvType: .f32, steps: 0)
        let moved = zip(plain.logits, runs[0].logits).map { abs($0 - $1) }.max() ?? 0
        #expect(moved > 1e-2, "the adapters should change the logits (moved \(moved))")

        let npy = dir + "/ref.npy"
        let loraArgs = adapters.flatMap { ["--lora", "\($0.path):\($0.scale)"] }
        let json = try #require(ReferenceHarness.run([ReferenceHarness.root.appendingPathComponent("tools/reference.py").path, path,
                                                      "--tokens", prompt.map(String.init).joined(separator: ","),
                                                      "--logits-out", npy, "--greedy", "30"] + loraArgs))
        let ref = try #require(NPYFile.readFloats(npy)).values
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let greedy = try #require(obj["tokens"] as? [Int])
        try #require(ref.count == runs[0].logits.count)
        var maxDiff: Float = 0, maxRef: Float = 0
        for (a, b) in zip(runs[0].logits, ref) { maxDiff = max(maxDiff, abs(a - b)); maxRef = max(maxRef, abs(b)) }
        // The tolerances of ParityTests: f32 1e-4 relative to the largest logit; int8 and ternary 1e-5.
        let tol: Float = dtype.isQuantized ? 1e-5 : 1e-4
        print("lora parity \(family.name) \(dtype): max |Δlogit| \(maxDiff) (max |logit| \(maxRef)), moved \(moved) from the base")
        #expect(maxDiff <= tol * max(maxRef, 1), "\(family.name) \(dtype): max |Δ| \(maxDiff)")
        #expect(runs[0].greedy == greedy, "\(family.name) \(dtype): greedy continuation differs")
    }

    @Test("scale 0 leaves the base's logits bit for bit; the base weights are never rewritten")
    func scaleZero() throws {
        let dir = try ReferenceHarness.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let family = Self.families[0]
        let (path, base, prompt) = try ParityTests.randomCase(family, .t2, dir: dir)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        try LoRAFixtures.write(to: dir + "/a.safetensors", base: path, targets: LoRATarget.allCases, seed: 4)
        let model = try Self.load(path, adapters: [(dir + "/a.safetensors", 0)])
        let plain = try ParityTests.run(base, prompt, threads: 2, kvType: .f32, steps: 10)
        let zero = try ParityTests.run(model, prompt, threads: 2, kvType: .f32, steps: 10)
        #expect(plain.logits == zero.logits && plain.greedy == zero.greedy)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        #expect(model.linear(named: "blk.0.attn_q")?.dtype == .t2)
        #expect(throws: LoRAError.self) { try model.addAdapter(model.adapters[0].adapter, scale: .nan) }
    }

    @Test("tools/make_lora.py's independent fingerprint (pure-Python xxHash64) is the runtime's", .requires(ReferenceHarness.numpy),
          arguments: [DType.f32, .f16, .i8, .t2, .t1])
    func pythonFingerprint(dtype: DType) throws {
        try ReferenceHarness.numpy.check()
        let dir = try ReferenceHarness.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (path, base, _) = try ParityTests.randomCase(Self.families[2], dtype, dir: dir)
        let out = dir + "/py.safetensors"
        _ = try #require(ReferenceHarness.run([ReferenceHarness.root.appendingPathComponent("tools/make_lora.py").path, path, out,
                                              "--targets", "q,v,gate", "--rank", "3", "--seed", "5"]))
        let fp = try LoRABase.fingerprint(of: base.file)
        let adapter = try LoRAAdapterFile.read(path: out, config: base.config, fingerprint: fp)
        #expect(adapter.rank == 3 && adapter.targets == [.q, .v, .gate] && adapter.layers.count == 2 * 3)
    }
}
