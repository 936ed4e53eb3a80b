import ArgumentParser
import BitGPT
import BitGPTCLI
import BitGPTConvert
import BitGPTServe
import Foundation
import Logging

/// `lm-serve`: an OpenAI-compatible HTTP server for a .bgpt model.
@main
struct LMServe: BitGPTCommand {
    static let configuration = CommandConfiguration(
        commandName: "lm-serve",
        abstract: "Serve a .bgpt model over HTTP with OpenAI's completions and chat completions API.",
        discussion: """
            Endpoints: POST /v1/completions, POST /v1/chat/completions (both with "stream": true), \
            GET /v1/models, GET /health, GET /metrics (Prometheus), POST /tokenize, POST /detokenize.

            --parallel N sequences are decoded together; further requests wait in a queue of \
            --queue, and one more gets 503 with Retry-After. A request with "seed" gives the text \
            lm-run gives with the same settings (and the same --cache-type), whatever else runs.

            Listens on 127.0.0.1 unless --host says otherwise, and prints the address (with \
            --port 0, the port picked). With --api-key or --api-key-file, every route but /health \
            needs "Authorization: Bearer KEY". SIGTERM or SIGINT stops accepting requests, lets the \
            running ones finish for --timeout seconds, cancels the rest and exits 0.

            Exit status: 0 after a shutdown by signal; 1 on a bad flag, a missing or damaged model \
            file, or an address that cannot be bound.
            """,
        version: BitGPTVersion.string)

    @Argument(help: "Model .bgpt file.") var model: String
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(parsing: .unconditional, help: "Port to listen on; 0 picks a free one.") var port = 8080
    @Option(parsing: .unconditional, help: "Sequences decoded at once (slots).") var parallel = 1
    @OptionGroup var threads: ThreadsOption<RuntimeThreads>
    @Option(parsing: .unconditional, help: "Tokens per request, prompt and completion together (default: the model's context length; more lets generation slide the window as lm-run does).")
    var ctxSize: Int?
    @Option(help: "Require this bearer key on every route but /health.") var apiKey: String?
    @Option(help: "Read the API key from the first line of this file.") var apiKeyFile: String?
    @Option(parsing: .unconditional, help: "Largest request body in bytes; more gets 413.") var maxBodyBytes = 1 << 20
    @Option(parsing: .unconditional, help: "Largest max_tokens a request may ask for (and the chat default).") var maxTokensCap = 2048
    @Option(parsing: .unconditional, help: "Requests that may wait for a slot; one more gets 503.") var queue = 64
    @Option(parsing: .unconditional, help: "Seconds running requests get to finish after SIGTERM/SIGINT.") var timeout: Double = 30
    @Option(help: "KV cache element type: f16 (lm-run's default) or f32.") var cacheType: KVCacheType = .f16
    @Option(help: "Apply a LoRA adapter at scale SCALE (default 1) to every request; repeatable (as lm-run --lora).")
    var lora: [String] = []

    func validate() throws {
        guard apiKey == nil || apiKeyFile == nil else { throw BadInput("give --api-key or --api-key-file, not both") }
        if let why = settings(key: apiKey).problem() { throw BadInput(why) }
        for l in lora { do { _ = try LoRASpec(parsing: l) } catch { throw BadInput(error.description) } }
    }

    func run() throws {
        var key = apiKey
        if let f = apiKeyFile {
            let text = String(decoding: try readWholeFile(f, what: "--api-key-file"), as: UTF8.self)
            let line = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            key = line.trimmingCharacters(in: .whitespacesAndNewlines)
            guard key?.isEmpty == false else { throw FileFailure(f, BadInput("the API key file's first line is empty")) }
        }
        let config = settings(key: key)
        let served: ServedModel
        do { served = try ServedModel(path: model, ctxSize: ctxSize) } catch { throw FileFailure(model, error) }
        // Adapters go on before the scheduler's thread first uses the model, and apply to every request.
        do { try LoRAAdapterFile.apply(try lora.map { l throws(LoRAError) in try LoRASpec(parsing: l) }, to: served.transformer) }
        catch { throw BadInput("\(error)") }

        var logger = Logger(label: "lm-serve", factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = .info
        let failure = FailureBox()
        let done = DispatchSemaphore(value: 0)
        let log = logger
        Task {
            do {
                try await LMServer.run(config: config, model: served, logger: log) { address in
                    fputs("lm-serve: \(served.id) on http://\(address) (\(config.parallel) slot\(config.parallel == 1 ? "" : "s"))\n", stdout)
                    fflush(stdout)
                }
            } catch { failure.set(error) }
            done.signal()
        }
        done.wait()
        if let e = failure.error { throw BadInput("cannot serve on \(host):\(port): \(ErrorText.short(e))") }
    }

    private func settings(key: String?) -> ServerConfiguration {
        var c = ServerConfiguration(modelPath: model)
        c.host = host
        c.port = port
        c.parallel = parallel
        c.threads = threads.count
        c.ctxSize = ctxSize
        c.apiKey = key
        c.maxBodyBytes = maxBodyBytes
        c.maxTokensCap = maxTokensCap
        c.queue = queue
        c.timeout = timeout
        c.cacheType = cacheType
        return c
    }
}

/// The server's error, handed from its task to the main thread.
private final class FailureBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Error?
    func set(_ e: Error) { lock.lock(); stored = e; lock.unlock() }
    var error: Error? { lock.lock(); defer { lock.unlock() }; return stored }
}
