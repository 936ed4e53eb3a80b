import ArgumentParser
import BitGPT
import BitGPTCLI
import BitGPTConvert

/// `lm-diff`: compare two .bgpt models.
@main
struct LMDiff: BitGPTCommand {
    static let configuration = CommandConfiguration(
        commandName: "lm-diff",
        abstract: "Compare two .bgpt models: metadata, tensor sets, and per tensor shape, dtype, max abs diff, relative RMS error, cosine.",
        discussion: """
            Values are compared after decoding both tensors to f32, with b measured against a. \
            --prompt also compares the two models' logits at every position of a prompt: max difference, mean KL divergence and top-1 agreement.

            Each tensor's checksum is checked as it is read; a damaged file is an error.

            Exit status: 0 when compared (and, with --tolerance, within it); 2 with --tolerance \
            when a tensor's max abs difference exceeds it, or the tensor sets or shapes differ; \
            1 on an error.
            """,
        version: BitGPTVersion.string)

    @Argument(help: "Reference model (a).") var a: String
    @Argument(help: "Compared model (b).") var b: String
    @Option(parsing: .unconditional, help: "Largest allowed max abs difference per tensor; beyond it the exit status is 2.") var tolerance: Double?
    @Flag(help: "Print JSON (schema bitgpt.diff/1).") var json = false
    @Option(help: "Also compare the logits of both models on this prompt.") var prompt: String?

    func validate() throws {
        if let t = tolerance, !(t >= 0) { throw ValidationError("--tolerance must be a non-negative number") }
    }

    func run() throws {
        let fa = try openModelFile(a), fb = try openModelFile(b)
        // Every tensor is read below: each is checked against its stored checksum first.
        for (file, path) in [(fa, a), (fb, b)] {
            for t in file.tensors {
                do { try file.checkChecksum(t) } catch { throw FileFailure(path, error) }
            }
        }
        let diff = ModelDiff(fa, fb)
        StandardOutput.write(json ? diff.json() + "\n" : diff.text())
        if let p = prompt {
            let r = try ModelDiff.compareLogits(fa, fb, prompt: p)
            StandardOutput.print(String(format: "logits: %d positions, max abs diff %.3e, cosine %.8f, mean KL %.3e nats, top-1 agrees on %d/%d",
                         r.rows, r.error.maxAbs, r.error.cosine, r.meanKL, r.top1Agree, r.rows))
            if let t = tolerance, r.error.maxAbs > t { throw ExitCode(2) }
        }
        if let t = tolerance, diff.exceeds(tolerance: t) { throw ExitCode(2) }
    }
}
