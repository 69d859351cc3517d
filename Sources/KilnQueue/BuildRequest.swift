/// What a push asks to be built.
public struct BuildRequest: Sendable {
    public var app: String
    public var commit: String?
    public var branch: String?
    public var sourceDigest: String
    public var clean: Bool
    public var hot: Bool

    public init(app: String, commit: String?, branch: String?, sourceDigest: String, clean: Bool = false, hot: Bool = false) {
        self.app = app
        self.commit = commit
        self.branch = branch
        self.sourceDigest = sourceDigest
        self.clean = clean
        self.hot = hot
    }
}

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
