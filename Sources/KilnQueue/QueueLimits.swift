/// Caps on queued builds, so that a burst of pushes is refused with a clear
/// message instead of flooding the queue.
public struct QueueLimits: Sendable {
    /// Queued builds in the whole farm.
    public var total: Int
    /// Queued builds of one app.
    public var perApp: Int

    public init(total: Int = 1000, perApp: Int = 25) {
        self.total = total
        self.perApp = perApp
    }
}
