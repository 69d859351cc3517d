/// A fetch the farm would not make: a URL of a refused kind, a local path
/// outside the operator's directories, an address the guard refused, a
/// fetch over its size or time. The message names the URL and says what the
/// pusher or the operator can do.
public struct FetchRefused: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A fetch option the operator gave that cannot be used (a CIDR, a
/// directory, a protocol); the message names the value.
public struct FetchConfigurationError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
