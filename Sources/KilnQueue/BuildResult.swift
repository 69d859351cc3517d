/// What a successful build produced: a slug, an OCI image, or both (a slug
/// exported as an image), and the signed manifest that describes them.
public struct BuildResult: Sendable {
    public var slugDigest: String?
    public var manifestDigest: String
    public var signatureDigest: String
    public var slugSize: Int64?
    /// The image by digest (`REGISTRY/PREFIX/APP@sha256:…`).
    public var image: String?
    /// The ports the image EXPOSEs.
    public var imagePorts: [Int]?

    public init(slugDigest: String?, manifestDigest: String, signatureDigest: String, slugSize: Int64?, image: String? = nil, imagePorts: [Int]? = nil) {
        self.slugDigest = slugDigest
        self.manifestDigest = manifestDigest
        self.signatureDigest = signatureDigest
        self.slugSize = slugSize
        self.image = image
        self.imagePorts = imagePorts
    }
}
