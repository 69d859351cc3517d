import Foundation

/// Every path under a farm's home directory (`--home`, `/var/lib/kiln` in
/// production), named once: the server, the workers, the push hook and the
/// command line all find their files here. docs/operations.md lists them
/// for the operator.
public struct KilnHome: Sendable, Equatable {
    /// The home directory itself.
    public let root: URL

    public init(_ root: URL) {
        self.root = root
    }

    public init(path: String) {
        self.init(URL(fileURLWithPath: path))
    }

    private func file(_ relative: String) -> URL { root.appendingPathComponent(relative) }

    /// The apps' bare git repositories.
    public var repositories: URL { file("repos") }
    /// The blob store's local directory: sources, slugs, manifests, signatures.
    public var blobs: URL { file("blobs") }
    /// The dependency cache's shared tier, beside the blobs (a bucket's `cache/` when the farm has one).
    public var sharedCache: URL { file("blobs/cache") }
    /// The dependency cache's local tier, one per host.
    public var localCache: URL { file("cache/store") }
    /// Where a worker assembles each app's CACHE_DIR for a build.
    public var appCaches: URL { file("cache/apps") }
    /// Buildpacks fetched by URL, by digest.
    public var buildpackCache: URL { file("cache/buildpacks") }
    /// buildah's stores for image builds, one per app.
    public var imageStore: URL { file("cache/images") }
    /// The bare repositories of `app`'s submodules, fetched by the push hook.
    public func submoduleCache(app: String) -> URL { file("cache/submodules/apps").appendingPathComponent(app) }
    /// The runtimes the operator added (`kiln runtimes add`), `NAME/VERSION/`, when `--runtimes` names no other directory.
    public var runtimes: URL { file("runtimes") }
    /// The build stacks a worker has besides the host's own system: `NAME/stack.conf` and `NAME/root/` each (`scripts/stack` makes them).
    public var stacks: URL { file("stacks") }
    /// A worker's compressed CNB image layers by diff_id, so an unchanged layer is not compressed again.
    public var cnbLayerCache: URL { file("cache/layers") }
    /// The farm's Cloud Native Buildpacks, `ID_ESCAPED/VERSION/` (`--cnb-buildpacks` overrides).
    public var cnbBuildpacks: URL { file("cnb/buildpacks") }
    /// Each build attempt's workspace.
    public var work: URL { file("work") }
    /// Scratch files of the server (source archives being imported).
    public var temporary: URL { file("tmp") }
    /// `kiln up`'s private PostgreSQL.
    public var postgres: URL { file("postgres") }
    /// The farm's Ed25519 signing key; retired public keys sit beside it in `retired/`.
    public var farmKey: URL { file("keys/farm-ed25519.pem") }
    /// The AES-256 key that seals config vars and webhook secrets.
    public var configKey: URL { file("keys/config-aes256.key") }
    /// The HMAC key of signed slug URLs.
    public var urlSecret: URL { file("keys/url-hmac.key") }
    /// The registry's credentials, when the farm pushes images to one that asks for them.
    public var registryAuth: URL { file("keys/registry-auth.json") }
    /// The SSH server's host keys, made once and kept: `ssh_host_ed25519_key`, `ssh_host_ecdsa_key`.
    public func sshHostKey(_ name: String) -> URL { file("ssh/ssh_host_\(name)_key") }
    /// The push hook's settings, written by the server at start for pushes
    /// that arrive through OpenSSH's sshd (`kiln ssh git`): the database, the store, the fetch policy.
    public var sshPushSettings: URL { file("ssh/push-settings.json") }
    /// What `kiln up` writes for clients: KILN_SERVER and KILN_TOKEN.
    public var environmentFile: URL { file("kiln.env") }
}
