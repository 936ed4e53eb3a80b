import ArgumentParser
import BitGPT
import BitGPTCLI
import Foundation

/// `lm-bench`: prompt and decode speed of .bgpt models, the job of `llama-bench -m`.
@main
struct LMBench: BitGPTCommand {
    static let configuration = CommandConfiguration(
        commandName: "lm-bench",
        abstract: "Measure prompt and decode tokens/s of .bgpt models (or of random Llama-shape models).",
        discussion: """
            Tests, as llama-bench defines them: pp N is one batched pass over an N-token prompt; \
            tg N is N single-token passes after a prompt of --depth tokens (not timed; depth 0 \
            means one token). Every test runs --repetitions times on every thread count; the table \
            shows the median, --json every sample.

            Decode reads every weight once per token, so it is bound by bytes: each tg row shows \
            the weight and KV cache bytes read per token, the read bandwidth measured at that \
            thread count (a streaming sum over 256 MiB), and the percent of that roof reached. \
            Prompt passes are bound by arithmetic: each pp row shows GOP/s (2 per multiply-add \
            of the linear layers and attention). The loops column counts the parallel loops (a \
            fork and a join each) per token.

            With no MODEL, random Llama-shape models are written (--sizes, --dtypes, \
            --classifier-dtype) into --dir and measured; a file already there under the same \
            name is reused, not rewritten, so a folder can be kept between runs (without --dir, \
            a temporary folder is used and removed).

            Nothing else should run while measuring: on a machine with as many busy threads as \
            cores, a multi-threaded run can slow down many times.
            """,
        version: BitGPTVersion.string)

    @Argument(help: "Model .bgpt files (none: random models).") var models: [String] = []
    @Option(name: [.short, .long], help: "Thread counts (comma-separated).") var threads = CommaList<Int>([1, 2])
    @Option(name: [.customShort("p"), .long], help: "Prompt lengths of the pp tests (comma-separated; 0 = none).") var promptTokens = CommaList<Int>([128])
    @Option(name: [.customShort("n"), .long], help: "Decoded tokens of the tg tests (comma-separated; 0 = none).") var decodeTokens = CommaList<Int>([128])
    @Option(name: [.customShort("d"), .long], help: "Cache depths before the tg tests (comma-separated).") var depth = CommaList<Int>([0])
    @Option(name: [.customShort("r"), .long, .customLong("runs")], parsing: .unconditional, help: "Repetitions of every test (median reported).") var repetitions: Int = 5
    @Option(help: "KV cache element type: f16 or f32.") var cacheType: KVCacheType = .f16
    @Flag(help: "Print one JSON array of rows instead of the table.") var json = false
    @Option(help: "Random mode: shapes (comma-separated).") var sizes = CommaList<BenchSizeChoice>([.small])
    @Option(help: "Random mode: linear dtypes (comma-separated; also int8, ternary).") var dtypes = CommaList<DTypeChoice>([.f32, .i8, .t2, .t1])
    @Option(help: "Random mode: dtype of the tied embedding, which is also the classifier.") var classifierDtype: DTypeChoice = .f32
    @Option(help: "Random mode: folder for the model files, reused if present (default: a temporary one, removed after).") var dir: String?

    func validate() throws {
        let counts = threads.values, prompts = promptTokens.values, decodes = decodeTokens.values, depths = depth.values
        if let why = counts.lazy.compactMap(ThreadLimit.problem).first { throw BadInput("--threads: \(why)") }
        guard !counts.isEmpty, repetitions > 0, prompts.allSatisfy({ $0 >= 0 }), decodes.allSatisfy({ $0 >= 0 }),
              depths.allSatisfy({ $0 >= 0 }), !depths.isEmpty, prompts.contains(where: { $0 > 0 }) || decodes.contains(where: { $0 > 0 })
        else {
            throw BadInput("need thread counts ≥ 1, token counts and depths ≥ 0 (at least one test), --repetitions ≥ 1")
        }
    }

