/// What a push asks to be built.
public struct BuildRequest: Sendable {
    public var app: String
    public var commit: String?
    public var branch: String?
    public var sourceDigest: String
    public var clean: Bool
    public var hot: Bool
    /// Whether this build replaces the app's queued builds. A push does: only
    /// the newest push is worth building. A build someone asked for by name
    /// (a retry) does not: it waits its turn behind them.
    public var supersedesQueued: Bool

    public init(app: String, commit: String?, branch: String?, sourceDigest: String, clean: Bool = false, hot: Bool = false,
                supersedesQueued: Bool = true) {
        self.app = app
        self.commit = commit
        self.branch = branch
        self.sourceDigest = sourceDigest
        self.clean = clean
        self.hot = hot
        self.supersedesQueued = supersedesQueued
    }
}
