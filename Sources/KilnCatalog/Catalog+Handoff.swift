import Foundation
import KilnDatabase
import KilnQueue
import PostgresNIO

extension Catalog {
    /// Sets where the app's releases are handed off, and the secret their
    /// signatures are made with (sealed at rest); an empty URL stops hand-offs.
    public func setReleaseWebhook(app: String, url: String, secret: String?, vault: ConfigVault) async throws -> App {
        if url.isEmpty {
            try await database.client.query("UPDATE apps SET release_webhook = NULL, release_webhook_secret = NULL WHERE name = \(app) AND deleted_at IS NULL", logger: logger)
        } else {
            guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""), parsed.host != nil else {
                throw CatalogError(.invalid, "'\(url)' is not an http(s) URL for the release webhook")
            }
            let sealed = try secret.map { secret -> ByteBuffer in
                guard secret.utf8.count >= 16 else { throw CatalogError(.invalid, "the release webhook secret must have at least 16 characters") }
                return ByteBuffer(data: try vault.seal(["secret": secret], app: app))
            }
            let rows = try await database.client.query("""
                UPDATE apps SET release_webhook = \(url), release_webhook_secret = coalesce(\(sealed), release_webhook_secret)
                WHERE name = \(app) AND deleted_at IS NULL RETURNING release_webhook_secret IS NOT NULL
                """, logger: logger)
            var hasSecret: Bool?
            for try await value in rows.decode(Bool.self) { hasSecret = value }
            guard let hasSecret else { throw try await absentApp(app) }
            if !hasSecret {
                try await database.client.query("UPDATE apps SET release_webhook = NULL WHERE name = \(app)", logger: logger)
                throw CatalogError(.invalid, "give --release-webhook-secret too: every hand-off is signed with it")
            }
        }
        guard let updated = try await self.app(named: app) else { throw CatalogError(.notFound, "there is no app named \(app)") }
        return updated
    }
}

/// A release hand-off that is due: the outbox row, its app's webhook, and
/// the release with what it ships, held (`FOR UPDATE SKIP LOCKED`) by the
/// transaction that delivers it.
public struct DueHandoff: Sendable {
    public var idempotencyKey: String
    /// Deliveries tried before this one.
    public var attempts: Int
    public var webhook: String
    /// The webhook's secret, sealed with the config key (``ConfigVault``).
    public var sealedSecret: Data
    public var release: Release
    /// The release's slug or image and its signed manifest: a build's, or an image's released by reference.
    public var artifact: ReleaseArtifact
}

/// What became of one delivery of a ``DueHandoff``.
public enum HandoffAttempt: Sendable, Equatable {
    /// The release service answered 2xx.
    case delivered(status: Int)
    /// No answer, or another status; tried again after `retryIn` seconds.
    case failed(status: Int?, error: String, retryIn: Int)
}

extension Catalog {
    /// Takes the oldest due hand-off, lets `deliver` send it, and records
    /// what came of it, all in one transaction: several servers never send
    /// one hand-off at once, and a crash before the commit sends it again
    /// (its idempotency key lets the receiver notice). Returns the attempt,
    /// or `nil` when none was due.
    public func deliverNextHandoff(_ deliver: @Sendable (DueHandoff) async -> HandoffAttempt) async throws -> (DueHandoff, HandoffAttempt)? {
        try await database.transaction { connection in
            let rows = try await connection.query("""
                SELECT h.idempotency_key, h.attempts, a.release_webhook, a.release_webhook_secret, \(unescaped: ReleaseRow.columns)
                FROM release_handoffs h JOIN apps a ON a.name = h.app JOIN releases r ON r.app = h.app AND r.version = h.version
                WHERE h.delivered_at IS NULL AND h.next_attempt_at <= now() AND a.release_webhook IS NOT NULL
                ORDER BY h.next_attempt_at LIMIT 1 FOR UPDATE OF h SKIP LOCKED
                """, logger: logger)
            var found: (key: String, attempts: Int, webhook: String, secret: ByteBuffer?, release: ReleaseRow)?
            for try await row in rows {
                let r = row.makeRandomAccess()
                found = (try r["idempotency_key"].decode(String.self), try r["attempts"].decode(Int.self), try r["release_webhook"].decode(String.self),
                         try r["release_webhook_secret"].decode(ByteBuffer?.self), try ReleaseRow(row: row))
            }
            guard let found else { return nil }
            let app = found.release.app, version = found.release.version
            let artifact = try await ReleaseRow.artifacts(of: [found.release], on: connection, logger: logger)[0]
            if let seq = found.release.buildSeq, artifact.build == nil {
                throw CatalogError(.notFound, "release v\(version) of \(app) names build seq \(seq), which the queue no longer holds")
            }
            let due = DueHandoff(idempotencyKey: found.key, attempts: found.attempts, webhook: found.webhook,
                                 sealedSecret: found.secret.map { Data(buffer: $0) } ?? Data(),
                                 release: found.release.release(artifact: artifact, handoff: "pending"), artifact: artifact)
            let attempt = await deliver(due)
            switch attempt {
            case .delivered(let status):
                try await connection.query("""
                    UPDATE release_handoffs SET delivered_at = now(), attempts = attempts + 1, last_status = \(status), last_error = NULL
                    WHERE app = \(app) AND version = \(version)
                    """, logger: logger)
                // Only a deploy's release (keyed by its build) times its build's hand-off: not a rollback's, nor a config change's.
                if let seq = found.release.buildSeq, found.key == artifact.build {
                    try await BuildQueue.recordHandoffTime(buildSeq: seq, releasedAt: found.release.createdAt, on: connection, logger: logger)
                }
            case .failed(let status, let error, let delay):
                try await connection.query("""
                    UPDATE release_handoffs SET attempts = attempts + 1, last_status = \(status), last_error = \(error.storableText),
                        next_attempt_at = now() + make_interval(secs => \(delay))
                    WHERE app = \(app) AND version = \(version)
                    """, logger: logger)
            }
            return (due, attempt)
        }
    }

    /// The secret of `app`'s release webhook, unsealed, or `nil` when the app
    /// has none (or does not exist): what a release service signs its deploy
    /// status reports with.
    public func releaseWebhookSecret(app: String, vault: ConfigVault) async throws -> String? {
        let rows = try await database.client.query("""
            SELECT release_webhook_secret FROM apps WHERE name = \(app) AND deleted_at IS NULL
            """, logger: logger)
        for try await sealed in rows.decode(ByteBuffer?.self) {
            guard let sealed else { return nil }
            return try vault.unseal(Data(buffer: sealed), app: app)["secret"]
        }
        return nil
    }
}
