/// An error choosing, fetching or running a buildpack. The message is what
/// the pusher sees on the last `remote:` line.
public struct BuildpackError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
