import BitGPT
import Foundation
import Hummingbird
import NIOCore

/// Runs a checked request through the scheduler and answers it, whole or as server-sent events.
struct Generation {
    let model: ServedModel
    let scheduler: Scheduler

    /// The response to `request`.
    func respond(_ request: GenerationRequest, context: ServeContext) async throws(APIError) -> Response {
        let job = try scheduler.submit(SequenceRequest(
            prompt: request.prompt, maxNewTokens: request.maxTokens, sampling: request.sampling,
            stopTokens: model.generation.stopToken.map { [$0] } ?? [], topLogprobs: request.logprobs ?? 0,
            wantsLogprobs: request.logprobs != nil))
        let names = Names(kind: request.kind, model: model.id)
        if request.stream { return stream(request, job: job, names: names, channel: context.channel) }
        let (text, finish, logprobs, tokens) = try await collect(request, job: job).get()
        return names.whole(text: text, finish: finish, logprobs: logprobs, usage: usage(request, tokens)).response()
    }

    private func usage(_ r: GenerationRequest, _ completion: Int) -> JSON {
        .object([("prompt_tokens", .int(r.prompt.count)), ("completion_tokens", .int(completion)),
                 ("total_tokens", .int(r.prompt.count + completion))])
    }

    /// Runs a job to its end: text, finish reason, logprobs, tokens drawn.
    private func collect(_ request: GenerationRequest, job: Scheduler.Ticket) async
        -> Result<(String, String, [TokenLogprob]?, Int), APIError> {
        var asm = TextAssembler(generation: model.generation, stop: request.stop, logprobs: request.logprobs != nil)
        var text = ""
        var logprobs: [TokenLogprob] = []
        for await event in job.events {
            switch event {
            case .token(let t):
                text += asm.push(t)
                logprobs += asm.takeLogprobs()
                if asm.stopped {
                    scheduler.cancel(job.id)
                    return .success((text, "stop", request.logprobs != nil ? logprobs : nil, asm.completionTokens))
                }
            case .finished(let reason):
                text += asm.finish()
                if reason == .cancelled { return .failure(.shuttingDown) }
                let finish = reason == .length && !asm.stopped ? "length" : "stop"
                return .success((text, finish, request.logprobs != nil ? logprobs : nil, asm.completionTokens))
            case .failed(let message):
                return .failure(.internalError(message))
            }
        }
        return .failure(.shuttingDown)
    }

    /// `text/event-stream`: a chunk per piece of text, a last chunk with the finish reason (and
    /// usage when asked), then `data: [DONE]`. A write that fails (the client went away) cancels the
    /// sequence; so does the connection closing while no text is due.
    private func stream(_ request: GenerationRequest, job: Scheduler.Ticket, names: Names, channel: any Channel) -> Response {
        let scheduler = self.scheduler
        channel.closeFuture.whenComplete { _ in scheduler.cancel(job.id) }
        let generation = model.generation
        let usage = self.usage
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: ResponseBody { writer in
                func send(_ json: JSON) async throws {
                    try await writer.write(ByteBuffer(string: "data: " + json.text + "\n\n"))
                }
                do {
                    var asm = TextAssembler(generation: generation, stop: request.stop, logprobs: request.logprobs != nil)
                    if request.kind == .chat { try await send(names.chunk(role: true, text: "", logprobs: nil, finish: nil)) }
                    var finish: String?
                    var offset = 0  // text_offset of the next logprobs token
                    func chunk(_ text: String, _ lp: [TokenLogprob]?) -> JSON {
                        defer { offset += lp?.reduce(0) { $0 + $1.token.utf8.count } ?? 0 }
                        return names.chunk(role: false, text: text, logprobs: lp, finish: nil, offset: offset)
                    }
                    loop: for await event in job.events {
                        switch event {
                        case .token(let t):
                            let piece = asm.push(t)
                            if !piece.isEmpty || asm.stopped {
                                let lp = request.logprobs != nil ? asm.takeLogprobs() : nil
                                if !piece.isEmpty { try await send(chunk(piece, lp)) }
                            }
                            if asm.stopped {
                                scheduler.cancel(job.id)
                                finish = "stop"
                                break loop
                            }
                        case .finished(let reason):
                            let rest = asm.finish()
                            let lp = request.logprobs != nil ? asm.takeLogprobs() : nil
                            if !rest.isEmpty || !(lp?.isEmpty ?? true) {
                                try await send(chunk(rest, lp))
                            }
                            if reason == .cancelled {
                                try await send(APIError.shuttingDown.json)
                            } else {
                                finish = reason == .length && !asm.stopped ? "length" : "stop"
                            }
                            break loop
                        case .failed(let message):
                            try await send(APIError.internalError(message).json)
                            break loop
                        }
                    }
                    if let f = finish {
                        try await send(names.chunk(role: false, text: nil, logprobs: nil, finish: f))
                        if request.streamUsage { try await send(names.usageChunk(usage(request, asm.completionTokens))) }
                    }
                    try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
                    try await writer.finish(nil)
                } catch {
                    scheduler.cancel(job.id)
                    throw error
                }
            })
    }
}

