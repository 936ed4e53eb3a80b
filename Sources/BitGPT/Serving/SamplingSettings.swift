/// Sampling settings of one request: ``SamplingOptions`` plus the seed, with `lm-run`'s defaults.
///
/// Defaults: temperature 1, top-k 200, top-p 1 (off), min-p 0 (off), repetition penalty 1 (off)
/// over the last 64 tokens, seed 1337 — the values `lm-run` uses when a flag is absent. A request
/// with the same settings, prompt ids and seed produces exactly the tokens `lm-run` produces.
public struct SamplingSettings: Sendable, Equatable {
    /// Divides the logits; 0 means greedy (argmax).
    public var temperature: Float
    /// Keep the k largest logits (ties at the k-th kept); 0 = off.
    public var topK: Int
    /// Nucleus threshold in (0, 1]; 1 = off.
    public var topP: Float
    /// Drop tokens below `minP ·` the top probability, in [0, 1); 0 = off.
    public var minP: Float
    /// CTRL-style repetition penalty (> 0); 1 = off.
    public var repeatPenalty: Float
    /// How many of the latest tokens (prompt included) the penalty looks at (≥ 0).
    public var repeatWindow: Int
    /// Seed of the sampler's random stream.
    public var seed: UInt64

    /// Settings with `lm-run`'s defaults for every argument not given.
    public init(temperature: Float = 1, topK: Int = 200, topP: Float = 1, minP: Float = 0, repeatPenalty: Float = 1,
                repeatWindow: Int = 64, seed: UInt64 = 1337) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.minP = minP
        self.repeatPenalty = repeatPenalty
        self.repeatWindow = repeatWindow
        self.seed = seed
    }

    /// The filter settings for ``Sampler``.
    public var options: SamplingOptions {
        var o = SamplingOptions()
        o.temperature = temperature
        o.topK = topK
        o.topP = topP
        o.minP = minP
        o.repeatPenalty = repeatPenalty
        o.repeatWindow = repeatWindow
        return o
    }

    /// What is wrong with these settings (the same ranges `lm-run` accepts), or nil when they are valid.
    public var problem: String? {
        if !(temperature >= 0 && temperature.isFinite) { return "temperature must be a finite number ≥ 0" }
        if topK < 0 { return "top_k must be ≥ 0" }
        if !(topP > 0 && topP <= 1) { return "top_p must be in (0, 1]" }
        if !(minP >= 0 && minP < 1) { return "min_p must be in [0, 1)" }
        if !(repeatPenalty > 0 && repeatPenalty.isFinite) { return "repeat_penalty must be a positive finite number" }
        if repeatWindow < 0 { return "the repeat window must be ≥ 0" }
        return nil
    }
}
