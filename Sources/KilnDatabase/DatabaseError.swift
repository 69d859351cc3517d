/// An error reaching or preparing the database, with what to do about it.
public struct DatabaseError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
