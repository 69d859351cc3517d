/// Measures the phases of one build, for the build log and the operator.
struct PhaseTimer: Sendable {
    private(set) var phases: [(name: String, duration: Duration)] = []
    private let clock = ContinuousClock()

    /// Runs one phase and records how long it took.
    mutating func measure<T: Sendable>(_ name: String, _ body: () async throws -> T) async rethrows -> T {
        let start = clock.now
        let result = try await body()
        phases.append((name, clock.now - start))
        return result
    }

    /// `fetch 12ms, detect 3ms, …`
    var summary: String {
        phases.map { "\($0.name) \(Self.milliseconds($0.duration))ms" }.joined(separator: ", ")
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }
}
