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

            --merge-lora FILE[:SCALE] (repeatable) adds each LoRA adapter's SCALE·(alpha/r)·B·A to \
            the weights it targets and writes a merged model; --to defaults to f32 then (f16 on \
            request). The merged weights of a ternary or int8 base are no longer ternary or int8: \
            it says so, and --to t2/t1/i8 re-quantizes them, with each tensor's error against the \
            merged values in the table. The adapter must match the base (fingerprint included).

            Exit status: 0 on success, 1 on any error (the output is never left half-written).
            """,
        version: BitGPTVersion.string)

    @Argument(help: "Input .bgpt.") var input: String
    @Argument(help: "Output .bgpt (not needed with --dry-run or --in-place).") var output: String?
    @Option(help: "Target dtype for linear weights (also int8, ternary); with --merge-lora, default f32.") var to: DTypeChoice?
    @Option(name: .customLong("merge-lora"), help: "Merge a LoRA adapter at scale SCALE (default 1) into the weights; repeatable.")
    var mergeLoRA: [String] = []
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
        if to == nil && mergeLoRA.isEmpty { throw BadInput("give --to (the dtype of the linear weights), or --merge-lora") }
        for l in mergeLoRA { do { _ = try LoRASpec(parsing: l, flag: "--merge-lora") } catch { throw BadInput(error.description) } }
        for t in tensorTypes {
            do { _ = try TensorTypeRule(parsing: t) } catch { throw ValidationError(error.description) }
        }
    }

    func run() throws {
        // In place through a link rewrites the file it points to; the link stays.
        let destination = dryRun ? nil : inPlace ? URL(fileURLWithPath: input).resolvingSymlinksInPath().path : output
        if let d = destination, !inPlace { try OutputPath.check(d, inputs: [input], hint: "give another output path, or --in-place to rewrite it") }
        let rules = try tensorTypes.map { s throws in try TensorTypeRule(parsing: s) }
        let specs = try mergeLoRA.map { l throws in try LoRASpec(parsing: l, flag: "--merge-lora") }
        var merge: [String: [LoRAUpdate]] = [:]
        if !specs.isEmpty {
            do { merge = try LoRAMerge.updates(specs, for: input) } catch let e as LoRAError { throw BadInput(e.description) }
            catch { throw FileFailure(input, error) }
        }
        let target = to?.dtype ?? .f32
        var progress: ProgressLine?
        let report: Quantizer.Report
        do {
            report = try Quantizer.quantize(input: input, output: destination, to: target, rules: rules,
                                                ternaryScale: ternaryScale.rule, merge: merge) { done, total in
                if progress == nil { progress = ProgressLine("quantize", total: Double(total), unit: "tensors") }
                progress?.update(Double(done))
            }
        } catch {
            progress?.finish()
            throw ErrorText.blame(error, input: input, output: destination)
        }
        progress?.finish()
        let merged = report.rows.filter { merge[$0.name] != nil }
        if let q = merged.first(where: { $0.from.isQuantized }) {
            let kind = q.from == .i8 ? "int8" : "ternary"
            if q.to.isQuantized {
                StandardOutput.write("note: the LoRA-merged weights of this \(kind) base are not \(kind); re-quantized to \(q.to) (error against the merged values below)\n")
            } else {
                StandardOutput.write("note: the LoRA-merged weights of this \(kind) base are no longer \(kind): written as \(q.to); give --to \(q.from) to re-quantize them (each tensor's error is reported)\n")
            }
        }
        if !merge.isEmpty { StandardOutput.write("merged \(specs.count) LoRA adapter\(specs.count == 1 ? "" : "s") into \(merged.count) tensors\n") }
        StandardOutput.write(report.text())
    }
}
