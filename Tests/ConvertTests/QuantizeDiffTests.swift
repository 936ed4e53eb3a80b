import BitGPT
import Foundation
import Testing
@testable import BitGPTConvert

/// `lm-quantize` and `lm-diff` library code.
@Suite("Quantize and diff")
struct QuantizeDiffTests {
    /// A converted F32 llama fixture in a fresh directory.
    func model() throws -> String {
        let out = TestFiles.tempDir() + "/m.bgpt"
        var o = Converter.Options()
        o.precision = PrecisionPolicy(linear: .f32)
        _ = try Converter.convert(input: TestFiles.fixtures + "/llama2c_tiny.pt", output: out, options: o)
        return out
    }

    @Test("int8 quantizes linears only, with errors matching an independent re-decode")
    func int8() throws {
        let src = try model()
        let out = TestFiles.tempDir() + "/q.bgpt"
        let r = try Quantizer.quantize(input: src, output: out, to: .i8)
        let a = try BGPTFile(path: src), b = try BGPTFile(path: out)
        try ModelConfig(metadata: b.metadata).checkTensors(in: b)
        try b.verify()
        for row in r.rows {
            let ta = try a.tensor(row.name), tb = try b.tensor(row.name)
            let linear = row.name.hasPrefix("blk.") && !row.name.hasSuffix("norm")
            #expect(tb.info.dtype == (linear ? .i8 : .f32), "\(row.name)")
            let e = TensorError(ta.dequantized(), tb.dequantized())
            #expect(e == row.error, "\(row.name)")
            #expect(row.bytesAfter == Int(tb.info.byteSize))
            // int8 per-row error is at most half a step: max|row| / 254.
            if linear { #expect(row.error.maxAbs > 0 && row.error.maxAbs <= Double(ta.dequantized().map { abs($0) }.max() ?? 0) / 254 * 1.0001) }
        }
        #expect(r.bytesAfter < r.bytesBefore)
    }

    @Test("--dry-run writes nothing; rules override the target")
    func dryRunAndRules() throws {
        let src = try model()
        let out = TestFiles.tempDir() + "/never.bgpt"
        _ = out
        let r = try Quantizer.quantize(input: src, output: nil, to: .t2, rules: [try TensorTypeRule(parsing: "blk.0.*=f16")])
        #expect(!r.written)
        #expect(r.rows.first { $0.name == "blk.0.attn_q" }?.to == .f16)
        #expect(r.rows.first { $0.name == "blk.1.attn_q" }?.to == .t2)
        #expect(r.rows.first { $0.name == "token_embd" }?.to == .f32)
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test("T2 → T1 repacks BitGPT codes and γ exactly (zero error)")
    func ternaryRepack() throws {
        let src = TestFiles.tempDir() + "/b.bgpt"
        _ = try Converter.convert(input: TestFiles.fixtures + "/bitgpt_tiny.pt", output: src)
        let out = TestFiles.tempDir() + "/b1.bgpt"
        let r = try Quantizer.quantize(input: src, output: out, to: .t1)
        #expect(r.rows.filter { $0.to == .t1 }.count == 18)
        #expect(r.rows.allSatisfy { $0.error.maxAbs == 0 })
        let d = ModelDiff(try BGPTFile(path: src), try BGPTFile(path: out))
        #expect(!d.exceeds(tolerance: 0))
    }

    @Test("diff reports metadata, tensor-set and value differences, and the tolerance decides")
    func diff() throws {
        let src = try model()
        let q = TestFiles.tempDir() + "/q.bgpt"
        _ = try Quantizer.quantize(input: src, output: q, to: .i8)
        let a = try BGPTFile(path: src), b = try BGPTFile(path: q)
        let d = ModelDiff(a, b)
        #expect(d.metadata.map { $0.key } == ["general.converter"])
        #expect(d.onlyInA.isEmpty && d.onlyInB.isEmpty)
        let worst = d.tensors.compactMap { $0.error?.maxAbs }.max() ?? 0
        #expect(worst > 0)
        #expect(d.exceeds(tolerance: worst / 2))
        #expect(!d.exceeds(tolerance: worst))
        let same = ModelDiff(a, a)
        #expect(same.metadata.isEmpty && !same.exceeds(tolerance: 0))
        #expect(same.tensors.allSatisfy { $0.error?.cosine == 1 && $0.error?.relativeRMS == 0 })
        // Different models: tensor sets and shapes differ.
        let other = TestFiles.tempDir() + "/n.bgpt"
        _ = try Converter.convert(input: TestFiles.fixtures + "/nanogpt_tiny.pt", output: other)
        let x = ModelDiff(a, try BGPTFile(path: other))
        #expect(x.onlyInA.contains("blk.0.attn_q") && x.onlyInB.contains("pos_embd"))
        #expect(x.structureDiffers && x.exceeds(tolerance: 1e9))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(x.json().utf8)) as? [String: Any])
        #expect(json["schema"] as? String == "bitgpt.diff/1")
    }

    @Test("prompt logits: a model equals itself, and its int8 requantization is close but not equal")
    func promptLogits() throws {
        let dir = TestFiles.tempDir()
        let a = dir + "/a.bgpt", b = dir + "/b.bgpt"
        var o = Converter.Options()
        o.tokenizer = TestFiles.fixtures + "/nanogpt_tiny.meta.pkl"
        _ = try Converter.convert(input: TestFiles.fixtures + "/nanogpt_tiny.pt", output: a, options: o)
        o.precision = PrecisionPolicy(linear: .i8)
        _ = try Converter.convert(input: TestFiles.fixtures + "/nanogpt_tiny.pt", output: b, options: o)
        let fa = try BGPTFile(path: a), fb = try BGPTFile(path: b)
        let vocab = try ModelConfig(metadata: fa.metadata).vocabSize
        let text = try TokenizerFactory.make(metadata: fa.metadata, vocabSize: vocab).decode([1, 2, 3, 1, 2])
        let same = try ModelDiff.compareLogits(fa, fa, prompt: text)
        #expect(same.rows == 5 && same.error.maxAbs == 0 && same.meanKL == 0 && same.top1Agree == 5)
        let q = try ModelDiff.compareLogits(fa, fb, prompt: text)
        #expect(q.rows == 5 && q.error.maxAbs > 0 && q.meanKL > 0 && q.meanKL < 0.1)
    }

    @Test("TensorError: known values")
    func tensorError() {
        let e = TensorError([3, 4], [3, 0])
        #expect(e.maxAbs == 4)
        #expect(e.rmse == (8.0).squareRoot())
        #expect(e.relativeRMS == 0.8)
        #expect(e.cosine == 0.6)
        #expect(TensorError([0, 0], [0, 0]).cosine == 1)
    }
}
