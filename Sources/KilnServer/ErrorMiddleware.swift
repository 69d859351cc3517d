import Foundation
import Hummingbird
import OpenAPIRuntime

/// Answers every route's errors: a ``KilnHTTPError`` (thrown by a hand-registered
/// route, or by a generated operation's handler, which the OpenAPI runtime wraps
/// in a `ServerError`) becomes its status and message; a request the generated
/// code could not decode becomes a 400 naming the value. Anything else stays a
/// 500, which Hummingbird logs.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as ServerError {
            throw Self.httpError(error) ?? error
        } catch let error as any KilnHTTPError {
            throw HTTPError(error.status, headers: error.headers, message: error.message)
        }
    }

    static func httpError(_ error: ServerError) -> HTTPError? {
        if let known = error.underlyingError as? any KilnHTTPError {
            return HTTPError(known.status, headers: known.headers, message: known.message)
        }
        // The runtime gives a 4xx to requests it cannot decode (a bad body, query or header).
        guard (400..<500).contains(error.httpStatus.code) else { return nil }
        if error.httpStatus == .unsupportedMediaType {
            return HTTPError(error.httpStatus, message: "the request is not valid: send the body as JSON, with `Content-Type: application/json`")
        }
        let place = error.request.path ?? "the request"
        return HTTPError(error.httpStatus, message: "the request is not valid: \(describe(error.underlyingError, cause: error.causeDescription, in: place))")
    }

    /// A decoding error as a user reads it: the offending field (or, for a
    /// query, which the runtime decodes without naming the item, the request's
    /// path and query) and what was expected.
    static func describe(_ error: any Error, cause: String, in place: String) -> String {
        guard let decoding = error as? DecodingError else { return cause }
        func path(_ context: DecodingError.Context, _ key: (any CodingKey)? = nil) -> String {
            let keys = context.codingPath + (key.map { [$0] } ?? [])
            let joined = keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            return joined.isEmpty ? "a value of \(place)" : joined
        }
        switch decoding {
        case .keyNotFound(let key, let context): return "\(path(context, key)) is missing"
        case .valueNotFound(let type, let context): return "\(path(context)) must be \(kind(type)), not null"
        case .typeMismatch(let type, let context): return "\(path(context)) must be \(kind(type))"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "the body is not valid JSON" : "\(path(context)) is not valid: \(context.debugDescription)"
        @unknown default: return cause
        }
    }

    /// What a JSON or query value of `type` looks like, in words.
    static func kind(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is Int64.Type, is Int32.Type: "an integer"
        case is Double.Type, is Float.Type: "a number"
        case is Bool.Type: "true or false"
        case is String.Type: "a string"
        default: "a \(type)"
        }
    }
}
