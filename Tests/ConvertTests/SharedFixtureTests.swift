import BitGPT
import Foundation
import Testing
import TestSupport
@testable import BitGPTConvert

/// Converts every case of `../shared/fixtures` (real checkpoints written by the projects' own
/// training code). Skipped with the reason when the folder is absent, unless CI=true, where that
/// fails (``fixtures``). The converted files are left in
/// `/tmp/bitgpt-fixtures/<case>.bgpt` for the runtime's logit-parity tests. The same checks run
/// on the committed seed fixtures (``SeedFixtureTests``) through ``ReferenceCase``.
@Suite("Shared fixtures (real checkpoints)")
struct SharedFixtureTests {
    static var cases: [String] { ReferenceCase.cases(in: TestFiles.shared) }

    /// The shared fixture folder with at least one case.
    static let fixtures = Requirement("the shared checkpoint fixtures in \(TestFiles.shared)", isMet: !cases.isEmpty)

    @Test("every shared fixture converts with the right architecture, shapes and (BitGPT) exact ternary codes and scales",
          .requires(fixtures))
    func convertAll() throws {
        try Self.fixtures.check()
        let cases = SharedFixtureTests.cases
        let outDir = "/tmp/bitgpt-fixtures"
        try? FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
        for name in cases { try ReferenceCase.checkConversion(TestFiles.shared + "/" + name, out: outDir + "/\(name).bgpt") }
    }

    @Test("every converted shared fixture reproduces the project's PyTorch logits and greedy tokens through the runtime",
          .requires(fixtures))
    func runtimeParity() throws {
        try Self.fixtures.check()
        let cases = SharedFixtureTests.cases
        for name in cases { try ReferenceCase.checkRuntime(TestFiles.shared + "/" + name) }
    }
}

/// One fixture folder (`case.json`, checkpoint, tokenizer, reference logits), as described in the
/// shared fixtures' README, and the checks every such case must pass.
enum ReferenceCase {
    /// The folders under `root` that hold a `case.json`.
    static func cases(in root: String) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: root) else { return [] }
        return names.filter { FileManager.default.fileExists(atPath: root + "/\($0)/case.json") }.sorted()
    }

    static func json(_ dir: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/case.json"))) as? [String: Any])
    }

    /// Converter options from the case: its tokenizer and its `convert_args` (`--n-heads N`, `--context-length N`).
    static func options(_ dir: String, _ json: [String: Any]) throws -> Converter.Options {
        var o = Converter.Options()
        if let tok = json["tokenizer"] as? String { o.tokenizer = dir + "/" + tok }
        let args = json["convert_args"] as? [String] ?? []
        try #require(args.count % 2 == 0, "convert_args come in flag/value pairs: \(args)")
        for i in stride(from: 0, to: args.count, by: 2) {
            let v = try #require(Int(args[i + 1]), "\(args[i]) \(args[i + 1])")
            switch args[i] {
            case "--n-heads": o.overrides.nHeads = v
            case "--context-length": o.overrides.contextLength = v
            default: Issue.record("convert_args flag \(args[i]) is not understood by the test")
            }
        }
        return o
    }

    /// Converts the case to `out` and checks the architecture against `source.config` and every
    /// tensor against the checkpoint (F32 bit for bit; BitGPT ternary codes and 1/meta exactly).
    static func checkConversion(_ dir: String, out: String) throws {
        let name = URL(fileURLWithPath: dir).lastPathComponent
        let json = try json(dir)
        let ckpt = dir + "/" + (try #require(json["checkpoint"] as? String))
        let source = try #require(json["source"] as? [String: Any])
        let cfg = try #require(source["config"] as? [String: Any])
        let o = try options(dir, json)
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
        let src = try CheckpointMapper.plan(ck, overrides: o.overrides, meta: metaScales(ck))
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
        print("fixture \(name): \(plan.rawValue) → \(config.architecture.rawValue), \(file.tensors.count) tensors (\(ternary) ternary), checkpoint \(summary.sourceBytes) bytes → \(out) \(summary.outputBytes) bytes")
    }

    /// Converts the case and runs it: logits at every prompt position against the reference
    /// `.npy` within the case's tolerance, and the 50 greedy ids exactly.
    static func checkRuntime(_ dir: String) throws {
        let name = URL(fileURLWithPath: dir).lastPathComponent
        let json = try json(dir)
        let o = try options(dir, json)
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
        print("fixture \(name): runtime max |Δlogit| \(maxDiff) (tolerance \(tolerance)); greedy \(agree)/\(expected.count) identical; checkpoint \(summary.sourceBytes) bytes → .bgpt \(summary.outputBytes) bytes")
    }

    /// Reads a little-endian float32 .npy file (any shape) as a flat array.
    static func readNPYFloat32(_ path: String) throws -> [Float] {
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

    static func metaScales(_ ck: TorchCheckpoint) -> [String: Float] {
        var out: [String: Float] = [:]
        if case let .dict(d)? = ck.root["meta"] {
            for (k, v) in d.entries { if let key = k.stringValue, case let .tensor(t) = v { out[key] = ck.sourceTensor(t, name: key).floats().first } }
        }
        return out
    }
}
