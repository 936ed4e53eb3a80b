/// Which of a step's sequences one rank of a data-parallel run processes.
///
/// A step of the single-process trainer runs `gradAccum` micro-batches of `batchSize` windows,
/// drawn one after another from the shared ``TrainRandom`` stream: `batchSize · gradAccum`
/// sequences in all, each weighing the same in the mean loss. With `ranks` processes every rank
/// draws the same sequences (same seed, same stream) and takes a contiguous share of
/// `batchSize · gradAccum / ranks` of them; rank `r` takes `[r·S, (r+1)·S)`. The share runs
/// in micro-batches of ``localBatch`` rows (the largest divisor of the share that is not above
/// `batchSize`, so a rank never needs more activation memory than one process), each backward
/// scaled by `1 / (micro-batches · ranks)`. Summing the ranks' gradients (all-reduce) then gives
/// the mean-loss gradient of the whole step, as one process computes it, up to float summation
/// order. With one rank the layout is exactly the single-process one.
///
/// Evaluation draws `evalIters · batchSize` windows and splits them as evenly as possible
/// (``evalRange(count:)``); each rank evaluates its part and the loss sums are all-reduced.
public struct BatchShard: Equatable, CustomStringConvertible {
    /// This process's rank, 0 ..< ``ranks``.
    public let rank: Int
    /// Processes in the run.
    public let ranks: Int
    /// Sequences per micro-batch of the single-process run (`--batch-size`).
    public let batchSize: Int
    /// Sequences per optimizer step over all ranks (`--batch-size × --grad-accum`).
    public let stepSequences: Int
    /// Rows of this rank's model (its micro-batch): the largest divisor of ``perRank`` ≤ `batchSize`.
    public let localBatch: Int

    /// Sequences each rank processes per step.
    public var perRank: Int { stepSequences / ranks }
    /// Micro-batches each rank runs per step.
    public var localMicroBatches: Int { perRank / localBatch }
    /// This rank's sequences of a step, as indices into the step's draws.
    public var stepRange: Range<Int> { (rank * perRank)..<((rank + 1) * perRank) }

    /// Plans the share of rank `rank` of `ranks`.
    ///
    /// - Parameters:
    ///   - batchSize: `--batch-size`, at least 1.
    ///   - gradAccum: `--grad-accum`, at least 1.
    ///   - rank: this process, 0 ..< `ranks`.
    ///   - ranks: processes in the run, at least 1.
    /// - Throws: ``TrainError/badOption(_:)`` when the step's sequences do not divide evenly.
    public init(batchSize: Int, gradAccum: Int, rank: Int, ranks: Int) throws(TrainError) {
        let total = batchSize * gradAccum
        guard ranks >= 1, rank >= 0, rank < ranks, batchSize >= 1, gradAccum >= 1 else {
            throw .badOption("rank \(rank) of \(ranks) with --batch-size \(batchSize) and --grad-accum \(gradAccum) is not a valid layout")
        }
        guard total % ranks == 0 else {
            throw .badOption("--batch-size \(batchSize) × --grad-accum \(gradAccum) = \(total) sequences per step do not split over \(ranks) ranks; make it a multiple of \(ranks)")
        }
        self.rank = rank; self.ranks = ranks; self.batchSize = batchSize; stepSequences = total
        let share = total / ranks
        var b = min(share, batchSize)
        while share % b != 0 { b -= 1 }
        localBatch = b
    }

    /// This rank's part of `count` evaluation sequences: `[r·count/N, (r+1)·count/N)`.
    public func evalRange(count: Int) -> Range<Int> {
        (rank * count / ranks)..<((rank + 1) * count / ranks)
    }

    public var description: String {
        "rank \(rank) of \(ranks): \(perRank) of \(stepSequences) sequences per step in \(localMicroBatches) micro-batches of \(localBatch)"
    }
}

extension TrainRandom {
    /// The starts of `count` random windows of `blockSize + 1` tokens in `split`, drawn as
    /// ``fillBatch(_:from:)`` draws them (`i` uniform in `0 ..< split.count − blockSize`).
    mutating func windowStarts(_ count: Int, in split: [UInt16], blockSize: Int) -> [Int] {
        let range = UInt64(split.count - blockSize)
        return (0..<count).map { _ in Int(next() % range) }
    }
}

extension TrainModel {
    /// Fills the inputs and targets with the windows at `starts` (at most `batch` of them):
    /// row `b` gets `x = split[s ..< s+T]`, `y = split[s+1 ..< s+T+1]`. Rows past `starts.count`
    /// repeat the first window (padding; callers leave their losses out).
    func fill(windows starts: ArraySlice<Int>, from split: [UInt16]) {
        let T = blockSize
        precondition(!starts.isEmpty && starts.count <= batch)
        split.withUnsafeBufferPointer { d in
            for b in 0..<batch {
                let s = b < starts.count ? starts[starts.startIndex + b] : starts[starts.startIndex]
                for t in 0..<T {
                    inputs[b * T + t] = Int32(d[s + t])
                    targets[b * T + t] = Int32(d[s + t + 1])
                }
            }
        }
    }

    /// The summed per-token loss of the first `rows` rows of the last ``forward()``.
    func lossSum(rows: Int) -> Double {
        let l = acts.at(losses)
        var sum = 0.0
        for i in 0..<(rows * blockSize) { sum += Double(l[i]) }
        return sum
    }

    /// Runs forward and backward over the windows at `starts`, `batch` at a time, adding
    /// `scale ·` the gradient of each micro-batch's mean loss to ``grads``.
    ///
    /// - Parameters:
    ///   - starts: window starts, a multiple of `batch` of them.
    ///   - split: the token ids they index.
    ///   - scale: weight of one micro-batch (`1 / (micro-batches · ranks)`).
    /// - Returns: the sum of the micro-batches' mean losses.
    func accumulateGradients(windows starts: ArraySlice<Int>, from split: [UInt16], scale: Float) -> Double {
        precondition(starts.count % batch == 0)
        var loss = 0.0
        var i = starts.startIndex
        while i < starts.endIndex {
            fill(windows: starts[i..<(i + batch)], from: split)
            loss += Double(forward())
            backward(scale: scale)
            i += batch
        }
        return loss
    }
}
