import Foundation
import KilnQueue

/// Measures the phases of one build attempt, for its log, its record
/// (`builds.timings`) and the operator. Shared by the phases and read by the
/// worker afterwards, whether the build succeeded or not.
final class PhaseTimer: @unchecked Sendable {
    // Safe: `recorded` is only read and written under `lock`.
    private let lock = NSLock()
    private var recorded: [(phase: BuildPhase, duration: Duration)] = []
    private let clock = ContinuousClock()

    /// Runs one phase and records how long it took, even when it fails. A
    /// phase measured twice (the fetch a pipeline adds to the shared one)
    /// keeps one entry, its times added up.
    func measure<T: Sendable>(_ phase: BuildPhase, _ body: () async throws -> T) async rethrows -> T {
        let start = clock.now
        defer { record(phase, clock.now - start) }
        return try await body()
    }

    private func record(_ phase: BuildPhase, _ duration: Duration) {
        lock.withLock {
            if let index = recorded.firstIndex(where: { $0.phase == phase }) {
                recorded[index].duration += duration
            } else {
                recorded.append((phase, duration))
            }
        }
    }

    /// The phases in the order they first ran.
    var phases: [(phase: BuildPhase, duration: Duration)] { lock.withLock { recorded } }

    /// Milliseconds per phase, as the build's record keeps them (keyed by ``BuildPhase``'s raw values).
    var milliseconds: [String: Int64] {
        Dictionary(phases.map { ($0.phase.rawValue, Self.milliseconds($0.duration)) }, uniquingKeysWith: +)
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }
}
