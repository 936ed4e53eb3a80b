import Foundation
import Testing
@testable import BitGPTTrain
import BitGPT

/// A temporary folder with a small training text.
struct Workspace {
    let dir: URL
    var text: String { dir.appendingPathComponent("text.txt").path }

    init(textLength: Int = 3000) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("bgpt-train-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var rng = SeededRandom(seed: 99)
        let words = ["the ", "king ", "and ", "queen ", "of ", "a ", "rose\n", "to ", "be, ", "not ", "é "]
        var s = ""
        while s.unicodeScalars.count < textLength { s += words[Int(rng.next() % UInt64(words.count))] }
        try s.write(toFile: text, atomically: true, encoding: .utf8)
    }

    func cleanup() { try? FileManager.default.removeItem(at: dir) }

    /// Options for a tiny, fast run into `DIR/name`.
    func options(_ name: String, arch: Architecture = .llama, bitLinear: Bool = true, iters: Int = 8) -> TrainOptions {
        var o = TrainOptions(data: text)
        o.out = dir.appendingPathComponent(name).path
        o.architecture = arch
        o.bitLinear = bitLinear
        o.nLayer = 2; o.nHead = 2; o.nKVHead = arch == .llama ? 1 : nil; o.nEmbd = 16
        o.blockSize = 8; o.batchSize = 3; o.gradAccum = 2
        o.maxIters = iters; o.lrDecayIters = 8; o.warmupIters = 2
        o.evalInterval = 4; o.evalIters = 2; o.checkpointInterval = 3
        return o
    }
}

func contents(_ path: String) -> Data { FileManager.default.contents(atPath: path) ?? Data() }

/// Every position's logits of `tokens` from the runtime (a Generator with an F32 KV cache), (count, V).
func runtimeLogits(_ net: Transformer, _ tokens: [Int], threads: Int = 1) throws -> [Float] {
    let generator = try Generator(model: net, pool: WorkerPool(threads: threads), kvType: .f32)
    var got = [Float](repeating: .nan, count: tokens.count * net.config.vocabSize)
    try got.withUnsafeMutableBufferPointer { b in _ = try generator.start(prompt: tokens, allLogits: b.baseAddress) }
    return got
}

@Suite("Training runs")
struct TrainingRunTests {
    @Test("the same seed gives the same loss curve bit for bit, another seed a different one")
    func determinism() throws {
        let w = try Workspace()
        defer { w.cleanup() }
        _ = try Trainer(options: w.options("a")).run()
        _ = try Trainer(options: w.options("b")).run()
        var o = w.options("c")
        o.seed = 7
        _ = try Trainer(options: o).run()
        let a = contents(w.dir.appendingPathComponent("a/loss.csv").path)
        #expect(a.count > 100)
        #expect(a == contents(w.dir.appendingPathComponent("b/loss.csv").path))
        #expect(a != contents(w.dir.appendingPathComponent("c/loss.csv").path))
    }

    @Test("training lowers the loss (float and BitLinear, both families)", arguments: [(Architecture.gpt2, false), (.gpt2, true), (.llama, false), (.llama, true)])
    func learns(arch: Architecture, bitLinear: Bool) throws {
        let w = try Workspace()
        defer { w.cleanup() }
        var o = w.options("run", arch: arch, bitLinear: bitLinear, iters: 40)
        o.lr = 1e-2; o.lrDecayIters = 40; o.evalInterval = 40; o.evalIters = 4
        let trainer = try Trainer(options: o)
        let first = trainer.evaluate(trainer.data.val, iteration: 0, salt: 2)
        let s = try trainer.run()
        #expect(s.valLoss < first - 0.3, "val loss \(first) → \(s.valLoss)")
    }

