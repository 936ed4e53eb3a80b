import ArgumentParser
import BitGPT
import BitGPTCLI
import BitGPTConvert
import Foundation

/// `lm-quantize`: re-encode a .bgpt model's weights as int8, ternary or f16.
@main
struct LMQuantize: BitGPTCommand {
    static let configuration = CommandConfiguration(
        commandName: "lm-quantize",
        abstract: "Re-encode the linear weights of a .bgpt model (int8, ternary, f16, ...), printing each tensor's size and error.",
        discussion: """
            Linear weights take --to; embeddings, the classifier, norms and biases keep their dtype \
            unless a --tensor-type rule (PATTERN=TYPE, glob on tensor names, last match wins) says \
            otherwise. For every tensor it prints the bytes before and after and the quantization \
            error (RMSE and max abs, against the input's values). --dry-run writes nothing. Each \
            tensor's checksum is checked as it is read; a damaged input is an error. \
            The output may not be the input file (by any path or link) unless --in-place is given: \
            then the input is rewritten through a temporary file, renamed over it when complete.

            Float weights going to ternary (t2, t1) keep the absmean codes; their scale γ follows \
            --ternary-scale. auto (the default) keeps the exact γ of weights that already are \
            ternary, {-a, 0, +a} ("exact" in the table, zero error); otherwise it uses absmean \
            (γ = mean|W|, BitNet b1.58) for the linear weights of a quantization-aware model \
            (bitlinear.enabled: BitGPT, lm-train --bitlinear), which were trained with it, and \
            least squares (γ = mean |w| over the nonzero codes, the smallest error for those \
            codes) for the rest. The table gives, for each such tensor, the rule used and the \
            RMSE of every rule.

            Exit status: 0 on success, 1 on any error (the output is never left half-written).
            """,
        version: BitGPTVersion.string)

    @Argument(help: "Input .bgpt.") var input: String
    @Argument(help: "Output .bgpt (not needed with --dry-run or --in-place).") var output: String?
    @Option(help: "Target dtype for linear weights (also int8, ternary).") var to: DTypeChoice
    @Option(name: .customLong("tensor-type"), help: "Per-tensor override PATTERN=TYPE; repeatable.") var tensorTypes: [String] = []
    @Option(help: "Scale of float weights going to ternary (lsq: least squares).") var ternaryScale: TernaryScaleChoice = .auto
    @Flag(help: "Print the table without writing a file.") var dryRun = false
    @Flag(help: "Rewrite the input file (atomically, through a temporary file).") var inPlace = false

    func validate() throws {
        if output == nil && !dryRun && !inPlace { throw ValidationError("give an output path, --in-place, or --dry-run") }
        if inPlace && dryRun { throw ValidationError("give --in-place or --dry-run, not both") }
        if inPlace, let o = output, !OutputPath.same(o, input) {
            throw ValidationError("--in-place rewrites the input; do not give another output path (\(o))")
        }
        for t in tensorTypes {
            do { _ = try TensorTypeRule(parsing: t) } catch { throw ValidationError(error.description) }
        }
    }

    func run() throws {
        // In place through a link rewrites the file it points to; the link stays.
        let destination = dryRun ? nil : inPlace ? URL(fileURLWithPath: input).resolvingSymlinksInPath().path : output
        if let d = destination, !inPlace { try OutputPath.check(d, inputs: [input], hint: "give another output path, or --in-place to rewrite it") }
        let rules = try tensorTypes.map { s throws in try TensorTypeRule(parsing: s) }
        var progress: ProgressLine?
        let report: Quantizer.Report
        do {
            report = try Quantizer.quantize(input: input, output: destination, to: to.dtype, rules: rules,
                                                ternaryScale: ternaryScale.rule) { done, total in
                if progress == nil { progress = ProgressLine("quantize", total: Double(total), unit: "tensors") }
                progress?.update(Double(done))
            }
        } catch {
            progress?.finish()
            throw ErrorText.blame(error, input: input, output: destination)
        }
        progress?.finish()
        StandardOutput.write(report.text())
    }
}
