import BitGPT
import Foundation
import TestSupport
import Testing
@testable import BitGPTConvert

/// The scale γ of float weights going to T2/T1 (issue 15, part 2): exactly ternary floats round-trip
/// with zero error through `lm-quantize` and `lm-convert`, float weights get the least-squares γ,
/// and only quantization-aware models keep BitNet's absmean.
@Suite("Ternary scale rules")
struct TernaryScaleTests {
    /// `n` values in {−a, 0, +a}, about a third of each, from `seed`.
    static func ternaryValues(_ n: Int, a: Float, seed: UInt64) -> [Float] {
        var rng = SeededRandom(seed: seed)
        return (0..<n).map { _ in
            let u = rng.normal(std: 1)
            return u > 0.43 ? a : (u < -0.43 ? -a : 0)
        }
    }

    /// Σ (w − γ·t)² in Double.
    static func squaredError(_ w: [Float], _ t: [Int8], _ gamma: Double) -> Double {
        zip(w, t).reduce(0.0) { s, p in let d = Double(p.0) - gamma * Double(p.1); return s + d * d }
    }

    @Test("exactly ternary floats: codes are the signs and γ is a, bit for bit", arguments: [Float(0.0123), 3.7e-3, 1, 1234.5, 1e-30])
    func exactFit(a: Float) {
        let w = Self.ternaryValues(999, a: a, seed: UInt64(a.bitPattern))
        let fit = TensorEncoder.ternarize(w, rule: .leastSquares)
        #expect(fit.exact && fit.label == "exact")
        #expect(fit.gamma == a)
        #expect(zip(w, fit.values).allSatisfy { $0 == Float($1) * a })
        // The absmean rule keeps the codes but scales them by mean|W| ≈ 2a/3: the bug of issue 15.
        let old = TensorEncoder.ternarize(w, rule: .absmean)
        if a > 1e-4 { #expect(old.values == fit.values && old.label == "absmean" && abs(old.gamma / a - 2.0 / 3) < 0.05) }
    }

    @Test("ternary up to float rounding (an ulp of noise) is still exact, to within the noise")
    func nearlyExact() {
        let a: Float = 0.02
        var w = Self.ternaryValues(500, a: a, seed: 3)
        for i in stride(from: 0, to: w.count, by: 3) where w[i] != 0 { w[i] = w[i].nextUp }
        let fit = TensorEncoder.ternarize(w, rule: .leastSquares)
        #expect(fit.exact)
        #expect(zip(w, fit.values).allSatisfy { abs($0 - Float($1) * fit.gamma) <= 2 * a.ulp })
        // Real float weights are not.
        #expect(!TensorEncoder.ternarize(normalValues(500, seed: 4), rule: .leastSquares).exact)
    }

    @Test("float weights: the least-squares γ beats absmean and is a minimum of the error for the codes")
    func leastSquares() {
        for seed in UInt64(1)...5 {
            let w = normalValues(4096, seed: seed)
            let ls = TensorEncoder.ternarize(w, rule: .leastSquares), am = TensorEncoder.ternarize(w, rule: .absmean)
            #expect(ls.values == am.values)
            // Independently: γ* = ⟨w, t⟩ / ⟨t, t⟩.
            let dot = zip(w, ls.values).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            let tt = ls.values.reduce(0.0) { $0 + Double($1) * Double($1) }
            #expect(abs(Double(ls.gamma) - dot / tt) <= 1e-6 * dot / tt)
            let e = Self.squaredError(w, ls.values, Double(ls.gamma))
            #expect(e < Self.squaredError(w, am.values, Double(am.gamma)))
            #expect(e < Self.squaredError(w, ls.values, Double(ls.gamma) * 1.01))
            #expect(e < Self.squaredError(w, ls.values, Double(ls.gamma) * 0.99))
        }
    }

    /// A random model of `arch` whose linear weights are exactly ternary floats (random T2, dequantized to F32).
    func exactlyTernaryModel(_ arch: Architecture = .llama) throws -> String {
        let dir = TestFiles.tempDir()
        let c = ModelConfig(architecture: arch, vocabSize: 256, contextLength: 32, dim: 32, nLayers: 2, nHeads: 2)
        try RandomModel.write(config: c, to: dir + "/t2src.bgpt", linearType: .t2, seed: 15, extra: RandomModel.byteTokenizer, std: 0.5)
        _ = try Quantizer.quantize(input: dir + "/t2src.bgpt", output: dir + "/f32.bgpt", to: .f32)
        return dir + "/f32.bgpt"
    }

    @Test("lm-quantize: exactly ternary F32 → T2 and T1 with zero error, and the logits agree", arguments: [DType.t2, .t1])
    func quantizeExact(to dtype: DType) throws {
        let src = try exactlyTernaryModel()
        let out = TestFiles.tempDir() + "/q.bgpt"
        let r = try Quantizer.quantize(input: src, output: out, to: dtype)
        let ternaryRows = r.rows.filter { $0.to == dtype }
        #expect(ternaryRows.count == 14)
        for row in r.rows { #expect(row.error.maxAbs == 0, "\(row.name)") }
        for row in ternaryRows {
            #expect(row.scaleRule == "exact", "\(row.name)")
            #expect(row.ruleErrors.map { $0.rule } == [.absmean, .leastSquares])
            #expect(row.ruleErrors[1].error.rmse == 0 && row.ruleErrors[0].error.rmse > 0)
        }
        #expect(r.text().contains("exact") && r.text().contains("rmse absmean"))
        let a = try BGPTFile(path: src), b = try BGPTFile(path: out)
        #expect(!ModelDiff(a, b).exceeds(tolerance: 0))
        // The runtime quantizes activations to int8 for T2/T1 weights (not for F32), so logits move
        // a little (the weights do not); top-1 must not.
        let cmp = try ModelDiff.compareLogits(a, b, prompt: "the cat sat on the mat")
        #expect(cmp.rows == 22 && cmp.top1Agree == cmp.rows)
        #expect(cmp.meanKL < 0.01)
    }

    @Test("a BitLinear (quantization-aware) model keeps the absmean γ it was trained with; already-ternary weights stay exact; --ternary-scale forces")
    func quantizationAware() throws {
        let dir = TestFiles.tempDir()
        let c = ModelConfig(architecture: .bitgpt, vocabSize: 256, contextLength: 32, dim: 32, nLayers: 2, nHeads: 2)
        try RandomModel.write(config: c, to: dir + "/latent.bgpt", linearType: .f32, seed: 15, extra: RandomModel.byteTokenizer, std: 0.5)
        let r = try Quantizer.quantize(input: dir + "/latent.bgpt", output: dir + "/am.bgpt", to: .t2)
        let linear = r.rows.filter { $0.to == .t2 }
        #expect(!linear.isEmpty && linear.allSatisfy { $0.scaleRule == "absmean" && $0.error == $0.ruleErrors[0].error })
        let file = try BGPTFile(path: dir + "/latent.bgpt"), written = try BGPTFile(path: dir + "/am.bgpt")
        for row in linear {
            let w = try file.tensor(row.name).dequantized()
            let mean = Float(w.reduce(0.0) { $0 + Double(abs($1)) } / Double(w.count))
            // BitGPT's γ is 1 / s with s = 1 / mean|W|, rounded twice as BitLinear computes it.
            #expect(try written.tensor(row.name).ternaryScale == 1 / (1 / mean), "\(row.name)")
        }
        withExtendedLifetime(file) {}
        withExtendedLifetime(written) {}
        // Weights that already are ternary (a BitLinear model's T2, dequantized): exact, not absmean again.
        let exact = try exactlyTernaryModel(.bitgpt)
        let e = try Quantizer.quantize(input: exact, output: nil, to: .t2)
        #expect(e.rows.filter { $0.to == .t2 }.allSatisfy { $0.scaleRule == "exact" && $0.error.maxAbs == 0 })
        let forced = try Quantizer.quantize(input: exact, output: nil, to: .t2, ternaryScale: .absmean)
        #expect(forced.rows.filter { $0.to == .t2 }.allSatisfy { $0.scaleRule == "absmean" && $0.error.maxAbs > 0 })
        let lsq = try Quantizer.quantize(input: dir + "/latent.bgpt", output: nil, to: .t2, ternaryScale: .leastSquares)
        #expect(lsq.rows.filter { $0.to == .t2 }.allSatisfy { $0.scaleRule == "lsq" && $0.error.rmse < $0.ruleErrors[0].error.rmse })
    }

    /// A llama2.c v0 `.bin` (dim 32, hidden 64, 2 layers, 2 heads, vocab 256, shared classifier)
    /// whose matrices are exactly ternary, with a per-tensor magnitude.
    func llama2cBin() -> String {
        let D = 32, V = 256
        var seed: UInt64 = 100
        var rng = SeededRandom(seed: 7)
        let embedding = (0..<(V * D)).map { _ in rng.normal(std: 1) }
        let bytes = Llama2cBinWriter.v0(dim: D, hidden: 64, layers: 2, heads: 2, kvHeads: 2, vocab: V, seqLen: 32, embedding: embedding) { n in
            seed += 1
            return Self.ternaryValues(n, a: 0.01 * Float(seed - 99), seed: seed)
        }
        let path = TestFiles.tempDir() + "/tern.bin"
        TestFiles.write(bytes, to: path)
        return path
    }

    @Test("lm-convert --dtype ternary|t1: exactly ternary llama2.c floats convert with zero error, and the logits agree", arguments: [DType.t2, .t1])
    func convertExact(to dtype: DType) throws {
        let bin = llama2cBin()
        let dir = TestFiles.tempDir()
        try RandomModel.write(config: ModelConfig(architecture: .llama, vocabSize: 256, contextLength: 16, dim: 16, nLayers: 1, nHeads: 2),
                              to: dir + "/tok.bgpt", linearType: .f32, seed: 1, extra: RandomModel.byteTokenizer)
        var o = Converter.Options()
        o.tokenizer = dir + "/tok.bgpt"
        o.precision = PrecisionPolicy(linear: .f32)
        _ = try Converter.convert(input: bin, output: dir + "/f.bgpt", options: o)
        o.precision = PrecisionPolicy(linear: dtype)
        let s = try Converter.convert(input: bin, output: dir + "/t.bgpt", options: o)
        #expect(s.notes.contains("ternary scales of float weights: 14 exact (already ternary)"))
        let a = try BGPTFile(path: dir + "/f.bgpt"), b = try BGPTFile(path: dir + "/t.bgpt")
        let d = ModelDiff(a, b)
        #expect(d.tensors.filter { $0.dtypeB == dtype }.count == 14)
        #expect(!d.exceeds(tolerance: 0))
        let cmp = try ModelDiff.compareLogits(a, b, prompt: "the cat sat on the mat")
        #expect(cmp.rows == 22 && cmp.top1Agree == cmp.rows)
        // absmean, forced, is the old behaviour: relative error 1/3 on every linear tensor.
        o.precision = PrecisionPolicy(linear: dtype, ternaryScale: .absmean)
        _ = try Converter.convert(input: bin, output: dir + "/old.bgpt", options: o)
        let old = ModelDiff(a, try BGPTFile(path: dir + "/old.bgpt"))
        for t in old.tensors where t.dtypeB == dtype { #expect(abs((t.error?.relativeRMS ?? 0) - 0.333) < 0.05, "\(t.name)") }
    }
}

/// N(0, 1) values from `seed`.
func normalValues(_ n: Int, seed: UInt64) -> [Float] {
    var rng = SeededRandom(seed: seed)
    return (0..<n).map { _ in rng.normal(std: 1) }
}