    @Test("N steps straight equal N/2 steps plus a resumed N/2, bit for bit (CSV and checkpoint bytes)",
          arguments: [(Architecture.gpt2, false), (.llama, true)])
    func resume(arch: Architecture, bitLinear: Bool) throws {
        let w = try Workspace()
        defer { w.cleanup() }
        _ = try Trainer(options: w.options("straight", arch: arch, bitLinear: bitLinear, iters: 8)).run()
        _ = try Trainer(options: w.options("split", arch: arch, bitLinear: bitLinear, iters: 4)).run()
        var o = w.options("split", arch: arch, bitLinear: bitLinear, iters: 8)
        o.resume = true
        _ = try Trainer(options: o).run()
        for f in ["loss.csv", "ckpt.safetensors", "ckpt.optim.safetensors"] {
            let a = contents(w.dir.appendingPathComponent("straight/" + f).path)
            #expect(!a.isEmpty && a == contents(w.dir.appendingPathComponent("split/" + f).path), "\(f) differs")
        }
    }

    @Test("a run killed with SIGKILL and resumed writes the same loss CSV as an uninterrupted run")
    func killAndResume() throws {
        let path = try LiveRun.lmTrain()
        let w = try Workspace()
        defer { w.cleanup() }
        func run(_ out: String, _ extra: [String]) throws -> Int32 {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: path)
            p.arguments = ["--data", w.text, "--out", w.dir.appendingPathComponent(out).path, "--arch", "llama", "--bitlinear",
                           "--n-layer", "2", "--n-head", "2", "--n-kv-head", "1", "--n-embd", "16", "--block-size", "8",
                           "--batch-size", "3", "--max-iters", "10", "--lr-decay-iters", "10", "--warmup-iters", "2",
                           "--eval-interval", "5", "--eval-iters", "2", "--checkpoint-interval", "3"] + extra
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            return p.terminationStatus
        }
        #expect(try run("straight", []) == 0)
        let killed = try run("killed", ["--debug-kill-after", "7"])
        #expect(killed == SIGKILL)
        let partial = String(decoding: contents(w.dir.appendingPathComponent("killed/loss.csv").path), as: UTF8.self)
        #expect(partial.contains("\n6,train,"), "the killed run got past its last checkpoint (6)")
        #expect(try run("killed", ["--resume"]) == 0)
        let a = contents(w.dir.appendingPathComponent("straight/loss.csv").path)
        #expect(!a.isEmpty && a == contents(w.dir.appendingPathComponent("killed/loss.csv").path))
    }
}

@Suite("Export to .bgpt")
struct ExportTests {
    @Test("the .bgpt holds the trainer's fake-quantized weights exactly (T2), F32 elsewhere, and the char vocabulary",
          arguments: [(Architecture.llama, true), (.gpt2, true), (.gpt2, false)])
    func export(arch: Architecture, bitLinear: Bool) throws {
        let w = try Workspace()
        defer { w.cleanup() }
        let trainer = try Trainer(options: w.options("run", arch: arch, bitLinear: bitLinear, iters: 3))
        let s = try trainer.run()
        let file = try BGPTFile(path: s.export)
        let config = try ModelConfig(metadata: file.metadata)
        #expect(config == trainer.model.config)
        try config.checkTensors(in: file)
        #expect(try file.metadata.string("tokenizer.kind") == "char")
        #expect(try file.metadata.strings("tokenizer.tokens") == trainer.data.itos)
        let m = trainer.model
        m.quantizeWeights()
        var ternary = 0
        for e in m.layout.entries {
            let t = try file.tensor(e.name)
            let values = t.dequantized()
            if e.role == .linear && bitLinear {
                #expect(t.info.dtype == .t2)
                #expect(values == m.qweights.array(e.offset, count: e.count), "\(e.name)")
                ternary += 1
            } else {
                #expect(t.info.dtype == .f32)
                #expect(values == m.params.array(e.offset, count: e.count), "\(e.name)")
            }
        }
        #expect(ternary == (bitLinear ? (arch == .llama ? 2 * 7 : 2 * 4) : 0))
    }

    /// One exported model of the bit-for-bit test: the architecture, BitLinear or float, whether
    /// each BitLinear has its own RMSNorm, and the width (16: 2 heads, context 8; 64: 4 heads, context 40).
    struct ExportCase: CustomTestStringConvertible, CustomStringConvertible, Sendable {
        var arch: Architecture, bitLinear: Bool, bitLinearNorm = true, dim = 16
        var testDescription: String { description }
        var description: String { "\(arch.rawValue) \(bitLinear ? "bitlinear" : "f32")\(bitLinear && !bitLinearNorm ? " no-norm" : "") dim \(dim)" }
    }

