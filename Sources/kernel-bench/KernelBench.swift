import ArgumentParser
import CBitGPTKernels
import Dispatch
import Foundation

/// `kernel-bench`: times every kernel variant on the matrix shapes of a 100M Llama-shaped model.
@main
struct KernelBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernel-bench",
        abstract: "Time the C kernels (scalar, AVX2, AVX-512 VNNI) on model-sized shapes.",
        discussion: """
            For each kernel, variant, shape (rows × cols) and token count n, prints the median time \
            of repeated calls, GB/s of weight bytes read per call, and GOP/s (2·rows·cols·n \
            operations per call). It first measures memory read bandwidth with a plain read loop \
            over 256 MiB. Run a release build on an otherwise idle machine.

            Exit status: 0 on success, 1 on a bad option.
            """)

    @Option(help: "Comma-separated variants: scalar, avx2, avx512vnni (those this CPU lacks are skipped).")
    var variants: String = "avx2,avx512vnni"

    @Option(help: "Comma-separated kernels: t2, t1, i8, f32, f16, bf16, quantize.")
    var kernels: String = "t2,t1,i8,f32,f16,bf16,quantize"

    @Option(help: "Comma-separated token counts.")
    var tokens: String = "1,64"

    @Option(help: "Comma-separated shapes rows x cols.")
    var shapes: String = "768x768,2048x768,768x2048,32000x768"

    @Option(help: "Threads splitting the output rows (as the runtime does).")
    var threads: Int = 1

    @Option(help: "Minimum seconds spent per measurement (at least 5 calls).")
    var minTime: Double = 0.3

    @Flag(help: "Time with process CPU time / threads instead of wall time (for loaded machines).")
    var cpuTime = false

    @Flag(help: "Also time whole-model passes: every matmul of a 100M Llama shape in distinct memory.")
    var modelPass = false

    func validate() throws {
        guard threads >= 1 && threads <= 64 else { throw ValidationError("--threads must be in 1...64") }
        guard minTime > 0 && minTime <= 60 else { throw ValidationError("--min-time must be in (0, 60]") }
    }

    func run() throws {
        let shapeList = try shapes.split(separator: ",").map { item -> (Int, Int) in
            let parts = item.split(separator: "x").compactMap { Int($0) }
            guard parts.count == 2, parts[0] > 0, parts[1] > 0 else {
                throw ValidationError("bad shape \"\(item)\": expected rows x cols, e.g. 768x2048")
            }
            return (parts[0], parts[1])
        }
        let tokenList = try tokens.split(separator: ",").map { item -> Int in
            guard let n = Int(item), n > 0, n <= 4096 else { throw ValidationError("bad token count \"\(item)\"") }
            return n
        }
        let kernelList = try kernels.split(separator: ",").map { item -> BenchKernel in
            guard let k = BenchKernel(rawValue: String(item)) else { throw ValidationError("unknown kernel \"\(item)\"") }
            return k
        }
        Timing.useCPUTime = cpuTime
        Timing.threads = threads
        print("dispatch default: \(String(cString: bgpt_k_variant()))   threads: \(threads)   clock: \(cpuTime ? "CPU time / threads" : "wall")")
        print(String(format: "memory read bandwidth: %.1f GB/s (1 thread, 256 MiB)", ReadBandwidth.measure()))
        var seconds: [String: Double] = [:]
        print(pad("kernel", 9) + pad("variant", 12) + pad("shape", 12) + "  n    median_us     GB/s    GOP/s")
        for name in variants.split(separator: ",").map(String.init) {
            guard let table = bgpt_k_table_named(name)?.pointee else {
                print("(skipping \(name): unknown or not supported by this CPU)")
                continue
            }
            for kernel in kernelList {
                // quantize only depends on cols: time each width once.
                var seen = Set<Int>()
                let kernelShapes = kernel == .quantize ? shapeList.filter { seen.insert($0.1).inserted } : shapeList
                for (rows, cols) in kernelShapes {
                    for n in tokenList {
                        let bench = BenchCase(kernel: kernel, rows: rows, cols: cols, n: n)
                        let median = bench.medianSeconds(table, threads: threads, minTime: minTime)
                        seconds["\(kernel.rawValue) \(name) \(rows)x\(cols) \(n)"] = median
                        let label = kernel == .quantize ? "\(n)x\(cols)" : "\(rows)x\(cols)"
                        let numbers = String(format: "%3d %12.1f %8.1f %8.1f", n, median * 1e6,
                                             Double(bench.weightBytes) / median / 1e9, bench.operations / median / 1e9)
                        print(pad(kernel.rawValue, 9) + pad(name, 12) + pad(label, 12) + numbers)
                    }
                }
            }
        }
        printModelEstimate(seconds, tokenList)
        if modelPass { runModelPasses(kernelList, tokenList) }
    }

    /// Times `ModelPass` for each variant, byte/float kernel and token count.
    private func runModelPasses(_ kernelList: [BenchKernel], _ tokenList: [Int]) {
        print("model pass (100M Llama shape, 84 layer matmuls + classifier in distinct memory, kernels only):")
        print(pad("kernel", 9) + pad("variant", 12) + "  n   weight_MB   layers_ms  tok/s(layers)  classifier_ms  tok/s(all)")
        for name in variants.split(separator: ",").map(String.init) {
            guard let table = bgpt_k_table_named(name)?.pointee else { continue }
            for kernel in kernelList where kernel != .quantize {
                for n in tokenList {
                    let (layers, head, bytes) = ModelPass(kernel: kernel, n: n).medianSeconds(table, threads: threads, minTime: minTime)
                    print(pad(kernel.rawValue, 9) + pad(name, 12) + String(format: "%3d %11.1f %11.2f %14.0f %14.2f %11.0f", n,
                        Double(bytes) / 1e6, layers * 1e3, Double(n) / layers, head * 1e3, Double(n) / (layers + head)))
                }
            }
        }
    }

    /// Tokens/s of the matmuls of a 100M Llama shape (dim 768, hidden 2048, 12 layers, vocab
    /// 32000) if every matrix used one kernel: per layer q, k, v, o (768x768), gate, up (2048x768)
    /// and down (768x2048), plus the 32000x768 classifier. Kernel time only (no attention, norms,
    /// quantization), from the medians above when all four shapes were timed.
    private func printModelEstimate(_ seconds: [String: Double], _ tokenList: [Int]) {
        var printedHeader = false
        for name in variants.split(separator: ",").map(String.init) {
            for kernel in ["t2", "t1", "i8", "f32", "f16", "bf16"] {
                for n in tokenList {
                    func time(_ shape: String) -> Double? { seconds["\(kernel) \(name) \(shape) \(n)"] }
                    guard let small = time("768x768"), let up = time("2048x768"), let down = time("768x2048"),
                          let head = time("32000x768") else { continue }
                    if !printedHeader {
                        print("model estimate (100M Llama shape, kernels only): tokens/s with layers, with layers + classifier")
                        printedHeader = true
                    }
                    let layers = 12 * (4 * small + 2 * up + down)
                    print(pad(kernel, 9) + pad(name, 12) + String(format: "n=%-3d %10.0f %10.0f", n,
                                                                 Double(n) / layers, Double(n) / (layers + head)))
                }
            }
        }
    }
}

/// `text` left-aligned in a column of `width` characters plus one space.
private func pad(_ text: String, _ width: Int) -> String {
    text + String(repeating: " ", count: max(0, width - text.count)) + " "
}
