import Foundation
import KilnBuildpacks
import KilnConfine
import KilnImage
import KilnQueue
import KilnSigning
import KilnSlug

/// The phases of an app with a `Dockerfile` at its root, in place of
/// detect/compile/pack: buildah builds and pushes the image, the process
/// types come from a Procfile or else from the image's ENTRYPOINT and CMD,
/// and the signed manifest names the image by digest.
struct ImageBuild {
    let key: FarmKey

    static func applies(to context: BuildContext) -> Bool {
        (try? ConfinedDirectory(context.workspace.app, label: "the app").kind(of: "Dockerfile", links: .none)) != nil
    }

    /// What the Dockerfile and .dockerignore are, and whether the Dockerfile
    /// fetches on its own: checked before anything else of an image build.
    static func checkDockerfile(_ context: BuildContext) throws {
        let app = context.workspace.app, build = context.build
        for name in ["Dockerfile", ".dockerignore"] {
            if let kind = try HostileInput.kind(of: name, in: app, label: "the app"), kind != .regular {
                throw BuildFailure("the app's \(name) is \(kind), not a regular file: commit the file itself")
            }
        }
        if !context.settings.app.buildNetwork,
           let dockerfile = try HostileInput.readText("Dockerfile", in: app, label: "the app", cap: HostileInput.dockerfileCap, links: .none),
           let fetch = DockerfileFetches.first(in: dockerfile) {
            // buildah's --network covers RUN, not ADD, which buildah fetches itself.
            throw BuildFailure("""
                the Dockerfile's line \(fetch.line) (\(fetch.instruction) \(fetch.source)) fetches from the network, and this app's build network is off: \
                commit the file and ADD or COPY it from the app, or ask an administrator for kiln apps set --app \(build.app) --build-network on
                """)
        }
    }

    func run(_ context: BuildContext) async throws -> (BuildResult, SignedSlug) {
        let configuration = context.configuration, timer = context.timer, build = context.build
        try Self.checkDockerfile(context)
        guard let registry = configuration.registry else {
            throw BuildFailure("""
                this app has a Dockerfile at its root, which asks for an image build, and this farm has no registry: \
                start the workers with --registry HOST[:PORT]/PREFIX, or remove the Dockerfile to build with buildpacks
                """)
        }
        guard let user = configuration.buildUser else {
            throw BuildFailure("this app has a Dockerfile, and image builds need a worker running as root with a build user (buildah runs rootless as that user, never as the worker): this worker runs as uid \(getuid())")
        }
        if build.hot {
            throw BuildFailure("Hot upgrade impossible: this app is built from a Dockerfile into an image, and hot upgrades apply OTP releases from slugs. A push without KILN-HOT: true deploys it by restart.")
        }
        let app = context.workspace.app
        try await timer.measure("detect") {
            await context.log("-----> Dockerfile found: building an OCI image with buildah")
            let size = try await onThread { try Self.contextSize(app) }
            if size > configuration.imageContextLimit {
                throw BuildFailure("the build context (the app's files) is \(Figures.bytes(size)), over this farm's limit of \(Figures.bytes(configuration.imageContextLimit)) (every file counts, .dockerignore or not): leave build-only files out of the repository")
            }
            try await context.handOver(app)
        }
        let settings = context.settings
        let buildArgs = settings.app.dockerBuildArgs ? settings.config.vars : [:]
        if !buildArgs.isEmpty {
            await context.log("-----> Config vars passed as build args (docker-build-args on): \(buildArgs.keys.sorted().joined(separator: ", "))")
        }
        let builder = DockerfileBuild(store: BuildahStore(root: configuration.imageStoreDirectory, app: build.app, user: user),
                                      registry: registry, limits: configuration.buildLimits)
        let built: DockerfileBuild.Built, processTypes: [String: String]
        do {
            (built, processTypes) = try await timer.measure("compile") {
                try await builder.build(context: app, tag: build.id, buildArgs: buildArgs, cache: !build.clean,
                                        network: settings.app.buildNetwork, log: context.logLine) { config in
                    // Checked before the push: an image no process can start is not pushed.
                    let processTypes = try Self.processTypes(app: app, config: config)
                    await context.log("-----> Process types: \(processTypes.keys.sorted().map { "\($0): \(processTypes[$0] ?? "")" }.joined(separator: "; "))"
                                      + (config.ports.isEmpty ? "" : "; exposed ports \(config.ports.map(String.init).joined(separator: ", "))"))
                    return processTypes
                }
            }
        } catch let error as ImageError {
            throw BuildFailure(error.description)
        }
        await context.log("-----> Image pushed: \(built.reference)")
        let signed = try await timer.measure("sign") { () async throws -> SignedSlug in
            var manifest = SlugManifest(
                app: build.app, build: build.id, commit: build.commit, sha256: String(built.reference.digest?.dropFirst(7) ?? ""), size: built.size,
                format: SlugManifest.imageFormat, processTypes: processTypes, buildpacks: ["dockerfile"], stack: "oci", created: Date())
            manifest.configVersion = settings.config.version
            manifest.image = SlugManifest.Image(reference: built.reference.description, ports: built.config.ports)
            let signed = try SignedSlug.sign(manifest, with: key, into: context.blobs.local)
            do {
                try await ImageSigning(key: key, registry: registry).sign(built.reference, app: build.app, build: build.id,
                                                                          scratch: context.workspace.root.appendingPathComponent("image-signature"), log: context.logLine)
            } catch let error as ImageError {
                throw BuildFailure(error.description)
            }
            return signed
        }
        try await timer.measure("upload") { try await Upload().publish(context, [signed.manifestDigest, signed.signatureDigest]) }
        return (BuildResult(slugDigest: nil, manifestDigest: signed.manifestDigest.hex, signatureDigest: signed.signatureDigest.hex, slugSize: nil,
                            image: built.reference.description, imagePorts: built.config.ports), signed)
    }

    /// A Procfile wins, as for a slug; otherwise `web` is how the image starts.
    static func processTypes(app: URL, config: ImageConfig) throws -> [String: String] {
        if let procfile = try HostileInput.readText("Procfile", in: app, label: "the app", cap: HostileInput.procfileCap, links: .none) {
            return try ProcessTypes.parseProcfile(procfile).commands
        }
        guard let web = config.webCommand else {
            throw BuildFailure("the image has neither ENTRYPOINT nor CMD, and the app has no Procfile: add `CMD [...]` to the Dockerfile, or a Procfile with a web process")
        }
        return ["web": web]
    }

    /// The bytes of the app's regular files, without following links.
    static func contextSize(_ root: URL) throws -> Int64 {
        var total: Int64 = 0
        try ConfinedDirectory(root, label: "the app").walk { _, entry, _ in
            if entry.kind == .regular { total += entry.size }
        }
        return total
    }
}

/// Signs an image in the registry with the farm's key (its `.sig` beside it),
/// and says so in the log: for Dockerfile builds and exported slugs alike.
struct ImageSigning {
    let key: FarmKey
    let registry: RegistrySettings

    func sign(_ image: ImageReference, app: String, build: String, scratch: URL, log: @Sendable (String) async throws -> Void) async throws {
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true) // farm-owned: the signature scratch in the workspace
        try await ImageSignature(registry: registry).sign(image, app: app, build: build, key: key, scratch: scratch)
        try await log("-----> Image signed with the farm's key: \(ImageSignature.location(of: image))")
    }
}
