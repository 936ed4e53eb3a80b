import Foundation
import Testing
@testable import BitGPTTrain
import BitGPT
import BitGPTConvert
import TestSupport

/// LoRA training (issue 18): the op, its place in the model, the frozen base and the adapter file.
@Suite("LoRA training", .serialized)
struct LoRATests {
    @Test("loraForward/loraBackward: analytic gradients of x, A and B match central differences (seeded)")
    func opGradient() {
        var rng = SeededRandom(seed: 5)
        let n = 3, inF = 5, outF = 4, r = 2
        let scale: Float = 1.5
        let inputs = [GradientCheck.random(n * inF, &rng), GradientCheck.random(r * inF, &rng), GradientCheck.random(outF * r, &rng)]
        let res = GradientCheck.check(inputs, forward: { x in
            withBuffers([x[0], x[1], x[2], [Float](repeating: 0, count: n * outF), [Float](repeating: 0, count: n * r)]) { p in
                loraForward(p[3], p[4], p[0], p[1], p[2], scale: scale, n: n, inFeatures: inF, outFeatures: outF, rank: r)
            }[3]
        }, backward: { x, dout in
            let h = withBuffers([x[0], x[1], x[2], [Float](repeating: 0, count: n * outF), [Float](repeating: 0, count: n * r)]) { p in
                loraForward(p[3], p[4], p[0], p[1], p[2], scale: scale, n: n, inFeatures: inF, outFeatures: outF, rank: r)
            }[4]
            let g = withBuffers([[Float](repeating: 0, count: n * inF), [Float](repeating: 0, count: r * inF),
                                 [Float](repeating: 0, count: outF * r), [Float](repeating: 0, count: n * r),
                                 dout, h, x[0], x[1], x[2]]) { p in
                loraBackward(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], scale: scale,
                             n: n, inFeatures: inF, outFeatures: outF, rank: r)
            }
            return [g[0], g[1], g[2]]
        })
        #expect(res.maxError < 2e-3, "\(res)")
    }

    static func settings(_ targets: String, rank: Int = 2) -> LoRAWeights.Settings {
        try! LoRAWeights.Settings(rank: rank, alpha: 3, targets: targets)
    }

    @Test("in a whole float model, the adapters' gradients match central differences; the base has no gradient buffer",
          arguments: [(Architecture.gpt2, "q,o,up,down"), (.llama, "q,k,v,o,gate,up,down")])
    func wholeModel(arch: Architecture, targets: String) {
        let tiny = TinyModel(arch: arch, bitLinear: false, kvHeads: 1)
        let m = TrainModel(config: tiny.config, batch: 2, seed: 11, lora: Self.settings(targets))
        var rng = SeededRandom(seed: 12)
        for i in 0..<m.params.count { m.params.base[i] += rng.normal(std: 0.2) }
        let lora = m.lora!
        // B starts at 0; a non-zero B gives A a gradient too.
        for i in 0..<lora.params.count { lora.params.base[i] += rng.normal(std: 0.3) }
        for i in 0..<(m.batch * m.blockSize) { m.inputs[i] = Int32(rng.next() % 7); m.targets[i] = Int32(rng.next() % 7) }
        #expect(m.grads.count == 0 && m.qweights.count == 0)
        #expect(lora.adapters.count == 2 * (arch == .gpt2 ? 4 : 7))
        m.zeroGrads()
        m.forward()
        m.backward()
        let analytic = lora.grads.array()
        func loss() -> Double {
            m.forward()
            let l = m.acts.at(m.losses)
            var s = 0.0
            for i in 0..<(m.batch * m.blockSize) { s += Double(l[i]) }
            return s / Double(m.batch * m.blockSize)
        }
        var worst = 0.0
        let eps: Float = 1e-2
        for i in 0..<lora.params.count {
            let p = lora.params.base[i]
            lora.params.base[i] = p + eps; let lp = loss()
            lora.params.base[i] = p - eps; let lm = loss()
            lora.params.base[i] = p
            let numeric = (lp - lm) / Double(2 * eps)
            worst = max(worst, abs(numeric - Double(analytic[i])) / max(1, abs(numeric)))
        }
        #expect(worst < 2e-3, "max error \(worst)")
    }

    @Test("settings: canonical target order, one-line refusals of unknown targets, bad rank or alpha, gate on gpt2, bitgpt")
    func settingsRefusals() throws {
        #expect(try LoRAWeights.Settings(rank: 8, alpha: 16, targets: "o,q,v").targetList == "q,v,o")
        #expect(throws: TrainError.badOption("--lora-targets: unknown LoRA target \"qkv\" (known: q,k,v,o,gate,up,down)")) {
            try LoRAWeights.Settings(rank: 8, alpha: 16, targets: "q,qkv")
        }
        let gpt = TinyModel(arch: .gpt2, bitLinear: false).config, llama = TinyModel(arch: .llama, bitLinear: false).config
        #expect(Self.settings("q", rank: 0).problem(for: llama) == "--lora-rank must be in 1...4096, got 0")
        #expect(try LoRAWeights.Settings(rank: 2, alpha: 0, targets: "q").problem(for: llama) == "--lora-alpha must be finite and positive, got 0.0")
        #expect(Self.settings("gate").problem(for: gpt) == "--lora-targets: gpt2 models have no gate projection")
        #expect(Self.settings("gate").problem(for: llama) == nil)
        var bitgpt = llama
        bitgpt.architecture = .bitgpt
        #expect(Self.settings("q").problem(for: bitgpt) == "LoRA adapters on bitgpt models (per-head q/k/v BitLinears) are not supported in this version")
    }

    /// A tiny ternary llama exported by a short run: the base of the in-process LoRA tests.
    static func ternaryBase(_ w: Workspace) throws -> String {
        let s = try Trainer(options: w.options("base", arch: .llama, bitLinear: true, iters: 4)).run()
        return s.export
    }

    /// LoRA options on `base` into `DIR/name`.
    static func loraOptions(_ w: Workspace, base: String, name: String, iters: Int) -> TrainOptions {
        var o = TrainOptions(data: w.text)
        o.out = w.dir.appendingPathComponent(name).path
        o.initFrom = base
        o.lora = settings("q,k,v,o,gate,up,down", rank: 4)
        o.blockSize = 8; o.batchSize = 4
        o.maxIters = iters; o.warmupIters = 1; o.lr = 1e-2; o.minLR = 1e-3
        o.evalInterval = max(iters, 1); o.evalIters = 4
        return o
    }

    @Test("a ternary base stays as stored (t·γ, not re-ternarized): with B = 0 the trainer's eval logits are the runtime's bit for bit, and training never changes it")
    func frozenTernaryBase() throws {
        let w = try Workspace()
        defer { w.cleanup() }
        let base = try Self.ternaryBase(w)
        let before = contents(base)
        let trainer = try Trainer(options: Self.loraOptions(w, base: base, name: "lora0", iters: 0))
        let m = trainer.model
        let file = try BGPTFile(path: base)
        let net = try Transformer(file: file)
        let vocab = net.config.vocabSize
        let tokens = (0..<8).map { ($0 * 7 + 3) % vocab }
        let expected = try m.logits(tokens: tokens)
        let got = try runtimeLogits(net, tokens)
        // The eval forward computes with the runtime's products (TrainModel.Arithmetic.runtime).
        #expect(got == expected, "max |Δlogit| \(zip(got, expected).map { abs($0 - $1) }.max() ?? .infinity)")

        // Train: the base values stay the file's, bit for bit; the loss on the text falls.
        var vals: [Float] = []
        let t = try Trainer(options: Self.loraOptions(w, base: base, name: "lora", iters: 12))
        let s = try t.run(onEval: { _, _, v in vals.append(v) })
        for info in file.tensors {
            guard let e = t.model.layout.entry(info.name) else { Issue.record("\(info.name) not in the layout"); continue }
            #expect(t.model.params.array(e.offset, count: e.count) == file.view(info).dequantized(), "\(info.name)")
        }
        #expect(contents(base) == before, "the base file is untouched")
        #expect(vals.count == 2 && vals[1] < vals[0], "\(vals)")
        #expect(s.export == w.dir.appendingPathComponent("lora/adapter.safetensors").path)
        #expect(t.optimizer.m.count == t.model.lora!.layout.count, "AdamW state for the adapters only")

        // The file: only lora_A / lora_B under PEFT's names, and the contract's metadata.
        let a = try Safetensors.read(path: s.export)
        #expect(a.tensors.count == 2 * 2 * 7)
        #expect(a.tensors.keys.allSatisfy { $0.hasPrefix("base_model.model.model.layers.") && ($0.hasSuffix(".lora_A.weight") || $0.hasSuffix(".lora_B.weight")) })
        #expect(a.tensors["base_model.model.model.layers.1.mlp.gate_proj.lora_B.weight"]?.shape == [t.model.config.hiddenDim, 4])
        #expect(a.tensors["base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"]?.shape == [4, 16])
        let md = a.metadata
        #expect(md["format"] == "bitgpt-lora" && md["format_version"] == "1" && md["rank"] == "4" && md["alpha"] == "3")
        #expect(md["targets"] == "q,k,v,o,gate,up,down" && md["architecture"] == "llama" && md["n_layers"] == "2")
        #expect(md["peft_type"] == "LORA" && md["r"] == "4" && md["lora_alpha"] == "3")
        #expect(md["target_modules"] == "[\"q_proj\",\"k_proj\",\"v_proj\",\"o_proj\",\"gate_proj\",\"up_proj\",\"down_proj\"]")
        // The fingerprint of the values the trainer uses is the runtime's of the .bgpt.
        #expect(t.baseFingerprint == (try LoRABase.fingerprint(of: file)))
        #expect(md["base_fingerprint"] == LoRAAdapter.hex(try LoRABase.fingerprint(of: file)))
        #expect(!FileManager.default.fileExists(atPath: w.dir.appendingPathComponent("lora/ckpt.safetensors").path))
        #expect(!FileManager.default.fileExists(atPath: w.dir.appendingPathComponent("lora/model.bgpt").path))
    }

    @Test("parity: the runtime with the adapter file loaded gives the trainer's eval logits with that adapter, bit for bit",
          arguments: [(Architecture.llama, true), (.gpt2, false)])
    func runtimeParity(arch: Architecture, bitLinear: Bool) throws {
        let w = try Workspace()
        defer { w.cleanup() }
        // The runtime applies adapters to BitLinears without their own input norm (LoRAAdapter.check).
        var baseOptions = w.options("base", arch: arch, bitLinear: bitLinear, iters: 4)
        baseOptions.bitLinearNorm = false
        let base = try Trainer(options: baseOptions).run().export
        var o = Self.loraOptions(w, base: base, name: "lora", iters: 10)
        o.lora = Self.settings(arch == .gpt2 ? "q,o,up,down" : "q,k,v,o,gate,up,down", rank: 4)
        let trainer = try Trainer(options: o)
        let s = try trainer.run()
        let m = trainer.model
        let file = try BGPTFile(path: base)
        let net = try Transformer(file: file)
        let adapter = try LoRAAdapterFile.read(path: s.export, config: net.config, fingerprint: try LoRABase.fingerprint(of: file))
        // The adapter has moved away from B = 0, so the comparison tests the LoRA path.
        #expect(adapter.layers.contains { $0.b.contains { $0 != 0 } })
        try net.addAdapter(adapter)
        let vocab = net.config.vocabSize
        let tokens = (0..<8).map { ($0 * 7 + 3) % vocab }
        let expected = try m.logits(tokens: tokens)
        let got = try runtimeLogits(net, tokens)
        // The eval forward applies the adapter with the runtime's LoRAUpdate: the same bits.
        let maxDiff = zip(got, expected).map { abs($0 - $1) }.max() ?? .infinity
        #expect(got == expected, "max |Δlogit| \(maxDiff)")
        print("LoRA trainer vs runtime \(arch.rawValue) bitlinear=\(bitLinear): max |Δlogit| \(maxDiff)")
    }

    @Test("--resume of a LoRA run (adapters and their AdamW state only) gives the adapter of a straight run, bit for bit")
    func resume() throws {
        let w = try Workspace()
        defer { w.cleanup() }
        let base = try Self.ternaryBase(w)
        var straight = Self.loraOptions(w, base: base, name: "straight", iters: 6)
        straight.lrDecayIters = 6; straight.evalInterval = 3
        _ = try Trainer(options: straight).run()
        var first = straight
        first.out = w.dir.appendingPathComponent("resumed").path
        first.maxIters = 3
        _ = try Trainer(options: first).run()
        var second = first
        second.maxIters = 6; second.resume = true; second.initFrom = nil; second.lora = nil
        let t = try Trainer(options: second)
        #expect(t.startIteration == 3 && t.model.lora?.settings.rank == 4)
        _ = try t.run()
        let a = try Safetensors.read(path: straight.out + "/adapter.safetensors"), b = try Safetensors.read(path: second.out + "/adapter.safetensors")
        #expect(a.tensors.count == b.tensors.count && a.tensors.allSatisfy { b.tensors[$0.key]?.values == $0.value.values })
        // A base that changed since (another model of the same shape at its path) is refused.
        var otherBase = w.options("base2", arch: .llama, bitLinear: true, iters: 4)
        otherBase.seed = 8
        let replacement = try Trainer(options: otherBase).run().export
        try contents(replacement).write(to: URL(fileURLWithPath: base))
        var other = second
        other.maxIters = 7
        #expect(throws: TrainError.badCheckpoint(path: second.out + "/adapter.safetensors",
                                                 reason: "its base \(base) has changed since the adapter was trained (fingerprint)")) {
            _ = try Trainer(options: other)
        }
    }

    @Test("LoRA on the shipped bpe llama (T2): its bpe tokenizer is carried over as OUT/tokenizer.json, and the loss on other text falls")
    func shippedBPEModel() throws {
        let lm = try LiveRun.lmTrain()
        let model = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("models/shakespeare-bpe-llama-t2.bgpt").path
        let w = try Workspace()
        defer { w.cleanup() }
        let text = try InitFromTests.text(w)
        let out = w.dir.appendingPathComponent("lora").path
        let r = try ToolRunner.run(lm, ["--data", text, "--out", out, "--init-from", model, "--lora-rank", "4", "--max-iters", "6",
                                        "--batch-size", "2", "--eval-interval", "6", "--eval-iters", "2", "--warmup-iters", "1", "--lr", "1e-2"])
        #expect(r.status == 0, "\(r.stderr)")
        let v = InitFromTests.valLosses(r.stdout)
        #expect(v.count == 2 && v[1] < v[0], "\(v)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: out).sorted() == ["adapter.optim.safetensors", "adapter.safetensors", "loss.csv", "loss.svg", "tokenizer.json"])
        let a = try Safetensors.read(path: out + "/adapter.safetensors")
        #expect(a.metadata["architecture"] == "llama" && a.metadata["targets"] == "q,k,v,o" && a.tensors.count == 2 * 4 * 4)
        #expect(a.metadata["base_fingerprint"] == LoRAAdapter.hex(try LoRABase.fingerprint(of: BGPTFile(path: model))))
    }

    @Test("lm-train --lora-rank on the shipped char model: loss falls, only the adapter is written, the base is untouched; one-line refusals")
    func shippedModel() throws {
        let lm = try LiveRun.lmTrain()
        let model = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("models/shakespeare-char-t2.bgpt").path
        let before = contents(model)
        let w = try Workspace()
        defer { w.cleanup() }
        let text = try InitFromTests.text(w)
        let out = w.dir.appendingPathComponent("lora").path
        let r = try ToolRunner.run(lm, ["--data", text, "--out", out, "--init-from", model, "--lora-rank", "4", "--lora-alpha", "8",
                                        "--lora-targets", "q,o,up,down", "--max-iters", "8", "--batch-size", "2", "--eval-interval", "8",
                                        "--eval-iters", "2", "--warmup-iters", "1", "--lr", "1e-2"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("LoRA on \(model) (frozen as stored): rank 4, alpha 8.0, targets q,o,up,down, 16 adapted linears"), "\(r.stdout)")
        #expect(r.lines.last?.hasPrefix("peak RSS ") == true && r.lines.last?.hasSuffix("(LoRA, 32768 trainable parameters)") == true, "\(r.stdout)")
        let v = InitFromTests.valLosses(r.stdout)
        #expect(v.count == 2 && v[1] < v[0], "\(v)")
        #expect(contents(model) == before)
        let files = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        #expect(files == ["adapter.optim.safetensors", "adapter.safetensors", "loss.csv", "loss.svg"])
        let a = try Safetensors.read(path: out + "/adapter.safetensors")
        #expect(a.tensors.count == 2 * 4 * 4 && a.tensors.keys.allSatisfy { $0.hasPrefix("base_model.model.transformer.h.") })
        #expect(a.metadata["architecture"] == "gpt2" && a.metadata["targets"] == "q,o,up,down")
        #expect(a.metadata["target_modules"] == "[\"c_attn\",\"c_proj\",\"c_fc\"]")
        // The trainer's fingerprint is the runtime's of the shipped .bgpt. (LoRAAdapterFile.read reloads
        // adapters in runtimeParity; it does not yet accept BitLinears with their own input norm, as here.)
        #expect(a.metadata["base_fingerprint"] == LoRAAdapter.hex(try LoRABase.fingerprint(of: BGPTFile(path: model))))
        // A second run into the same folder needs --overwrite.
        let again = try ToolRunner.run(lm, ["--data", text, "--out", out, "--init-from", model, "--lora-rank", "4"])
        #expect(again.status == 1 && again.errorLines == ["Error: \(out): already holds a run (adapter.safetensors); continue it with --resume or replace it with --overwrite"],
                "\(again.stderr)")

        let refused = w.dir.appendingPathComponent("refused").path
        for (args, message) in [(["--lora-rank", "4"], "Error: --lora-rank needs --init-from MODEL (LoRA adapts an existing model)"),
                                (["--init-from", model, "--lora-rank", "0"], "Error: --lora-rank must be in 1...4096, got 0"),
                                (["--init-from", model, "--lora-rank", "2", "--lora-targets", "q,gate"], "Error: --lora-targets: gpt2 models have no gate projection"),
                                (["--init-from", model, "--lora-rank", "2", "--lora-targets", "q,x"],
                                 "Error: --lora-targets: unknown LoRA target \"x\" (known: q,k,v,o,gate,up,down)"),
                                (["--init-from", model, "--lora-alpha", "2"], "Error: --lora-alpha and --lora-targets need --lora-rank")] {
            let e = try ToolRunner.run(lm, ["--data", text, "--out", refused] + args)
            #expect(e.status == 1 && e.errorLines == [message], "\(args): \(e.stderr)")
        }
    }
}
