import Foundation
import KilnDownload
import KilnHome
import KilnImage
import KilnReceiver
import KilnS3

/// Where the server listens and keeps its files.
public struct ServerConfiguration: Sendable {
    /// Kiln's home: `repos/`, `blobs/`, `keys/`.
    public var home: URL
    public var host: String
    public var port: Int
    /// The URL pushers and release services use, printed by `kiln apps create` and in slug URLs (default `http://HOST:PORT`).
    public var publicURL: String
    /// The database URL, handed to the pre-receive hook.
    public var databaseURL: String
    /// How long finished builds that made no release, and all build logs, are kept.
    public var retention: Duration = .seconds(30 * 24 * 3600)
    /// The farm's object store; `nil`: the blob directory under the home is the farm's store.
    public var s3: S3Settings?
    /// Most bytes one file of a push may have; a larger one rejects the push, naming it.
    public var maxPushFileSize: Int64 = 512 << 20
    /// What the push hook (submodules) and source URL builds may fetch.
    public var fetchPolicy = FetchPolicy()
    /// The port of Kiln's own SSH server (on ``host``), or `nil` for none.
    public var sshPort: Int?
    /// The farm's OCI registry, where images released by reference are
    /// copied and signed (`POST /api/apps/{app}/releases`); `nil`: that route refuses.
    public var registry: RegistrySettings?

    public init(home: URL, host: String, port: Int, publicURL: String? = nil, databaseURL: String) {
        self.home = home
        self.host = host
        self.port = port
        // Without a trailing slash: paths are appended to it (`/APP.git`, `/slugs/…`).
        var url = publicURL ?? "http://\(host):\(port)"
        while url.hasSuffix("/") { url.removeLast() }
        self.publicURL = url
        self.databaseURL = databaseURL
    }

    /// What the pre-receive hook of a push to `app` is told, over HTTP and SSH alike.
    func hookEnvironment(app: String, clean: Bool = false, hot: Bool = false) -> PushHookEnvironment {
        var hook = PushHookEnvironment(app: app, databaseURL: databaseURL, home: home.path, clean: clean, hot: hot, s3: s3, fetchPolicy: fetchPolicy)
        hook.maxFileSize = maxPushFileSize
        return hook
    }

    var layout: KilnHome { KilnHome(home) }
    var repositories: URL { layout.repositories }
    var blobs: URL { layout.blobs }
    /// The dependency cache's shared tier, and the local tier of a worker on this host (`kiln up`).
    var cacheTiers: [URL] { [layout.sharedCache, layout.localCache] }
    var keyFile: URL { layout.farmKey }
    var configKeyFile: URL { layout.configKey }
    /// The secret signed slug URLs are made with; every server of a farm shares it.
    var urlSecretFile: URL { layout.urlSecret }
}
