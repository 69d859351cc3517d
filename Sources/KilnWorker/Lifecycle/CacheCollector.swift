import Foundation
import KilnCache
import KilnProcess
import Logging

/// Keeps each tier of the dependency cache within its budget, now and
/// then, while the worker runs builds.
struct CacheCollector: Sendable {
    /// One tier and its budget in bytes (`nil`: not collected by this worker).
    struct Tier: Sendable {
        let name: String
        let store: CacheStore
        let budget: Int64?
    }

    let tiers: [Tier]
    let interval: Duration
    let logger: Logger

    /// Collects every tier with a budget, then sleeps, until cancelled;
    /// returns at once when no tier has one. A failed collection is logged
    /// and tried again next time.
    func run() async {
        guard tiers.contains(where: { $0.budget != nil }) else { return }
        while !Task.isCancelled {
            for tier in tiers {
                guard let budget = tier.budget else { continue }
                do {
                    let collected = try await onThread { [store = tier.store] in try store.collect(budget: budget) }
                    if collected.evictedEntries > 0 || collected.freedBytes > 0 {
                        logger.info("cache collected", metadata: ["tier": "\(tier.name)", "evicted": "\(collected.evictedEntries)", "freed_bytes": "\(collected.freedBytes)"])
                    }
                } catch {
                    logger.warning("cannot collect the cache", metadata: ["tier": "\(tier.name)", "error": "\(String(reflecting: error))"])
                }
            }
            try? await Task.sleep(for: interval)
        }
    }
}
