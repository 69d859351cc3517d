/// An error about apps, keys or releases, with what to do about it.
public struct CatalogError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        case invalid, notFound, conflict
        /// A key that was revoked is presented to be registered again (the token a kiln.env still holds).
        case revoked
    }
    public let code: Code
    public let message: String
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { message }
}
