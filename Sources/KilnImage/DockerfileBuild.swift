import Foundation
import KilnProcess
import KilnSandbox

/// Builds an app's Dockerfile with buildah (daemonless, rootless as the
/// build user, vfs storage) and pushes the image. Each `RUN` runs in runc's
/// namespaces (OCI isolation), because chroot isolation cannot take the
/// network away: a `RUN` without the app's build network has none, not even
/// the worker's loopback.
///
/// The layer cache is the worker's buildah storage (`--layers`) and, for
/// other workers, the registry (`--cache-from`/`--cache-to` the app's cache
/// repository). Output streams to the build's log as buildah prints it.
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

    /// Builds `context` (holding `Dockerfile`) as `app`'s image tagged `tag`, and pushes it.
    /// - Parameters:
    ///   - buildArgs: `--build-arg`s (the app's config vars, when it opted in).
    ///   - cache: whether to use cached layers (`KILN-CLEAN: true` builds without).
    ///   - network: whether `RUN` steps reach the network (the app's build network setting).
    public func build(context: URL, app: String, tag: String, buildArgs: [String: String], cache: Bool, network: Bool,
                      log: @escaping @Sendable (String) async throws -> Void) async throws -> Built {
        try store.prepare(registry: registry)
        let repository = registry.repository(app: app)
        let target = ImageReference(repository: repository, tag: tag)
        let files = store.directory.appendingPathComponent("tmp/\(app)-\(tag)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: files, withIntermediateDirectories: true)
        if let user = store.user { chown(files.path, user.uid, user.gid) }
        defer { try? FileManager.default.removeItem(at: files) }

        var arguments = store.globalArguments + ["bud", "--isolation", "oci", "--runtime", Self.runtime, "--network", network ? "host" : "none", "--layers", "--format", "oci"] + store.registryOptions(registry)
        let cacheRepository = registry.cacheRepository(app: app)
        arguments += cache ? ["--cache-from", cacheRepository, "--cache-to", cacheRepository] : ["--no-cache", "--cache-to", cacheRepository]
        for (name, value) in buildArgs.sorted(by: { $0.key < $1.key }) { arguments += ["--build-arg", "\(name)=\(value)"] }
        arguments += ["--file", context.appendingPathComponent("Dockerfile").path, "--tag", target.description, context.path]

        let report = BuildReport()
        let outcome = try await run(arguments) { line in
            report.note(line)
            try await log("       " + line)
        }
        guard outcome.succeeded else {
            if let limit = outcome.limit { throw ImageError("the image build was stopped: \(limit)") }
            throw ImageError(report.failure(status: outcome.status, registry: registry.host))
        }
        let counts = report.counts
        await ((try? log("-----> Steps: \(counts.steps), from the layer cache: \(counts.cached)\(cache ? "" : " (KILN-CLEAN: built without the cache)")")) ?? ())

        let digestFile = files.appendingPathComponent("digest")
        let push = try await run(store.globalArguments + ["push", "--digestfile", digestFile.path, "--format", "oci"] + store.registryOptions(registry)
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
        return Built(reference: pinned, config: try ImageConfig(json: try await skopeo.rawConfig(pinned)), cachedSteps: counts.cached, steps: counts.steps, size: size)
    }

    /// runc: crun refuses the hybrid cgroup hierarchies many farm hosts have.
    static let runtime = "/usr/sbin/runc"

    func sandbox() -> Sandbox {
        Sandbox(mounts: [], network: true, user: store.user, limits: limits, namespaces: false)
    }

    func run(_ arguments: [String], output: @escaping @Sendable (String) async throws -> Void) async throws -> SandboxOutcome {
        try await sandbox().run("/usr/bin/buildah", arguments, environment: store.environment, workingDirectory: store.home.path, output: output)
    }
}
