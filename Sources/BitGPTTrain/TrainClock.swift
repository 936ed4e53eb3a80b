import Foundation

/// The timing behind lm-train's progress: one set of numbers for the terminal line and for the
/// `--log-interval` lines, so they agree.
///
/// - ms/it, tok/s and the rate (it/s) count optimizer steps only: not start-up, not
///   evaluations, not checkpoint writes between them.
/// - The ETA is the steps still to run times the mean step time so far, plus the evaluations
///   still to run times the mean measured evaluation time (nil until a step is measured).
public struct TrainClock {
    /// The run's last iteration and its evaluation interval.
    public let maxIters: Int, evalInterval: Int
    private(set) var steps = 0, tokens = 0, seconds = 0.0
    private(set) var evals = 0, evalSeconds = 0.0
    // Since the last log line.
    private var windowSteps = 0, windowTokens = 0, windowSeconds = 0.0

    public init(maxIters: Int, evalInterval: Int) {
        self.maxIters = maxIters
        self.evalInterval = evalInterval
    }

    /// Records a finished step.
    public mutating func step(seconds s: Double, tokens t: Int) {
        steps += 1; tokens += t; seconds += s
        windowSteps += 1; windowTokens += t; windowSeconds += s
    }

    /// Records a finished evaluation that took `s` seconds.
    public mutating func evaluation(seconds s: Double) {
        evals += 1; evalSeconds += s
    }

    /// Mean seconds per step so far (0 before the first).
    public var secondsPerStep: Double { steps > 0 ? seconds / Double(steps) : 0 }

    /// Steps per second so far (nil before the first).
    public var rate: Double? { seconds > 0 ? Double(steps) / seconds : nil }

    /// Tokens per second of step time so far.
    public var tokensPerSecond: Double { seconds > 0 ? Double(tokens) / seconds : 0 }

    /// Evaluations the loop still runs once `iteration` steps are done: at every multiple of the
    /// interval from `iteration` to `maxIters`, and at `maxIters`.
    public func remainingEvaluations(after iteration: Int) -> Int {
        guard iteration <= maxIters else { return 0 }
        let multiples = maxIters / evalInterval - (iteration > 0 ? (iteration - 1) / evalInterval : -1)
        return multiples + (maxIters % evalInterval == 0 ? 0 : 1)
    }

    /// Seconds left once `iteration` steps are done (nil before the first measured step).
    public func eta(after iteration: Int) -> Double? {
        guard steps > 0 else { return nil }
        let perEval = evals > 0 ? evalSeconds / Double(evals) : 0
        return Double(max(maxIters - iteration, 0)) * secondsPerStep + Double(remainingEvaluations(after: iteration)) * perEval
    }

    /// The `--log-interval` line for the step that ended at `iteration`, with ms/it and tok/s over
    /// the steps since the previous line (which this starts afresh):
    /// `iter 10/2000: loss 2.3456, lr 9.99e-04, 12.34 ms/it, 5678 tok/s, ETA 00:41`.
    ///
    /// - Parameter clock: formats seconds (infinite: unknown) as the ETA, e.g. `ProgressLine.clock`.
    public mutating func logLine(iteration: Int, loss: Float, lr: Float, clock: (Double) -> String) -> String {
        let ms = windowSteps > 0 ? 1000 * windowSeconds / Double(windowSteps) : 0
        let tps = windowSeconds > 0 ? Double(windowTokens) / windowSeconds : 0
        windowSteps = 0; windowTokens = 0; windowSeconds = 0
        return String(format: "iter %d/%d: loss %.4f, lr %.2e, %.2f ms/it, %.0f tok/s, ETA %@", iteration, maxIters, Double(loss), Double(lr),
                      ms, tps, clock(eta(after: iteration) ?? .infinity))
    }

}
