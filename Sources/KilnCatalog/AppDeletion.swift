/// What `Catalog.deleteApp` did to an app, for the operator's record.
public struct AppDeletion: Sendable, Equatable {
    public var app: String
    /// Whether the app's row went too, with its builds, logs and releases
    /// (`--purge`); otherwise it stays as a tombstone that keeps its releases.
    public var purged: Bool
    /// The queued and running builds it cancelled (running ones stop within a second).
    public var cancelledBuilds: [String]
    /// The releases still recorded for the release service (0 once purged).
    public var releasesKept: Int
    /// The API keys and SSH keys it removed.
    public var keysRemoved: Int
}
