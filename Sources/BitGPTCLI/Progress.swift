#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A one-line progress display for long work (convert, quantize, train, verify).
///
/// On a terminal (stderr is a TTY) it redraws `label  done/total  rate  ETA` at most ten times a
/// second; when stderr is piped or a file it prints nothing, so logs stay clean.
public final class ProgressLine {
    private let label: String
    private let total: Double
    private let unit: String
    private let scale: Double
    private let start = Date()
    private var last = Date.distantPast
    private let enabled: Bool

    /// - Parameters:
    ///   - label: what is being done.
    ///   - total: units of work in all.
    ///   - unit: the unit's name for the rate (`MB`, `it`, `tensors`).
    ///   - scale: divisor from raw units to shown units (1e6 for bytes → MB).
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
        guard now.timeIntervalSince(last) >= 0.1 || done >= total else { return }
        last = now
        let elapsed = max(now.timeIntervalSince(start), 1e-9)
        let rate = done / elapsed
        let eta = rate > 0 ? (total - done) / rate : 0
        let pct = total > 0 ? 100 * done / total : 100
        let line = String(format: "\r%@ %5.1f%%  %.1f/%.1f %@  %.1f %@/s  ETA %@ %@\u{1B}[K", label, pct, done / scale, total / scale,
                          unit, rate / scale, unit, ProgressLine.clock(eta), extra)
        FileHandle.standardError.write(line.data(using: .utf8)!)
    }

    /// Ends the line.
    public func finish() {
        guard enabled else { return }
        FileHandle.standardError.write("\n".data(using: .utf8)!)
    }

    static func clock(_ s: Double) -> String {
        guard s.isFinite else { return "--:--" }
        let t = Int(s.rounded())
        return t >= 3600 ? String(format: "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60) : String(format: "%02d:%02d", t / 60, t % 60)
    }
}
