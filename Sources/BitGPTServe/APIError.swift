import HTTPTypes
import Hummingbird

/// An error answered to the client as OpenAI's error object:
/// `{"error": {"message": …, "type": …, "param": …, "code": …}}`.
public struct APIError: Error, Sendable, Equatable, CustomStringConvertible {
    /// HTTP status of the answer.
    public var status: HTTPResponse.Status
    /// What is wrong, for a person.
    public var message: String
    /// OpenAI's error type (`invalid_request_error`, `server_error`, …).
    public var type: String
    /// The request field at fault, if one is.
    public var param: String?
    /// Extra headers (e.g. `Retry-After`).
    public var headers: HTTPFields = [:]

    /// A 400 naming `field`.
    public static func badField(_ field: String, _ message: String) -> APIError {
        APIError(status: .badRequest, message: "\(field): \(message)", type: "invalid_request_error", param: field)
    }

    /// A 400 about the request as a whole.
    public static func badRequest(_ message: String) -> APIError {
        APIError(status: .badRequest, message: message, type: "invalid_request_error", param: nil)
    }

    /// 503: every slot busy and the queue full; come back after `retryAfter` seconds.
    public static func overloaded(retryAfter: Int) -> APIError {
        APIError(status: .serviceUnavailable, message: "the server is busy: all slots and the queue are full",
                 type: "server_error", param: nil, headers: [.retryAfter: String(retryAfter)])
    }

    /// 503 while the server shuts down.
    public static let shuttingDown = APIError(status: .serviceUnavailable, message: "the server is shutting down",
                                              type: "server_error", param: nil)

    /// 500 for a failure inside the decoder.
    public static func internalError(_ message: String) -> APIError {
        APIError(status: .internalServerError, message: message, type: "server_error", param: nil)
    }

    public var description: String { message }

    /// The JSON body.
    var json: JSON {
        .object([("error", .object([("message", .string(message)), ("type", .string(type)), ("param", .optional(param)), ("code", .null)]))])
    }

    /// The whole response.
    public var response: Response {
        var h = headers
        h[.contentType] = "application/json"
        return Response(status: status, headers: h, body: .init(byteBuffer: ByteBuffer(bytes: json.bytes)))
    }
}

extension JSON {
    /// A JSON response.
    func response(status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
