import Foundation
import KilnDatabase
import KilnQueue
import Logging

/// How a worker waits out a database that is briefly away: the reads a
/// build needs before it starts, and the build's outcome once it ends,
/// each retried with back-off and each write bounded in time.
struct OutageRetry: Sendable {
    let database: Database
    /// The builds' lease: a read waits up to one, an outcome up to ten.
    let lease: Duration

    /// Runs a read the build needs before it starts, retrying with back-off
    /// for up to one lease while the database is away (the build was claimed
    /// a moment ago, so it is back soon or the lease runs out and the build
    /// is rescued). A ``BuildFailure`` is not retried.
    func waitingOutOutage<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        var delay = Duration.milliseconds(250)
        let deadline = ContinuousClock.now + lease
        while true {
            do {
                return try await database.bounded(.seconds(15)) { try await body() }
            } catch {
                guard ContinuousClock.now < deadline, !(error is BuildFailure) else { throw error }
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }

    /// Records a build's outcome, retrying with back-off while the database
    /// is unreachable: a finished build's result is not thrown away because
    /// PostgreSQL restarted. Completion is fenced, so a retry of a write that
    /// did land is refused harmlessly. Never throws: what could not be
    /// recorded is logged, and the build is rescued when its lease expires.
    func record(_ what: String, of build: Build, logger: Logger, _ write: @escaping @Sendable () async throws -> Void) async {
        var delay = Duration.milliseconds(250)
        let deadline = ContinuousClock.now + lease * 10
        while true {
            do {
                try await database.bounded(.seconds(30)) { try await write() }
                logger.info("build outcome recorded", metadata: ["outcome": "\(what)"])
                return
            } catch let error as QueueError where error.code == .fenced {
                logger.warning("build outcome not recorded: the build is no longer this worker's", metadata: ["outcome": "\(what)", "reason": "\(error.message)"])
                return
            } catch {
                guard ContinuousClock.now < deadline else {
                    logger.error("giving up recording the build's outcome; the build will be rescued and retried", metadata: ["outcome": "\(what)", "error": "\(String(reflecting: error))"])
                    return
                }
                logger.warning("cannot record the build's outcome; retrying", metadata: ["outcome": "\(what)", "error": "\(String(reflecting: error))"])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }
}
