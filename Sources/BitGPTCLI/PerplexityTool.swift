import BitGPT
import Foundation

/// The work behind `lm-perplexity`: tokenize a text with the model's tokenizer, score it in
/// sliding windows (``PerplexityEvaluator``), optionally against a reference model, and report.
public enum PerplexityTool {
    /// What the user asked for.
    public struct Request {
        /// The model scored.
        public var model: String
        /// The UTF-8 text file.
        public var textFile: String
        /// A reference model (`--kl-divergence`), or nil.
        public var reference: String?
        /// Tokens per window; nil: the context length (of both models, the smaller).
        public var window: Int?
        /// Tokens between window starts; nil: half the window.
        public var stride: Int?
        /// Threads; nil: all cores.
        public var threads: Int?
        /// Called on the scored model once loaded (lm-perplexity --lora applies its adapters here), or nil.
        public var prepare: ((Transformer) throws -> Void)?

        /// A request for `model` over `textFile`.
        public init(model: String, textFile: String, reference: String? = nil, window: Int? = nil, stride: Int? = nil, threads: Int? = nil) {
            self.model = model
            self.textFile = textFile
            self.reference = reference
            self.window = window
            self.stride = stride
            self.threads = threads
        }
    }

    /// A finished run, with what the report needs.
    public struct Report {
        /// The request it answers.
        public var request: Request
        /// The model's architecture.
        public var config: ModelConfig
        /// Tokens in the text.
        public var tokens: Int
        /// Tokens per window.
        public var window: Int
        /// Tokens between window starts.
        public var stride: Int
        /// The measurements.
        public var result: PerplexityResult
        /// Wall time of the windows, in seconds.
        public var seconds: Double

        /// Tokens the model(s) read per second.
        public var tokensPerSecond: Double { seconds > 0 ? Double(result.evaluated) / seconds : 0 }

        /// The report for people.
        public func text() -> String {
            let r = result
            var s = "model: \(request.model) (\(config.architecture.rawValue), \(config.nLayers) layers, dim \(config.dim), vocab \(config.vocabSize))\n"
            s += "text: \(request.textFile), \(tokens) tokens; \(r.windows) window(s) of \(window) tokens, stride \(stride); \(r.scored) tokens scored\n"
            s += String(format: "perplexity: %.4f (mean NLL %.6f nats/token)\n", r.perplexity, r.meanNLL)
            if let c = r.comparison, let ref = request.reference {
                let refPPL = exp(c.referenceNLL / Double(max(r.scored, 1)))
                s += String(format: "reference: %@, perplexity %.4f; difference %+.4f (%+.2f%%)\n", ref, refPPL, r.perplexity - refPPL,
                            100 * (r.perplexity / refPPL - 1))
                s += String(format: "KL divergence (reference ‖ model): mean %.6f, p99 %.6f nats/token\n", c.meanKL, c.p99KL)
                s += String(format: "top-1 agreement: %.2f%% (%d of %d)\n", 100 * c.top1Fraction, c.top1Agree, c.kl.count)
            }
            s += String(format: "speed: %d tokens read in %.2f s, %.1f tokens/s%@\n", r.evaluated, seconds, tokensPerSecond,
                        request.reference == nil ? "" : " (each by both models)")
            return s
        }

        /// The report as a JSON object (schema `bitgpt.perplexity/1`).
        public func jsonObject() -> [String: Any] {
            let r = result
            var o: [String: Any] = [
                "schema": "bitgpt.perplexity/1", "model": request.model, "text": request.textFile, "tokens": tokens,
                "window": window, "stride": stride, "windows": r.windows, "scored": r.scored, "nll_mean": r.meanNLL,
                "perplexity": r.perplexity, "seconds": seconds, "tokens_per_second": tokensPerSecond,
            ]
            if let c = r.comparison, let ref = request.reference {
                let refPPL = exp(c.referenceNLL / Double(max(r.scored, 1)))
                o["reference"] = ["model": ref, "perplexity": refPPL, "nll_mean": c.referenceNLL / Double(max(r.scored, 1)),
                                  "perplexity_difference": r.perplexity - refPPL, "kl_mean": c.meanKL, "kl_p99": c.p99KL,
                                  "top1_agree": c.top1Agree, "top1_fraction": c.top1Fraction] as [String: Any]
            }
            return o
        }

