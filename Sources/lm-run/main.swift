import ArgumentParser
import BitGPT
import BitGPTCLI
import BitGPTConvert
import Foundation

/// `lm-run`: generate text from a .bgpt model.
@main
struct LMRun: BitGPTCommand {
    static let configuration = CommandConfiguration(
        commandName: "lm-run",
        abstract: "Generate text with a .bgpt model (GPT-2/nanoGPT, BitGPT or Llama family).",
        discussion: """
            The prompt comes from --prompt (-p), --prompt-file, or standard input when it is not a \
            terminal; with none, generation starts from the bos token (or id 0). Text streams as it \
            is generated, whole UTF-8 characters only; samples are separated by a line of dashes.

            Sampling order: repetition penalty, temperature (0 = greedy), top-k, softmax, min-p, \
            top-p, draw with a seeded generator.

            Beam search (--beam-width N) keeps the N most likely sequences at each step and prints \
            the --num-candidates best completed ones with their total log-probability (natural log, \
            over the whole vocabulary), ranked by log-probability per token. It draws nothing, so \
            the sampling options (--num-samples, --temperature, --top-k, --top-p, --min-p, \
            --repeat-penalty, --seed) are refused with it.

            The prompt must be valid UTF-8; invalid input is an error naming the first bad byte.

            Chat (--chat): each line of standard input is one user message; the reply streams to \
            standard output, one line per reply, until end of input. The conversation goes through \
            the model's chat template (tokenizer.chat_template, or the plain default \
            "role: content" lines) and stays in the KV cache: each turn runs only its new tokens. \
            Message text is ordinary text: <|endoftext|> and the like never become special tokens. \
            When the context fills, the oldest messages are dropped (a notice on stderr) and the \
            rest runs again. --max-new-tokens limits each reply.

            LoRA (--lora FILE[:SCALE], repeatable): each adapter adds SCALE·(alpha/r)·B·(A·x) \
            (SCALE default 1) after the linears it targets, in f32; the base weights stay as stored \
            (a ternary base keeps its packed integer path). An adapter made for another base \
            (architecture, layers, shapes or fingerprint) is refused (docs/training.md).

            Exit status: 0 on success, 1 on a bad flag, an unreadable or damaged model, or a \
            prompt the tokenizer cannot encode.
            """,
        version: BitGPTVersion.string)

    @Argument(help: "Model .bgpt file.") var model: String
    @Option(name: [.customShort("p"), .long], help: "Prompt text.") var prompt: String?
    @Option(help: "Read the prompt from this file.") var promptFile: String?
    @Option(parsing: .unconditional, help: "Samples to generate (default: 2).") var numSamples: Int?
    @Option(name: [.customShort("n"), .long], parsing: .unconditional, help: "Tokens to generate per sample.") var maxNewTokens: Int = 500
    @Option(parsing: .unconditional, help: "Sampling temperature; 0 = greedy (default: 1).") var temperature: Float?
    @Option(parsing: .unconditional, help: "Keep the k most likely tokens; 0 = off (default: 200).") var topK: Int?
    @Option(parsing: .unconditional, help: "Nucleus sampling threshold in (0, 1]; 1 = off (default).") var topP: Float?
    @Option(parsing: .unconditional, help: "Drop tokens below this fraction of the top probability; 0 = off (default).") var minP: Float?
    @Option(parsing: .unconditional, help: "Repetition penalty over the last 64 tokens; 1 = off (default).") var repeatPenalty: Float?
    @OptionGroup var seed: SeedOption
    @OptionGroup var threads: ThreadsOption<RuntimeThreads>
    @Option(help: "KV cache element type: f16 (half the bytes per decoded token, keys and values rounded to binary16, as llama.cpp's default) or f32 (exact).")
    var cacheType: KVCacheType = .f16
    @Option(parsing: .unconditional, help: "Beam search width (enables beam search; refuses the sampling options).") var beamWidth: Int?
    @Option(parsing: .unconditional, help: "Beam search: completed candidates to print, best first.") var numCandidates: Int = 3
    @Flag(help: "Do not stop at the end-of-sequence token.") var ignoreEos = false
    @Flag(help: "Chat: one user message per line of standard input, replies on standard output.") var chat = false
    @Option(help: "Chat: a system message to start the conversation with.") var system: String?
    @Flag(help: "Print special tokens.") var special = false
    @Option(help: "Write the prompt's logits as float32 .npy (positions, vocab).") var logitsOut: String?
    @Flag(help: "Print timings and memory traffic to stderr.") var verbose = false
    @Flag(help: "Check every tensor against its stored checksum before running (reads the whole file).") var verify = false
    @Option(help: "Apply a LoRA adapter (safetensors from lm-train --lora-rank) at scale SCALE (default 1); repeatable.")
    var lora: [String] = []

