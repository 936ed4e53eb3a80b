import ArgumentParser
import BitGPT
import BitGPTCLI
import Foundation

/// `lm-inspect`: what is inside a .bgpt file.
@main
struct LMInspect: BitGPTCommand {
    static let configuration = CommandConfiguration(
        commandName: "lm-inspect",
        abstract: "Show the architecture, tokenizer and tensors of a .bgpt model.",
        discussion: """
            Prints file size and format version, the architecture and hyper-parameters, a tokenizer \
            summary, a table of every tensor (dtype, shape, parameters, bytes, bits per weight), and \
            totals per dtype, per layer and for the whole model.

            Exit status: 0 on success; 1 when the file cannot be read, is not a valid .bgpt file, \
            (with --verify) a tensor fails its checksum, or --tensors matches no tensor.
            """,
        version: BitGPTVersion.string)

    @Argument(help: "The .bgpt file.")
    var model: String

    @Flag(help: "Print the report as JSON (schema in formats/lm-inspect-json.md).")
    var json = false

    @Flag(help: "Hash every tensor and compare with its stored checksum.")
    var verify = false

    @Flag(help: "Print the metadata only.")
    var metadata = false

    @Option(help: "Only tensors whose name matches this glob (or contains this text).")
    var tensors: String?

    func run() throws {
        let file = try openModelFile(model)
        if verify {
            let progress = ProgressLine("verify", total: Double(file.fileSize), unit: "MB", scale: 1e6)
            do {
                try file.verify { progress.update(Double($0)) }
                progress.finish()
            } catch {
                progress.finish()
                throw FileFailure(model, error)
            }
        }
        let report = InspectReport(file: file, path: model, pattern: tensors)
        if let p = tensors, report.selected.isEmpty {
            throw FileFailure(model, BadInput("no tensor matches --tensors \"\(p)\""))
        }
        if json {
            StandardOutput.print(report.json(metadataOnly: metadata))
        } else if metadata {
            StandardOutput.write(report.metadataText())
        } else {
            StandardOutput.write(report.text())
        }
        if verify && !json { StandardOutput.print("verify: all \(file.tensors.count) tensor checksums match") }
    }
}
