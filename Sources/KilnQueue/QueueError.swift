/// An error from the queue, with what to do about it.
public struct QueueError: Error, CustomStringConvertible, Sendable {
    /// A stable code, for the API's status.
    public enum Code: String, Sendable {
        case notFound
        /// The queue is at its cap: back-pressure, try again later.
        case full
        /// The build is no longer this worker's.
        case fenced
        case other
    }

    public let code: Code
    public let message: String

    public init(_ message: String, code: Code = .other) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
