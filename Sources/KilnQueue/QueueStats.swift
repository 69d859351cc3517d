import Foundation

/// The queue at a glance, for `kiln queue` and for metrics.
public struct QueueStats: Codable, Sendable {
    /// Builds per state (every state listed, zero included).
    public var counts: [String: Int]
    /// Seconds the oldest queued build has waited, or nil when none waits.
    public var oldestQueuedSeconds: Double?
    /// Running builds per worker.
    public var runningPerWorker: [String: Int]
    /// Builds queued or running (``BuildQueue/demandQuery``): what an autoscaler sizes the workers by.
    public var demand: Int?

    enum CodingKeys: String, CodingKey {
        case counts
        case oldestQueuedSeconds = "oldest_queued_seconds"
        case runningPerWorker = "running_per_worker"
        case demand
    }
}
