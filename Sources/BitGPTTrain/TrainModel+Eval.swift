import BitGPT

extension TrainModel {
    /// The logits of one sequence by the eval forward: the training forward's ops with the
    /// runtime's products (``Arithmetic/runtime``), so the runtime's forward over the exported
    /// `.bgpt` (F32 KV cache) gives the same logits bit for bit.
    ///
    /// The sequence fills row 0 of the batch and the rest is padded with id 0; attention is
    /// causal, so the padding does not change the returned rows.
    /// - Parameter tokens: 1 ... `blockSize` ids, each below the vocabulary size.
    /// - Returns: (tokens.count, V) row-major logits.
    /// - Throws: ``TrainError/badOption(_:)`` for an empty or too long sequence or an id out of range.
    public func logits(tokens: [Int]) throws(TrainError) -> [Float] {
        guard !tokens.isEmpty, tokens.count <= blockSize else {
            throw .badOption("a sequence of \(tokens.count) tokens; the model takes 1...\(blockSize)")
        }
        if let bad = tokens.first(where: { $0 < 0 || $0 >= config.vocabSize }) {
            throw .badOption("token id \(bad) is outside the vocabulary (\(config.vocabSize))")
        }
        for i in 0..<(batch * blockSize) {
            inputs[i] = i < tokens.count ? Int32(tokens[i]) : 0
            targets[i] = 0
        }
        let saved = arithmetic
        arithmetic = .runtime
        defer { arithmetic = saved }
        forward()
        return acts.array(logits, count: tokens.count * config.vocabSize)
    }

    /// Builds a model from a checkpoint folder (`ckpt.safetensors` + `ckpt.optim.safetensors`).
    ///
    /// - Parameters:
    ///   - dir: the `--out` folder of a run.
    ///   - batch: sequences per forward.
    /// - Throws: ``TrainError/badCheckpoint(path:reason:)``.
    public static func load(checkpoint dir: String, batch: Int = 1) throws(TrainError) -> TrainModel {
        let l = try Checkpoint.load(dir: dir)
        let m = TrainModel(config: l.config, batch: batch, seed: 0)
        let opt = AdamW(layout: m.layout)
        try l.restore(into: m, optimizer: opt, dir: dir)
        return m
    }
}
