import ArgumentParser
import BitGPT
import BitGPTCLI
import Foundation

/// `lm-run`: generate text from a .bgpt model.
@main
struct LMRun: BitGPTCommand {
    static let configuration = CommandConfiguration(
        commandName: "lm-run",
        abstract: "Generate text with a .bgpt model (GPT-2/nanoGPT, BitGPT or Llama family).",
        discussion: """
            The prompt comes from --prompt, --prompt-file, or standard input when it is not a \
            terminal; with none, generation starts from the bos token (or id 0). Text streams as it \
            is generated, whole UTF-8 characters only; samples are separated by a line of dashes.

            Sampling order: repetition penalty, temperature (0 = greedy), top-k, softmax, min-p, \
            top-p, draw with a seeded generator.

            Exit status: 0 on success, 1 on a bad flag, an unreadable or damaged model, or a \
            prompt the tokenizer cannot encode.
            """,
        version: BitGPTVersion.string)

    @Argument(help: "Model .bgpt file.") var model: String
    @Option(help: "Prompt text.") var prompt: String?
    @Option(help: "Read the prompt from this file.") var promptFile: String?
    @Option(parsing: .unconditional, help: "Samples to generate.") var numSamples: Int = 2
    @Option(parsing: .unconditional, help: "Tokens to generate per sample.") var maxNewTokens: Int = 500
    @Option(parsing: .unconditional, help: "Sampling temperature; 0 = greedy.") var temperature: Float = 1.0
    @Option(parsing: .unconditional, help: "Keep the k most likely tokens; 0 = off.") var topK: Int = 200
    @Option(parsing: .unconditional, help: "Nucleus sampling threshold in (0, 1]; 1 = off.") var topP: Float = 1.0
    @Option(parsing: .unconditional, help: "Drop tokens below this fraction of the top probability; 0 = off.") var minP: Float = 0
    @Option(parsing: .unconditional, help: "Repetition penalty over the last 64 tokens; 1 = off.") var repeatPenalty: Float = 1.0
    @Option(parsing: .unconditional, help: "Random seed.") var seed: UInt64 = 1337
    @Option(parsing: .unconditional, help: "Threads, 1 to 1024 (default: all cores).") var threads: Int?
    @Option(help: "KV cache element type: f16 (half the bytes per decoded token, keys and values rounded to binary16, as llama.cpp's default) or f32 (exact).")
    var cacheType: KVCacheType = .f16
    @Option(parsing: .unconditional, help: "Beam search width (enables beam search).") var beamWidth: Int?
    @Option(parsing: .unconditional, help: "Beam search: completed candidates to print.") var numCandidates: Int = 3
    @Flag(help: "Do not stop at the end-of-sequence token.") var ignoreEos = false
    @Flag(help: "Print special tokens.") var special = false
    @Option(help: "Write the prompt's logits as float32 .npy (positions, vocab).") var logitsOut: String?
    @Flag(help: "Print timings and memory traffic to stderr.") var verbose = false
    @Flag(help: "Check every tensor against its stored checksum before running (reads the whole file).") var verify = false

    func validate() throws {
        guard prompt == nil || promptFile == nil else { throw BadInput("give --prompt or --prompt-file, not both") }
        guard numSamples >= 1 else { throw BadInput("--num-samples must be at least 1") }
        guard maxNewTokens >= 0 else { throw BadInput("--max-new-tokens must not be negative") }
        guard temperature >= 0, temperature.isFinite else { throw BadInput("--temperature must be a finite number ≥ 0") }
        guard topK >= 0 else { throw BadInput("--top-k must be ≥ 0") }
        guard topP > 0, topP <= 1 else { throw BadInput("--top-p must be in (0, 1]") }
        guard minP >= 0, minP < 1 else { throw BadInput("--min-p must be in [0, 1)") }
        guard repeatPenalty > 0, repeatPenalty.isFinite else { throw BadInput("--repeat-penalty must be positive") }
        if let t = threads, let why = ThreadLimit.problem(t) { throw BadInput("--threads: \(why)") }
        if let w = beamWidth, w < 1 { throw BadInput("--beam-width must be at least 1") }
        guard numCandidates >= 1 else { throw BadInput("--num-candidates must be at least 1") }
    }

