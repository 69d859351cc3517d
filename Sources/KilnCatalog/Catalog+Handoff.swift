import Foundation
import KilnDatabase
import PostgresNIO

extension Catalog {
    /// Sets where the app's releases are handed off, and the secret their
    /// signatures are made with (sealed at rest); an empty URL stops hand-offs.
    public func setReleaseWebhook(app: String, url: String, secret: String?, vault: ConfigVault) async throws -> App {
        if url.isEmpty {
            try await database.client.query("UPDATE apps SET release_webhook = NULL, release_webhook_secret = NULL WHERE name = \(app)", logger: logger)
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
                WHERE name = \(app) RETURNING release_webhook_secret IS NOT NULL
                """, logger: logger)
            var hasSecret: Bool?
            for try await value in rows.decode(Bool.self) { hasSecret = value }
            guard let hasSecret else { throw CatalogError(.notFound, "there is no app named \(app)") }
            if !hasSecret {
                try await database.client.query("UPDATE apps SET release_webhook = NULL WHERE name = \(app)", logger: logger)
                throw CatalogError(.invalid, "give --release-webhook-secret too: every hand-off is signed with it")
            }
        }
        guard let updated = try await self.app(named: app) else { throw CatalogError(.notFound, "there is no app named \(app)") }
        return updated
    }
}
