import Foundation
import KilnSandbox

/// Where one build's directories are on the host, and where the sandbox
/// shows them: `/app` (BUILD_DIR, as the slug runs on a dyno), `/cache`,
/// `/env` (read-only), `/buildpacks` (the fetched ones, writable for their
/// `export` files), `/builders` (Kiln's built-in ones, read-only) and, for a
/// hot upgrade, `/previous` (the app's running slug, read-only).
public struct BuildLayout: Sendable {
    public var app: URL
    public var cache: URL
    public var env: URL
    public var buildpacks: URL
    public var builders: URL
    /// The running release's slug (its `app/` directory), for a hot upgrade.
    public var previous: URL?

    public static let appInside = "/app"
    public static let previousInside = "/previous"
    public static let cacheInside = "/cache"
    public static let envInside = "/env"

    public init(app: URL, cache: URL, env: URL, buildpacks: URL, builders: URL, previous: URL? = nil) {
        self.app = app
        self.cache = cache
        self.env = env
        self.buildpacks = buildpacks
        self.builders = builders
        self.previous = previous
    }

    var mounts: [SandboxMount] {
        [
            SandboxMount(host: app, inside: Self.appInside, writable: true),
            SandboxMount(host: cache, inside: Self.cacheInside, writable: true),
            SandboxMount(host: env, inside: Self.envInside, writable: false),
            SandboxMount(host: buildpacks, inside: "/buildpacks", writable: true),
            SandboxMount(host: builders, inside: "/builders", writable: false),
        ] + (previous.map { [SandboxMount(host: $0, inside: Self.previousInside, writable: false)] } ?? [])
    }

    /// The buildpack's directory as the sandbox sees it.
    func inside(_ buildpack: Buildpack) throws -> String {
        let path = buildpack.directory.standardizedFileURL.path
        for (host, inside) in [(buildpacks, "/buildpacks"), (builders, "/builders")] {
            let base = host.standardizedFileURL.path
            if path.hasPrefix(base + "/") { return inside + path.dropFirst(base.count) }
        }
        throw BuildpackError("\(buildpack.reference) lies outside the build's buildpack directories (\(path))")
    }
}
