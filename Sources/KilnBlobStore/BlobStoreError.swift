/// An error from the blob store, naming the blob or file involved.
public struct BlobStoreError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
