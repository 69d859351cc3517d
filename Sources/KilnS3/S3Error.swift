/// A request to the object store that failed, with what S3 said and what to do.
public struct S3Error: Error, CustomStringConvertible, Sendable {
    public let description: String
    /// S3's error code (`NoSuchKey`, `SignatureDoesNotMatch`…), when it gave one.
    public let code: String?
    public let status: Int?

    public init(_ description: String, code: String? = nil, status: Int? = nil) {
        self.description = description
        self.code = code
        self.status = status
    }
}
