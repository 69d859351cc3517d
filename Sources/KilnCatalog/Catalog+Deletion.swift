import Foundation
import KilnDatabase
import KilnQueue
import PostgresNIO

/// Deleting an app. A deleted app stays as a tombstone (`apps.deleted_at`):
/// hidden from every lookup (``app(named:)``, ``apps()``, ``grant(for:)``,
/// ``sshKeyApps(fingerprint:)``), its keys, SSH keys, config versions, cache
/// use and webhook gone, its builds cancelled, while its releases and
/// builds, which reference it, stay readable for the release service. A
/// purge deletes the row, and with it (ON DELETE CASCADE) its builds, logs,
/// releases and hand-offs; the name is then free again.
extension Catalog {
    /// When the app `name` was deleted; `nil` for an app that is not deleted or does not exist.
    public func deletedAt(app name: String) async throws -> Date? {
        let rows = try await database.client.query("SELECT deleted_at FROM apps WHERE name = \(name)", logger: logger)
        for try await deletedAt in rows.decode(Date?.self) { return deletedAt }
        return nil
    }

    /// The not-found error for `name`, which names no app that may be used:
    /// it says whether the app was deleted (and what is kept of it) or never existed.
    public func absentApp(_ name: String) async throws -> CatalogError {
        guard App.isValidName(name), let deletedAt = try await deletedAt(app: name) else {
            return CatalogError(.notFound, "there is no app \(name): create it with `kiln apps create \(name)`")
        }
        return CatalogError(.notFound, "the app \(name) was deleted on \(deletedAt.formatted(.iso8601)); its releases are kept (`kiln releases --app \(name)`): create an app of another name, or purge this one with `kiln apps delete \(name) --confirm \(name) --purge` to use the name again")
    }

    /// Deletes the app `name`: its API keys, SSH keys, config versions, cache
    /// use, cache settings and webhook (with its undelivered hand-offs) go at
    /// once, in one transaction that leaves a tombstone; then its queued and
    /// running builds are cancelled. With `purge` the row goes too, with its
    /// builds, logs and releases; a tombstone may be purged later.
    ///
    /// The repository and the cache's files are the caller's (the server's).
    /// Throws `.notFound` for no such app, `.conflict` for an app already
    /// deleted when not purging.
    public func deleteApp(_ name: String, purge: Bool = false) async throws -> AppDeletion {
        var deletion = AppDeletion(app: name, purged: false, cancelledBuilds: [], releasesKept: 0, keysRemoved: 0)
        let (alreadyDeleted, keysRemoved) = try await database.transaction { connection -> (Bool, Int) in
            // The app row's lock: a release being recorded (``recordRelease``) either commits first or sees the tombstone.
            let rows = try await connection.query("SELECT deleted_at FROM apps WHERE name = \(name) FOR UPDATE", logger: logger)
            var found: Date??
            for try await deletedAt in rows.decode(Date?.self) { found = .some(deletedAt) }
            guard let state = found else { throw CatalogError(.notFound, "there is no app \(name): see `kiln apps list`") }
            if let deletedAt = state {
                guard purge else {
                    throw CatalogError(.conflict, "the app \(name) was already deleted on \(deletedAt.formatted(.iso8601)); its releases are kept: add --purge to delete them too")
                }
                return (true, 0)
            }
            try await connection.query("""
                UPDATE apps SET deleted_at = now(), release_webhook = NULL, release_webhook_secret = NULL,
                    cache_key_files = '{}', cache_epoch = cache_epoch + 1
                WHERE name = \(name)
                """, logger: logger)
            // Rows, not revocations: the keys are random secrets no kiln.env holds, and a tombstone needs none.
            let apiKeys = try await connection.query("DELETE FROM api_keys WHERE app = \(name) RETURNING id", logger: logger).collect().count
            let sshKeys = try await connection.query("DELETE FROM ssh_keys WHERE app = \(name) RETURNING id", logger: logger).collect().count
            try await connection.query("DELETE FROM config_versions WHERE app = \(name)", logger: logger)
            try await connection.query("DELETE FROM cache_use WHERE app = \(name)", logger: logger)
            // The release service is told of nothing more: a deleted app's pending release must not be deployed.
            try await connection.query("DELETE FROM release_handoffs WHERE app = \(name) AND delivered_at IS NULL", logger: logger)
            return (false, apiKeys + sshKeys)
        }
        deletion.keysRemoved = keysRemoved
        if !alreadyDeleted {
            // After the tombstone's commit: a build queued after this is cancelled by ``queueBuild(app:_:)``'s second look.
            deletion.cancelledBuilds = try await BuildQueue(database: database).cancelBuilds(app: name)
        }
        if purge {
            try await database.client.query("DELETE FROM apps WHERE name = \(name)", logger: logger)
            deletion.purged = true
        } else {
            deletion.releasesKept = try await database.client.query("SELECT 1 FROM releases WHERE app = \(name)", logger: logger).collect().count
        }
        logger.info("app deleted", metadata: ["app": "\(name)", "purged": "\(purge)", "cancelled": "\(deletion.cancelledBuilds.joined(separator: ","))"])
        return deletion
    }

    /// Runs `enqueue` (a build of `app`) if the app exists and is not
    /// deleted, and looks again afterwards: an app deleted while its source
    /// was being exported may have had its builds cancelled before this one
    /// existed, so this one is cancelled here. Throws the not-found error of
    /// ``absentApp(_:)`` in either case.
    public func queueBuild(app: String, _ enqueue: () async throws -> Build) async throws -> Build {
        guard try await self.app(named: app) != nil else { throw try await absentApp(app) }
        let build = try await enqueue()
        if try await self.app(named: app) == nil {
            _ = try? await BuildQueue(database: database).cancel(id: build.id)
            throw try await absentApp(app)
        }
        return build
    }
}
