import Testing
@testable import BitGPTTrain
import BitGPT

/// A tiny configuration of a family for tests.
struct TinyModel: CustomStringConvertible, Sendable {
    var arch: Architecture
    var bitLinear: Bool
    var kvHeads = 2
    var activation: Activation? = nil
    var description: String { "\(arch.rawValue)\(bitLinear ? "+bitlinear" : "")\(activation.map { " \($0.rawValue)" } ?? "") kv\(kvHeads)" }

    var config: ModelConfig {
        var c = ModelConfig(architecture: arch, vocabSize: 7, contextLength: 4, dim: 8, nLayers: 2, nHeads: 2,
                            nKVHeads: arch == .llama ? kvHeads : 2, hiddenDim: 12)
        if let activation { c.activation = activation }
        c.bitLinear = bitLinear
        c.bitLinearNorm = bitLinear
        return c
    }

    func make(batch: Int = 2, seed: UInt64 = 11) -> TrainModel {
        let m = TrainModel(config: config, batch: batch, seed: seed, quantProbe: true)
        // Larger weights than the 0.02 init, so every gradient is well above rounding noise.
        var rng = SeededRandom(seed: seed + 1)
        for i in 0..<m.params.count { m.params.base[i] += rng.normal(std: 0.2) }
        for i in 0..<(batch * m.blockSize) {
            m.inputs[i] = Int32(rng.next() % 7)
            m.targets[i] = Int32(rng.next() % 7)
        }
        return m
    }
}

@Suite("Whole-model gradients")
struct ModelGradientTests {
    static let cases: [TinyModel] = [
        TinyModel(arch: .gpt2, bitLinear: false), TinyModel(arch: .gpt2, bitLinear: false, activation: .relu),
        TinyModel(arch: .llama, bitLinear: false, kvHeads: 1), TinyModel(arch: .llama, bitLinear: false, kvHeads: 2),
        TinyModel(arch: .gpt2, bitLinear: true), TinyModel(arch: .llama, bitLinear: true, kvHeads: 1),
    ]

    /// The sum of per-position losses of the last forward, in Double.
    func lossSum(_ m: TrainModel) -> Double {
        m.forward()
        let l = m.acts.at(m.losses)
        var s = 0.0
        for i in 0..<(m.batch * m.blockSize) { s += Double(l[i]) }
        return s
    }

    @Test("analytic gradient of every parameter matches central differences (BitLinear: of the STE surrogate)", arguments: cases)
    func wholeModel(_ tiny: TinyModel) {
        let m = tiny.make()
        let N = Double(m.batch * m.blockSize)
        if tiny.bitLinear { m.quantMode = .capture }
        m.zeroGrads()
        m.forward()
        m.backward()
        // For BitLinear the surrogate replaces Q(x) by x + (Q(x₀) − x₀): smooth, equal to the
        // quantized forward at x₀, and its exact gradient is the straight-through gradient.
        if tiny.bitLinear { m.quantMode = .frozen }
        let base = lossSum(m)
        let quantized = tiny.bitLinear ? { () -> Double in m.quantMode = .normal; defer { m.quantMode = .frozen }; return lossSum(m) }() : base
        #expect(abs(base - quantized) < 1e-4, "the surrogate must equal the quantized forward at the base point")
        let eps: Float = 2e-3
        var worst = 0.0, worstAt = ""
        for e in m.layout.entries {
            for i in 0..<e.count {
                let p = m.params.at(e.offset + i)
                let x = p.pointee
                p.pointee = x + eps
                let lp = lossSum(m)
                p.pointee = x - eps
                let lm = lossSum(m)
                p.pointee = x
                let numeric = (lp - lm) / Double(2 * eps) / N
                let analytic = Double(m.grads.base[e.offset + i])
                let err = abs(analytic - numeric) / max(1, abs(numeric))
                if err > worst { worst = err; worstAt = "\(e.name)[\(i)] analytic \(analytic) numeric \(numeric)" }
            }
        }
        print("gradient check \(tiny): max error \(worst)")
        #expect(worst < 3e-3, "max error \(worst) at \(worstAt)")
    }

    @Test("gradient accumulation with scale 1/k over k identical micro-batches equals one backward")
    func accumulation() {
        let m = TinyModel(arch: .llama, bitLinear: true).make()
        m.zeroGrads(); m.forward(); m.backward(scale: 1)
        let one = m.grads.array()
        m.zeroGrads()
        for _ in 0..<4 { m.forward(); m.backward(scale: 0.25) }
        let acc = m.grads.array()
        let diff = zip(one, acc).map { abs($0 - $1) / max(1, abs($0)) }.max() ?? 0
        #expect(diff < 1e-5, "max relative difference \(diff)")
    }
}
