import Hummingbird
import KilnCatalog
import KilnQueue
import KilnReceiver

/// An error that crosses HTTP as a status and a message for the user, in
/// Hummingbird's `HTTPError` body (`{"error": {"message": …}}`).
/// ``ErrorMiddleware`` answers every route's errors through it; the
/// conformances below are the one place where Kiln's errors meet statuses.
protocol KilnHTTPError: Error {
    var status: HTTPResponse.Status { get }
    /// What went wrong and what to do; the `kiln` command prints it.
    var message: String { get }
    var headers: HTTPFields { get }
}

extension KilnHTTPError {
    var headers: HTTPFields { [:] }
}

extension HTTPError: KilnHTTPError {
    var message: String { body ?? status.reasonPhrase }
}

extension CatalogError: KilnHTTPError {
    var status: HTTPResponse.Status {
        switch code {
        case .invalid: .badRequest
        case .notFound: .notFound
        case .conflict, .revoked: .conflict
        }
    }
}

extension QueueError: KilnHTTPError {
    var status: HTTPResponse.Status {
        switch code {
        // Back-pressure: the client may try again later.
        case .full: .tooManyRequests
        case .notFound: .notFound
        case .fenced, .other: .conflict
        }
    }
}

extension SourceImportError: KilnHTTPError {
    // The request was well formed; what it points at cannot be built.
    var status: HTTPResponse.Status { .unprocessableContent }
    var message: String { description }
}