        /// ``jsonObject()`` with sorted keys.
        public func json() -> String {
            guard let d = try? JSONSerialization.data(withJSONObject: jsonObject(), options: [.prettyPrinted, .sortedKeys]) else { return "{}" }
            return String(decoding: d, as: UTF8.self)
        }
    }

    /// Loads the model(s), tokenizes the text and scores it.
    ///
    /// - Parameter progress: called after each window with (windows done, windows in all).
    /// - Throws: a ``FileFailure`` naming the file at fault, one line each: an unreadable or
    ///   invalid model, text that is not UTF-8 or that the tokenizer cannot encode, a text shorter
    ///   than one window, a reference with another vocabulary or tokenizer.
    public static func run(_ q: Request, progress: ((Int, Int) -> Void)? = nil) throws -> Report {
        let file = try openModelFile(q.model)
        let net: Transformer, tokenizer: any Tokenizer
        do {
            net = try Transformer(file: file)
            tokenizer = try TokenizerFactory.make(metadata: file.metadata, vocabSize: net.config.vocabSize)
        } catch { throw FileFailure(q.model, error) }
        try q.prepare?(net)
        let text: String
        do { text = try UTF8Input.text(try readWholeFile(q.textFile, what: "--file")) } catch let e as TokenizerError { throw FileFailure(q.textFile, e) }
        let ids: [Int]
        do { ids = try tokenizer.encode(text) } catch { throw FileFailure(q.textFile, BadInput("the model's tokenizer \(error)")) }
        if let bad = ids.first(where: { $0 < 0 || $0 >= net.config.vocabSize }) {
            throw FileFailure(q.textFile, BadInput("encodes to token \(bad), outside the model's vocabulary of \(net.config.vocabSize)"))
        }

        var reference: Transformer?   // keeps its mapped file alive, as `net` does
        if let r = q.reference {
            let f = try openModelFile(r)
            do { reference = try Transformer(file: f) } catch { throw FileFailure(r, error) }
            let rc = reference!.config
            guard rc.vocabSize == net.config.vocabSize else {
                throw FileFailure(r, BadInput("the reference model has a vocabulary of \(rc.vocabSize) tokens, the model \(net.config.vocabSize); KL divergence needs the same vocabulary"))
            }
            let refIds: [Int]
            do { refIds = try TokenizerFactory.make(metadata: f.metadata, vocabSize: rc.vocabSize).encode(text) } catch {
                throw FileFailure(r, BadInput("the reference model's tokenizer \(error)"))
            }
            if refIds != ids {
                let at = zip(refIds, ids).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(refIds.count, ids.count)
                throw FileFailure(r, BadInput("the reference model's tokenizer encodes the text differently (from token \(at)); KL divergence needs the same tokenizer"))
            }
        }

        let context = min(net.config.contextLength, reference?.config.contextLength ?? .max)
        let window = q.window ?? context
        guard window >= 2 && window <= context else {
            throw BadInput("--context \(window): a window must be 2 to \(context) tokens (the context length)")
        }
        let stride = q.stride ?? max(1, window / 2)
        guard stride >= 1 && stride < window else {
            throw BadInput("--stride \(stride): it must be 1 to \(window - 1) (below the window of \(window), so each scored token has one before it)")
        }
        guard ids.count >= window else {
            throw FileFailure(q.textFile, BadInput("the text has \(ids.count) tokens, shorter than one window of \(window); give a longer text or a smaller --context"))
        }
        let evaluator = try PerplexityEvaluator(model: net, reference: reference, pool: WorkerPool(threads: q.threads), window: window)
        let clock = ContinuousClock()
        let t0 = clock.now
        let result = try evaluator.run(ids, stride: stride, progress: progress)
        let d = (clock.now - t0).components
        let seconds = Double(d.seconds) + Double(d.attoseconds) * 1e-18
        return Report(request: q, config: net.config, tokens: ids.count, window: window, stride: stride, result: result, seconds: seconds)
    }
}
