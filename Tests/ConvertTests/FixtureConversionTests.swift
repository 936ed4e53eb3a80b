import BitGPT
import Foundation
import Testing
@testable import BitGPTConvert

/// One committed fixture: a tiny checkpoint and the NumPy values it must convert to.
struct FixtureCase: CustomStringConvertible, Sendable {
    let name: String
    let file: String
    var description: String { name }

    static let all = [
        FixtureCase(name: "nanogpt_tiny", file: "nanogpt_tiny.pt"),
        FixtureCase(name: "bitgpt_tiny", file: "bitgpt_tiny.pt"),
        FixtureCase(name: "lillm_tiny", file: "lillm_tiny.pt"),
        FixtureCase(name: "lightgpt_tiny", file: "lightgpt_tiny.pt"),
        FixtureCase(name: "llama2c_tiny", file: "llama2c_tiny.pt"),
        FixtureCase(name: "llama2c_v0", file: "llama2c_v0.bin"),
        FixtureCase(name: "llama2c_v2", file: "llama2c_v2.bin"),
        FixtureCase(name: "llama2c_st", file: "llama2c_st.safetensors"),
    ]
    /// BitGPT before post-training quantization: its expected values are the ternarized weights.
    static let latent = FixtureCase(name: "bitgpt_latent", file: "bitgpt_latent.pt")

    /// The expected index (`NAME.expected.json`) and values (`NAME.expected.bin`).
    func expected() throws -> (json: [String: Any], values: [Float]) {
        let base = TestFiles.fixtures + "/" + name
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: base + ".expected.json"))) as? [String: Any])
        let raw = try Data(contentsOf: URL(fileURLWithPath: base + ".expected.bin"))
        let values = raw.withUnsafeBytes { b in (0..<(raw.count / 4)).map { Float(bitPattern: UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) } }
        return (json, values)
    }
}

/// Converts every committed fixture and compares each tensor with the values
/// `tools/make_convert_fixtures.py` computed from the arrays it wrote (not from the files).
@Suite("Fixture conversions")
struct FixtureConversionTests {
    func convert(_ c: FixtureCase, precision: PrecisionPolicy, tokenizer: String? = nil) throws -> (BGPTFile, Converter.Summary) {
        let out = TestFiles.tempDir() + "/\(c.name).bgpt"
        var o = Converter.Options()
        o.precision = precision
        o.tokenizer = tokenizer
        let s = try Converter.convert(input: TestFiles.fixtures + "/" + c.file, output: out, options: o)
        return (try BGPTFile(path: out), s)
    }

    @Test("F32 conversion reproduces every source tensor bit for bit, with the expected architecture keys", arguments: FixtureCase.all)
    func exactF32(_ c: FixtureCase) throws {
        let (json, values) = try c.expected()
        let (file, _) = try convert(c, precision: PrecisionPolicy(linear: .f32))
        let tensors = try #require(json["tensors"] as? [String: [String: Any]])
        #expect(file.tensors.count == tensors.count)
        #expect((try? file.metadata.string("general.architecture")) == json["architecture"] as? String)
        for (name, e) in tensors {
            let view = try file.tensor(name)
            let shape = try #require(e["shape"] as? [Int])
            #expect(view.info.shape == shape, "\(name)")
            #expect(view.info.dtype == .f32, "\(name)")
            let off = try #require(e["offset"] as? Int), n = try #require(e["count"] as? Int)
            let want = Array(values[off..<(off + n)])
            let got = view.dequantized()
            #expect(got.map { $0.bitPattern } == want.map { $0.bitPattern }, "\(c.name): \(name) differs")
        }
        let config = try #require(json["config"] as? [String: Any])
        for (key, v) in config {
            // Compare in the type the file stores (JSON booleans and numbers both bridge to NSNumber).
            switch file.metadata[key] {
            case let .string(s)?: #expect(s == v as? String, "\(key)")
            case let .bool(b)?: #expect(b == (v as? NSNumber)?.boolValue, "\(key)")
            case let x? where x.integer != nil: #expect(x.integer == (v as? NSNumber)?.intValue, "\(key)")
            default: Issue.record("\(key) is missing or has an unexpected type")
            }
        }
        let cfg = try ModelConfig(metadata: file.metadata)
        try cfg.checkTensors(in: file)
        try file.verify()
    }

    @Test("a BitGPT checkpoint converts to ternary without loss: the checkpoint's codes and γ = 1/s_w")
    func bitgptTernary() throws {
        let c = FixtureCase.all[1]
        let (json, values) = try c.expected()
        let (file, summary) = try convert(c, precision: PrecisionPolicy())
        let tensors = try #require(json["tensors"] as? [String: [String: Any]])
        var ternary = 0
        for (name, e) in tensors {
            let view = try file.tensor(name)
            guard let g = e["gamma"] as? Double, let off = e["codes_offset"] as? Int, let n = e["count"] as? Int else {
                #expect(view.info.dtype == .f32, "\(name) should stay F32")
                continue
            }
            ternary += 1
            #expect(view.info.dtype == .t2)
            #expect(view.ternaryScale?.bitPattern == Float(g).bitPattern, "\(name): γ")
            #expect(view.ternaryValues() == values[off..<(off + n)].map { Int8($0) }, "\(name): codes")
        }
        #expect(ternary == 18)
        #expect(summary.tensors.filter { $0.dtype == .t2 }.count == 18)
        // T1 keeps the same codes and scale.
        let (t1, _) = try convert(c, precision: PrecisionPolicy(linear: .t1))
        for t in file.tensors where t.dtype == .t2 {
            let a = try file.tensor(t.name), b = try t1.tensor(t.name)
            #expect(b.info.dtype == .t1)
            #expect(a.ternaryValues() == b.ternaryValues())
            #expect(a.ternaryScale == b.ternaryScale)
        }
    }

