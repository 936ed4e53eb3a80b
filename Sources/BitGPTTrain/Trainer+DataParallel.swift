extension Trainer {
    /// Computes one step's gradient into `model.grads` on every rank and returns the step's
    /// mean training loss (the same value on every rank).
    ///
    /// Every rank draws the step's `batchSize · gradAccum` windows from the shared stream, runs
    /// forward and backward over its ``BatchShard`` share, then the gradient sums and the loss
    /// are all-reduced (one call for the whole flat gradient). With one process this is the
    /// single-process step operation for operation, so its results are bit-identical to it.
    func stepGradients() -> Float {
        let starts = rng.windowStarts(shard.stepSequences, in: data.train, blockSize: model.blockSize)
        model.zeroGrads()
        let micro = shard.localMicroBatches
        let local = model.accumulateGradients(windows: starts[shard.stepRange], from: data.train,
                                              scale: 1 / Float(micro * shard.ranks))
        let grads = model.trainable.grads
        comm.sum(grads.base, count: grads.count)
        return Float(comm.sum(local / Double(micro)) / Double(shard.ranks))
    }

    /// Mean loss over `evalIters · batchSize` windows of `split` drawn from `stream`, shared
    /// out over the ranks (``BatchShard/evalRange(count:)``) and all-reduced.
    ///
    /// With one process the windows go through the model `batchSize` at a time in drawing order,
    /// as ``evaluate(_:iteration:salt:)`` always did, so the result is bit-identical to it.
    func evaluateShared(_ split: [UInt16], stream: inout TrainRandom) -> Float {
        let count = options.evalIters * options.batchSize
        let starts = stream.windowStarts(count, in: split, blockSize: model.blockSize)
        let mine = shard.evalRange(count: count)
        var sum = 0.0  // Σ over chunks of (chunk loss sum) / (batch · T): a full chunk adds its mean
        var i = mine.lowerBound
        while i < mine.upperBound {
            let rows = min(model.batch, mine.upperBound - i)
            model.fill(windows: starts[i..<(i + rows)], from: split)
            let mean = model.forward()
            sum += rows == model.batch ? Double(mean) : model.lossSum(rows: rows) / Double(model.batch * model.blockSize)
            i += rows
        }
        return Float(comm.sum(sum) / (Double(count) / Double(model.batch)))
    }

    /// Whether to stop after this step, the same answer on every rank: nil to go on, else the
    /// signal to report: the one every rank that received a signal received, or SIGTERM (15)
    /// when they received different ones.
    ///
    /// Collective under MPI (one all-reduce of a flag per step, two more when stopping), so a
    /// signal to any rank stops every rank after the same step, and rank 0 writes the checkpoint.
    /// - Parameter local: this rank's request: a signal number, 0 for none.
    func agreeOnStop(_ local: Int32) -> Int32? {
        guard comm.size > 1 else { return local != 0 ? local : nil }
        let ranks = comm.sum(local != 0 ? 1.0 : 0.0)
        guard ranks > 0 else { return nil }
        // The n received signals are all equal exactly when (Σ s)² = n · Σ s² (exact in Double).
        let s = Double(local), total = comm.sum(s), squares = comm.sum(s * s)
        return total * total == ranks * squares ? Int32(total / ranks) : 15
    }

    /// Checks that this rank's parameters and AdamW moments are rank 0's, bit for bit.
    ///
    /// Collective; a no-op for one process.
    /// - Throws: ``TrainError/replicaMismatch(_:)``.
    func checkReplicas() throws(TrainError) {
        guard comm.size > 1 else { return }
        let params = model.trainable.params
        try comm.checkReplicas(UnsafeRawBufferPointer(start: params.base, count: params.count * 4), what: "parameters")
        try comm.checkReplicas(UnsafeRawBufferPointer(start: optimizer.m.base, count: optimizer.m.count * 4), what: "AdamW first moments")
        try comm.checkReplicas(UnsafeRawBufferPointer(start: optimizer.v.base, count: optimizer.v.count * 4), what: "AdamW second moments")
    }
}
