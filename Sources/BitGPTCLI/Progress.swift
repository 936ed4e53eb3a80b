#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A one-line progress display for long work (convert, quantize, train, verify).
///
/// On a terminal (stderr is a TTY) it redraws `label  done/total  rate  ETA` at most ten times a
/// second; when stderr is piped or a file it prints nothing, so logs stay clean. The rate and ETA
/// are measured from the first update on, so set-up before the first unit of work (allocation,
/// an initial evaluation) does not inflate the first ETA; until a second update there is none.
public final class ProgressLine {
    private let label: String
    private let total: Double
    private let unit: String
    private let scale: Double
    private var first: (time: Date, done: Double)?
    private var last = Date.distantPast
    private let enabled: Bool

    /// - Parameters:
    ///   - label: what is being done.
    ///   - total: units of work in all.
    ///   - unit: the unit's name for the rate (`MB`, `it`, `tensors`).
    ///   - scale: divisor from raw units to shown units (1e6 for bytes → MB); with 1, counts
    ///     show as integers (`3/300 it`).
    public init(_ label: String, total: Double, unit: String, scale: Double = 1) {
        self.label = label
        self.total = total
        self.unit = unit
        self.scale = scale
        enabled = isatty(2) == 1 && ProcessInfo.processInfo.environment["BITGPT_NO_PROGRESS"] == nil
    }

    /// Reports `done` units finished.
    public func update(_ done: Double, extra: String = "") {
        guard enabled else { return }
        let now = Date()
        guard let first else {
            self.first = (now, done)
            return draw(ProgressLine.text(label: label, done: done, total: total, unit: unit, scale: scale, rate: nil, extra: extra))
        }
        guard now.timeIntervalSince(last) >= 0.1 || done >= total else { return }
        last = now
        let elapsed = now.timeIntervalSince(first.time)
        let rate = elapsed > 0 && done > first.done ? (done - first.done) / elapsed : nil
        draw(ProgressLine.text(label: label, done: done, total: total, unit: unit, scale: scale, rate: rate, extra: extra))
    }

    /// Reports `done` units finished, with a rate (units per second) and ETA (seconds) the caller
    /// measured, for work whose own clock leaves out pauses (lm-train's steps without its
    /// evaluations); nil shows `--`.
    public func update(_ done: Double, rate: Double?, eta: Double?, extra: String = "") {
        guard enabled else { return }
        let now = Date()
        guard now.timeIntervalSince(last) >= 0.1 || done >= total else { return }
        last = now
        draw(ProgressLine.text(label: label, done: done, total: total, unit: unit, scale: scale, rate: rate, eta: eta, extra: extra))
    }

    /// Ends the line.
    public func finish() {
        guard enabled else { return }
        FileHandle.standardError.write("\n".data(using: .utf8)!)
    }

    private func draw(_ text: String) {
        FileHandle.standardError.write(("\r" + text + "\u{1B}[K").data(using: .utf8)!)
    }

    /// The line: `label  pct%  done/total unit  rate unit/s  ETA mm:ss  extra`.
    ///
    /// - Parameters:
    ///   - rate: raw units per second; nil (not measured yet) shows `--` and `--:--`.
    ///   - eta: seconds left; nil: the units left over `rate`.
    public static func text(label: String, done: Double, total: Double, unit: String, scale: Double, rate: Double?, eta: Double? = nil,
                            extra: String) -> String {
        let pct = total > 0 ? 100 * done / total : 100
        let counts = scale == 1 ? String(format: "%.0f/%.0f", done, total) : String(format: "%.1f/%.1f", done / scale, total / scale)
        let speed = rate.map { String(format: "%.1f", $0 / scale) } ?? "--"
        let eta = eta ?? rate.map { $0 > 0 ? (total - done) / $0 : Double.infinity } ?? Double.infinity
        var line = String(format: "%@ %5.1f%%  %@ %@  %@ %@/s  ETA %@", label, pct, counts, unit, speed, unit, clock(eta))
        if !extra.isEmpty { line += "  " + extra }
        return line
    }

    /// `mm:ss`, `h:mm:ss`, or `--:--` for an infinite time.
    public static func clock(_ s: Double) -> String {
        guard s.isFinite else { return "--:--" }
        let t = Int(s.rounded())
        return t >= 3600 ? String(format: "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60) : String(format: "%02d:%02d", t / 60, t % 60)
    }
}

/// The training-specific part of lm-train's progress line.
public enum TrainProgress {
    /// `loss 2.3456  1234 tok/s  12.3 ms/it  MFU 39% of 85 GFLOP/s`: MFU is the step's model FLOP/s
    /// over `peakFlops`, the sgemm throughput measured on this machine (named, so the percentage
    /// says what it is a fraction of); without a peak (0) the MFU is left out.
    public static func text(loss: Double, tokensPerSecond: Double, secondsPerStep: Double, stepFlops: Double, peakFlops: Double) -> String {
        var s = String(format: "loss %.4f  %.0f tok/s  %.1f ms/it", loss, tokensPerSecond, 1000 * secondsPerStep)
        if peakFlops > 0, secondsPerStep > 0 {
            s += String(format: "  MFU %.0f%% of %.0f GFLOP/s (measured sgemm peak)", 100 * stepFlops / secondsPerStep / peakFlops, peakFlops / 1e9)
        }
        return s
    }
}
