import KilnConfine

/// The kinds of build, each a ``BuildPipeline`` of its own after the shared
/// fetch. Chosen once per build, by ``of(_:)``, from the fetched app. A
/// third kind (Cloud Native Buildpacks, by a `project.toml`) would be one
/// more case here and one more pipeline.
enum BuildKind: Sendable, Equatable {
    /// Heroku buildpacks: detect, restore, compile, save, pack into a slug (``SlugPipeline``).
    case slug
    /// A root `Dockerfile`: an OCI image built by buildah (``ImagePipeline``).
    case image

    /// The kind of the app in `workspace`: a root `Dockerfile`, whatever it
    /// is (a link is refused later, with a message), makes it an image.
    static func of(_ workspace: BuildWorkspace) -> BuildKind {
        let dockerfile = try? ConfinedDirectory(workspace.app, label: "the app").kind(of: "Dockerfile", links: .none)
        return dockerfile == nil ? .slug : .image
    }
}
