import Foundation
import KilnDatabase
import PostgresNIO

extension Catalog {
    /// Starts the app's dependency cache over: bumps its cache epoch, which
    /// every cache key of the app holds, so every worker's next build of it
    /// is cold. Stored objects stay for other apps; collection removes the rest.
    @discardableResult
    public func purgeCache(app: String) async throws -> Int {
        let rows = try await database.client.query("UPDATE apps SET cache_epoch = cache_epoch + 1 WHERE name = \(app) AND deleted_at IS NULL RETURNING cache_epoch", logger: logger)
        for try await epoch in rows.decode(Int.self) { return epoch }
        throw try await absentApp(app)
    }

    /// Adds one build's use of the cache to the app's totals.
    public func recordCacheUse(_ use: CacheUse) async throws {
        try await database.client.query("""
            INSERT INTO cache_use (app, hits, misses, faults, files_restored, bytes_restored, bytes_saved)
            VALUES (\(use.app), \(use.hits), \(use.misses), \(use.faults), \(use.filesRestored), \(use.bytesRestored), \(use.bytesSaved))
            ON CONFLICT (app) DO UPDATE SET hits = cache_use.hits + excluded.hits, misses = cache_use.misses + excluded.misses,
                faults = cache_use.faults + excluded.faults, files_restored = cache_use.files_restored + excluded.files_restored,
                bytes_restored = cache_use.bytes_restored + excluded.bytes_restored, bytes_saved = cache_use.bytes_saved + excluded.bytes_saved,
                updated_at = now()
            """, logger: logger)
    }

    /// Every app's use of the cache, by app.
    public func cacheUse() async throws -> [CacheUse] {
        let rows = try await database.client.query("""
            SELECT app, hits, misses, faults, files_restored, bytes_restored, bytes_saved FROM cache_use ORDER BY app
            """, logger: logger)
        var uses: [CacheUse] = []
        for try await row in rows {
            let r = row.makeRandomAccess()
            uses.append(CacheUse(app: try r["app"].decode(String.self), hits: try r["hits"].decode(Int64.self), misses: try r["misses"].decode(Int64.self),
                                 faults: try r["faults"].decode(Int64.self), filesRestored: try r["files_restored"].decode(Int64.self),
                                 bytesRestored: try r["bytes_restored"].decode(Int64.self), bytesSaved: try r["bytes_saved"].decode(Int64.self)))
        }
        return uses
    }
}
