/// Something wrong with the cache itself: a missing or corrupt object, a
/// store that cannot be written. A build logs it and goes on cold; it never
/// fails a build.
public struct CacheFault: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
