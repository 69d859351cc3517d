import KilnBuildLog

/// Where a build's phases write its log. The worker backs it with the
/// build's ``BuildLogWriter`` (lines in PostgreSQL, one budget for the whole
/// build); a phase never needs more than these three, so it runs the same
/// against a log held in memory.
protocol BuildLogSink: Sendable {
    /// Appends one line; never fails the build.
    func append(_ text: String) async
    /// Whether the log passed ``maximumBytes`` (later lines are dropped).
    var overBudget: Bool { get async }
    /// Most bytes the build's log keeps, across all its phases and buildpacks.
    var maximumBytes: Int { get }
}

extension BuildLogWriter: BuildLogSink {}
