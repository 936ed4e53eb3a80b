import ArgumentParser
import BitGPT

/// `-t/--threads`: the worker threads of a tool that runs a model (lm-perplexity; lm-run has the
/// same flag), checked against ``ThreadLimit`` before anything is loaded.
public struct ThreadsOption: ParsableArguments {
    /// The count, nil for all cores (``WorkerPool``'s default).
    @Option(name: [.customShort("t"), .long], parsing: .unconditional, help: "Threads, 1 to 1024 (default: all cores).")
    public var threads: Int?

    public init() {}

    /// Refuses a count outside `1...1024` with ``ThreadLimit``'s one-line message.
    public func validate() throws {
        if let t = threads, let why = ThreadLimit.problem(t) { throw ValidationError("--threads: \(why)") }
    }
}
