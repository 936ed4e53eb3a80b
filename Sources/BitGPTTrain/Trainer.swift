import BitGPT
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One finished optimizer step, for progress displays.
public struct StepReport {
    public var iteration: Int, maxIterations: Int
    public var loss: Float, lr: Float
    /// Wall time of this step, seconds.
    public var seconds: Double
    /// Tokens processed by this step (batch · block · grad accum).
    public var tokens: Int
    /// Floating-point operations of this step (PaLM estimate `6N + 12·L·C·T` per token).
    public var flops: Double
}

/// What a finished run reports.
public struct TrainSummary {
    public var iterations: Int
    public var lastTrainLoss: Float
    public var valLoss: Float, bestValLoss: Float
    /// Mean wall time per step over the steps this process ran, seconds.
    public var secondsPerStep: Double
    public var tokensPerSecond: Double
    public var parameters: Int
    public var checkpoint: String, export: String, csv: String, svg: String
    /// The signal that stopped the run early (SIGINT, SIGTERM), or nil when it ran to `maxIters`.
    /// A stopped run has written its checkpoint at ``iterations``, but no export and no plot.
    public var interruptedBy: Int32? = nil
}

/// The training loop of `lm-train` (nanoGPT `train.py` shape): evaluation every `evalInterval`
/// iterations and at the end, cosine LR, gradient accumulation and clipping, AdamW,
/// checkpoints every `checkpointInterval`, then export to `.bgpt`, a loss CSV and an SVG curve.
///
/// Determinism: batches come from one ``TrainRandom`` whose state is checkpointed; evaluation
/// batches come from a stream derived from (seed, iteration), so evaluating never shifts the
/// training batches. With the same seed and thread count a run, or a run stopped and resumed,
/// gives the same losses bit for bit.
///
/// Data parallel: under `mpirun` each rank runs its ``BatchShard`` of every step and the
/// gradients are all-reduced through ``comm``, so replicas step identically; only rank 0 writes
/// the checkpoint, `loss.csv`, `loss.svg` and the `.bgpt`.
public final class Trainer {
    public let options: TrainOptions
    public let model: TrainModel
    public let optimizer: AdamW
    public let data: TokenData
    /// The ranks of a data-parallel run (``Communicator/single`` without MPI).
    public let comm: Communicator
    /// This rank's share of every step.
    public let shard: BatchShard
    var state: TrainState
    var rng: TrainRandom
    let csvPath: String
    var csv: FileHandle?
    var trainCurve: [(Int, Float)] = []
    var valCurve: [(Int, Float)] = []

