import CGit2

/// An error from libgit2, carrying the library's own message.
public struct GitError: Error, CustomStringConvertible, Sendable {
    public let message: String

    public init(_ message: String) { self.message = message }

    /// Builds an error from libgit2's last error for `what` was being done.
    static func last(_ what: String) -> GitError {
        let detail = git_error_last().flatMap { $0.pointee.message.map { String(cString: $0) } } ?? "unknown libgit2 error"
        return GitError("\(what): \(detail)")
    }

    public var description: String { message }
}

/// Runs a libgit2 call and turns a negative result into a ``GitError``.
@inline(__always)
func check(_ status: Int32, _ what: @autoclosure () -> String) throws {
    if status < 0 { throw GitError.last(what()) }
}
