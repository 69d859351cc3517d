import KilnCNB
import KilnConfine

/// The kinds of build, each a ``BuildPipeline`` of its own after the shared
/// fetch. Chosen once per build, by ``of(_:settings:configuration:)``, from
/// the fetched app.
enum BuildKind: Sendable, Equatable {
    /// Heroku buildpacks: detect, restore, compile, save, pack into a slug (``SlugPipeline``).
    case slug
    /// A root `Dockerfile`: an OCI image built by buildah (``ImagePipeline``).
    case image
    /// Cloud Native Buildpacks: detect, restore, build, export to an OCI image (``CNBPipeline``).
    case cnb(CNBRequest)

    /// The kind of the app in `workspace`, in this order: a root
    /// `Dockerfile`, whatever it is (a link is refused later, with a
    /// message), makes it an image; a `project.toml` naming buildpacks or a
    /// `paastech/buildpacks.yaml` makes it a CNB build; an app that names no
    /// classic buildpack (no `.buildpacks`, no `BUILDPACK_URL`) is tried
    /// against the farm's CNB order when it has one (``CNBRequest/Origin/farmOrder``:
    /// a detection that passes no group falls back to a slug); else a slug.
    /// A CNB file that cannot be read or parsed fails the build, naming it.
    static func of(_ workspace: BuildWorkspace, settings: BuildSettings, configuration: WorkerConfiguration) throws -> BuildKind {
        let app = try ConfinedDirectory(workspace.app, label: "the app")
        if (try? app.kind(of: "Dockerfile", links: .none)) != nil { return .image }
        if let request = try CNBRequest.read(from: workspace.app) { return .cnb(request) }
        let namesClassic = (try? app.kind(of: ".buildpacks", links: .none)) != nil || settings.config.vars["BUILDPACK_URL"] != nil
        if !namesClassic, configuration.cnbOrder != nil { return .cnb(CNBRequest(origin: .farmOrder)) }
        return .slug
    }
}