    @Test("the runtime's logits over the exported .bgpt equal the trainer's eval forward bit for bit (F32 KV cache, 1 and 2 threads)",
          arguments: [ExportCase(arch: .llama, bitLinear: true), ExportCase(arch: .llama, bitLinear: false),
                      ExportCase(arch: .gpt2, bitLinear: true), ExportCase(arch: .gpt2, bitLinear: true, bitLinearNorm: false),
                      ExportCase(arch: .gpt2, bitLinear: false), ExportCase(arch: .llama, bitLinear: true, dim: 64),
                      ExportCase(arch: .gpt2, bitLinear: true, dim: 64), ExportCase(arch: .gpt2, bitLinear: false, dim: 64)])
    func runtimeMatchesTrainer(c: ExportCase) throws {
        let w = try Workspace()
        defer { w.cleanup() }
        var o = w.options("run", arch: c.arch, bitLinear: c.bitLinear, iters: 5)
        o.bitLinearNorm = c.bitLinearNorm
        if c.dim > 16 { o.nEmbd = c.dim; o.nHead = 4; o.nKVHead = c.arch == .llama ? 2 : nil; o.blockSize = 40 }
        let trainer = try Trainer(options: o)
        let s = try trainer.run()
        let m = trainer.model
        let net = try Transformer(file: try BGPTFile(path: s.export))
        let vocab = net.config.vocabSize
        // The whole context: every position's logits, from prompt chunks of the Generator's size.
        let tokens = (0..<m.blockSize).map { ($0 * 7 + 3) % vocab }
        // Norms, activations, RoPE, softmax and both quantizers are the same functions (BitGPT/Ops);
        // the eval forward's products are the runtime's kernels (TrainModel.Arithmetic.runtime).
        let expected = try m.logits(tokens: tokens)
        for threads in [1, 2] {
            let got = try runtimeLogits(net, tokens, threads: threads)
            let differing = zip(got, expected).filter { $0 != $1 }.count
            let maxDiff = zip(got, expected).map { abs($0 - $1) }.max() ?? .infinity
            #expect(differing == 0, "\(c), \(threads) threads: \(differing) of \(got.count) logits differ, max |Δ| \(maxDiff)")
        }
        // Training's own products (OpenBLAS) stay close to them.
        m.arithmetic = .training
        for i in 0..<(m.batch * m.blockSize) { m.inputs[i] = i < tokens.count ? Int32(tokens[i]) : 0; m.targets[i] = 0 }
        m.forward()
        let blas = Array(m.lastLogits.prefix(tokens.count * vocab))
        let scale = expected.map { abs($0) }.max() ?? 1
        let maxDiff = zip(blas, expected).map { abs($0 - $1) }.max() ?? .infinity
        #expect(maxDiff <= 2e-3 * max(scale, 1), "\(c): training forward max |Δlogit| \(maxDiff) (max |logit| \(scale))")
        print("trainer vs runtime \(c): bit for bit; training (OpenBLAS) forward within \(maxDiff) of it")
    }

    @Test("safetensors names follow nanoGPT and llama2.c")
    func names() {
        #expect(CheckpointNames.name("token_embd", architecture: .gpt2) == "transformer.wte.weight")
        #expect(CheckpointNames.name("blk.0.attn_qkv", architecture: .gpt2) == "transformer.h.0.attn.c_attn.weight")
        #expect(CheckpointNames.name("blk.3.ffn_down_bias", architecture: .gpt2) == "transformer.h.3.mlp.c_proj.bias")
        #expect(CheckpointNames.name("output_norm", architecture: .gpt2) == "transformer.ln_f.weight")
        #expect(CheckpointNames.name("blk.1.attn_qkv.norm", architecture: .gpt2) == "transformer.h.1.attn.c_attn.rms_norm.weight")
        #expect(CheckpointNames.name("blk.0.attn_q", architecture: .llama) == "layers.0.attention.wq.weight")
        #expect(CheckpointNames.name("blk.2.ffn_gate", architecture: .llama) == "layers.2.feed_forward.w1.weight")
        #expect(CheckpointNames.name("blk.2.ffn_up", architecture: .llama) == "layers.2.feed_forward.w3.weight")
        #expect(CheckpointNames.name("output_norm", architecture: .llama) == "norm.weight")
    }
}

