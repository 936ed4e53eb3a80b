import ArgumentParser
import BitGPT
import BitGPTCLI
import BitGPTTrain
import Foundation

/// `lm-train`: trains a small GPT-2 or Llama family model (optionally BitLinear) on a text file.
struct LMTrain: BitGPTCommand {
    static let configuration = CommandConfiguration(
        commandName: "lm-train",
        abstract: "Train a small GPT-2 or Llama model (optionally with ternary BitLinear layers) on a text file.",
        discussion: """
        Writes OUT/ckpt.safetensors (weights, nanoGPT / llama2.c names) and OUT/ckpt.optim.safetensors \
        (AdamW moments) every --checkpoint-interval iterations and at the end, OUT/loss.csv, OUT/loss.svg, \
        and OUT/model.bgpt (or --export). --resume continues from OUT/ckpt.* with identical results.
        --tokenizer bpe|sentencepiece trains a tokenizer of --vocab-size tokens on the text (or uses \
        --tokenizer-file) and keeps it as OUT/tokenizer.json, .tiktoken or .model (docs/training.md).
        Data parallel: `mpirun -np N lm-train ...` splits each step's batch-size x grad-accum sequences \
        over the N ranks and all-reduces the gradients; rank 0 writes the files and prints.
        Every output path (OUT, --export) is checked before any work. Ctrl-C (SIGINT) or SIGTERM \
        finishes the current step, writes the checkpoint, prints how to --resume and exits 130 \
        (SIGINT) or 143 (SIGTERM); a second one exits at once. Under mpirun, a signal to any rank \
        stops every rank after the same step.
        Boolean flags take no value or one of true, True, false, False (`--bias`, `--bias false`, \
        `--bias=False`, `--no-bias`). An --out folder that already holds a run (ckpt.*) is refused \
        unless --resume continues it or --overwrite replaces it. Rank 0 prints a line every \
        --log-interval iterations (iteration, loss, lr, ms/it, tok/s, ETA) and flushes every line. \
        --init-from MODEL fine-tunes an existing model (.bgpt, lm-train checkpoint, or anything lm-convert \
        reads) in its shape, tokenizer and precision; a sub-word tokenizer (bpe, or sentencepiece from \
        its embedded model) becomes OUT/tokenizer.json or OUT/tokenizer.model. A checkpoint that \
        carries no tokenizer (llama2.c .bin, nanoGPT ckpt.pt without meta.pkl) needs --tokenizer-file \
        (SentencePiece .model, tokenizer.json, .tiktoken, meta.pkl or meta.json) with exactly as many \
        tokens as the model has embedding rows; a model with its own tokenizer refuses one. \
        With --lora-rank R it instead trains LoRA adapters (A, B in f32; alpha --lora-alpha, on the \
        linears of --lora-targets, default q,k,v,o) on the frozen model as stored, and writes them to \
        OUT/adapter.safetensors (and --export) for `lm-run --lora`; its checkpoint is the adapter and OUT/adapter.optim.safetensors (--resume continues it); no ckpt.*, no model.bgpt.
        Exit codes: 0 success, 1 error (bad flag, data, output path, or checkpoint), 130/143 \
        stopped by SIGINT/SIGTERM with a checkpoint saved.
        """,
        version: BitGPTVersion.string)

