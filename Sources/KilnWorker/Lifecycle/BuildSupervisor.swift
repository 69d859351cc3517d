import Foundation
import KilnDatabase
import KilnQueue

/// Watches one running build: renews its lease, looks for a cancellation
/// every second, and holds it to the build timeout.
struct BuildSupervisor: Sendable {
    let configuration: WorkerConfiguration
    let database: Database
    let queue: BuildQueue

    /// Runs `body` while renewing the build's lease; stops it when the build
    /// is cancelled, when the lease is lost, or when it runs out of time
    /// (a ``BuildSupervisionError``). Never throws: `body`'s error is the failure.
    func supervise<T: Sendable>(_ build: Build, _ body: @escaping @Sendable () async throws -> T) async -> Result<T, any Error> {
        await withTaskGroup(of: Result<T, any Error>?.self) { group in
            group.addTask {
                do { return .success(try await body()) } catch { return .failure(error) }
            }
            group.addTask {
                let clock = ContinuousClock()
                var lastRenewal = clock.now
                while !Task.isCancelled {
                    try? await Task.sleep(for: configuration.cancelCheck)
                    if Task.isCancelled { return nil }
                    // Bounded: a query that hangs must not stall cancel checks and renewals.
                    if (try? await database.bounded(.seconds(5)) { [queue] in try await queue.isCancelRequested(build) }) == true {
                        return .failure(BuildSupervisionError.cancelled)
                    }
                    guard clock.now - lastRenewal >= configuration.heartbeat else { continue }
                    // A failed renewal (database briefly away) is retried at the next tick.
                    if let held = try? await database.bounded(.seconds(5), { [queue, configuration] in
                        try await queue.renew(build, worker: configuration.name, lease: configuration.lease)
                    }) {
                        if !held { return .failure(BuildSupervisionError.leaseLost) }
                        lastRenewal = clock.now
                    }
                }
                return nil
            }
            group.addTask {
                try? await Task.sleep(for: configuration.buildTimeout)
                return Task.isCancelled ? nil : .failure(BuildSupervisionError.timedOut(configuration.buildTimeout))
            }
            var outcome: Result<T, any Error> = .failure(BuildSupervisionError.cancelled)
            while let next = await group.next() {
                if let next {
                    outcome = next
                    break
                }
            }
            group.cancelAll()
            return outcome
        }
    }
}
