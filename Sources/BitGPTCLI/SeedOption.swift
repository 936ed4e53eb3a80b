import ArgumentParser

/// `-s/--seed`: the seed of a tool's random generator (lm-run's sampler, lm-init's weights,
/// lm-train's initialisation and batches), one flag, default and help for all of them.
///
/// A value that is not an unsigned 64-bit integer is swift-argument-parser's one-line error
/// (`Error: The value '-1' is invalid for '--seed <seed>'`), exit status 1.
public struct SeedOption: ParsableArguments {
    /// The seed every tool uses when `--seed` is absent (nanoGPT's and llama2.c's 1337).
    public static let defaultSeed: UInt64 = 1337

    /// The seed given, nil when `--seed` is absent (lm-run refuses it with beam search).
    @Option(name: [.customShort("s"), .long], parsing: .unconditional, help: "Random seed (default: 1337).")
    public var seed: UInt64?

    public init() {}

    /// The seed to use: `--seed`, else ``defaultSeed``.
    public var value: UInt64 { seed ?? Self.defaultSeed }
}