    /// Prepares data, model and optimizer (from scratch, or from `OUT/ckpt.*` with `resume`).
    ///
    /// - Parameters:
    ///   - options: the run.
    ///   - communicator: the ranks to share each step with (``Communicator/world`` under `mpirun`).
    /// - Throws: ``TrainError`` for bad options, an output path that cannot be written
    ///   (``OutputCheck``: the `out` folder, `export`), a batch that does not split over the ranks,
    ///   unusable data, an unreadable checkpoint, or ranks that start from different weights.
    public init(options o: TrainOptions, communicator: Communicator = .single) throws(TrainError) {
        try o.validate()
        // Rank 0 writes every output; a path it cannot write fails now, before any long work.
        if communicator.isRoot { try OutputCheck.check(o) }
        options = o
        comm = communicator
        shard = try BatchShard(batchSize: o.batchSize, gradAccum: o.gradAccum, rank: communicator.rank, ranks: communicator.size)
        BLAS.setThreads(o.threads)
        var config: ModelConfig
        var loaded: Checkpoint.Loaded?
        var initModel: InitModel?
        var loraLoaded: LoRACheckpoint.Loaded?
        var loraSettings = o.lora
        if o.resume && LoRACheckpoint.isLoRARun(o.out) {
            // A LoRA run: the base again from its --init-from path, the adapters from OUT.
            let l = try LoRACheckpoint.load(dir: o.out)
            let m = try InitModel.load(l.initFrom, scratchDir: o.out, tokenizerFile: l.tokenizerFile)
            initModel = m
            loraLoaded = l
            loraSettings = l.settings
            data = try m.tokenData(path: o.data, out: o.out)
            config = m.config
        } else if o.resume {
            let l = try Checkpoint.load(dir: o.out)
            loaded = l
            config = l.config
            // A sub-word tokenizer is the run's own file, never trained again.
            let file = l.tokenizer.isSubword ? SubwordTokenizer.file(inRun: o.out, kind: l.tokenizer) : nil
            if l.tokenizer.isSubword && file == nil { throw .badCheckpoint(path: o.out, reason: "the \(l.tokenizer.rawValue) tokenizer file is missing") }
            var d = try TokenData.load(path: o.data, tokenizer: l.tokenizer, tokenizerFile: file)
            if l.tokenizer == .char && d.itos != l.itos {
                // A fine-tuned (--init-from) run keeps its model's vocabulary, not the text's own.
                d = try InitModel.tokenData(path: o.data, tokenizer: .char, itos: l.itos, source: Checkpoint.modelPath(o.out))
            }
            data = d
            guard data.itos == l.itos else {
                throw .badCheckpoint(path: Checkpoint.modelPath(o.out), reason: "its vocabulary differs from the one of \(o.data)")
            }
        } else if let source = o.initFrom {
            let m = try InitModel.load(source, scratchDir: o.out, tokenizerFile: o.tokenizerFile)
            if o.tokenizerGiven && o.tokenizer != m.tokenizer {
                throw .badOption("--tokenizer \(o.tokenizer.rawValue) contradicts --init-from \(source), whose tokenizer is \(m.tokenizer.rawValue)")
            }
            initModel = m
            data = try m.tokenData(path: o.data, out: o.out)
            config = m.runConfig(bitLinear: o.bitLinear, bitLinearNorm: o.bitLinearNorm)
            if let lora = o.lora {
                if o.bitLinear && !m.config.bitLinear { throw .badOption("LoRA keeps the base as stored; drop --bitlinear (\(source) is a float model)") }
                if let problem = lora.problem(for: config) { throw .badOption(problem) }
            }
        } else {
            data = try TokenData.load(path: o.data, tokenizer: o.tokenizer, vocabSize: o.vocabSize, tokenizerFile: o.tokenizerFile)
            try data.subword?.write(into: o.out)
            config = o.modelConfig(vocabSize: data.vocabSize)
        }
        try data.check(blockSize: config.contextLength, path: o.data)
        model = TrainModel(config: config, batch: shard.localBatch, seed: o.seed, activationCheckpointing: o.activationCheckpointing,
                           lora: loraSettings)
        // A LoRA run's optimizer state covers the adapters only.
        optimizer = AdamW(layout: model.lora?.layout ?? model.layout, beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.weightDecay)
        try initModel?.copy(into: model)
        baseFingerprint = model.lora != nil ? LoRAAdapterExport.baseFingerprint(model) : nil
        // Absolute, resolved against the directory the run starts in, so --resume works from anywhere.
        initFromPath = (loraLoaded?.initFrom ?? o.initFrom).map(FileIO.absolute)
        initTokenizerFile = (loraLoaded != nil ? loraLoaded?.tokenizerFile : o.tokenizerFile).map(FileIO.absolute)
        if let l = loraLoaded {
            guard let f = baseFingerprint, LoRAAdapter.hex(f) == l.fingerprint else {
                throw .badCheckpoint(path: LoRAAdapterExport.path(o.out), reason: "its base \(l.initFrom) has changed since the adapter was trained (fingerprint)")
            }
            try l.restore(into: model, optimizer: optimizer, dir: o.out)
            state = l.state
        } else if let loaded {
            try loaded.restore(into: model, optimizer: optimizer, dir: o.out)
            state = loaded.state
        } else {
            state = TrainState(iteration: 0, bestValLoss: .infinity, rngState: o.seed, adamSteps: 0)
        }
        rng = TrainRandom(state: state.rngState)
        startAt = state.iteration
        csvPath = o.out + "/loss.csv"
        try checkReplicas()
    }

    /// A LoRA run's base fingerprint (``LoRAAdapterExport/baseFingerprint(_:)``), nil otherwise.
    public let baseFingerprint: UInt64?

    /// The base model of a LoRA run, absolute (recorded in its checkpoint for `--resume`).
    let initFromPath: String?
    /// The `--tokenizer-file` of a base without a tokenizer, absolute (recorded beside ``initFromPath``).
    let initTokenizerFile: String?

    /// Where a LoRA run writes its adapter: `--export`, else `OUT/adapter.safetensors`.
    public var adapterPath: String { options.export ?? LoRAAdapterExport.path(options.out) }

    /// Parameters the optimizer trains (the adapters' in a LoRA run).
    public var trainableCount: Int { model.lora?.layout.count ?? model.layout.count }

