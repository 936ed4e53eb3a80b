import ArgumentParser
import BitGPT

/// One tool's default and help line for ``ThreadsOption``.
public protocol ThreadsDefaults {
    /// The count when `--threads` is not given; nil for all cores (``WorkerPool``'s default).
    static var threads: Int? { get }
    /// The help line of `--threads`.
    static var help: String { get }
}

/// The runtime's threads (lm-run, lm-perplexity, lm-serve): all cores unless `--threads` says otherwise.
public enum RuntimeThreads: ThreadsDefaults {
    public static let threads: Int? = nil
    public static let help = "Threads, 1 to 1024 (default: all cores)."
}

/// `-t/--threads`: the worker threads of a tool, one flag for every tool that takes a single
/// count (lm-run, lm-perplexity, lm-serve, lm-train), checked against ``ThreadLimit`` before
/// anything is loaded. `Defaults` gives the tool's default and help line (``RuntimeThreads``).
///
/// A count outside `1...1024` is one line, exit status 1:
/// `Error: --threads: thread count 0 is out of range 1...1024`.
public struct ThreadsOption<Defaults: ThreadsDefaults>: ParsableArguments {
    /// The count given, nil when `--threads` is absent.
    @Option(name: [.customShort("t"), .long], parsing: .unconditional, help: ArgumentHelp(Defaults.help))
    public var threads: Int?

    public init() {}

    /// The count to use: `--threads`, else the tool's default (nil: all cores).
    public var count: Int? { threads ?? Defaults.threads }

    /// Refuses a count outside `1...1024` with ``ThreadLimit``'s one-line message.
    /// - Throws: ``BadInput`` `--threads: thread count N is out of range 1...1024`.
    public func validate() throws {
        if let t = threads, let why = ThreadLimit.problem(t) { throw BadInput("--threads: \(why)") }
    }
}
