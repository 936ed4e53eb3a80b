/// The one bound on worker threads, shared by `lm-run`, `lm-bench` and `lm-perplexity --threads` and the
/// C API's `bg_context_params.n_threads`.
public enum ThreadLimit {
    /// The most worker threads a pool may be asked for.
    public static let maximum = 1024

    /// Why `count` is not a usable thread count, or nil when it is in `1...maximum`.
    ///
    /// The message is the same everywhere: `thread count 100000 is out of range 1...1024`.
    public static func problem(_ count: Int) -> String? {
        (1...maximum).contains(count) ? nil : "thread count \(count) is out of range 1...\(maximum)"
    }
}