    /// Writes the checkpoint: the model and optimizer state, or a LoRA run's adapter.
    private func saveCheckpoint() throws(TrainError) {
        if let baseFingerprint {
            try LoRACheckpoint.save(dir: options.out, adapterPath: LoRAAdapterExport.path(options.out), model: model, optimizer: optimizer,
                                    state: state, fingerprint: baseFingerprint, initFrom: initFromPath ?? "",
                                    tokenizerFile: initTokenizerFile)
        } else {
            try Checkpoint.save(dir: options.out, model: model, optimizer: optimizer, state: state, data: data)
        }
    }

    /// The iteration this run starts at (0, or the checkpoint's with `resume`).
    public var startIteration: Int { startAt }
    private var startAt = 0

    /// Parameters in the model.
    public var parameterCount: Int { model.layout.count }

    /// FLOPs of one step (forward + backward): PaLM's `6N + 12·L·C·T` per token, N without the
    /// position embedding.
    public var flopsPerStep: Double {
        let c = model.config
        let n = Double(model.layout.count - (model.layout.entry("pos_embd")?.count ?? 0))
        let perToken = 6 * n + 12 * Double(c.nLayers * c.dim * c.contextLength)
        return perToken * Double(options.batchSize * model.blockSize * options.gradAccum)
    }

    /// Mean loss over `evalIters` batches of `split`, drawn from a stream fixed by (seed, iteration, split).
    public func evaluate(_ split: [UInt16], iteration: Int, salt: UInt64) -> Float {
        var r = TrainRandom(state: options.seed ^ (UInt64(iteration) &* 0xD1B5_4A32_D192_ED03) ^ (salt &* 0x8CB9_2BA7_2F3D_8DD7))
        return evaluateShared(split, stream: &r)
    }

    private func openCSV() throws(TrainError) {
        do { try FileManager.default.createDirectory(atPath: options.out, withIntermediateDirectories: true) } catch {
            throw .io(path: options.out, reason: "cannot create the output folder")
        }
        let header = "iter,split,loss,lr\n"
        var keep = header
        if options.resume, let old = try? String(contentsOfFile: csvPath, encoding: .utf8) {
            // Keep what happened before the checkpoint; lines after it are replayed identically.
            for line in old.split(separator: "\n").dropFirst() {
                let f = line.split(separator: ",")
                guard f.count == 4, let it = Int(f[0]), it < state.iteration else { continue }
                keep += line + "\n"
                if let l = Float(f[2]) { if f[1] == "train" { trainCurve.append((it, l)) } else if f[1] == "val" { valCurve.append((it, l)) } }
            }
        }
        try FileIO.writeAtomically(csvPath, Array(keep.utf8))
        guard let h = FileHandle(forWritingAtPath: csvPath) else { throw .io(path: csvPath, reason: "cannot open for appending") }
        h.seekToEndOfFile()
        csv = h
    }

    private func log(_ it: Int, _ split: String, _ loss: Float, _ lr: Float) {
        csv?.write("\(it),\(split),\(loss),\(lr)\n".data(using: .utf8)!)
    }

