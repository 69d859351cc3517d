/// An error from a blob store, naming the blob, file or store involved.
public struct BlobStoreError: Error, CustomStringConvertible, Sendable {
    public let message: String
    /// Set when the blob asked for is not stored (rather than unreadable).
    public let isMissing: Bool

    public init(_ message: String, isMissing: Bool = false) {
        self.message = message
        self.isMissing = isMissing
    }

    /// The blob is not in the store at `location`.
    public static func missing(_ digest: BlobDigest, in location: String) -> BlobStoreError {
        BlobStoreError("blob \(digest) is not in the store at \(location)", isMissing: true)
    }

    public var description: String { message }
}
