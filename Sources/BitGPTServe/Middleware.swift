import Hummingbird
import Logging
import NIOCore

/// Answers every error as OpenAI's error object, counts requests by status in `/metrics`, and
/// logs one line per request: method, path, status, time to the response head.
struct AccessLogMiddleware: RouterMiddleware {
    typealias Context = ServeContext
    let logger: Logger
    let metrics: ServerMetrics

    func handle(_ request: Request, context: ServeContext, next: (Request, ServeContext) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        var response: Response
        do {
            response = try await next(request, context)
        } catch let e as APIError {
            response = e.response
        } catch is NIOTooManyBytesError {
            response = APIError(status: .contentTooLarge, message: "the request body is too large", type: "invalid_request_error").response
        } catch let e as any HTTPResponseError {
            let message = e.status == .notFound ? "no route \(request.method) \(request.uri.path)" : e.status.reasonPhrase
            response = APIError(status: e.status, message: message, type: "invalid_request_error").response
        } catch {
            response = APIError.internalError("internal error").response
        }
        metrics.countRequest(status: response.status.code)
        let ms = seconds(ContinuousClock.now - start) * 1000
        logger.info("\(request.method) \(request.uri.path) \(response.status.code) \(String(format: "%.1f", ms)) ms")
        return response
    }
}

/// With an API key, every route but `/health` needs `Authorization: Bearer KEY`; a missing or
/// wrong key gets a bare 401. The comparison takes the same time wherever the keys differ.
struct APIKeyMiddleware: RouterMiddleware {
    typealias Context = ServeContext
    let key: [UInt8]

    func handle(_ request: Request, context: ServeContext, next: (Request, ServeContext) async throws -> Response) async throws -> Response {
        if request.uri.path == "/health" { return try await next(request, context) }
        let given = request.headers[.authorization].map { Array($0.utf8) } ?? []
        let prefix = Array("Bearer ".utf8)
        let ok = given.count > prefix.count && Array(given[..<prefix.count]) == prefix
            && Self.constantTimeEqual(Array(given[prefix.count...]), key)
        guard ok else {
            throw APIError(status: .unauthorized, message: "unauthorized", type: "authentication_error",
                           headers: [.wwwAuthenticate: "Bearer"])
        }
        return try await next(request, context)
    }

    /// Equality whose time depends only on the lengths: every byte pair is compared.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff = UInt8(truncatingIfNeeded: a.count ^ b.count) | (a.count == b.count ? 0 : 1)
        let n = max(a.count, b.count)
        for i in 0..<n {
            let x = i < a.count ? a[i] : 0
            let y = i < b.count ? b[i] : 0
            diff |= x ^ y
        }
        return diff == 0
    }
}
