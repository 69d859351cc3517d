import Foundation
import KilnBuildpacks
import KilnImage

/// What the compile phase of an image build made: the image, pushed and
/// read back by digest, and how its processes start.
struct BuiltImage: Sendable {
    let built: DockerfileBuild.Built
    let processTypes: [String: String]
}

/// The compile phase of an image build: buildah builds the image on the
/// app's store (its layers cached in the registry unless the build is
/// clean), and pushes it once its process types are known.
struct BuildImage {
    func run(_ context: BuildContext, plan: DockerfilePlan) async throws -> BuiltImage {
        let configuration = context.configuration, build = context.build, settings = context.settings
        let app = context.workspace.app
        let buildArgs = settings.app.dockerBuildArgs ? settings.config.vars : [:]
        if !buildArgs.isEmpty {
            await context.log("-----> Config vars passed as build args (docker-build-args on): \(buildArgs.keys.sorted().joined(separator: ", "))")
        }
        let builder = DockerfileBuild(store: BuildahStore(root: configuration.imageStoreDirectory, app: build.app, user: plan.user),
                                      registry: plan.registry, limits: configuration.buildLimits)
        let built: DockerfileBuild.Built, processTypes: [String: String]
        do {
            (built, processTypes) = try await builder.build(context: app, tag: build.id, buildArgs: buildArgs, cache: !build.clean,
                                                             network: settings.app.buildNetwork, log: context.logLine) { config in
                // Checked before the push: an image no process can start is not pushed.
                let processTypes = try Self.processTypes(app: app, config: config)
                await context.log("-----> Process types: \(processTypes.keys.sorted().map { "\($0): \(processTypes[$0] ?? "")" }.joined(separator: "; "))"
                                  + (config.ports.isEmpty ? "" : "; exposed ports \(config.ports.map(String.init).joined(separator: ", "))"))
                return processTypes
            }
        } catch let error as ImageError {
            throw BuildFailure(error.description)
        }
        await context.log("-----> Image pushed: \(built.reference)")
        return BuiltImage(built: built, processTypes: processTypes)
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
}