    func validate() throws {
        guard prompt == nil || promptFile == nil else { throw BadInput("give --prompt or --prompt-file, not both") }
        let o = options
        guard samples >= 1 else { throw BadInput("--num-samples must be at least 1") }
        guard maxNewTokens >= 0 else { throw BadInput("--max-new-tokens must not be negative") }
        guard o.temperature >= 0, o.temperature.isFinite else { throw BadInput("--temperature must be a finite number ≥ 0") }
        guard o.topK >= 0 else { throw BadInput("--top-k must be ≥ 0") }
        guard o.topP > 0, o.topP <= 1 else { throw BadInput("--top-p must be in (0, 1]") }
        guard o.minP >= 0, o.minP < 1 else { throw BadInput("--min-p must be in [0, 1)") }
        guard o.repeatPenalty > 0, o.repeatPenalty.isFinite else { throw BadInput("--repeat-penalty must be positive") }
        if beamWidth != nil {
            let given: [(String, Bool)] = [("--num-samples", numSamples != nil), ("--temperature", temperature != nil),
                                           ("--top-k", topK != nil), ("--top-p", topP != nil), ("--min-p", minP != nil),
                                           ("--repeat-penalty", repeatPenalty != nil), ("--seed", seed.seed != nil)]
            if let (flag, _) = given.first(where: { $0.1 }) {
                throw BadInput("\(flag) does not apply to beam search (--beam-width), which draws nothing")
            }
        }
        if chat {
            let given: [(String, Bool)] = [("--prompt", prompt != nil), ("--prompt-file", promptFile != nil), ("--beam-width", beamWidth != nil),
                                           ("--num-samples", numSamples != nil), ("--logits-out", logitsOut != nil), ("--ignore-eos", ignoreEos)]
            if let (flag, _) = given.first(where: { $0.1 }) { throw BadInput("\(flag) does not apply to --chat (messages come from standard input)") }
        } else if system != nil {
            throw BadInput("--system needs --chat")
        }
        for l in lora { do { _ = try LoRASpec(parsing: l) } catch { throw BadInput(error.description) } }
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
        do { try LoRAAdapterFile.apply(try lora.map { l throws(LoRAError) in try LoRASpec(parsing: l) }, to: net) } catch { throw BadInput("\(error)") }
        let loadTime = clock.now - t0
        let config = net.config
        if chat {
            let template: ChatTemplate
            do { template = try ChatTemplate.forModel(file.metadata) } catch { throw FileFailure(model, error) }
            let gen = try Generator(model: net, pool: WorkerPool(threads: threads.count), kvType: cacheType)
            if system != nil { try RawArguments.checkUTF8(option: ["--system"]) }
            let sampler = Sampler(vocabSize: config.vocabSize, options: options, seed: seed.value)
            let session = ChatSession(generator: gen, tokenizer: tokenizer, template: template, sampler: sampler, system: system)
            try ChatLoop.run(session, maxNewTokens: maxNewTokens)
            return
        }

        // Prompt text → ids.
        // Invalid UTF-8 is refused with the offset of its first bad byte (the library's policy,
        // ``UTF8Input``), never replaced.
        var text = prompt ?? ""
        if prompt != nil { try RawArguments.checkUTF8(option: ["--prompt", "-p"]) }
        if let f = promptFile {
            do { text = try UTF8Input.text(try readWholeFile(f, what: "--prompt-file")) } catch let e as TokenizerError { throw FileFailure(f, e) }
        } else if prompt == nil && isatty(0) == 0 {
            do { text = try UTF8Input.text(FileHandle.standardInput.readDataToEndOfFile()) } catch { throw BadInput("stdin: \(error)") }
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

        let pool = WorkerPool(threads: threads.count)
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
            let tb = clock.now
            let found = try BeamSearch.run(generator: gen, prompt: ids, beamWidth: width, numCandidates: numCandidates,
                                           maxTokens: maxNewTokens, eos: eosSet)
            if verbose {
                let longest = found.map(\.tokens.count).max() ?? 0
                warn(String(format: "beam search: width %d, %d candidates of up to %d tokens in %.3f s", width, found.count, longest,
                            seconds(clock.now - tb)))
            }
            for (i, c) in found.enumerated() {
                var bytes: [UInt8] = []
                for id in c.tokens { bytes += generation.pieceBytes(id) }
                StandardOutput.print(String(format: "[%d] logprob %.4f: ", i + 1, c.logProb) + generation.promptText(ids) + String(decoding: bytes, as: UTF8.self))
            }
            return
        }

        let sampler = Sampler(vocabSize: config.vocabSize, options: options, seed: seed.value)
        for sample in 0..<samples {
            write(generation.promptText(ids))
            let tp = clock.now
            var td = tp
            let loopsBefore = pool.loops
            try generation.run(gen, prompt: ids, maxNewTokens: maxNewTokens, sampler: sampler, feedLast: true, onPromptDone: { td = clock.now }) {
                write($0)
                return true
            }
            write("\n")
            if sample + 1 < samples { write("---------------\n") }
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

    /// Samples to generate: `--num-samples` or 2.
    private var samples: Int { numSamples ?? 2 }

    /// The sampling flags, each absent one at ``SamplingOptions``' default.
    private var options: SamplingOptions {
        var o = SamplingOptions()
        if let v = temperature { o.temperature = v }
        if let v = topK { o.topK = v }
        if let v = topP { o.topP = v }
        if let v = minP { o.minP = v }
        if let v = repeatPenalty { o.repeatPenalty = v }
        return o
    }
}

/// Streams generated text: flushed at once, so each token shows as it is generated.
private func write(_ s: String) { StandardOutput.write(s, flush: true) }

private func warn(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }

private func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
}
