import Prometheus

/// The server's Prometheus metrics (`GET /metrics`).
public final class ServerMetrics: Sendable {
    /// The registry `/metrics` prints.
    public let registry = PrometheusCollectorRegistry()
    /// Tokens of admitted prompts.
    let promptTokens: Counter
    /// Tokens generated.
    let generatedTokens: Counter
    /// Generation rate over the last seconds of decoding (0 when idle).
    let tokensPerSecond: Gauge
    /// Requests waiting for a slot.
    let queueDepth: Gauge
    /// Slots holding a sequence.
    let busySlots: Gauge
    /// Slots in all (`--parallel`).
    let slots: Gauge

    /// Creates the metrics.
    public init() {
        promptTokens = registry.makeCounter(name: "lm_prompt_tokens_total", help: "Prompt tokens processed.")
        generatedTokens = registry.makeCounter(name: "lm_generated_tokens_total", help: "Tokens generated.")
        tokensPerSecond = registry.makeGauge(name: "lm_tokens_per_second", help: "Tokens generated per second over the last 5 s of decoding.")
        queueDepth = registry.makeGauge(name: "lm_queue_depth", help: "Requests waiting for a decoding slot.")
        busySlots = registry.makeGauge(name: "lm_busy_slots", help: "Decoding slots holding a sequence.")
        slots = registry.makeGauge(name: "lm_slots", help: "Decoding slots (--parallel).")
    }

    /// Counts a finished request by HTTP status.
    func countRequest(status: Int) {
        registry.makeCounter(name: "lm_requests_total", labels: [("status", String(status))], help: "HTTP requests answered, by status.")
            .increment()
    }

    /// The Prometheus text exposition.
    public func text() -> String { registry.emitToString() }
}