    @Option(help: "Training text (UTF-8 for the char tokenizer).") var data: String
    @Option(help: "Output folder.") var out = "out"
    @Option(help: "char (sorted characters of the text), bytes, bpe (GPT-2 byte-level BPE) or sentencepiece.") var tokenizer: TokenizerChoice = .char
    @Option(parsing: .unconditional, help: "bpe/sentencepiece: train a tokenizer of this many tokens on --data (≤ 65536).") var vocabSize: Int?
    @Option(help: "bpe/sentencepiece: use this tokenizer.json, .tiktoken or .model instead of training one; with --init-from: the tokenizer of a checkpoint that has none (those, meta.pkl or meta.json).") var tokenizerFile: String?
    @Flag(inversion: .prefixedNo, help: "Keep only each block's input in forward and recompute the block in backward (less memory).") var activationCheckpointing = false
    @Option(help: "Family (gpt: the same as gpt2).") var arch: TrainArchitectureChoice = .gpt2
    @Flag(inversion: .prefixedNo, help: "Ternary BitLinear attention and MLP layers (quantization-aware training).") var bitlinear = false
    @Flag(inversion: .prefixedNo, help: "Each BitLinear applies its own RMSNorm (BitGPT).") var bitlinearNorm = true
    @OptionGroup var shape: ModelShapeOptions<LMTrainShape>
    @Option(help: "MLP activation: gelu or relu (gpt2), swiglu (llama).") var activation: TrainActivationChoice?
    @Flag(inversion: .prefixedNo, help: "Biases in LayerNorms and linears (gpt).") var bias = false
    @Option(parsing: .unconditional, help: "Sequences per micro-batch.") var batchSize = 12
    @Option(parsing: .unconditional, help: "Micro-batches per step.") var gradAccum = 1
    @Option(parsing: .unconditional, help: "Optimizer steps.") var maxIters = 2000
    @Option(parsing: .unconditional, help: "Batches per evaluation.") var evalIters = 20
    @Option(parsing: .unconditional, help: "Iterations between evaluations.") var evalInterval = 250
    @Option(parsing: .unconditional, help: "Peak learning rate.") var lr: Float = 1e-3
    @Option(parsing: .unconditional, help: "Final learning rate.") var minLr: Float = 1e-4
    @Option(parsing: .unconditional, help: "Warmup iterations.") var warmupIters = 100
    @Option(parsing: .unconditional, help: "Iteration where cosine decay ends (default: --max-iters).") var lrDecayIters: Int?
    @Flag(inversion: .prefixedNo, help: "Cosine learning-rate decay.") var decayLr = true
    @Option(parsing: .unconditional, help: "AdamW weight decay (2-D tensors only).") var weightDecay: Float = 0.1
    @Option(parsing: .unconditional, help: "AdamW beta1.") var beta1: Float = 0.9
    @Option(parsing: .unconditional, help: "AdamW beta2.") var beta2: Float = 0.99
    @Option(parsing: .unconditional, help: "AdamW epsilon.") var eps: Float = 1e-8
    @Option(parsing: .unconditional, help: "Clip the gradient norm to this (0: off).") var gradClip: Float = 1.0
    @Option(parsing: .unconditional, help: "Dropout (only 0 is supported).") var dropout: Float = 0
    @OptionGroup var seed: SeedOption
    @OptionGroup var threads: ThreadsOption<LMTrainThreads>
    @Option(parsing: .unconditional, help: "Iterations between checkpoints (0: only at the end).") var checkpointInterval = 500
    @Flag(inversion: .prefixedNo, help: "Continue from OUT/ckpt.safetensors.") var resume = false
    @Option(help: "Fine-tune this model (.bgpt, lm-train checkpoint, or a checkpoint lm-convert reads; char, bytes, bpe or sentencepiece tokenizer): its shape and tokenizer are the run's (one without a tokenizer takes --tokenizer-file).") var initFrom: String?
    @Option(parsing: .unconditional, help: "With --init-from: train LoRA adapters of this rank (1...4096) on the frozen model.") var loraRank: Int?
    @Option(parsing: .unconditional, help: "LoRA alpha: the update is scaled by alpha/rank (default: the rank).") var loraAlpha: Float?
    @Option(help: "LoRA targets, comma-separated: q, k, v, o, gate, up, down (gpt2: q, k, v all mean the fused attn_qkv).") var loraTargets: String?
    @Flag(inversion: .prefixedNo, help: "Replace the run an existing --out folder holds.") var overwrite = false
    @Option(parsing: .unconditional, help: "Iterations between progress lines on standard output (0: none).") var logInterval = 10
    @Option(help: "Where to write the .bgpt (default OUT/model.bgpt).") var export: String?
    @Option(parsing: .unconditional, help: .hidden) var debugKillAfter = 0

    /// The boolean flags, for ``BooleanArguments`` (each also has its `--no-` form).
    static let booleanFlags: Set<String> = ["activation-checkpointing", "bitlinear", "bitlinear-norm", "bias", "decay-lr", "resume", "overwrite"]

