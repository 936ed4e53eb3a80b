import BitGPT
import CBitGPTKernels
import Foundation

/// The speed of the inference runtime on a model file (`lm-bench`, the job of `llama-bench -m`).
///
/// Two tests, as llama-bench defines them:
/// - **pp** (prompt): one batched forward pass over `n` tokens at positions 0..<n.
/// - **tg** (decode): after a `depth`-token prompt pass (not timed; depth 0 means one token), `n`
///   single-token passes at positions depth..<depth + n, each feeding back the argmax of the
///   previous logits.
/// Every repetition restarts the sequence; the median is reported with every sample.
public enum RuntimeBench {
    /// One random model shape (the random-model mode).
    public struct Shape: Sendable {
        /// Label, e.g. `15M`.
        public var name: String
        /// The configuration (tied embeddings, vocab 32000).
        public var config: ModelConfig

        /// llama2.c's 15M shape: dim 288, 6 layers, 6 heads, hidden 768, vocab 32000.
        public static let small = Shape(name: "15M", config: ModelConfig(architecture: .llama, vocabSize: 32000, contextLength: 256,
                                                                        dim: 288, nLayers: 6, nHeads: 6, hiddenDim: 768))
        /// A ≈100M shape: dim 768, 12 layers, 12 heads, hidden 2048, vocab 32000.
        public static let base = Shape(name: "100M", config: ModelConfig(architecture: .llama, vocabSize: 32000, contextLength: 256,
                                                                        dim: 768, nLayers: 12, nHeads: 12, hiddenDim: 2048))
    }

    /// The test of a row.
    public enum Test: String, Codable, Sendable {
        case pp, tg
    }

    /// One measured configuration: a row of the table and of `--json`.
    public struct Row: Codable, Sendable {
        /// The model file.
        public var model: String
        /// Its size in bytes.
        public var modelBytes: Int
        /// Architecture family.
        public var architecture: String
        /// dtype of the first linear layer and of the classifier.
        public var linearDtype: String
        public var classifierDtype: String
        /// Threads used.
        public var threads: Int
        /// KV cache element type.
        public var cacheType: String
        /// pp or tg.
        public var test: Test
        /// Prompt tokens (pp) or decoded tokens (tg).
        public var tokens: Int
        /// Positions in the cache before the test.
        public var depth: Int
        /// Median tokens per second, and every repetition's.
        public var tokensPerSecond: Double
        public var samples: [Double]
        /// Weight bytes read per decoded token (every linear layer, the classifier, one embedding row).
        public var weightBytesPerToken: Int
        /// KV cache bytes read per decoded token at the middle position of the test (tg only).
        public var kvBytesPerToken: Int
        /// Measured read bandwidth at this thread count, GB/s (1e9 bytes).
        public var bandwidthGBs: Double
        /// tg: decode rate × bytes per token / bandwidth, in percent. pp: 0.
        public var roofPercent: Double
        /// pp: multiply-add work of the pass, in GOP/s (2 per multiply-add). tg: 0.
        public var gopPerSecond: Double
        /// Parallel loops (fork and join) per decoded token (tg), or per pass (pp).
        public var loopsPerToken: Double
    }

