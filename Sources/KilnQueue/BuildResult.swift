/// What a successful build produced.
public struct BuildResult: Sendable {
    public var slugDigest: String
    public var manifestDigest: String
    public var signatureDigest: String
    public var slugSize: Int64

    public init(slugDigest: String, manifestDigest: String, signatureDigest: String, slugSize: Int64) {
        self.slugDigest = slugDigest
        self.manifestDigest = manifestDigest
        self.signatureDigest = signatureDigest
        self.slugSize = slugSize
    }
}
