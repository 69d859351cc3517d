import Foundation

/// Measures the phases of one build attempt, for its log, its record
/// (`builds.timings`) and the operator. Shared by the phases and read by the
/// worker afterwards, whether the build succeeded or not.
final class PhaseTimer: @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [(name: String, duration: Duration)] = []
    private let clock = ContinuousClock()

    /// Runs one phase and records how long it took, even when it fails.
    func measure<T: Sendable>(_ name: String, _ body: () async throws -> T) async rethrows -> T {
        let start = clock.now
        defer { record(name, clock.now - start) }
        return try await body()
    }

    private func record(_ name: String, _ duration: Duration) {
        lock.withLock { recorded.append((name, duration)) }
    }

    /// The phases in the order they ran.
    var phases: [(name: String, duration: Duration)] { lock.withLock { recorded } }

    /// Milliseconds per phase, as the build's record keeps them.
    var milliseconds: [String: Int64] {
        Dictionary(phases.map { ($0.name, Self.milliseconds($0.duration)) }, uniquingKeysWith: +)
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }
}
