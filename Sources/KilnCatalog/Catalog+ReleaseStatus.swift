import Foundation
import KilnDatabase
import Logging
import PostgresNIO

extension Catalog {
    /// The most characters of a status report's reason that are kept.
    public static let statusReasonLimit = 1000

    /// Records what the release service reports of release `version`'s
    /// deploy (its status, the reason, now), and answers the release as it
    /// is then.
    ///
    /// A `failed` report of the app's newest release makes, in the same
    /// transaction (the app row locked as ``recordRelease(app:artifact:configVersion:description:upgrade:upgradeBase:idempotencyKey:rollbackOf:on:logger:)``
    /// locks it), a rollback to the newest older release whose deploy
    /// succeeded, with that release's slug or image and config, described
    /// "Rollback to vK: vN failed (reason)" and handed off like any release.
    /// None is made when `version` is no longer the newest (a later release
    /// or an earlier rollback replaced it; a repeated report is one of
    /// these), when `version` is itself an automatic rollback (no rollback
    /// loop), or when no older release ever succeeded.
    ///
    /// `signature` (the SHA-256 of a signed report's `X-Kiln-Signature`) is
    /// taken once: the same signed report sent again is refused.
    ///
    /// Throws `.notFound` for no such app (or a deleted one) or release, `.conflict` for a signature taken before.
    public func recordStatus(app: String, version: Int, status: Release.Status, reason: String?, signature: String? = nil) async throws -> (release: Release, rollback: Release?) {
        let reason = reason.map { String($0.trimmingCharacters(in: .whitespacesAndNewlines).prefix(Self.statusReasonLimit)).storableText }
            .flatMap { $0.isEmpty ? nil : $0 }
        return try await database.transaction { connection in
            let locked = try await connection.query("SELECT deleted_at FROM apps WHERE name = \(app) FOR UPDATE", logger: logger)
            var found: Date??
            for try await deletedAt in locked.decode(Date?.self) { found = .some(deletedAt) }
            guard case .some(.none) = found else { throw CatalogError(.notFound, "there is no app \(app): see `kiln apps list`") }
            if let signature {
                // Kept twice the signature's 300 s window: an older one is refused by its timestamp anyway.
                try await connection.query("DELETE FROM status_report_signatures WHERE taken_at < now() - interval '10 minutes'", logger: logger)
                let taken = try await connection.query("""
                    INSERT INTO status_report_signatures (signature_sha256, app) VALUES (\(signature), \(app))
                    ON CONFLICT (signature_sha256) DO NOTHING RETURNING 1
                    """, logger: logger)
                var fresh = false
                for try await _ in taken { fresh = true }
                guard fresh else {
                    throw CatalogError(.conflict, "this signed status report was taken before (the same X-Kiln-Signature): nothing was recorded; sign each report afresh, with the time it is sent")
                }
            }
            guard let reported = try await Self.releaseRow(app: app, version: version, on: connection, logger: logger) else {
                throw CatalogError(.notFound, "\(app) has no release v\(version): see `kiln releases --app \(app)`")
            }
            try await connection.query("""
                UPDATE releases SET status = \(status.rawValue), status_reason = \(reason), status_at = now()
                WHERE app = \(app) AND version = \(version)
                """, logger: logger)
            var rollback: Release?
            if status == .failed, reported.rollbackOf == nil,
               try await Self.newestRelease(app: app, on: connection, logger: logger)?.version == version,
               let target = try await Self.lastSucceeded(app: app, before: version, on: connection, logger: logger) {
                let created = try await Self.recordRelease(
                    app: app, artifact: target.recordedArtifact, configVersion: target.configVersion,
                    description: "Rollback to v\(target.version): v\(version) failed" + (reason.map { " (\($0))" } ?? ""),
                    rollbackOf: version, on: connection, logger: logger)
                rollback = try await Self.release(app: app, version: created, on: connection, logger: logger)
            }
            return (try await Self.release(app: app, version: version, on: connection, logger: logger), rollback)
        }
    }

    /// The newest release of `app` older than `version` whose deploy succeeded, or `nil`.
    static func lastSucceeded(app: String, before version: Int, on connection: PostgresConnection, logger: Logger) async throws -> ReleaseRow? {
        let rows = try await connection.query("""
            SELECT \(unescaped: ReleaseRow.columns) FROM releases r
            WHERE r.app = \(app) AND r.version < \(version) AND r.status = 'succeeded' ORDER BY r.version DESC LIMIT 1
            """, logger: logger)
        for try await row in rows { return try ReleaseRow(row: row) }
        return nil
    }
}
