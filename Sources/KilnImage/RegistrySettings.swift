import Foundation

/// The farm's OCI registry: where Dockerfile builds and exported slugs are
/// pushed, as `HOST[:PORT]/PREFIX/APP`.
public struct RegistrySettings: Sendable, Equatable {
    /// `registry.example.com` or `127.0.0.1:5000`.
    public var host: String
    /// The repositories' common path, e.g. `kiln` (may be empty).
    public var prefix: String
    /// Plain HTTP or an unverified certificate: for a loopback registry only.
    public var insecure: Bool
    /// A containers-auth.json file (as `buildah login` writes), or `nil` for none.
    public var authFile: URL?

    /// Parses `HOST[:PORT]/PREFIX`.
    public init(_ text: String, insecure: Bool = false, authFile: URL? = nil) throws {
        var rest = text
        for scheme in ["https://", "http://", "docker://"] where rest.hasPrefix(scheme) { rest.removeFirst(scheme.count) }
        while rest.hasSuffix("/") { rest.removeLast() }
        let parts = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let host = parts.first, !host.isEmpty, host.contains(".") || host.contains(":") || host == "localhost",
              host.allSatisfy({ $0.isLetter || $0.isNumber || ".-:[]".contains($0) }) else {
            throw ImageError("'\(text)' is not a registry: give HOST[:PORT]/PREFIX, e.g. registry.example.com/kiln or 127.0.0.1:5000/kiln")
        }
        let prefix = parts.count > 1 ? parts[1] : ""
        guard prefix.isEmpty || prefix.split(separator: "/", omittingEmptySubsequences: false).allSatisfy(Self.isPathComponent) else {
            throw ImageError("'\(prefix)' is not a repository prefix: lowercase letters, digits, '.', '_' and '-' between slashes")
        }
        self.host = host
        self.prefix = prefix
        self.insecure = insecure
        self.authFile = authFile
    }

    /// The repository of `app`'s images: `HOST/PREFIX/APP`.
    public func repository(app: String) -> String {
        [host, prefix, app].filter { !$0.isEmpty }.joined(separator: "/")
    }

    /// The app whose repository `reference` is in, when it is in this
    /// registry under `PREFIX/` (`HOST/PREFIX/APP`, `HOST/PREFIX/APP/cache`); `nil` otherwise.
    public func owner(of reference: ImageReference) -> String? {
        let base = repository(app: "") + "/"
        guard reference.repository.hasPrefix(base) else { return nil }
        return reference.repository.dropFirst(base.count).split(separator: "/").first.map(String.init)
    }

    /// The stack image slugs are exported onto unless another is named.
    public var defaultStackImage: String { host + "/stacks/heroku-22" }

    /// Where Dockerfile builds of `app` keep their layer cache for other workers.
    public func cacheRepository(app: String) -> String {
        repository(app: app) + "/cache"
    }

    /// The options skopeo and buildah take for this registry, in their spelling: `tls` is
    /// `--tls-verify` (buildah, skopeo inspect), `--src-tls-verify` or `--dest-tls-verify` (skopeo copy).
    func options(tls: String = "--tls-verify", auth: String = "--authfile") -> [String] {
        ["\(tls)=\(!insecure)"] + (authFile.map { [auth, $0.path] } ?? [])
    }

    static func isPathComponent(_ part: Substring) -> Bool {
        !part.isEmpty && part.allSatisfy { ($0.isLowercase && $0.isASCII) || $0.isNumber || "._-".contains($0) }
    }
}
