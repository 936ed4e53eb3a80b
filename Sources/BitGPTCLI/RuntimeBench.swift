import BitGPT
import Foundation

/// The speed of the inference runtime on random Llama-shape models (`lm-bench`).
public enum RuntimeBench {
    /// One model shape to benchmark.
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

    /// One measured configuration.
    public struct Row: Sendable {
        /// The shape's label.
        public var shape: String
        /// dtype of the linear layers.
        public var dtype: DType
        /// Threads used.
        public var threads: Int
        /// Weight bytes read per decoded token.
        public var bytesPerToken: Int
        /// Median prompt throughput, tokens/s.
        public var promptRate: Double
        /// Median decode throughput, tokens/s.
        public var decodeRate: Double
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
        let sink = AlignedBuffer<UInt64>(count: 64 * threads)
        for _ in 0..<runs {
            let t0 = DispatchTime.now().uptimeNanoseconds
            pool.forRanges(count, minPerThread: 1 << 16) { a, b in
                var s0: UInt64 = 0, s1: UInt64 = 0, s2: UInt64 = 0, s3: UInt64 = 0
                var i = a
                let p = buf.pointer
                while i + 4 <= b { s0 &+= p[i]; s1 &+= p[i + 1]; s2 &+= p[i + 2]; s3 &+= p[i + 3]; i += 4 }
                while i < b { s0 &+= p[i]; i += 1 }
                sink.pointer[64 * (a * threads / count)] = s0 &+ s1 &+ s2 &+ s3
            }
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9)
        }
        return Double(count * 8) / median(times)
    }

    /// Writes the model of `shape` with linear layers in `dtype` and the tied embedding (= classifier)
    /// in `classifier` into `dir`, unless it is already there.
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

    /// Measures prompt and decode throughput of one model file.
    ///
    /// - Parameters:
    ///   - path: the model.
    ///   - shape: its label.
    ///   - threads: thread count.
    ///   - promptTokens: prompt length of the batched pass.
    ///   - decodeTokens: tokens decoded one at a time after it.
    ///   - runs: repetitions; the median is reported.
    /// - Returns: the row.
    /// - Throws: load or inference errors.
    public static func measure(path: String, shape: String, threads: Int, promptTokens: Int, decodeTokens: Int, runs: Int) throws -> Row {
        let model = try Transformer(file: try BGPTFile(path: path))
        let gen = try Generator(model: model, pool: WorkerPool(threads: threads))
        var rng = SeededRandom(seed: 3)
        let prompt = (0..<promptTokens).map { _ in Int(rng.next() % UInt64(model.config.vocabSize)) }
        var promptTimes: [Double] = [], decodeTimes: [Double] = []
        for _ in 0..<max(runs, 1) {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try gen.start(prompt: prompt, reserve: decodeTokens)
            let t1 = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<decodeTokens { try gen.append(Sampler.argmax(gen.logits, count: model.config.vocabSize)) }
            let t2 = DispatchTime.now().uptimeNanoseconds
            promptTimes.append(Double(t1 - t0) * 1e-9)
            decodeTimes.append(Double(t2 - t1) * 1e-9)
        }
        return Row(shape: shape, dtype: model.linears[0].dtype, threads: threads, bytesPerToken: model.weightBytesPerToken,
                   promptRate: Double(promptTokens) / median(promptTimes), decodeRate: Double(decodeTokens) / median(decodeTimes))
    }

    static func median(_ v: [Double]) -> Double {
        let s = v.sorted()
        return s.isEmpty ? 0 : s[s.count / 2]
    }
}
