import BitGPT
import Hummingbird
import Logging
import NIOCore

/// The server's routes: the OpenAI endpoints, models, health, metrics, tokenize and detokenize.
struct Routes {
    let model: ServedModel
    let scheduler: Scheduler
    let metrics: ServerMetrics
    let config: ServerConfiguration

    /// A router with every route and middleware.
    func router(logger: Logger) -> Router<ServeContext> {
        let router = Router(context: ServeContext.self)
        router.add(middleware: AccessLogMiddleware(logger: logger, metrics: metrics))
        if let key = config.apiKey { router.add(middleware: APIKeyMiddleware(key: Array(key.utf8))) }
        let generation = Generation(model: model, scheduler: scheduler)

        router.post("/v1/completions") { request, context in
            let r = try GenerationRequest.parse(try await body(request), kind: .completion, model: model, config: config)
            return try await generation.respond(r, context: context)
        }
        router.post("/v1/chat/completions") { request, context in
            let r = try GenerationRequest.parse(try await body(request), kind: .chat, model: model, config: config)
            return try await generation.respond(r, context: context)
        }
        router.get("/v1/models") { _, _ in
            JSON.object([("object", .string("list")), ("data", .array([.object([
                ("id", .string(model.id)), ("object", .string("model")), ("created", .int(model.created)), ("owned_by", .string("bitgpt")),
                ("context_length", .int(model.contextLength)), ("vocab_size", .int(model.vocabSize)),
            ])]))]).response()
        }
        router.get("/health") { _, _ in
            scheduler.isDraining ? APIError.shuttingDown.response : JSON.object([("status", .string("ok"))]).response()
        }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(string: metrics.text())))
        }
        router.post("/tokenize") { request, _ in
            let f = RequestFields(object: try JSONValue.parseObject(try await body(request)))
            guard let text = try f.string("content") else { throw APIError.badField("content", "is required") }
            let ids = try model.encodeText(text, field: "content")
            return JSON.object([("tokens", .array(ids.map { .int($0) }))]).response()
        }
        router.post("/detokenize") { request, _ in
            let f = RequestFields(object: try JSONValue.parseObject(try await body(request)))
            guard case .array(let a)? = f["tokens"] else { throw f.wrong("tokens", "an array of token ids") }
            var ids: [Int] = []
            for (i, v) in a.enumerated() {
                guard case .int(let t) = v else { throw APIError.badField("tokens", "element \(i) is \(v.typeName), not a token id") }
                guard t >= 0 && t < Int64(model.vocabSize) else {
                    throw APIError.badField("tokens", "token id \(t) at index \(i) is outside the vocabulary of \(model.vocabSize)")
                }
                ids.append(Int(t))
            }
            let text = (try? model.tokenizer.decode(ids)) ?? ""
            return JSON.object([("content", .string(text))]).response()
        }
        return router
    }

    /// The request body, at most `--max-body-bytes` (more: 413).
    private func body(_ request: Request) async throws -> [UInt8] {
        let limit = config.maxBodyBytes
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > limit {
            throw APIError(status: .contentTooLarge, message: "the request body is larger than \(limit) bytes", type: "invalid_request_error")
        }
        var r = request
        do {
            let buffer = try await r.collectBody(upTo: limit)
            return Array(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            throw APIError(status: .contentTooLarge, message: "the request body is larger than \(limit) bytes", type: "invalid_request_error")
        }
    }
}
