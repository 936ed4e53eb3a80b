import ArgumentParser

/// One tool's defaults for ``ModelShapeOptions``.
public protocol ModelShapeDefaults {
    /// Residual width.
    static var dim: Int { get }
    /// Number of blocks.
    static var nLayers: Int { get }
    /// Query heads.
    static var nHeads: Int { get }
    /// Context length.
    static var context: Int { get }
}

/// The model shape, with one set of flag names for every tool that builds a model (`lm-init`,
/// `lm-train`): `--dim`, `--n-layers`, `--n-heads`, `--n-kv-heads`, `--context`. nanoGPT's
/// spellings are aliases (`--n-embd`, `--n-layer`, `--n-head`, `--n-kv-head`, `--block-size`),
/// so commands written for either tool keep working.
public struct ModelShapeOptions<Defaults: ModelShapeDefaults>: ParsableArguments {
    @Option(name: [.customLong("dim"), .customLong("n-embd")], parsing: .unconditional, help: "Residual (embedding) width.")
    public var dim: Int = Defaults.dim
    @Option(name: [.customLong("n-layers"), .customLong("n-layer")], parsing: .unconditional, help: "Number of blocks.")
    public var nLayers: Int = Defaults.nLayers
    @Option(name: [.customLong("n-heads"), .customLong("n-head")], parsing: .unconditional, help: "Query heads.")
    public var nHeads: Int = Defaults.nHeads
    @Option(name: [.customLong("n-kv-heads"), .customLong("n-kv-head")], parsing: .unconditional,
            help: "Key/value heads (llama; default: --n-heads).")
    public var nKVHeads: Int?
    @Option(name: [.customLong("context"), .customLong("block-size")], parsing: .unconditional, help: "Context length.")
    public var context: Int = Defaults.context

    public init() {}
}
