import ArgumentParser
import BitGPT
import BitGPTCLI
import BitGPTConvert

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
            error (RMSE and max abs, against the input's values). --dry-run writes nothing.

            Exit status: 0 on success, 1 on any error (the output is never left half-written).
            """)

    @Argument(help: "Input .bgpt.") var input: String
    @Argument(help: "Output .bgpt (not needed with --dry-run).") var output: String?
    @Option(help: "Target dtype for linear weights: int8, ternary (t2), t1, f16, bf16, f32.") var to: String
    @Option(name: .customLong("tensor-type"), help: "Per-tensor override PATTERN=TYPE; repeatable.") var tensorTypes: [String] = []
    @Flag(help: "Print the table without writing a file.") var dryRun = false

    func validate() throws {
        guard DType(name: to) != nil else { throw ValidationError("--to \"\(to)\" is not a dtype (int8, ternary, t1, f16, bf16, f32)") }
        if output == nil && !dryRun { throw ValidationError("give an output path, or --dry-run") }
        for t in tensorTypes {
            do { _ = try TensorTypeRule(parsing: t) } catch { throw ValidationError(error.description) }
        }
    }

    func run() throws {
        let rules = try tensorTypes.map { s throws in try TensorTypeRule(parsing: s) }
        var progress: ProgressLine?
        let report: Quantizer.Report
        do {
            report = try Quantizer.quantize(input: input, output: dryRun ? nil : output, to: DType(name: to) ?? .i8, rules: rules) { done, total in
                if progress == nil { progress = ProgressLine("quantize", total: Double(total), unit: "tensors") }
                progress?.update(Double(done))
            }
        } catch {
            progress?.finish()
            throw FileFailure(input, error)
        }
        progress?.finish()
        StandardOutput.write(report.text())
    }
}
