/// The phases of a build, in the order a build goes through them: the
/// names its log, its metrics (`kiln_build_phase_seconds{phase=…}`) and its
/// record (`builds.timings`) use. Every kind of build (slugs from
/// buildpacks, images from a Dockerfile) times itself with these; a kind
/// that has no such phase leaves it out.
///
/// The raw values are the keys of `builds.timings`, which the REST API, the
/// CLI and the docs show: they never change.
public enum BuildPhase: String, CaseIterable, Codable, Sendable {
    /// From enqueue to the last claim (the database computes it, not a worker).
    case queue
    /// The source unpacked, the config written, a hot build's running slug fetched.
    case fetch
    /// The buildpacks chosen, or a Dockerfile checked.
    case detect
    /// Dependencies restored into CACHE_DIR.
    case restore
    /// Buildpacks compiled, or an image built and pushed.
    case compile
    /// Dependencies saved from the build.
    case save
    /// The slug packed.
    case pack
    /// The manifest signed (and an image's signature pushed).
    case sign
    /// The slug, manifest and signature published to the farm's store.
    case upload
    /// A slug exported as an image (apps with export-image on).
    case image
    /// The build's result and its release recorded, in one transaction. Not
    /// in `builds.timings`: that transaction is what writes them.
    case release
    /// From the end of the build to the release service's 2xx (the hand-off sender adds it).
    case handoff
}