    /// Runs from the current iteration to `maxIters`, or until `stop` asks to stop.
    ///
    /// After every step before the last, `stop` is polled; when it returns a signal number (on
    /// any rank: the ranks agree through ``agreeOnStop(_:)``, so all stop after the same step),
    /// the run writes its checkpoint through ``Checkpoint/save(dir:model:optimizer:state:data:)``
    /// and returns a summary whose ``TrainSummary/interruptedBy`` is set; `--resume` continues
    /// from it exactly as from any other checkpoint.
    ///
    /// - Parameters:
    ///   - onStep: called after every optimizer step.
    ///   - onEval: called after every evaluation with (iteration, train loss, val loss).
    ///   - stop: the signal asking to stop after the current step (``StopSignals/received``), 0 for none.
    public func run(onStep: (StepReport) -> Void = { _ in }, onEval: (Int, Float, Float) -> Void = { _, _, _ in },
                    stop: () -> Int32 = { 0 }) throws(TrainError) -> TrainSummary {
        let o = options
        if comm.isRoot { try openCSV() }
        defer { try? csv?.close() }
        let schedule = o.schedule
        let flops = flopsPerStep
        var lastLoss = Float.nan, valLoss = Float.nan
        var stepSeconds = 0.0, steps = 0
        var it = state.iteration
        let export = model.lora != nil ? adapterPath : o.export ?? (o.out + "/model.bgpt")
        let svgPath = o.out + "/loss.svg"
        func summary(_ interrupted: Int32?) -> TrainSummary {
            let sps = steps > 0 ? stepSeconds / Double(steps) : 0
            return TrainSummary(iterations: it, lastTrainLoss: lastLoss, valLoss: valLoss, bestValLoss: state.bestValLoss,
                                secondsPerStep: sps, tokensPerSecond: sps > 0 ? Double(o.batchSize * model.blockSize * o.gradAccum) / sps : 0,
                                parameters: parameterCount, checkpoint: model.lora != nil ? LoRAAdapterExport.path(o.out) : Checkpoint.modelPath(o.out), export: export, csv: csvPath, svg: svgPath,
                                interruptedBy: interrupted)
        }
        while true {
            // Evaluate on both splits (nanoGPT `estimate_loss`).
            if it % o.evalInterval == 0 || it == o.maxIters {
                let tl = evaluate(data.train, iteration: it, salt: 1)
                valLoss = evaluate(data.val, iteration: it, salt: 2)
                state.bestValLoss = min(state.bestValLoss, valLoss)
                log(it, "evaltrain", tl, schedule.rate(it))
                log(it, "val", valLoss, schedule.rate(it))
                valCurve.append((it, valLoss))
                onEval(it, tl, valLoss)
            }
            if it >= o.maxIters { break }
            // One step: accumulate gradients over micro-batches, clip, AdamW.
            let t0 = DispatchTime.now().uptimeNanoseconds
            let lr = schedule.rate(it)
            lastLoss = stepGradients()
            let (params, grads) = model.trainable
            clipGradients(grads.base, count: grads.count, maxNorm: o.gradClip)
            optimizer.step(params: params.base, grads: grads.base, lr: lr)
            let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            stepSeconds += dt
            steps += 1
            log(it, "train", lastLoss, lr)
            trainCurve.append((it, lastLoss))
            it += 1
            state.iteration = it
            state.rngState = rng.state
            state.adamSteps = optimizer.t
            onStep(StepReport(iteration: it, maxIterations: o.maxIters, loss: lastLoss, lr: lr, seconds: dt,
                              tokens: o.batchSize * model.blockSize * o.gradAccum, flops: flops))
            let checkpointed = o.checkpointInterval > 0 && it % o.checkpointInterval == 0 && it < o.maxIters
            if checkpointed {
                try checkReplicas()
                if comm.isRoot { try saveCheckpoint() }
            }
            // SIGINT/SIGTERM: this step is done; save it (unless just saved) and stop.
            if it < o.maxIters, let signal = agreeOnStop(stop()) {
                if !checkpointed {
                    try checkReplicas()
                    if comm.isRoot { try saveCheckpoint() }
                }
                try? csv?.synchronize()
                return summary(signal)
            }
            // Under MPI only the last rank dies, so the others see a peer vanish mid-run.
            if o.killAfter > 0 && it == o.killAfter && comm.rank == comm.size - 1 {
                try? csv?.synchronize()
                kill(getpid(), SIGKILL)
            }
        }
        // Final checkpoint, export, curve (rank 0 writes).
        try checkReplicas()
        if comm.isRoot { try saveCheckpoint() }
        if comm.isRoot, let f = baseFingerprint, let e = o.export { try LoRAAdapterExport.write(model: model, fingerprint: f, path: e) }
        if comm.isRoot && model.lora == nil { try ModelExport.write(model: model, data: data, path: export,
                              name: "lm-train-\(model.config.architecture.rawValue)\(model.config.bitLinear ? "-bitlinear" : "")") }
        let svg = LossPlot.svg(train: trainCurve, val: valCurve,
                               title: "\(model.config.architecture.rawValue)\(model.config.bitLinear ? " BitLinear" : "") \(parameterCount) params")
        if comm.isRoot { try FileIO.writeAtomically(svgPath, Array(svg.utf8)) }
        return summary(nil)
    }

    /// Measures this machine's sgemm throughput (FLOP/s) on a 256³ product, for MFU.
    public static func measurePeakFlops() -> Double {
        let n = 256
        let a = FloatBuffer(count: n * n), b = FloatBuffer(count: n * n), c = FloatBuffer(count: n * n)
        for i in 0..<(n * n) { a.base[i] = Float(i % 7) * 0.1; b.base[i] = Float(i % 5) * 0.1 }
        var best = Double.infinity
        for _ in 0..<5 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            BLAS.sgemm(transA: false, transB: false, m: n, n: n, k: n, a: a.base, lda: n, b: b.base, ldb: n, beta: 0, c: c.base, ldc: n)
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        return 2 * Double(n * n * n) / best
    }
}
