import CStopSignals

/// SIGINT and SIGTERM as a request to stop training after the current step.
///
/// ``install()`` sets a C handler that only records the signal number (async-signal-safe); the
/// training loop polls ``received`` after every step (``Trainer/run(onStep:onEval:stop:)``),
/// writes a checkpoint and returns. A second SIGINT or SIGTERM while the first is pending ends
/// the process at once with status 128 + signal (130, 143), printing one line.
public enum StopSignals {
    /// Installs the handler for SIGINT and SIGTERM. Call once, before training.
    /// - Returns: whether the handler is installed.
    @discardableResult
    public static func install() -> Bool { bitgpt_stop_signals_install() == 0 }

    /// The first SIGINT or SIGTERM received since ``install()`` (its number), or 0 when none.
    public static var received: Int32 { bitgpt_stop_signal() }

    /// Forgets a received signal.
    public static func reset() { bitgpt_stop_signal_reset() }

    /// `SIGINT`, `SIGTERM`, or `signal N`.
    public static func name(_ signal: Int32) -> String {
        switch signal {
        case 2: return "SIGINT"
        case 15: return "SIGTERM"
        default: return "signal \(signal)"
        }
    }
}
