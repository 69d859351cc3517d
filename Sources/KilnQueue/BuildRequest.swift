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