/// The error a trainer with `o` fails with, or nil if it starts.
func startError(_ o: TrainOptions) -> TrainError? {
    do throws(TrainError) {
        _ = try Trainer(options: o)
        return nil
    } catch {
        return error
    }
}

@Suite("Bad input")
struct BadInputTests {
    @Test("empty, non-UTF-8, missing and too-short data give one clear error")
    func badData() throws {
        let w = try Workspace()
        defer { w.cleanup() }
        let empty = w.dir.appendingPathComponent("empty.txt").path
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        var o = w.options("x")
        o.data = empty
        #expect(startError(o) == .badData(path: empty, reason: "the file is empty"))
        let binary = w.dir.appendingPathComponent("bin.txt").path
        _ = FileManager.default.createFile(atPath: binary, contents: Data([0xff, 0xfe, 0x41]))
        o.data = binary
        #expect(startError(o) == .badData(path: binary, reason: "not valid UTF-8 (use --tokenizer bytes)"))
        let short = w.dir.appendingPathComponent("short.txt").path
        try "hello world, this is short".write(toFile: short, atomically: true, encoding: .utf8)
        o.data = short
        o.blockSize = 8
        let e = startError(o).map { "\($0)" } ?? "none"
        #expect(e.contains("the val split has 3 tokens; --block-size 8 needs at least 9"), "\(e)")
        let missing = w.dir.appendingPathComponent("missing.txt").path
        o.data = missing
        #expect(startError(o) == .io(path: missing, reason: "no such file"))
    }

    @Test("bad options are refused with the flag named", arguments: [
        ("dropout", "--dropout"), ("heads", "--n-head"), ("kv", "--n-kv-head"), ("accum", "--grad-accum"),
    ])
    func badOptions(kind: String, flag: String) throws {
        let w = try Workspace()
        defer { w.cleanup() }
        var o = w.options("x")
        switch kind {
        case "dropout": o.dropout = 0.2
        case "heads": o.nHead = 3
        case "kv": o.nKVHead = 3
        default: o.gradAccum = 0
        }
        let e = startError(o).map { "\($0)" } ?? "none"
        #expect(e.contains(flag), "\(e)")
    }

    @Test("a corrupt or mismatched checkpoint is refused on resume and left in place")
    func corruptResume() throws {
        let w = try Workspace()
        defer { w.cleanup() }
        _ = try Trainer(options: w.options("run", iters: 3)).run()
        var o = w.options("run", iters: 6)
        o.resume = true
        let model = Checkpoint.modelPath(o.out), optim = Checkpoint.optimPath(o.out)
        let good = contents(model), goodOptim = contents(optim)
        // Truncated model file.
        try good.prefix(good.count - 10).write(to: URL(fileURLWithPath: model))
        #expect(startError(o) != nil)
        // Header length past the end.
        var bad = good
        bad[7] = 0x7f
        try bad.write(to: URL(fileURLWithPath: model))
        let e1 = startError(o).map { "\($0)" } ?? "none"
        #expect(e1.contains("header length"), "\(e1)")
        // Optimizer file from another iteration.
        try good.write(to: URL(fileURLWithPath: model))
        _ = try Trainer(options: w.options("other", iters: 2)).run()
        try contents(Checkpoint.optimPath(w.dir.appendingPathComponent("other").path)).write(to: URL(fileURLWithPath: optim))
        let e2 = startError(o).map { "\($0)" } ?? "none"
        #expect(e2.contains("optimizer state is from iteration 2 but the model from 3"), "\(e2)")
        #expect(contents(model) == good, "a refused resume leaves the checkpoint alone")
        try goodOptim.write(to: URL(fileURLWithPath: optim))
        let s = try Trainer(options: o).run()
        #expect(s.iterations == 6)
        // No checkpoint to resume.
        var none = w.options("nothing")
        none.resume = true
        #expect(startError(none) == .badCheckpoint(path: Checkpoint.modelPath(none.out), reason: "not found (nothing to resume)"))
    }
}
