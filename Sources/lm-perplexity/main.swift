import ArgumentParser
import BitGPT
import BitGPTCLI
import BitGPTConvert

/// `lm-perplexity`: perplexity of a model over a text, and its KL divergence from a reference model.
@main
struct LMPerplexity: BitGPTCommand {
    static let configuration = CommandConfiguration(
        commandName: "lm-perplexity",
        abstract: "Perplexity of a .bgpt model over a text file, optionally with its KL divergence from a reference model.",
        discussion: """
            The text is encoded with the model's tokenizer and scored in sliding windows of \
            --context tokens (default: the context length), --stride tokens apart (default: half \
            a window; below the window), as Hugging Face's strided perplexity does: each window runs from position \
            0, and every token but the first is scored exactly once, by the first window that \
            reads it with the logits of the token before it. Perplexity is exp(mean NLL) over the \
            scored tokens (natural log, the logits in float64), with a progress line on a \
            terminal and the tokens/s of the windows.

            --kl-divergence REF.bgpt runs a reference model with the same tokenizer on the same \
            windows and reports, per scored token, KL(p_ref ‖ p_model) in nats (mean and 99th \
            percentile), how often the two agree on the most likely token, and both perplexities: \
            what T2, T1 or I8 cost against F32, or what a converter change broke.

            Exit status: 0 on success, 1 on any error (a text shorter than one window, a text the \
            tokenizer cannot encode, a reference model with another vocabulary or tokenizer).
            """,
        version: BitGPTVersion.string)

    @Argument(help: "The model (.bgpt).") var model: String
    @Option(name: [.customShort("f"), .long], help: "UTF-8 text file to score.") var file: String
    @Option(name: .customLong("kl-divergence"), help: "Reference model (.bgpt) to compare token distributions with.") var reference: String?
    @Option(name: [.customShort("c"), .long], parsing: .unconditional, help: "Tokens per window (default: the context length).") var context: Int?
    @Option(parsing: .unconditional, help: "Tokens between window starts (default: half a window).") var stride: Int?
    @OptionGroup var threads: ThreadsOption<RuntimeThreads>
    @Flag(help: "Print the result as JSON (schema bitgpt.perplexity/1).") var json = false
    @Option(help: "Apply a LoRA adapter to the scored model at scale SCALE (default 1); repeatable.") var lora: [String] = []

    func validate() throws {
        if let c = context, c < 2 { throw ValidationError("--context must be at least 2") }
        if let s = stride, s < 1 { throw ValidationError("--stride must be at least 1") }
        for l in lora { do { _ = try LoRASpec(parsing: l) } catch { throw BadInput(error.description) } }
    }

    func run() throws {
        var progress: ProgressLine?
        var request = PerplexityTool.Request(model: model, textFile: file, reference: reference, window: context, stride: stride, threads: threads.count)
        if !lora.isEmpty {
            let specs = lora
            request.prepare = { net in
                do { try LoRAAdapterFile.apply(try specs.map { l throws(LoRAError) in try LoRASpec(parsing: l) }, to: net) } catch { throw BadInput("\(error)") }
            }
        }
        let report: PerplexityTool.Report
        do {
            report = try PerplexityTool.run(request) { done, total in
                if progress == nil { progress = ProgressLine("perplexity", total: Double(total), unit: "windows") }
                progress?.update(Double(done))
            }
        } catch {
            progress?.finish()
            throw error
        }
        progress?.finish()
        StandardOutput.write(json ? report.json() + "\n" : report.text())
    }
}
