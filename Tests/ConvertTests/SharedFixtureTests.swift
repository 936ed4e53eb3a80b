import BitGPT
import Foundation
import Testing
import TestSupport
@testable import BitGPTConvert

/// Converts every case of `../shared/fixtures` (real checkpoints written by the projects' own
/// training code). Skipped with the reason when the folder is absent, unless CI=true, where that
/// fails (``fixtures``). The converted files are left in
/// `/tmp/bitgpt-fixtures/<case>.bgpt` for the runtime's logit-parity tests.
@Suite("Shared fixtures (real checkpoints)")
struct SharedFixtureTests {
    static var cases: [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: TestFiles.shared) else { return [] }
        return names.filter { FileManager.default.fileExists(atPath: TestFiles.shared + "/\($0)/case.json") }.sorted()
    }

    /// The shared fixture folder with at least one case.
    static let fixtures = Requirement("the shared checkpoint fixtures in \(TestFiles.shared)", isMet: !cases.isEmpty)

    @Test("every shared fixture converts with the right architecture, shapes and (BitGPT) exact ternary codes and scales",
          .requires(fixtures))
    func convertAll() throws {
        try Self.fixtures.check()
        let cases = SharedFixtureTests.cases
        let outDir = "/tmp/bitgpt-fixtures"
        try? FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
        for name in cases {
            let dir = TestFiles.shared + "/" + name
            let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/case.json"))) as? [String: Any])
            let ckpt = dir + "/" + (try #require(json["checkpoint"] as? String))
            let source = try #require(json["source"] as? [String: Any])
            let cfg = try #require(source["config"] as? [String: Any])
            var o = Converter.Options()
            if let tok = json["tokenizer"] as? String { o.tokenizer = dir + "/" + tok }
            let out = outDir + "/\(name).bgpt"
            let summary = try Converter.convert(input: ckpt, output: out, options: o)
            let file = try BGPTFile(path: out)
            let config = try ModelConfig(metadata: file.metadata)
            try config.checkTensors(in: file)
            try file.verify()
            #expect(file.tensors.count == config.tensorSpecs.count)
            #expect(config.nLayers == cfg["n_layer"] as? Int)
            #expect(config.nHeads == cfg["n_head"] as? Int)
            #expect(config.dim == cfg["n_embd"] as? Int)
            #expect(config.contextLength == cfg["block_size"] as? Int)
            #expect(config.vocabSize == cfg["vocab_size"] as? Int)
            #expect(try file.metadata.string("tokenizer.kind") == "char")
            #expect(try file.metadata.strings("tokenizer.tokens").count == cfg["vocab_size"] as? Int)

            // Every tensor against the checkpoint: F32 bit for bit, ternary codes and 1/meta exactly.
            let ck = try TorchCheckpoint(path: ckpt)
            let plan = summary.layout
            let src = try CheckpointMapper.plan(ck, meta: metaScales(ck))
            var ternary = 0
            for p in src.tensors {
                let v = try file.tensor(p.spec.name)
                if let g = p.ternaryScale {
                    ternary += 1
                    let codes = try #require(p.source.ternaryCodes())
                    #expect(v.ternaryValues() == codes, "\(p.spec.name)")
                    let module = String(p.source.name.dropLast(".weight".count))
                    let s = try #require(metaScales(ck)[module])
                    #expect(v.ternaryScale?.bitPattern == (1 / s).bitPattern, "\(p.spec.name)")
                    #expect(g == 1 / s)
                } else {
                    #expect(v.info.dtype == .f32)
                    #expect(v.dequantized().map { $0.bitPattern } == p.values().map { $0.bitPattern }, "\(p.spec.name)")
                }
            }
            if plan == .bitgpt { #expect(ternary == config.nLayers * (3 * config.nHeads + 3)) }
            print("shared fixture \(name): \(plan.rawValue) → \(config.architecture.rawValue), \(file.tensors.count) tensors (\(ternary) ternary), checkpoint \(summary.sourceBytes) bytes → \(out) \(summary.outputBytes) bytes")
        }
    }

    @Test("every converted shared fixture reproduces the project's PyTorch logits and greedy tokens through the runtime",
          .requires(fixtures))
    func runtimeParity() throws {
        try Self.fixtures.check()
        let cases = SharedFixtureTests.cases
        for name in cases {
            let dir = TestFiles.shared + "/" + name
            let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/case.json"))) as? [String: Any])
            var o = Converter.Options()
            if let tok = json["tokenizer"] as? String { o.tokenizer = dir + "/" + tok }
            let out = TestFiles.tempDir() + "/\(name).bgpt"
            let summary = try Converter.convert(input: dir + "/" + (try #require(json["checkpoint"] as? String)), output: out, options: o)
            let file = try BGPTFile(path: out)
            let net = try Transformer(file: file)
            let vocab = net.config.vocabSize
            let tokenizer = try TokenizerFactory.make(metadata: file.metadata, vocabSize: vocab)
            let promptIds = try #require(json["prompt_ids"] as? [Int])
            #expect(try tokenizer.encode(try #require(json["prompt"] as? String)) == promptIds, "\(name): prompt ids")

            // Logits at every prompt position against the reference .npy.
            let reference = try readNPYFloat32(dir + "/" + (try #require(json["logits"] as? String)))
            #expect(reference.count == promptIds.count * vocab)
            let generator = try Generator(model: net, pool: WorkerPool(threads: 2))
            var logits = [Float](repeating: 0, count: promptIds.count * vocab)
            try logits.withUnsafeMutableBufferPointer { b in _ = try generator.start(prompt: promptIds, allLogits: b.baseAddress) }
            let maxDiff = zip(logits, reference).map { abs($0 - $1) }.max() ?? .infinity
            let tolerance = try #require(json["tolerance"] as? Double)
            #expect(Double(maxDiff) <= tolerance, "\(name): max |Δlogit| \(maxDiff) over tolerance \(tolerance)")

            // 50 greedy tokens (the context is cropped past 64 tokens, as the projects' generate()).
            let expected = try #require(json["greedy_ids"] as? [Int])
            try generator.start(prompt: promptIds)
            var greedy: [Int] = []
            for _ in expected.indices {
                let next = Sampler.argmax(generator.logits, count: vocab)
                greedy.append(next)
                try generator.append(next)
            }
            let agree = zip(greedy, expected).prefix { $0 == $1 }.count
            #expect(greedy == expected, "\(name): greedy ids diverge at \(agree)")
            print("shared fixture \(name): runtime max |Δlogit| \(maxDiff) (tolerance \(tolerance)); greedy \(agree)/\(expected.count) identical; checkpoint \(summary.sourceBytes) bytes → .bgpt \(summary.outputBytes) bytes")
        }
    }

    /// Reads a little-endian float32 .npy file (any shape) as a flat array.
    func readNPYFloat32(_ path: String) throws -> [Float] {
        let d = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        try #require(d.count > 10 && d[0] == 0x93 && Array(d[1...5]) == Array("NUMPY".utf8))
        let major = d[6]
        let headerLen = major == 1 ? Int(d[8]) | Int(d[9]) << 8 : Int(d[8]) | Int(d[9]) << 8 | Int(d[10]) << 16 | Int(d[11]) << 24
        let start = (major == 1 ? 10 : 12) + headerLen
        let header = String(decoding: d[(major == 1 ? 10 : 12)..<start], as: UTF8.self)
        try #require(header.contains("'<f4'") && header.contains("'fortran_order': False"))
        return stride(from: start, to: d.count - 3, by: 4).map { i in
            Float(bitPattern: UInt32(d[i]) | UInt32(d[i + 1]) << 8 | UInt32(d[i + 2]) << 16 | UInt32(d[i + 3]) << 24)
        }
    }

    func metaScales(_ ck: TorchCheckpoint) -> [String: Float] {
        var out: [String: Float] = [:]
        if case let .dict(d)? = ck.root["meta"] {
            for (k, v) in d.entries { if let key = k.stringValue, case let .tensor(t) = v { out[key] = ck.sourceTensor(t, name: key).floats().first } }
        }
        return out
    }
}