    func run() throws {
        let clock = ContinuousClock()
        let t0 = clock.now
        let file = try openModelFile(model)
        if verify {
            do { try file.verify() } catch { throw FileFailure(model, error) }
        }
        let net: Transformer
        let tokenizer: any Tokenizer
        do {
            net = try Transformer(file: file)
            tokenizer = try TokenizerFactory.make(metadata: file.metadata, vocabSize: net.config.vocabSize)
        } catch { throw FileFailure(model, error) }
        let loadTime = clock.now - t0
        let config = net.config

        // Prompt text → ids.
        var text = prompt ?? ""
        if let f = promptFile {
            text = String(decoding: try readWholeFile(f, what: "--prompt-file"), as: UTF8.self)
        } else if prompt == nil && isatty(0) == 0 {
            text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        }
        let generation = TextGeneration(tokenizer: tokenizer, printSpecial: special, ignoreEos: ignoreEos)
        let ids: [Int]
        do {
            let (kept, dropped) = try generation.promptIds(text, vocabSize: config.vocabSize, contextLength: config.contextLength)
            if dropped > 0 {
                warn("warning: the prompt has \(kept.count + dropped) tokens; keeping the last \(config.contextLength) (the context length)")
            }
            ids = kept
        } catch { throw BadInput("the prompt: \(error)") }

        let pool = WorkerPool(threads: threads)
        let gen = try Generator(model: net, pool: pool, kvType: cacheType)
        if verbose {
            warn(String(format: "loaded %@ (%@, %d layers, dim %d) in %.3f s; %d threads; kernels: %@; KV cache %@", model, config.architecture.rawValue,
                        config.nLayers, config.dim, seconds(loadTime), pool.threads, String(cString: bgptKernelVariant()), cacheType.rawValue))
        }

        if let out = logitsOut {
            try OutputPath.check(out, inputs: [model, promptFile])
            var all = [Float](repeating: 0, count: ids.count * config.vocabSize)
            try all.withUnsafeMutableBufferPointer { b in
                try gen.start(prompt: ids, allLogits: b.baseAddress)
                do { try NPYFile.writeFloat32(UnsafeBufferPointer(b), shape: [ids.count, config.vocabSize], to: out) } catch { throw FileFailure(out, error) }
            }
        }

        if let width = beamWidth {
            let eosSet: Set<Int> = generation.stopToken.map { [$0] } ?? []
            let found = try BeamSearch.run(generator: gen, prompt: ids, beamWidth: width, numCandidates: numCandidates,
                                           maxTokens: maxNewTokens, eos: eosSet)
            for (i, c) in found.enumerated() {
                var bytes: [UInt8] = []
                for id in c.tokens { bytes += generation.pieceBytes(id) }
                StandardOutput.print(String(format: "[%d] logprob %.4f: ", i + 1, c.logProb) + generation.promptText(ids) + String(decoding: bytes, as: UTF8.self))
            }
            return
        }

        let sampler = Sampler(vocabSize: config.vocabSize, options: options, seed: seed)
        for sample in 0..<numSamples {
            write(generation.promptText(ids))
            let tp = clock.now
            var td = tp
            let loopsBefore = pool.loops
            try generation.run(gen, prompt: ids, maxNewTokens: maxNewTokens, sampler: sampler, feedLast: true, onPromptDone: { td = clock.now }) {
                write($0)
                return true
            }
            write("\n")
            if sample + 1 < numSamples { write("---------------\n") }
            if verbose {
                // Decode: the single-token passes (one per generated token that was fed back,
                // the last one included) and the time from the end of the prompt pass to the end
                // of the last of them, sampling and printing included.
                let passes = gen.appendedSinceStart
                let promptTime = seconds(td - tp), decodeTime = seconds(gen.lastPassEnd - td)
                if sample == 0 {
                    warn(String(format: "first pass (cold weights): %d tokens in %.1f ms", ids.count, promptTime * 1e3))
                }
                let weights = net.weightBytesPerToken
                let kv = passes > 0 ? net.kvBytesPerToken(position: ids.count + passes / 2, type: cacheType) : 0
                let rate = passes > 0 ? String(format: "%.1f tokens/s", Double(passes) / max(decodeTime, 1e-9)) : "n/a tokens/s"
                let gbs = Double(weights + kv) * Double(passes) / max(decodeTime, 1e-9) / 1e9
                warn(String(format: "prompt: %d tokens, %.1f tokens/s; decode: %d tokens, %@; weights read per token: %.2f MB, KV cache %.2f MB (%.2f GB/s); %d parallel loops",
                            ids.count, Double(ids.count) / max(promptTime, 1e-9), passes, rate,
                            Double(weights) / 1e6, Double(kv) / 1e6, gbs, pool.loops - loopsBefore))
            }
        }
    }

    private var options: SamplingOptions {
        var o = SamplingOptions()
        o.temperature = temperature
        o.topK = topK
        o.topP = topP
        o.minP = minP
        o.repeatPenalty = repeatPenalty
        return o
    }
}

/// Streams generated text: flushed at once, so each token shows as it is generated.
private func write(_ s: String) { StandardOutput.write(s, flush: true) }

private func warn(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }

private func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
}

/// A bad flag value or prompt: reported as one `Error: …` line with exit status 1 (unlike
/// `ValidationError`, no usage text follows).
struct BadInput: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
