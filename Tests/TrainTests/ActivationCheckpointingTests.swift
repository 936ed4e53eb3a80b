import Foundation
import Testing
@testable import BitGPTTrain
import BitGPT

@Suite("Activation checkpointing")
struct ActivationCheckpointingTests {
    static let models = [TinyModel(arch: .gpt2, bitLinear: false), TinyModel(arch: .gpt2, bitLinear: true),
                         TinyModel(arch: .llama, bitLinear: false, kvHeads: 1), TinyModel(arch: .llama, bitLinear: true),
                         TinyModel(arch: .gpt2, bitLinear: false, activation: .relu)]

    /// A model with larger-than-init weights and random ids, checkpointing or not.
    func make(_ t: TinyModel, checkpointing: Bool) -> TrainModel {
        var c = t.config
        c.nLayers = 3
        let m = TrainModel(config: c, batch: 2, seed: 5, activationCheckpointing: checkpointing)
        var rng = SeededRandom(seed: 6)
        for i in 0..<m.params.count { m.params.base[i] += rng.normal(std: 0.2) }
        for i in 0..<(2 * m.blockSize) {
            m.inputs[i] = Int32(rng.next() % 7)
            m.targets[i] = Int32(rng.next() % 7)
        }
        return m
    }

    @Test("recomputing blocks in backward gives bitwise the same loss and gradients, with fewer activation slots", arguments: models)
    func sameGradients(t: TinyModel) {
        let plain = make(t, checkpointing: false), ckpt = make(t, checkpointing: true)
        #expect(ckpt.acts.count < plain.acts.count)
        for m in [plain, ckpt] {
            m.zeroGrads()
            m.forward()
            m.backward(scale: 0.5)
            m.forward()  // accumulate a second micro-batch, as gradient accumulation does
            m.backward(scale: 0.5)
        }
        #expect(plain.forward().bitPattern == ckpt.forward().bitPattern)
        #expect(plain.grads.array(0, count: plain.grads.count).map(\.bitPattern) == ckpt.grads.array(0, count: ckpt.grads.count).map(\.bitPattern))
        #expect(plain.lastLogits.map(\.bitPattern) == ckpt.lastLogits.map(\.bitPattern))
    }

    @Test("a training run with --activation-checkpointing writes the same loss curve and weights")
    func sameRun() throws {
        let w = try Workspace()
        defer { w.cleanup() }
        _ = try Trainer(options: w.options("plain")).run()
        var o = w.options("ckpt")
        o.activationCheckpointing = true
        _ = try Trainer(options: o).run()
        let a = contents(w.dir.appendingPathComponent("plain/loss.csv").path)
        #expect(a.count > 100 && a == contents(w.dir.appendingPathComponent("ckpt/loss.csv").path))
        #expect(contents(w.dir.appendingPathComponent("plain/ckpt.safetensors").path) == contents(w.dir.appendingPathComponent("ckpt/ckpt.safetensors").path))
    }
}
