import Foundation
import KilnConfine
import KilnImage
import KilnProcess
import KilnSandbox

/// What an image build needs, found by ``CheckDockerfile``.
struct DockerfilePlan: Sendable {
    /// Where the image, its cache and its signature go.
    let registry: RegistrySettings
    /// Whom buildah runs as, rootless.
    let user: SandboxUser
}

/// The detect phase of an image build: the Dockerfile and .dockerignore are
/// regular files, the Dockerfile fetches nothing by itself when the build
/// network is off, the farm can build images, and the build context is
/// within the farm's limit. Every check runs before buildah does.
struct CheckDockerfile {
    func run(_ context: BuildContext) async throws -> DockerfilePlan {
        let configuration = context.configuration, build = context.build
        try Self.checkFiles(context)
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
        await context.log("-----> Dockerfile found: building an OCI image with buildah")
        let size = try await onThread { try Self.contextSize(app) }
        if size > configuration.imageContextLimit {
            throw BuildFailure("the build context (the app's files) is \(Figures.bytes(size)), over this farm's limit of \(Figures.bytes(configuration.imageContextLimit)) (every file counts, .dockerignore or not): leave build-only files out of the repository")
        }
        try await context.handOver(app)
        return DockerfilePlan(registry: registry, user: user)
    }

    /// What the Dockerfile and .dockerignore are, and whether the Dockerfile
    /// fetches on its own: checked before anything else of an image build.
    static func checkFiles(_ context: BuildContext) throws {
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

    /// The bytes of the app's regular files, without following links.
    static func contextSize(_ root: URL) throws -> Int64 {
        var total: Int64 = 0
        try ConfinedDirectory(root, label: "the app").walk { _, entry, _ in
            if entry.kind == .regular { total += entry.size }
        }
        return total
    }
}