    func validate() throws {
        guard logInterval >= 0 else { throw ValidationError("--log-interval must not be negative") }
        if let activation {
            guard (arch == .llama) == (activation == .swiglu) else { throw ValidationError("--activation \(activation) does not fit --arch \(arch)") }
        }
    }

    func run() throws {
        let world = Communicator.world
        StopSignals.install()
        var stoppedBy: Int32?
        try world.runAsRank { stoppedBy = try train(world) }
        // After MPI_Finalize: 128 + signal, the shell's convention for a process a signal ended.
        if let stoppedBy { throw ExitCode(128 + stoppedBy) }
    }

    /// Trains; returns the signal that stopped the run early, or nil when it ran to the end.
    func train(_ world: Communicator) throws -> Int32? {
        // Flushed line by line: a log redirected to a file (nohup, a job queue) shows each line as it comes.
        func print(_ s: String) { if world.isRoot { StandardOutput.write(s + "\n", flush: true) } }
        if initFrom != nil {
            // The shape comes from the model: a shape flag would be ignored or contradict it.
            let shapeFlags = ["--dim", "--n-embd", "--n-layers", "--n-layer", "--n-heads", "--n-head", "--n-kv-heads", "--n-kv-head",
                              "--context", "--block-size", "--arch", "--bias", "--no-bias", "--activation"]
            for a in CommandLine.arguments.dropFirst() {
                if let f = shapeFlags.first(where: { a == $0 || a.hasPrefix($0 + "=") }) {
                    throw TrainError.badOption("--init-from takes the model's shape; drop \(f)")
                }
            }
        }
        var o = TrainOptions(data: data)
        o.out = out
        o.tokenizer = tokenizer
        o.vocabSize = vocabSize; o.tokenizerFile = tokenizerFile; o.activationCheckpointing = activationCheckpointing
        o.architecture = arch.architecture
        o.bitLinear = bitlinear; o.bitLinearNorm = bitlinearNorm
        o.nLayer = shape.nLayers; o.nHead = shape.nHeads; o.nKVHead = shape.nKVHeads; o.nEmbd = shape.dim
        o.activation = activation?.activation; o.bias = bias
        o.blockSize = shape.context; o.batchSize = batchSize; o.gradAccum = gradAccum
        o.maxIters = maxIters; o.evalIters = evalIters; o.evalInterval = evalInterval
        o.lr = lr; o.minLR = minLr; o.warmupIters = warmupIters; o.lrDecayIters = lrDecayIters; o.decayLR = decayLr
        o.weightDecay = weightDecay; o.beta1 = beta1; o.beta2 = beta2; o.eps = eps; o.gradClip = gradClip
        o.dropout = dropout; o.seed = seed.value; o.threads = threads.count ?? 1; o.checkpointInterval = checkpointInterval
        o.initFrom = initFrom
        if loraRank == nil && (loraAlpha != nil || loraTargets != nil) { throw TrainError.badOption("--lora-alpha and --lora-targets need --lora-rank") }
        if let loraRank {
            o.lora = try LoRAWeights.Settings(rank: loraRank, alpha: loraAlpha ?? Float(loraRank), targets: loraTargets ?? "q,k,v,o")
        }
        o.tokenizerGiven = CommandLine.arguments.contains { $0 == "--tokenizer" || $0.hasPrefix("--tokenizer=") }
        o.resume = resume; o.overwrite = overwrite; o.export = export; o.killAfter = debugKillAfter

        let trainer = try Trainer(options: o, communicator: world)
        let c = trainer.model.config
        print("\(c.architecture.rawValue)\(c.bitLinear ? " BitLinear" : ""): \(trainer.parameterCount) parameters, vocab \(c.vocabSize), "
              + "\(trainer.data.train.count) train / \(trainer.data.val.count) val tokens")
        if let initFrom, let lora = trainer.model.lora {
            print("LoRA on \(initFrom) (frozen as stored): rank \(lora.settings.rank), alpha \(lora.settings.alpha), targets \(lora.settings.targetList), "
                  + "\(lora.adapters.count) adapted linears, \(trainer.trainableCount) trainable parameters")
        } else if let initFrom {
            let tokenizer = tokenizerFile.map { "the \(trainer.data.tokenizer.rawValue) tokenizer of \($0)" } ?? "its \(trainer.data.tokenizer.rawValue) tokenizer"
            print("fine-tuning \(initFrom) (its shape, \(tokenizer))")
        }
        if resume {
            print("resuming \(out) at iteration \(trainer.startIteration); the model shape comes from the checkpoint")
        }
        let interactive = isatty(2) == 1 && world.isRoot
        let peak = interactive ? Trainer.measurePeakFlops() : 0
        let start = trainer.startIteration
        let progress = ProgressLine("train", total: Double(max(o.maxIters - start, 0)), unit: "it")
        // One clock for the terminal line and the log lines: step time only, ETA plus the evaluations to come.
        var clock = TrainClock(maxIters: o.maxIters, evalInterval: o.evalInterval)
        var lastEvent = DispatchTime.now().uptimeNanoseconds
        let summary = try trainer.run(onStep: { r in
            lastEvent = DispatchTime.now().uptimeNanoseconds
            guard world.isRoot else { return }
            clock.step(seconds: r.seconds, tokens: r.tokens)
            progress.update(Double(r.iteration - start), rate: clock.rate, eta: clock.eta(after: r.iteration),
                            extra: TrainProgress.text(loss: Double(r.loss), tokensPerSecond: clock.tokensPerSecond,
                                                      secondsPerStep: r.seconds, stepFlops: r.flops, peakFlops: peak))
            if logInterval > 0 && (r.iteration % logInterval == 0 || r.iteration == r.maxIterations) {
                progress.finish()
                print(clock.logLine(iteration: r.iteration, loss: r.loss, lr: r.lr, clock: ProgressLine.clock))
            }
        }, onEval: { it, tl, vl in
            // The time since the last step: this evaluation (and a checkpoint written just before it).
            let now = DispatchTime.now().uptimeNanoseconds
            clock.evaluation(seconds: Double(now - lastEvent) / 1e9)
            lastEvent = now
            progress.finish()
            print(String(format: "step %d: train loss %.4f, val loss %.4f", it, tl, vl))
        }, stop: { StopSignals.received })
        progress.finish()
        if let signal = summary.interruptedBy {
            if world.isRoot {
                fflush(stdout)
                fputs("lm-train: stopped by \(StopSignals.name(signal)) after iteration \(summary.iterations); saved \(summary.checkpoint); "
                      + "continue with the same command and --resume\n", stderr)
            }
            return signal
        }
        print(String(format: "done: %d iterations, %.2f ms/it, %.0f tokens/s, val loss %.4f (best %.4f)", summary.iterations,
                     1000 * summary.secondsPerStep, summary.tokensPerSecond, summary.valLoss, summary.bestValLoss))
        if trainer.model.lora != nil {
            print("wrote \(summary.export) (LoRA adapter), \(summary.csv), \(summary.svg)")
        } else {
            print("wrote \(summary.checkpoint), \(summary.export), \(summary.csv), \(summary.svg)")
        }
        let kind = trainer.model.lora != nil ? "LoRA" : initFrom != nil ? "full fine-tuning" : "training"
        let rss = String(format: "%.1f", Double(PeakMemory.residentBytes()) / 1_048_576)
        print("peak RSS \(rss) MiB (\(kind), \(trainer.trainableCount) trainable parameters)")
        return nil
    }
}

LMTrain.runMain(BooleanArguments.normalize(Array(CommandLine.arguments.dropFirst()), flags: LMTrain.booleanFlags))

/// lm-train's model shape (nanoGPT's flag names `--n-layer`, `--n-head`, `--n-embd`, `--block-size` are aliases).
enum LMTrainShape: ModelShapeDefaults {
    static let dim = 128, nLayers = 4, nHeads = 4, context = 64
}

/// lm-train's `--threads`: OpenBLAS threads, one unless given (each rank of mpirun runs its own).
enum LMTrainThreads: ThreadsDefaults {
    static let threads: Int? = 1
    static let help = "OpenBLAS threads per rank under mpirun, 1 to 256 (default: 1)."
}

extension TokenizerChoice: ExpressibleByArgument {}
