import ArgumentParser
import BitGPT
import BitGPTCLI

/// `lm-init`: write a model with random weights.
@main
struct LMInit: BitGPTCommand {
    static let configuration = CommandConfiguration(
        commandName: "lm-init",
        abstract: "Write a .bgpt model of any family with random weights (for benchmarks and tests).",
        discussion: """
            Weights are N(0, 0.02) from a seeded generator; norm gains are 1, biases 0. Linear \
            layers are stored as --dtype; embeddings and norms as F32.

            Exit status: 0 on success, 1 on a bad setting or a write error (the destination is \
            never left half-written).
            """,
        version: BitGPTVersion.string)

    @Argument(help: "Output .bgpt path.")
    var output: String

    @Option(help: "Family.")
    var arch: Architecture = .llama
    @OptionGroup var shape: ModelShapeOptions<LMInitShape>
    @Option(parsing: .unconditional, help: "MLP hidden width (default: family's rule).") var hidden: Int?
    @Option(parsing: .unconditional, help: "Vocabulary size.") var vocab: Int = 256
    @Option(help: "dtype of linear weights (also int8, ternary).") var dtype: DTypeChoice = .t2
    @Option(help: "dtype of an untied classifier.") var headDtype: DTypeChoice = .f32
    @Option(help: "Positions (default: family's).") var position: PositionKind?
    @Option(help: "RoPE pairing.") var ropePairing: RopePairing = .interleaved
    @Option(help: "Tokenizer section: bytes (256 tokens) or none.") var tokenizer: TokenizerSectionChoice = .bytes
    @OptionGroup var seed: SeedOption

    var dim: Int { shape.dim }
    var nLayers: Int { shape.nLayers }
    var nHeads: Int { shape.nHeads }
    var nKvHeads: Int? { shape.nKVHeads }
    var context: Int { shape.context }

    func validate() throws {
        if tokenizer == .bytes && vocab < 256 { throw ValidationError("--tokenizer bytes needs --vocab of at least 256") }
        guard dim > 0, nLayers > 0, nHeads > 0, vocab > 0, context > 0, dim % nHeads == 0 else {
            throw ValidationError("sizes must be positive and --n-heads must divide --dim")
        }
        if let k = nKvHeads, k <= 0 || nHeads % k != 0 { throw ValidationError("--n-kv-heads must divide --n-heads") }
    }

    func run() throws {
        var config = ModelConfig(architecture: arch, vocabSize: vocab, contextLength: context, dim: dim,
                                 nLayers: nLayers, nHeads: nHeads, nKVHeads: nKvHeads, hiddenDim: hidden)
        if let p = position { config.position = p }
        config.ropePairing = ropePairing
        if config.position == .rope && config.headDim % 2 != 0 { throw ValidationError("RoPE needs an even head dimension") }
        try OutputPath.check(output)
        let progress = ProgressLine("init", total: Double(config.tensorSpecs.count), unit: "tensors")
        do {
            try RandomModel.write(config: config, to: output, linearType: dtype.dtype, headType: headDtype.dtype,
                                  seed: seed.value, extra: tokenizer == .bytes ? RandomModel.byteTokenizer : Metadata()) { done, _ in
                progress.update(Double(done))
            }
        } catch {
            progress.finish()
            throw FileFailure(output, error)
        }
        progress.finish()
    }
}

/// lm-init's model shape: the llama2.c "15M" model's width, depth and heads.
enum LMInitShape: ModelShapeDefaults {
    static let dim = 288, nLayers = 6, nHeads = 6, context = 256
}

/// lm-init's `--tokenizer`: the byte tokenizer's section, or none.
enum TokenizerSectionChoice: String, CaseIterable, ExpressibleByArgument {
    case bytes, none
}
