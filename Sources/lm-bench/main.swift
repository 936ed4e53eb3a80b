import ArgumentParser
import BitGPT
import BitGPTCLI
import Foundation

/// `lm-bench`: prompt and decode speed of the runtime on random Llama-shape models.
@main
struct LMBench: BitGPTCommand {
    static let configuration = CommandConfiguration(
        commandName: "lm-bench",
        abstract: "Measure prompt and decode tokens/s on random Llama-shape models (f32, i8, t2, t1).",
        discussion: """
            Writes random models (tied embeddings in --classifier-dtype, default F32; linear layers \
            in each dtype) into --dir (reused if present), measures the read bandwidth with a streaming \
            loop, then reports the median of --runs runs per model and thread count, the weight \
            bytes read per token and the bandwidth bound (bandwidth / bytes per token).
            """,
        version: BitGPTVersion.string)

    @Option(help: "Shapes: 15m, 100m (comma-separated).") var sizes: String = "15m"
    @Option(help: "Linear dtypes (comma-separated).") var dtypes: String = "f32,i8,t2,t1"
    @Option(help: "dtype of the tied embedding, which is also the classifier.") var classifierDtype: String = "f32"
    @Option(help: "Thread counts (comma-separated).") var threads: String = "1,2"
    @Option(parsing: .unconditional, help: "Prompt tokens of the batched pass.") var promptTokens: Int = 128
    @Option(parsing: .unconditional, help: "Tokens decoded one at a time.") var decodeTokens: Int = 32
    @Option(parsing: .unconditional, help: "Runs per configuration (median reported).") var runs: Int = 3
    @Option(help: "Directory for the model files (default: a temporary one, removed after).") var dir: String?

    func run() throws {
        let shapes: [RuntimeBench.Shape] = try sizes.split(separator: ",").map {
            switch $0.lowercased() {
            case "15m": return .small
            case "100m": return .base
            default: throw BenchFailure("unknown size \($0) (use 15m or 100m)")
            }
        }
        let types: [DType] = try dtypes.split(separator: ",").map {
            guard let d = DType(name: String($0)) else { throw BenchFailure("unknown dtype \($0)") }
            return d
        }
        guard let classifier = DType(name: classifierDtype) else { throw BenchFailure("unknown dtype \(classifierDtype)") }
        let counts = threads.split(separator: ",").compactMap { Int($0) }.filter { $0 > 0 }
        if let why = threads.split(separator: ",").compactMap({ Int($0) }).lazy.compactMap(ThreadLimit.problem).first {
            throw BenchFailure("--threads: \(why)")
        }
        guard !counts.isEmpty, promptTokens > 0, promptTokens <= 256, decodeTokens > 0, runs > 0 else {
            throw BenchFailure("need thread counts ≥ 1, 1 ≤ --prompt-tokens ≤ 256, --decode-tokens ≥ 1, --runs ≥ 1")
        }
        let workDir = dir ?? FileManager.default.temporaryDirectory.appendingPathComponent("lm-bench-\(getpid())").path
        try FileManager.default.createDirectory(atPath: workDir, withIntermediateDirectories: true)
        defer { if dir == nil { try? FileManager.default.removeItem(atPath: workDir) } }

        print("kernels: \(String(cString: bgptKernelVariant())); classifier (tied embedding) \(classifier); prompt \(promptTokens) tokens, decode \(decodeTokens) tokens, median of \(runs)")
        var bandwidth: [Int: Double] = [:]
        for t in counts {
            bandwidth[t] = RuntimeBench.readBandwidth(threads: t)
            print(String(format: "read bandwidth, %d thread(s): %.2f GB/s", t, (bandwidth[t] ?? 0) / 1e9))
        }
        print("| model | linear dtype | threads | weights/token MB | prompt tok/s | decode tok/s | bound tok/s |")
        print("|---|---|---|---|---|---|---|")
        for shape in shapes {
            for d in types {
                let path = try RuntimeBench.writeModel(shape, dtype: d, classifier: classifier, dir: workDir)
                for t in counts {
                    let r = try RuntimeBench.measure(path: path, shape: shape.name, threads: t, promptTokens: promptTokens,
                                                     decodeTokens: decodeTokens, runs: runs)
                    let bound = (bandwidth[t] ?? 0) / Double(r.bytesPerToken)
                    print(String(format: "| %@ | %@ | %d | %.1f | %.1f | %.1f | %.0f |", r.shape, "\(d)", t,
                                 Double(r.bytesPerToken) / 1e6, r.promptRate, r.decodeRate, bound))
                }
                if dir == nil { try? FileManager.default.removeItem(atPath: path) }
            }
        }
    }
}

/// A bad benchmark setting, reported as one line.
struct BenchFailure: Error, CustomStringConvertible {
    let description: String
    init(_ m: String) { description = m }
}