/// The ids and object names of one response, and its JSON shapes.
struct Names {
    let kind: GenerationRequest.Kind
    let model: String
    let id: String
    let created = Int(Date().timeIntervalSince1970)

    init(kind: GenerationRequest.Kind, model: String) {
        self.kind = kind
        self.model = model
        let hex = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        id = (kind == .chat ? "chatcmpl-" : "cmpl-") + hex
    }

    private func head(_ object: String) -> [(String, JSON)] {
        [("id", .string(id)), ("object", .string(object)), ("created", .int(created)), ("model", .string(model))]
    }

    /// The answer to a request that did not stream.
    func whole(text: String, finish: String, logprobs: [TokenLogprob]?, usage: JSON) -> JSON {
        let choice: JSON
        switch kind {
        case .completion:
            choice = .object([("index", .int(0)), ("text", .string(text)), ("logprobs", completionLogprobs(logprobs, offset: 0)),
                              ("finish_reason", .string(finish))])
        case .chat:
            choice = .object([("index", .int(0)),
                              ("message", .object([("role", .string("assistant")), ("content", .string(text))])),
                              ("logprobs", chatLogprobs(logprobs)), ("finish_reason", .string(finish))])
        }
        return .object(head(kind == .chat ? "chat.completion" : "text_completion") + [("choices", .array([choice])), ("usage", usage)])
    }

    /// A streamed chunk: text (nil: none), or the finish reason.
    func chunk(role: Bool, text: String?, logprobs: [TokenLogprob]?, finish: String?, offset: Int = 0) -> JSON {
        let choice: JSON
        switch kind {
        case .completion:
            choice = .object([("index", .int(0)), ("text", .string(text ?? "")), ("logprobs", completionLogprobs(logprobs, offset: offset)),
                              ("finish_reason", JSON.optional(finish))])
        case .chat:
            var delta: [(String, JSON)] = []
            if role { delta.append(("role", .string("assistant"))) }
            if let t = text { delta.append(("content", .string(t))) }
            choice = .object([("index", .int(0)), ("delta", .object(delta)), ("logprobs", chatLogprobs(logprobs)),
                              ("finish_reason", JSON.optional(finish))])
        }
        return .object(head(kind == .chat ? "chat.completion.chunk" : "text_completion") + [("choices", .array([choice]))])
    }

    /// The last chunk with `stream_options.include_usage`: no choices, the usage.
    func usageChunk(_ usage: JSON) -> JSON {
        .object(head(kind == .chat ? "chat.completion.chunk" : "text_completion") + [("choices", .array([])), ("usage", usage)])
    }

    /// `/v1/completions` logprobs: parallel arrays, top alternatives as token → logprob objects.
    private func completionLogprobs(_ lp: [TokenLogprob]?, offset: Int) -> JSON {
        guard let lp else { return .null }
        var at = offset
        var offsets: [JSON] = []
        for t in lp {
            offsets.append(.int(at))
            at += t.token.utf8.count
        }
        return .object([
            ("tokens", .array(lp.map { .string($0.token) })),
            ("token_logprobs", .array(lp.map { .float($0.logprob) })),
            ("top_logprobs", .array(lp.map { t in .object(t.top.map { ($0.token, .float($0.logprob)) }) })),
            ("text_offset", .array(offsets)),
        ])
    }

    /// `/v1/chat/completions` logprobs: one entry per token with its bytes and alternatives.
    private func chatLogprobs(_ lp: [TokenLogprob]?) -> JSON {
        guard let lp else { return .null }
        return .object([("content", .array(lp.map { t in
            .object([("token", .string(t.token)), ("logprob", .float(t.logprob)), ("bytes", .array(t.bytes.map { .int(Int($0)) })),
                     ("top_logprobs", .array(t.top.map { .object([("token", .string($0.token)), ("logprob", .float($0.logprob)),
                                                                   ("bytes", .array($0.bytes.map { .int(Int($0)) }))]) }))])
        }))])
    }
}
