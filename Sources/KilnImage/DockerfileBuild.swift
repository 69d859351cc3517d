import Foundation
import KilnProcess
import KilnSandbox

/// Builds an app's Dockerfile with buildah (daemonless, rootless as the
/// build user, vfs storage) and pushes the image. Each `RUN` runs in runc's
/// namespaces (OCI isolation), because chroot isolation cannot take the
/// network away: a `RUN` without the app's build network has none, not even
/// the worker's loopback.
///
/// The layer cache is the app's buildah storage on this worker (`--layers`)
/// and, for other workers, the registry (`--cache-from`/`--cache-to` the
/// app's cache repository). Output streams to the build's log as buildah prints it.
public struct DockerfileBuild: Sendable {
    public var store: BuildahStore
    public var registry: RegistrySettings
    /// The same limits as a buildpack script: wall time, memory, processes, log size.
    public var limits: SandboxLimits

    public init(store: BuildahStore, registry: RegistrySettings, limits: SandboxLimits) {
        self.store = store
        self.registry = registry
        self.limits = limits
    }

    /// What one build left in the registry.
    public struct Built: Sendable {
        /// `REPO@sha256:…`.
        public var reference: ImageReference
        public var config: ImageConfig
        /// Steps buildah took from a cache (local or the registry's), of all steps.
        public var cachedSteps: Int
        public var steps: Int
        /// The bytes of its config and layers, compressed, as the registry holds them.
        public var size: Int64
    }

    /// Builds `context` (holding `Dockerfile`) as the app's image tagged `tag`;
    /// hands its config to `check` (which throws to stop before anything is
    /// pushed, and returns what it made of the config); then pushes it and
    /// reads it back by digest.
    /// - Parameters:
    ///   - buildArgs: `--build-arg`s (the app's config vars, when it opted in): passed by name, their values in buildah's environment.
    ///   - cache: whether to use cached layers (`KILN-CLEAN: true` builds without).
    ///   - network: whether `RUN` steps reach the network (the app's build network setting).
    public func build<Checked: Sendable>(context: URL, tag: String, buildArgs: [String: String], cache: Bool, network: Bool,
                                         log: @escaping @Sendable (String) async throws -> Void,
                                         check: @Sendable (ImageConfig) async throws -> Checked) async throws -> (Built, Checked) {
        let session = try store.open(registry: registry)
        defer { session.remove() }
        let target = ImageReference(repository: registry.repository(app: store.app), tag: tag)
        var withSession = registry
        withSession.authFile = session.authFile
        let registryOptions = withSession.options()

        var arguments = store.globalArguments + ["bud", "--isolation", "oci", "--runtime", Self.runtime, "--network", network ? "host" : "none",
                                                 "--layers", "--format", "oci"] + registryOptions
        let cacheRepository = registry.cacheRepository(app: store.app)
        arguments += cache ? ["--cache-from", cacheRepository, "--cache-to", cacheRepository] : ["--no-cache", "--cache-to", cacheRepository]
        var environment = store.environment
        var withheld: [String] = []
        for (name, value) in buildArgs.sorted(by: { $0.key < $1.key }) {
            guard environment[name] == nil else { withheld.append(name); continue }
            arguments += ["--build-arg", name]
            environment[name] = value
        }
        if !withheld.isEmpty {
            try await log("-----> Not passed as build args (they name buildah's own environment): \(withheld.joined(separator: ", "))")
        }
        arguments += ["--file", context.appendingPathComponent("Dockerfile").path, "--tag", target.description, context.path]

        let report = BuildReport()
        let outcome = try await run(arguments, environment: environment) { line in
            report.note(line)
            try await log("       " + line)
        }
        guard outcome.succeeded else {
            if let limit = outcome.limit { throw ImageError("the image build was stopped: \(limit)") }
            throw ImageError(report.failure(status: outcome.status, registry: registry.host))
        }
        let counts = report.counts
        try await log("-----> Steps: \(counts.steps), from the layer cache: \(counts.cached)\(cache ? "" : " (KILN-CLEAN: built without the cache)")")
        let config = try await localConfig(target)
        let checked = try await check(config)

        let digestFile = session.directory.appendingPathComponent("digest")
        let push = try await run(store.globalArguments + ["push", "--digestfile", digestFile.path, "--format", "oci"] + registryOptions
                                 + [target.description, target.transport]) { line in try await log("       " + line) }
        guard push.succeeded, let digest = try? String(contentsOf: digestFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
              ImageReference.isDigest(digest) else {
            throw ImageError("the registry \(registry.host) refused the image \(target)\(push.limit.map { " (\($0))" } ?? ""): see the lines above; nothing was released")
        }
        // Read back from the registry: the image is there, under that digest.
        let pinned = target.pinned(to: digest)
        let skopeo = Skopeo(registry: registry)
        let (manifest, stored) = try await skopeo.rawManifest(pinned)
        guard stored == digest else { throw ImageError("the registry serves \(pinned) with a manifest whose digest is \(stored)") }
        let document = try OCILayout.object(manifest)
        let descriptors = [document["config"] as? [String: Any] ?? [:]] + (document["layers"] as? [[String: Any]] ?? [])
        let size = descriptors.reduce(Int64(0)) { $0 + Int64($1["size"] as? Int ?? 0) }
        return (Built(reference: pinned, config: config, cachedSteps: counts.cached, steps: counts.steps, size: size), checked)
    }

    /// The built image's config, from the app's storage, before anything is pushed.
    func localConfig(_ image: ImageReference) async throws -> ImageConfig {
        let (outcome, text) = try await sandbox.capture("/usr/bin/buildah", store.globalArguments + ["inspect", "--type", "image", image.description],
                                                        environment: store.environment, workingDirectory: store.home.path, limit: 4 << 20)
        // Its JSON starts at a line of its own; a warning may come before it.
        guard outcome.succeeded, let start = text.range(of: "\n{") ?? (text.hasPrefix("{") ? text.startIndex..<text.startIndex : nil),
              let top = try? JSONSerialization.jsonObject(with: Data(text[start.lowerBound...].utf8)) as? [String: Any],
              let oci = top["OCIv1"] else {
            throw ImageError("cannot read the built image's config: \(text.suffix(300))")
        }
        return try ImageConfig(json: JSONSerialization.data(withJSONObject: oci))
    }

    /// runc: crun refuses the hybrid cgroup hierarchies many farm hosts have.
    static let runtime = "/usr/sbin/runc"

    var sandbox: Sandbox {
        Sandbox(mounts: [], network: true, user: store.user, limits: limits, namespaces: false)
    }

    func run(_ arguments: [String], environment: [String: String]? = nil,
             output: @escaping @Sendable (String) async throws -> Void) async throws -> SandboxOutcome {
        try await sandbox.run("/usr/bin/buildah", arguments, environment: environment ?? store.environment, workingDirectory: store.home.path, output: output)
    }
}
