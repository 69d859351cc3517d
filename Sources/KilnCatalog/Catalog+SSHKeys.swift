import Foundation
import KilnDatabase
import PostgresNIO

/// An SSH public key added to one app: it may push to and clone that app.
public struct SSHKeyRecord: Sendable, Equatable {
    /// `ssh-N`: what `kiln keys revoke` takes.
    public var id: String
    public var app: String
    public var fingerprint: String
    public var type: String
    public var comment: String
    public var createdAt: Date
}

extension Catalog {
    /// Adds `key` to `app`, on behalf of the API key `addedBy` (the one the
    /// request presented): an app's key whose revocation removes it again (an
    /// administrator's adds keys that stay until revoked themselves). Throws
    /// `.notFound` for an unknown app, `.conflict` when the key is already the app's.
    public func addSSHKey(app: String, key: SSHPublicKey, addedBy: String? = nil) async throws -> SSHKeyRecord {
        guard try await self.app(named: app) != nil else { throw try await absentApp(app) }
        do {
            let rows = try await database.client.query("""
                INSERT INTO ssh_keys (app, fingerprint, key_type, public_key, comment, added_by)
                SELECT name, \(key.fingerprint), \(key.type), \(key.line), \(key.comment),
                       (SELECT id FROM api_keys WHERE key_sha256 = \(addedBy.map(Self.hash)) AND app IS NOT NULL AND revoked_at IS NULL)
                FROM apps WHERE name = \(app) AND deleted_at IS NULL
                RETURNING \(unescaped: Self.sshKeyColumns)
                """, logger: logger)
            for try await row in rows { return try Self.sshKey(row) }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw CatalogError(.conflict, "the SSH key \(key.fingerprint) is already \(app)'s")
        }
        // Deleted between the look and the insert.
        throw try await absentApp(app)
    }

    /// The apps the key with `fingerprint` may push to, by name; empty for a key no app has.
    public func sshKeyApps(fingerprint: String) async throws -> [String] {
        // A deleted app's keys are removed with it; the join also covers a key added while it was being deleted.
        let rows = try await database.client.query("""
            SELECT k.app FROM ssh_keys k JOIN apps a ON a.name = k.app
            WHERE k.fingerprint = \(fingerprint) AND a.deleted_at IS NULL ORDER BY k.app
            """, logger: logger)
        var apps: [String] = []
        for try await app in rows.decode(String.self) { apps.append(app) }
        return apps
    }

    /// The SSH keys of `app`, oldest first.
    public func sshKeys(app: String) async throws -> [SSHKeyRecord] {
        let rows = try await database.client.query("SELECT \(unescaped: Self.sshKeyColumns) FROM ssh_keys WHERE app = \(app) ORDER BY id", logger: logger)
        var keys: [SSHKeyRecord] = []
        for try await row in rows { keys.append(try Self.sshKey(row)) }
        return keys
    }

    /// The SSH key `ssh-N`, or `nil`.
    public func sshKey(id: Int64) async throws -> SSHKeyRecord? {
        let rows = try await database.client.query("SELECT \(unescaped: Self.sshKeyColumns) FROM ssh_keys WHERE id = \(id)", logger: logger)
        for try await row in rows { return try Self.sshKey(row) }
        return nil
    }

    /// Removes the SSH key `ssh-N` from its app and returns it: the app's next
    /// SSH connection with it is refused (``sshKeyApps(fingerprint:)`` is asked
    /// per connection). Throws `.notFound` when there is no such key.
    @discardableResult
    public func revokeSSHKey(id: Int64) async throws -> SSHKeyRecord {
        let rows = try await database.client.query("DELETE FROM ssh_keys WHERE id = \(id) RETURNING \(unescaped: Self.sshKeyColumns)", logger: logger)
        for try await row in rows { return try Self.sshKey(row) }
        throw CatalogError(.notFound, "there is no SSH key ssh-\(id): see `kiln keys list --app APP`")
    }

    /// Removes the key with `fingerprint` from `app` (the same key may stay on other apps) and returns it.
    @discardableResult
    public func revokeSSHKey(app: String, fingerprint: String) async throws -> SSHKeyRecord {
        let rows = try await database.client.query("""
            DELETE FROM ssh_keys WHERE app = \(app) AND fingerprint = \(fingerprint) RETURNING \(unescaped: Self.sshKeyColumns)
            """, logger: logger)
        for try await row in rows { return try Self.sshKey(row) }
        throw CatalogError(.notFound, "\(app) has no SSH key \(fingerprint.prefix(80)): see `kiln keys list --app \(app)`")
    }

    static let sshKeyColumns = "id, app, fingerprint, key_type, comment, created_at"

    static func sshKey(_ row: PostgresRow) throws -> SSHKeyRecord {
        let r = row.makeRandomAccess()
        return SSHKeyRecord(id: "ssh-\(try r["id"].decode(Int64.self))", app: try r["app"].decode(String.self),
                            fingerprint: try r["fingerprint"].decode(String.self), type: try r["key_type"].decode(String.self),
                            comment: try r["comment"].decode(String.self), createdAt: try r["created_at"].decode(Date.self))
    }
}
