import Foundation
import KilnBuildLog
import KilnQueue
import Logging
import ServiceLifecycle

/// Prunes old finished builds and old logs once an hour, so the tables do
/// not grow without bound (see ``BuildQueue/prune(endedBefore:)`` and
/// ``BuildLog/prune(quietSince:)``).
public struct RetentionService: Service {
    let queue: BuildQueue
    let log: BuildLog
    let retention: Duration
    let logger: Logger

    public init(queue: BuildQueue, log: BuildLog, retention: Duration, logger: Logger) {
        self.queue = queue
        self.log = log
        self.retention = retention
        self.logger = logger
    }

    public func run() async throws {
        // Graceful shutdown cancels the hour's sleep, so the server stops at once.
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let cutoff = Date().addingTimeInterval(-Double(retention.components.seconds))
                do {
                    let pruned = try await queue.prune(endedBefore: cutoff)
                    let lines = try await log.prune(quietSince: cutoff)
                    if pruned > 0 || lines > 0 { logger.info("old builds pruned", metadata: ["builds": "\(pruned)", "log_lines": "\(lines)"]) }
                } catch {
                    logger.warning("cannot prune old builds", metadata: ["error": "\(String(reflecting: error))"])
                }
                try await Task.sleep(for: .seconds(3600))
            }
        }
    }
}
