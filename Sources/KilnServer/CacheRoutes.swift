import Foundation
import Hummingbird
import KilnCache
import KilnCatalog

/// The dependency cache: `DELETE /api/apps/:app/cache` purges an app's
/// (the app's key or an administrator), `GET /api/cache` shows how builds
/// use it and what the tiers hold (administrators).
struct CacheRoutes: Sendable {
    let catalog: Catalog
    let authorizer: Authorizer
    /// The shared tier first, then this host's local tier.
    let tiers: [URL]

    struct Purged: Encodable {
        var app: String
        var epoch: Int
    }

    struct Stats: Encodable {
        var totals: CacheUse
        var apps: [CacheUse]
        var shared: CacheStore.Usage
        var local: CacheStore.Usage
    }

    func register(on router: Router<BasicRequestContext>) {
        router.delete("api/apps/:app/cache") { request, context in
            let app = try context.parameters.require("app")
            _ = try await authorizer.requireApp(request, app: app)
            return try await ConfigRoutes.mapping {
                // The new epoch reaches every worker through the keys; the
                // entries here go at once, objects when no other app uses them.
                let epoch = try await catalog.purgeCache(app: app)
                for tier in tiers { try? CacheStore(root: tier).purge(app: app) }
                return try JSONResponse.make(Purged(app: app, epoch: epoch))
            }
        }
        router.get("api/cache") { request, _ in
            try await authorizer.requireAdmin(request)
            let apps = try await catalog.cacheUse()
            var totals = CacheUse(app: "*")
            for use in apps {
                totals.hits += use.hits
                totals.misses += use.misses
                totals.faults += use.faults
                totals.filesRestored += use.filesRestored
                totals.bytesRestored += use.bytesRestored
                totals.bytesSaved += use.bytesSaved
            }
            let tiers = self.tiers
            let usage = try await Task.detached { try tiers.map { try CacheStore(root: $0).usage() } }.value
            return try JSONResponse.make(Stats(totals: totals, apps: apps, shared: usage[0], local: usage[1]))
        }
    }
}