    func run() throws {
        let counts = threads.values, prompts = promptTokens.values, decodes = decodeTokens.values, depths = depth.values
        let plan = RuntimeBench.Plan(threads: counts, promptTokens: prompts, decodeTokens: decodes, depths: depths,
                                     runs: repetitions, cacheType: cacheType)

        var files = models
        var workDir: String?
        if files.isEmpty {
            let shapes = sizes.values.map(\.shape)
            let types = dtypes.values.map(\.dtype)
            let classifier = classifierDtype.dtype
            let d = dir ?? FileManager.default.temporaryDirectory.appendingPathComponent("lm-bench-\(getpid())").path
            try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
            workDir = d
            files = try shapes.flatMap { s in try types.map { try RuntimeBench.writeModel(s, dtype: $0, classifier: classifier, dir: d) } }
        }
        defer { if dir == nil, let w = workDir { try? FileManager.default.removeItem(atPath: w) } }
        // One clear line for a missing or damaged file, or a test past its context, before measuring.
        for f in files {
            let file = try openModelFile(f)
            do { try RuntimeBench.check(plan, contextLength: try ModelConfig(metadata: file.metadata).contextLength) } catch {
                throw FileFailure(f, error)
            }
        }

        var bandwidth: [Int: Double] = [:]
        for t in counts { bandwidth[t] = RuntimeBench.readBandwidth(threads: t) }
        if !json {
            StandardOutput.print("kernels: \(String(cString: bgptKernelVariant())); KV cache \(cacheType); median of \(repetitions); read bandwidth "
                                 + counts.map { String(format: "%.1f GB/s at %d thread(s)", (bandwidth[$0] ?? 0) / 1e9, $0) }.joined(separator: ", "))
            StandardOutput.print("| model | MB | linear | classifier | threads | test | tok/s | MB/token (weights + KV) | GB/s | % of roof | GOP/s | loops/token |")
            StandardOutput.print("|---|---:|---|---|---:|---|---:|---:|---:|---:|---:|---:|")
        }
        var rows: [RuntimeBench.Row] = []
        for f in files {
            do {
                try RuntimeBench.measure(path: f, plan: plan, bandwidth: bandwidth) { r in
                    rows.append(r)
                    if !json { StandardOutput.write(tableLine(r) + "\n", flush: true) }
                }
            } catch let e as InferenceError {
                throw FileFailure(f, e)
            } catch let e as FormatError {
                throw FileFailure(f, e)
            }
        }
        if json {
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            StandardOutput.print(String(decoding: try encoder.encode(rows), as: UTF8.self))
        }
    }

    private func tableLine(_ r: RuntimeBench.Row) -> String {
        let name = (r.model as NSString).lastPathComponent
        let test = r.test == .pp ? "pp\(r.tokens)" : (r.depth > 0 ? "tg\(r.tokens) @ d\(r.depth)" : "tg\(r.tokens)")
        let mb = r.test == .tg ? String(format: "%.2f + %.2f", Double(r.weightBytesPerToken) / 1e6, Double(r.kvBytesPerToken) / 1e6) : ""
        let gbs = r.test == .tg ? String(format: "%.1f", r.tokensPerSecond * Double(r.weightBytesPerToken + r.kvBytesPerToken) / 1e9) : ""
        let roof = r.test == .tg ? String(format: "%.0f%%", r.roofPercent) : ""
        let gop = r.test == .pp ? String(format: "%.1f", r.gopPerSecond) : ""
        return String(format: "| %@ | %.1f | %@ | %@ | %d | %@ | %.1f | %@ | %@ | %@ | %@ | %.1f |", name, Double(r.modelBytes) / 1e6,
                      r.linearDtype, r.classifierDtype, r.threads, test, r.tokensPerSecond, mb, gbs, roof, gop, r.loopsPerToken)
    }
}

/// `--sizes`: the random models' shapes (``RuntimeBench/Shape``), any letter case (`15M`).
enum BenchSizeChoice: String, CaseIterable, ExpressibleByArgument {
    case small = "15m", base = "100m"

    init?(argument: String) { self.init(rawValue: argument.lowercased()) }

    /// The shape it names.
    var shape: RuntimeBench.Shape {
        switch self {
        case .small: return .small
        case .base: return .base
        }
    }
}
