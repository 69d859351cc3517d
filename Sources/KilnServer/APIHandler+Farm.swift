import Foundation
import KilnAPI
import KilnCache
import KilnCatalog
import KilnProcess
import KilnSigning
import OpenAPIRuntime

/// The dependency cache, the queue, the workers and the farm's public keys.
extension APIHandler {
    func purgeCache(_ input: Operations.PurgeCache.Input) async throws -> Operations.PurgeCache.Output {
        let app = input.path.app
        try await authorizer.requireApp(credentials, app: app)
        // The new epoch reaches every worker through the keys; the
        // entries here go at once, objects when no other app uses them.
        let epoch = try await catalog.purgeCache(app: try appName(app))
        for tier in tiers { try? CacheStore(root: tier).purge(app: app) }
        return .ok(.init(body: .json(.init(app: app, epoch: epoch))))
    }

    func cacheStats(_ input: Operations.CacheStats.Input) async throws -> Operations.CacheStats.Output {
        try await authorizer.requireAdmin(credentials)
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
        // Walking a tier reads many files: off the cooperative pool.
        let usage = try await onThread { try tiers.map { try CacheStore(root: $0).usage() } }
        let stats = Components.Schemas.CacheStats(totals: .init(totals), apps: apps.map(Components.Schemas.CacheUse.init),
                                                  shared: .init(usage[0]), local: .init(usage[1]))
        return .ok(.init(body: .json(stats)))
    }

    func queueStats(_ input: Operations.QueueStats.Input) async throws -> Operations.QueueStats.Output {
        try await authorizer.requireAdmin(credentials)
        return .ok(.init(body: .json(.init(try await queue.stats()))))
    }

    func listWorkers(_ input: Operations.ListWorkers.Input) async throws -> Operations.ListWorkers.Output {
        try await authorizer.requireAdmin(credentials)
        return .ok(.init(body: .json(try await registry.workers().map(Components.Schemas.Worker.init))))
    }

    func farmPublicKey(_ input: Operations.FarmPublicKey.Input) async throws -> Operations.FarmPublicKey.Output {
        .ok(.init(body: .plainText(HTTPBody(key.publicKey.pem))))
    }

    func farmPublicKeys(_ input: Operations.FarmPublicKeys.Input) async throws -> Operations.FarmPublicKeys.Output {
        // Current first; retired keys still verify the slugs they signed; revoked ones never appear.
        let pems = try FarmKeyring.publicKeys(current: key, keyFile: configuration.keyFile).map(\.pem).joined()
        return .ok(.init(body: .plainText(HTTPBody(pems))))
    }

    func listFarmKeys(_ input: Operations.ListFarmKeys.Input) async throws -> Operations.ListFarmKeys.Output {
        // Read on every request: `kiln farm-keys revoke` on this home takes effect at once, without a restart.
        let keyring = try FarmKeyring.load(current: key, keyFile: configuration.keyFile)
        return .ok(.init(body: .json(keyring.keys.map(Components.Schemas.FarmKey.init))))
    }
}
