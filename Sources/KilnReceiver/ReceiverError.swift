/// An error in the receiver, with what to do about it.
public struct ReceiverError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
