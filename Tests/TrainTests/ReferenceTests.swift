import Foundation
import Testing
import TestSupport
@testable import BitGPTTrain
import BitGPT

/// Runs `tools/train_reference.py` (python3 with numpy: ``numpy``).
enum NumPyReference {
    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("tools/train_reference.py").path
    }

    /// python3 with numpy.
    static let numpy = Requirement("python3 with numpy (pip install -r tools/requirements.txt)", isMet: Requirement.python(["numpy"]))

    static func run(_ args: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", script] + args
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw TrainError.io(path: script, reason: "exit \(p.terminationStatus)") }
    }

    static func write(_ a: [Float], _ dir: URL, _ name: String) throws {
        try a.withUnsafeBytes { Data($0) }.write(to: dir.appendingPathComponent(name + ".f32"))
    }

    static func read(_ dir: URL, _ name: String) throws -> [Float] {
        let d = try Data(contentsOf: dir.appendingPathComponent(name + ".f32"))
        return d.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    static func tempDir() throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("bgpt-train-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }
}

func maxRelDiff(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    return zip(a, b).map { abs($0 - $1) / max(1e-3, abs($1)) }.max() ?? 0
}

@Suite("NumPy references")
struct ReferenceTests {
    @Test("BitLinear forward and straight-through backward match the NumPy reference", .requires(NumPyReference.numpy), arguments: [true, false])
    func bitLinear(norm: Bool) throws {
        try NumPyReference.numpy.check()
        let n = 5, i = 16, o = 6
        var config = ModelConfig(architecture: .llama, vocabSize: 4, contextLength: n, dim: i, nLayers: 1, nHeads: 1, hiddenDim: o)
        config.bitLinear = true
        config.bitLinearNorm = norm
        let m = TrainModel(config: config, batch: 1, seed: 3)
        var rng = SeededRandom(seed: 21)
        let x = GradientCheck.random(n * i, &rng), dout = GradientCheck.random(n * o, &rng)
        let name = "blk.0.ffn_up"
        let e = try #require(m.layout.entry(name))
        for k in 0..<e.count { m.params.base[e.offset + k] = rng.normal(std: 0.05) }
        let g = (0..<i).map { _ in 1 + rng.normal(std: 0.2) }
        if norm { m.params.set(g, at: try #require(m.layout.entry(name + ".norm")).offset) }
        let layer = m.blocks[0].lup
        m.quantizeWeights()
        m.zeroGrads()
        let out = withBuffers([x, [Float](repeating: 0, count: n * o), dout, [Float](repeating: 0, count: n * i)]) { p in
            layer.forward(p[1], p[0], n: n, model: m)
            layer.backward(p[3], p[2], p[0], n: n, model: m)
        }
        let dir = try NumPyReference.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        try NumPyReference.write(x, dir, "x")
        try NumPyReference.write(m.params.array(e.offset, count: e.count), dir, "w")
        try NumPyReference.write(g, dir, "g")
        try NumPyReference.write(dout, dir, "dout")
        try NumPyReference.run(["bitlinear", dir.path, "\(n)", "\(i)", "\(o)", norm ? "1" : "0"])
        #expect(maxRelDiff(out[1], try NumPyReference.read(dir, "y")) < 1e-4)
        #expect(maxRelDiff(out[3], try NumPyReference.read(dir, "dx")) < 1e-4)
        #expect(maxRelDiff(m.grads.array(e.offset, count: e.count), try NumPyReference.read(dir, "dw")) < 1e-4)
        if norm {
            let ge = try #require(m.layout.entry(name + ".norm"))
            #expect(maxRelDiff(m.grads.array(ge.offset, count: ge.count), try NumPyReference.read(dir, "dg")) < 1e-4)
        }
    }

    @Test("gradient clipping plus one AdamW step matches the NumPy reference (PyTorch AdamW semantics)", .requires(NumPyReference.numpy), arguments: [0, 0.5])
    func adamW(clip: Float) throws {
        try NumPyReference.numpy.check()
        let config = TinyModel(arch: .gpt2, bitLinear: false).config
        let m = TrainModel(config: config, batch: 1, seed: 5)
        let opt = AdamW(layout: m.layout, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1)
        var rng = SeededRandom(seed: 8)
        let n = m.layout.count
        let g = GradientCheck.random(n, &rng, std: 0.1)
        for i in 0..<n { opt.m.base[i] = rng.normal(std: 0.01); opt.v.base[i] = abs(rng.normal(std: 0.001)) }
        opt.t = 6
        let p0 = m.params.array(), m0 = opt.m.array(), v0 = opt.v.array()
        var mask = [Float](repeating: 0, count: n)
        for e in m.layout.entries where e.decays { for k in 0..<e.count { mask[e.offset + k] = 1 } }
        m.grads.set(g)
        clipGradients(m.grads.base, count: n, maxNorm: clip)
        opt.step(params: m.params.base, grads: m.grads.base, lr: 3e-3)
        let dir = try NumPyReference.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        for (a, k) in [(p0, "p"), (g, "g"), (m0, "m"), (v0, "v"), (mask, "mask")] { try NumPyReference.write(a, dir, k) }
        try NumPyReference.run(["adamw", dir.path, "\(n)", "7", "3e-3", "0.9", "0.99", "1e-8", "0.1", "\(clip)"])
        #expect(maxRelDiff(m.params.array(), try NumPyReference.read(dir, "p2")) < 1e-5)
        #expect(maxRelDiff(opt.m.array(), try NumPyReference.read(dir, "m2")) < 1e-5)
        #expect(maxRelDiff(opt.v.array(), try NumPyReference.read(dir, "v2")) < 1e-5)
        #expect(!mask.allSatisfy { $0 == 1 } && mask.contains(1), "the model has decaying and non-decaying tensors")
    }

    @Test("nanoGPT learning-rate schedule: warmup, cosine, floor")
    func schedule() {
        let s = LearningRateSchedule(lr: 1e-3, minLR: 1e-4, warmupIters: 100, decayIters: 2000)
        #expect(s.rate(0) == 1e-3 * 1 / 101)
        #expect(s.rate(99) == 1e-3 * 100 / 101)
        #expect(abs(s.rate(100) - 1e-3) < 1e-9)
        #expect(abs(s.rate(1050) - 5.5e-4) < 1e-7)
        #expect(s.rate(2001) == 1e-4)
        #expect(LearningRateSchedule(lr: 1e-3, minLR: 1e-4, warmupIters: 100, decayIters: 2000, decay: false).rate(5) == 1e-3)
    }
}
