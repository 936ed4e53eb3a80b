import BitGPT

/// Every setting of a training run (the flags of `lm-train`, after BitGPT's `train.py`).
public struct TrainOptions {
    public var data: String
    public var out: String = "out"
    public var tokenizer: TokenizerChoice = .char
    /// bpe / sentencepiece: the vocabulary to train.
    public var vocabSize: Int? = nil
    /// bpe / sentencepiece: an existing tokenizer file (tokenizer.json, .tiktoken, .model) instead of training;
    /// with `initFrom`, the tokenizer of a model that has none (those, or a char `meta.pkl` / `meta.json`).
    public var tokenizerFile: String? = nil
    /// Keep only each block's input in forward and recompute the block in backward.
    public var activationCheckpointing = false
    public var architecture: Architecture = .gpt2
    public var bitLinear = false
    public var bitLinearNorm = true
    public var nLayer = 4, nHead = 4, nEmbd = 128
    /// nil: same as `nHead`.
    public var nKVHead: Int? = nil
    public var bias = false
    public var activation: Activation? = nil
    public var blockSize = 64, batchSize = 12
    public var maxIters = 2000, evalIters = 20, evalInterval = 250
    public var lr: Float = 1e-3, minLR: Float = 1e-4
    public var warmupIters = 100
    /// nil: `maxIters`.
    public var lrDecayIters: Int? = nil
    public var decayLR = true
    public var weightDecay: Float = 0.1, beta1: Float = 0.9, beta2: Float = 0.99, eps: Float = 1e-8
    public var gradClip: Float = 1.0
    public var gradAccum = 1
    public var dropout: Float = 0
    public var seed: UInt64 = 1337
    public var threads = 1
    /// Iterations between checkpoints; 0: only at the end.
    public var checkpointInterval = 500
    public var resume = false
    /// Start from this model (``InitModel``: a `.bgpt`, an lm-train checkpoint, or any source
    /// lm-convert reads): its shape, tokenizer and weights; nil: a new model.
    public var initFrom: String? = nil
    /// LoRA adapters to train on the frozen `initFrom` model (``LoRAWeights``); nil: train the model.
    public var lora: LoRAWeights.Settings? = nil
    /// Whether `tokenizer` was given on the command line (with `initFrom` it must match the model's).
    public var tokenizerGiven = false
    /// Train into an `out` folder that already holds a run, replacing it (without this or
    /// `resume`, such a folder is refused).
    public var overwrite = false
    /// Where to write the .bgpt at the end; nil: `OUT/model.bgpt`.
    public var export: String? = nil
    /// Test hook: SIGKILL this process after this many iterations (0: never); under MPI only
    /// the last rank is killed.
    public var killAfter = 0

    public init(data: String) { self.data = data }

    /// Rejects values that cannot work, with one line naming the flag.
    public func validate() throws(TrainError) {
        func need(_ ok: Bool, _ s: String) throws(TrainError) { if !ok { throw .badOption(s) } }
        try need(nLayer >= 1 && nLayer <= 1024, "--n-layer must be in 1...1024, got \(nLayer)")
        try need(nHead >= 1 && nEmbd >= 1 && nEmbd % nHead == 0, "--n-embd \(nEmbd) must be a positive multiple of --n-head \(nHead)")
        let kv = nKVHead ?? nHead
        try need(kv >= 1 && nHead % kv == 0, "--n-kv-head \(kv) must divide --n-head \(nHead)")
        try need(architecture != .gpt2 || kv == nHead, "--n-kv-head needs --arch llama (GPT-2 attention has as many kv heads as heads)")
        try need(architecture != .bitgpt, "--arch must be gpt2 or llama")
        try need(architecture != .llama || (nEmbd / nHead) % 2 == 0, "--arch llama needs an even head size for RoPE, got \(nEmbd / nHead)")
        try need(blockSize >= 1 && blockSize <= 65_536, "--block-size must be in 1...65536, got \(blockSize)")
        try need(batchSize >= 1, "--batch-size must be at least 1")
        try need(maxIters >= 0, "--max-iters must not be negative")
        try need(evalIters >= 1 && evalInterval >= 1, "--eval-iters and --eval-interval must be at least 1")
        try need(lr > 0 && lr.isFinite && minLR >= 0 && minLR.isFinite, "--lr must be positive and --min-lr not negative")
        try need(warmupIters >= 0 && (lrDecayIters ?? 0) >= 0, "--warmup-iters and --lr-decay-iters must not be negative")
        try need(weightDecay >= 0 && gradClip >= 0, "--weight-decay and --grad-clip must not be negative")
        try need(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1 && eps > 0, "--beta1/--beta2 must be in [0, 1) and --eps positive")
        try need(gradAccum >= 1, "--grad-accum must be at least 1")
        try need(dropout == 0, "--dropout \(dropout) is not supported: this trainer implements dropout 0 only")
        try need(threads >= 1 && threads <= 256, "--threads must be in 1...256")
        try need(initFrom == nil || !resume, "give either --init-from (start a run from a model) or --resume (continue the run in --out), not both")
        try need(initFrom == nil || vocabSize == nil, "--init-from takes the vocabulary from the model; drop --vocab-size")
        // With --init-from, --tokenizer-file is the tokenizer of a checkpoint that has none (of any kind).
        try need(tokenizer.isSubword || vocabSize == nil, "--vocab-size needs --tokenizer bpe or sentencepiece")
        try need(tokenizer.isSubword || tokenizerFile == nil || initFrom != nil, "--tokenizer-file needs --tokenizer bpe or sentencepiece (or --init-from MODEL)")
        try need(!tokenizer.isSubword || vocabSize != nil || tokenizerFile != nil || resume || initFrom != nil, "--tokenizer \(tokenizer.rawValue) needs --vocab-size N (to train one) or --tokenizer-file FILE")
        try need(vocabSize == nil || tokenizerFile == nil, "give either --vocab-size (train a tokenizer) or --tokenizer-file (use one), not both")
        try need(vocabSize.map { (1...65_536).contains($0) } ?? true, "--vocab-size must be in 1...65536 (token ids are uint16)")
        try need(!(resume && overwrite), "give either --resume (continue the run in --out) or --overwrite (replace it), not both")
        try need(lora == nil || initFrom != nil, "--lora-rank needs --init-from MODEL (LoRA adapts an existing model)")
        try need(checkpointInterval >= 0, "--checkpoint-interval must not be negative")
    }

    /// The model configuration for a vocabulary of `vocabSize`.
    public func modelConfig(vocabSize: Int) -> ModelConfig {
        var c = ModelConfig(architecture: architecture, vocabSize: vocabSize, contextLength: blockSize, dim: nEmbd, nLayers: nLayer,
                            nHeads: nHead, nKVHeads: nKVHead ?? nHead)
        if let activation { c.activation = activation }
        if architecture == .gpt2 { c.normBias = bias; c.linearBias = bias }
        c.bitLinear = bitLinear
        c.bitLinearNorm = bitLinear && bitLinearNorm
        return c
    }

    var schedule: LearningRateSchedule {
        LearningRateSchedule(lr: lr, minLR: minLR, warmupIters: warmupIters, decayIters: lrDecayIters ?? maxIters, decay: decayLR)
    }
}
