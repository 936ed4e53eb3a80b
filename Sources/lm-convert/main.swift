import ArgumentParser
import Foundation
import BitGPT
import BitGPTCLI
import BitGPTConvert
import BitGPTTrain

/// `lm-convert`: turn a PyTorch, safetensors or llama2.c checkpoint into a .bgpt model.
@main
struct LMConvert: BitGPTCommand {
    static let configuration = CommandConfiguration(
        commandName: "lm-convert",
        abstract: "Convert a nanoGPT, BitGPT, BabyGPT, lilLM, LightGPT or llama2.c checkpoint (.pt, .safetensors, .bin) to .bgpt.",
        discussion: """
            The checkpoint is read without Python: .pt files through a restricted unpickler that \
            refuses any global outside its allowlist and never runs code. The layout is detected \
            from the tensor names (--arch overrides). Linear weights take --dtype (default: as the \
            source, so a BitGPT checkpoint stays ternary, exactly); embeddings and the classifier \
            stay F32 (F16 with --dtype f16); norms and biases stay F32. --tensor-type rules \
            override per tensor, e.g. --tensor-type 'blk.*.ffn_down=int8' (last match wins). \
            Float weights going to ternary take γ by --ternary-scale: auto (the default) keeps the \
            exact γ of weights that already are ternary floats (zero error), and otherwise uses \
            absmean for a quantization-aware checkpoint's BitLinear weights and least squares for \
            the rest (see lm-quantize --help).

            An lm-train checkpoint (OUT/ckpt.safetensors, of any family and option) converts with \
            no flags: its config and tokenizer come from its __metadata__ and folder, and the .bgpt \
            equals lm-train's own export (only general.created differs). Only --name applies to it.

            Exit status: 0 on success, 1 on any error (the output is never left half-written).
            """,
        version: BitGPTVersion.string)

    @Argument(help: "Input checkpoint: .pt/.pth (torch.save), .safetensors, or llama2.c .bin.")
    var input: String
    @Argument(help: "Output .bgpt path.")
    var output: String

    @Option(help: "Source layout (default: detected).")
    var arch: CheckpointLayout?
    @Option(help: "dtype of linear weights (also int8, ternary).")
    var dtype: DTypeChoice?
    @Option(name: .customLong("tensor-type"), help: "Per-tensor override PATTERN=TYPE (glob on .bgpt names); repeatable.")
    var tensorTypes: [String] = []
    @Option(help: "Scale of float weights going to ternary (lsq: least squares).")
    var ternaryScale: TernaryScaleChoice = .auto
    @Option(help: "Tokenizer to embed: nanoGPT meta.pkl, lm-train DATA.char/meta.json, SentencePiece .model, tokenizer.json, encoder.json,vocab.bpe, .tiktoken, or a .bgpt.")
    var tokenizer: String?
    @Option(help: "Model name for general.name (default: output file stem).")
    var name: String?
    @Option(parsing: .unconditional, help: "Query heads, when the checkpoint does not record them.") var nHeads: Int?
    @Option(parsing: .unconditional, help: "Key/value heads, when the checkpoint does not record them.") var nKvHeads: Int?
    @Option(parsing: .unconditional, help: "Context length (positions), when the checkpoint does not record it.") var contextLength: Int?
    @Option(parsing: .unconditional, help: "Norm epsilon override.") var normEps: Float?
    @Option(name: .customLong("allow-global"), help: "Extra pickled class to keep as an opaque record (module.Name); repeatable.")
    var allowGlobals: [String] = []

    func validate() throws {
        for t in tensorTypes {
            do { _ = try TensorTypeRule(parsing: t) } catch { throw ValidationError(error.description) }
        }
    }

    func run() throws {
        let tokenizerFiles = tokenizer.map { $0.split(separator: ",").map(String.init) } ?? []
        try OutputPath.check(output, inputs: [input] + tokenizerFiles)
        if CheckpointExport.isTrainCheckpoint(input) {
            let given = [("--arch", arch != nil), ("--dtype", dtype != nil), ("--tensor-type", !tensorTypes.isEmpty),
                         ("--ternary-scale", ternaryScale != .auto),
                         ("--tokenizer", tokenizer != nil), ("--n-heads", nHeads != nil), ("--n-kv-heads", nKvHeads != nil),
                         ("--context-length", contextLength != nil), ("--norm-eps", normEps != nil)]
            if let (flag, _) = given.first(where: { $0.1 }) {
                throw FileFailure(input, TrainError.badOption("an lm-train checkpoint records its config and tokenizer; \(flag) does not apply"))
            }
            let c = try CheckpointExport.write(checkpoint: input, to: output, name: name)
            StandardOutput.print("wrote \(output): lm-train checkpoint, \(c.architecture.rawValue)\(c.bitLinear ? " BitLinear" : ""), "
                                 + "\(c.nLayers) layers, dim \(c.dim), vocab \(c.vocabSize)")
            return
        }
        var options = Converter.Options()
        options.layout = arch
        options.precision = PrecisionPolicy(linear: dtype?.dtype,
                                            rules: try tensorTypes.map { s throws in try TensorTypeRule(parsing: s) },
                                            ternaryScale: ternaryScale.rule)
        options.tokenizer = tokenizer
        options.name = name
        options.overrides = HyperOverrides(nHeads: nHeads, nKVHeads: nKvHeads, contextLength: contextLength, normEps: normEps)
        options.extraOpaqueClasses = Set(allowGlobals)
        // The total is known once the source is open: the line starts at the first tensor.
        var progress: ProgressLine?
        let summary: Converter.Summary
        do {
            summary = try Converter.convert(input: input, output: output, options: options) { done, total in
                if progress == nil { progress = ProgressLine("convert", total: Double(total), unit: "MB", scale: 1e6) }
                progress?.update(Double(done))
            }
        } catch {
            progress?.finish()
            throw ErrorText.blame(error, input: input, output: output)
        }
        progress?.finish()
        StandardOutput.write(ConvertReport.text(summary, output: output))
        if tokenizer == nil {
            FileHandle.standardError.write(Data(("warning: \(output) has no tokenizer, so lm-run cannot run it; give --tokenizer "
                + "(meta.pkl, meta.json, .model, tokenizer.json, encoder.json,vocab.bpe, .tiktoken or a .bgpt)\n").utf8))
        }
    }
}

/// `--arch` parses (and `--help` lists) the converter's layouts by their raw names.
extension CheckpointLayout: ExpressibleByArgument {}
