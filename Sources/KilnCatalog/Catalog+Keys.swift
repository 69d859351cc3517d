import Foundation
import KilnDatabase
import PostgresNIO

/// API keys over their life: listed (never their secret), revoked, and the
/// administrator's token rotated. A revoked key keeps its row and hash, with
/// `revoked_at` set: ``grant(for:)`` refuses it from the next request on, and
/// ``registerAdminKey(_:)`` refuses to bring it back.
extension Catalog {
    /// The working API keys of `app`, or the administrator keys when `app` is `nil`, oldest first.
    public func apiKeys(app: String?) async throws -> [APIKeyRecord] {
        let rows: PostgresRowSequence
        if let app {
            guard try await self.app(named: app) != nil else { throw try await absentApp(app) }
            rows = try await database.client.query("""
                SELECT \(unescaped: Self.apiKeyColumns) FROM api_keys WHERE app = \(app) AND revoked_at IS NULL ORDER BY id
                """, logger: logger)
        } else {
            rows = try await database.client.query("""
                SELECT \(unescaped: Self.apiKeyColumns) FROM api_keys WHERE app IS NULL AND revoked_at IS NULL ORDER BY id
                """, logger: logger)
        }
        var keys: [APIKeyRecord] = []
        for try await row in rows { keys.append(try Self.apiKey(row)) }
        return keys
    }

    /// Who presents `key`, as a release's description names them: `admin`
    /// for an administrator key, `key-N` for an app's key; `nil` for a key
    /// that does not work (unknown, revoked, or of a deleted app).
    public func actor(for key: String) async throws -> String? {
        let rows = try await database.client.query("""
            SELECT k.id, k.app FROM api_keys k LEFT JOIN apps a ON a.name = k.app
            WHERE k.key_sha256 = \(Self.hash(key)) AND k.revoked_at IS NULL AND (k.app IS NULL OR a.deleted_at IS NULL)
            """, logger: logger)
        for try await (id, app) in rows.decode((Int64, String?).self) {
            return app == nil ? "admin" : KeyID.api(id).description
        }
        return nil
    }

    /// The API key `key-N`, revoked or not, or `nil`.
    public func apiKey(id: Int64) async throws -> APIKeyRecord? {
        let rows = try await database.client.query("SELECT \(unescaped: Self.apiKeyColumns) FROM api_keys WHERE id = \(id)", logger: logger)
        for try await row in rows { return try Self.apiKey(row) }
        return nil
    }

    /// Revokes the API key `key-N`: from its next request on it is refused
    /// (401). Throws `.notFound` for no such key, `.conflict` for a key
    /// already revoked and for the last working administrator key, without
    /// which nobody could administer the farm again.
    @discardableResult
    public func revokeAPIKey(id: Int64) async throws -> APIKeyRecord {
        try await database.transaction { connection in
            let rows = try await connection.query("SELECT \(unescaped: Self.apiKeyColumns) FROM api_keys WHERE id = \(id) FOR UPDATE", logger: logger)
            var found: APIKeyRecord?
            for try await row in rows { found = try Self.apiKey(row) }
            guard let key = found else { throw CatalogError(.notFound, "there is no API key key-\(id): see `kiln keys list --app APP` or `kiln keys list --admin`") }
            if let revokedAt = key.revokedAt {
                throw CatalogError(.conflict, "the API key key-\(id) was already revoked on \(revokedAt.formatted(.iso8601))")
            }
            if key.app == nil {
                // Every working administrator key locked: two revocations at once cannot each leave the other as the last.
                let admins = try await connection.query("""
                    SELECT id FROM api_keys WHERE app IS NULL AND revoked_at IS NULL ORDER BY id FOR UPDATE
                    """, logger: logger).collect().count
                guard admins > 1 else {
                    throw CatalogError(.conflict, "key-\(id) is the last administrator key: revoking it would leave no way to administer the farm; replace it with `kiln admin rotate-token` instead")
                }
            }
            // What a leaked key did goes with it: the SSH keys it added can push no more.
            try await connection.query("DELETE FROM ssh_keys WHERE added_by = \(id)", logger: logger)
            let revoked = try await connection.query("""
                UPDATE api_keys SET revoked_at = now() WHERE id = \(id) RETURNING \(unescaped: Self.apiKeyColumns)
                """, logger: logger)
            for try await row in revoked { return try Self.apiKey(row) }
            throw CatalogError(.notFound, "the API key key-\(id) disappeared while it was revoked")
        }
    }

    /// Replaces the administrator key `presented` with a new one, in one
    /// transaction: the new key works and the presented one is revoked from
    /// the next request on. Returns the new key (shown once) and the revoked
    /// one's record. Throws `.invalid` when `presented` is not a working administrator key.
    public func rotateAdminKey(presented: String) async throws -> (key: String, revoked: APIKeyRecord) {
        let key = Self.newAdminKey()
        let revoked = try await database.transaction { connection -> APIKeyRecord in
            let rows = try await connection.query("""
                UPDATE api_keys SET revoked_at = now()
                WHERE key_sha256 = \(Self.hash(presented)) AND app IS NULL AND revoked_at IS NULL
                RETURNING \(unescaped: Self.apiKeyColumns)
                """, logger: logger)
            var found: APIKeyRecord?
            for try await row in rows { found = try Self.apiKey(row) }
            guard let found else {
                throw CatalogError(.invalid, "only a working administrator key can be rotated: present it as KILN_TOKEN (kiln.env)")
            }
            try await connection.query("INSERT INTO api_keys (app, key_sha256) VALUES (NULL, \(Self.hash(key)))", logger: logger)
            return found
        }
        return (key, revoked)
    }

    /// A new administrator key, in the form `kiln up` writes to kiln.env.
    public static func newAdminKey() -> String {
        var generator = SystemRandomNumberGenerator()
        return "kiln_admin_" + (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    static let apiKeyColumns = "id, app, created_at, revoked_at"

    static func apiKey(_ row: PostgresRow) throws -> APIKeyRecord {
        let r = row.makeRandomAccess()
        return APIKeyRecord(id: "key-\(try r["id"].decode(Int64.self))", app: try r["app"].decode(String?.self),
                            createdAt: try r["created_at"].decode(Date.self), revokedAt: try r["revoked_at"].decode(Date?.self))
    }
}
