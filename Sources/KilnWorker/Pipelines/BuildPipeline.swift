/// One kind of build's phases, from a fetched app to a signed product: what
/// runs between the fetch every build shares and the ``RecordRelease`` phase every build
/// ends with. ``BuildKind`` chooses the pipeline, once, in ``BuildLifecycle``.
///
/// A pipeline is a short function that calls its phases in order, each
/// timed as its ``KilnQueue/BuildPhase`` and each handing its typed result
/// to the next; none looks on disk for what another left.
protocol BuildPipeline: Sendable {
    /// Runs the pipeline's phases; throws a ``BuildFailure`` (or a part's own
    /// error) that becomes the build's error.
    func run(_ context: BuildContext) async throws -> Built
}