    /// Sequential read bandwidth in bytes/s: the median of `runs` passes summing a 256 MiB buffer
    /// split across `threads`.
    ///
    /// - Parameters:
    ///   - threads: reader threads.
    ///   - runs: passes.
    /// - Returns: bytes per second.
    public static func readBandwidth(threads: Int, runs: Int = 5) -> Double {
        let count = 32 << 20  // UInt64s: 256 MiB
        let buf = AlignedBuffer<UInt64>(count: count)
        for i in 0..<count { buf.pointer[i] = UInt64(i) }
        let pool = WorkerPool(threads: threads)
        var times: [Double] = []
        let sink = AlignedBuffer<UInt64>(count: 64 * pool.threads)
        for _ in 0..<runs {
            let t0 = DispatchTime.now().uptimeNanoseconds
            pool.forParts(pool.threads) { part, parts in
                let a = count * part / parts, b = count * (part + 1) / parts
                sink.pointer[64 * part] = bgpt_k_stream_sum(buf.pointer + a, b - a)
            }
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9)
        }
        return Double(count * 8) / median(times)
    }

    /// Writes the model of `shape` with linear layers in `dtype` and the tied embedding (= classifier)
    /// in `classifier` into `dir`, unless a file of that name is already there (it is reused).
    ///
    /// - Returns: the file path.
    /// - Throws: ``FormatError`` from the writer.
    public static func writeModel(_ shape: Shape, dtype: DType, classifier: DType = .f32, dir: String) throws -> String {
        let path = "\(dir)/bench-\(shape.name)-\(dtype)-\(classifier).bgpt"
        if !FileManager.default.fileExists(atPath: path) {
            try RandomModel.write(config: shape.config, to: path, linearType: dtype, seed: 1, embeddingType: classifier)
        }
        return path
    }

    /// What to measure on one model.
    public struct Plan: Sendable {
        /// Thread counts.
        public var threads: [Int]
        /// Prompt lengths of the pp tests (0 = no pp test).
        public var promptTokens: [Int]
        /// Decoded tokens of the tg tests (0 = no tg test).
        public var decodeTokens: [Int]
        /// Cache depths of the tg tests.
        public var depths: [Int]
        /// Repetitions of every test.
        public var runs: Int
        /// KV cache element type.
        public var cacheType: KVCacheType

        public init(threads: [Int], promptTokens: [Int], decodeTokens: [Int], depths: [Int], runs: Int, cacheType: KVCacheType) {
            self.threads = threads
            self.promptTokens = promptTokens
            self.decodeTokens = decodeTokens
            self.depths = depths
            self.runs = runs
            self.cacheType = cacheType
        }
    }

    /// Runs every test of `plan` on the model at `path`, calling `report` with each row as it is done.
    ///
    /// - Parameters:
    ///   - path: the model file.
    ///   - plan: thread counts, lengths, depths, repetitions.
    ///   - bandwidth: measured read bandwidth per thread count, bytes/s.
    ///   - report: receives each row.
    /// - Throws: load errors, ``InferenceError`` (for example a test longer than the context).
    public static func measure(path: String, plan: Plan, bandwidth: [Int: Double], report: (Row) throws -> Void) throws {
        let file = try BGPTFile(path: path)
        let model = try Transformer(file: file)
        let c = model.config
        try check(plan, contextLength: c.contextLength)
        var rng = SeededRandom(seed: 3)
        let longest = max(plan.promptTokens.max() ?? 0, (plan.depths.max() ?? 0), 1)
        let tokens = (0..<longest).map { _ in Int(rng.next() % UInt64(c.vocabSize)) }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        let linear = model.linears.first { $0 !== model.classifier } ?? model.classifier
        // Multiply-adds of one token through every linear layer but the classifier.
        let linearMACs = model.linears.filter { $0 !== model.classifier }.reduce(0) { $0 + $1.rows * $1.cols }
        for t in plan.threads {
            let pool = WorkerPool(threads: t)
            let gen = try Generator(model: model, pool: pool, kvType: plan.cacheType)
            let bw = bandwidth[t] ?? 0
            func row(_ test: Test, tokens: Int, depth: Int, samples: [Double], kv: Int, loops: Double) -> Row {
                let rate = median(samples)
                let bytes = Double(model.weightBytesPerToken + kv)
                // pp: every token through the linear layers, attention over its causal prefix, one classifier row.
                let ops = 2.0 * (Double(tokens) * Double(linearMACs) + Double(c.vocabSize * c.dim)
                                 + Double(c.nLayers * c.dim) * Double(tokens) * Double(tokens + 1))
                return Row(model: path, modelBytes: size, architecture: c.architecture.rawValue, linearDtype: "\(linear.dtype)",
                           classifierDtype: "\(model.classifier.dtype)", threads: pool.threads, cacheType: plan.cacheType.rawValue,
                           test: test, tokens: tokens, depth: depth, tokensPerSecond: rate, samples: samples,
                           weightBytesPerToken: model.weightBytesPerToken, kvBytesPerToken: kv, bandwidthGBs: bw / 1e9,
                           roofPercent: test == .tg && bw > 0 ? 100 * rate * bytes / bw : 0,
                           gopPerSecond: test == .pp ? ops * rate / Double(tokens) / 1e9 : 0, loopsPerToken: loops)
            }
            for p in plan.promptTokens where p > 0 {
                var samples: [Double] = [], loops = 0
                for _ in 0..<plan.runs {
                    let l0 = pool.loops, t0 = DispatchTime.now().uptimeNanoseconds
                    try gen.start(prompt: Array(tokens[0..<p]))
                    samples.append(Double(p) / max(Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9, 1e-12))
                    loops = pool.loops - l0
                }
                try report(row(.pp, tokens: p, depth: 0, samples: samples, kv: 0, loops: Double(loops)))
            }
            for n in plan.decodeTokens where n > 0 {
                for d in plan.depths {
                    var samples: [Double] = [], loops = 0
                    for _ in 0..<plan.runs {
                        try gen.start(prompt: d > 0 ? Array(tokens[0..<d]) : [tokens[0]], reserve: n)
                        let l0 = pool.loops, t0 = DispatchTime.now().uptimeNanoseconds
                        for _ in 0..<n { try gen.append(Sampler.argmax(gen.logits, count: c.vocabSize)) }
                        samples.append(Double(n) / max(Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9, 1e-12))
                        loops = pool.loops - l0
                    }
                    let kv = model.kvBytesPerToken(position: max(d, 1) + n / 2, type: plan.cacheType)
                    try report(row(.tg, tokens: n, depth: d, samples: samples, kv: kv, loops: Double(loops) / Double(n)))
                }
            }
        }
    }

    /// Throws ``InferenceError/contextOverflow(position:contextLength:)`` when a test of `plan`
    /// reaches past the context: pp covers positions 0..<p, tg 0..<max(depth, 1) + n.
    public static func check(_ plan: Plan, contextLength: Int) throws {
        let n = plan.decodeTokens.max() ?? 0
        let reach = max(plan.promptTokens.max() ?? 0, n > 0 ? max(plan.depths.max() ?? 0, 1) + n : 0)
        guard reach <= contextLength else { throw InferenceError.contextOverflow(position: reach - 1, contextLength: contextLength) }
    }

    static func median(_ v: [Double]) -> Double {
        let s = v.sorted()
        return s.isEmpty ? 0 : s[s.count / 2]
    }
}