    @Test("a BitGPT checkpoint with latent float weights is ternarized by BitGPT's own absmean rule")
    func bitgptLatent() throws {
        let c = FixtureCase.latent
        let (json, values) = try c.expected()
        let (file, _) = try convert(c, precision: PrecisionPolicy())
        let tensors = try #require(json["tensors"] as? [String: [String: Any]])
        var ternary = 0
        for (name, e) in tensors {
            guard let g = e["gamma"] as? Double, let off = e["codes_offset"] as? Int, let n = e["count"] as? Int else { continue }
            ternary += 1
            let view = try file.tensor(name)
            #expect(view.info.dtype == .t2)
            #expect(view.ternaryValues() == values[off..<(off + n)].map { Int8($0) }, "\(name): codes")
            // γ = mean|W|: summation order may move the last bit (NumPy float64 mean vs ours).
            let got = Double(try #require(view.ternaryScale))
            #expect(abs(got - g) <= 2e-7 * g, "\(name): γ \(got) vs \(g)")
        }
        #expect(ternary == 9)
    }

    @Test("nanoGPT meta.pkl becomes a char tokenizer section in id order")
    func charTokenizer() throws {
        let (file, _) = try convert(FixtureCase.all[0], precision: PrecisionPolicy(), tokenizer: TestFiles.fixtures + "/nanogpt_tiny.meta.pkl")
        #expect(try file.metadata.string("tokenizer.kind") == "char")
        #expect(try file.metadata.strings("tokenizer.tokens") == ["\n", " ", "!", "d", "e", "h", "l", "o", "r", "w"])
        #expect(try file.metadata.string("tokenizer.unknown_policy") == "error")
    }

    @Test("precision policy: --dtype int8 quantizes linears only; rules override per tensor; embeddings stay F32")
    func precision() throws {
        let rules = [try TensorTypeRule(parsing: "blk.1.*=f16"), try TensorTypeRule(parsing: "token_embd=f16")]
        let (file, _) = try convert(FixtureCase.all[4], precision: PrecisionPolicy(linear: .i8, rules: rules))
        #expect(file.info("blk.0.attn_q")?.dtype == .i8)
        #expect(file.info("blk.0.attn_norm")?.dtype == .f32)
        #expect(file.info("blk.1.ffn_up")?.dtype == .f16)
        #expect(file.info("blk.1.attn_norm")?.dtype == .f16)
        #expect(file.info("token_embd")?.dtype == .f16)
        #expect(file.info("output")?.dtype == .f32)
        #expect(throws: ConvertError.self) { try TensorTypeRule(parsing: "blk.*=q4") }
        #expect(throws: ConvertError.self) { try TensorTypeRule(parsing: "=f32") }
    }

    @Test("an unmatched source tensor and a missing one are errors that name them")
    func unmatchedAndMissing() throws {
        let src = try CheckpointOpener.open(TestFiles.fixtures + "/llama2c_st.safetensors")
        var plan = try CheckpointMapper.plan(src)
        #expect(plan.layout == .llama2c)
        // Wrong forced layout: every needed tensor is missing.
        #expect(throws: ConvertError.self) { plan = try CheckpointMapper.plan(src, layout: .nanogpt) }
        // A safetensors file with one extra tensor.
        let dir = TestFiles.tempDir()
        var header = "{\"__metadata__\":{\"n_heads\":\"1\",\"max_seq_len\":\"4\"},"
        header += "\"tok_embeddings.weight\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
        header += "\"layers.0.attention.wq.weight\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[16,32]},"
        header += "\"layers.0.feed_forward.w1.weight\":{\"dtype\":\"F32\",\"shape\":[4,2],\"data_offsets\":[32,64]}}"
        var bytes = withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { Array($0) } + Array(header.utf8)
        bytes += [UInt8](repeating: 0, count: 64)
        TestFiles.write(bytes, to: dir + "/x.safetensors")
        let x = try CheckpointOpener.open(dir + "/x.safetensors")
        do {
            _ = try CheckpointMapper.plan(x)
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("lacks tensors"))
            #expect(error.description.contains("blk.0.attn_k"))
        }
        // A complete source plus one stray tensor: the stray one is named.
        let stray = SourceTensor(name: "stray.weight", shape: [1], dtype: .f32, bytes: src.tensors[0].bytes, storageID: "x")
        let extended = FakeSource(tensors: src.tensors + [stray], hyperParameters: src.hyperParameters)
        do {
            _ = try CheckpointMapper.plan(extended)
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("no rule maps: stray.weight"))
        }
    }
}

/// A checkpoint assembled in memory.
final class FakeSource: CheckpointSource {
    let tensors: [SourceTensor]
    let hyperParameters: [String: PickleValue]
    var path: String { "fake" }
    var container: String { "memory" }
    init(tensors: [SourceTensor], hyperParameters: [String: PickleValue]) {
        self.tensors = tensors
        self.hyperParameters = hyperParameters
    }
}
