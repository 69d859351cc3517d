import Foundation
import KilnDatabase
import PostgresNIO

extension Catalog {
    /// The app's current config.
    public func config(app: String, vault: ConfigVault) async throws -> ConfigVersion {
        guard try await self.app(named: app) != nil else { throw CatalogError(.notFound, "there is no app named \(app)") }
        let rows = try await database.client.query("""
            SELECT version, sealed FROM config_versions WHERE app = \(app) ORDER BY version DESC LIMIT 1
            """, logger: logger)
        for try await (version, sealed) in rows.decode((Int, ByteBuffer).self) {
            return ConfigVersion(app: app, version: version, vars: try vault.unseal(Data(buffer: sealed), app: app))
        }
        return ConfigVersion(app: app, version: 0, vars: [:])
    }

    /// Sets and removes vars as one change: a new config version.
    public func changeConfig(app: String, set: [String: String], unset: [String], vault: ConfigVault) async throws -> ConfigVersion {
        for name in Array(set.keys) + unset where !ConfigVersion.isValidName(name) {
            throw CatalogError(.invalid, "'\(name)' is not a valid config var name: use letters, digits and _, not starting with a digit")
        }
        return try await database.transaction { connection in
            let locked = try await connection.query("SELECT 1 FROM apps WHERE name = \(app) AND deleted_at IS NULL FOR UPDATE", logger: logger)
            var exists = false
            for try await _ in locked { exists = true }
            guard exists else { throw CatalogError(.notFound, "there is no app named \(app)") }
            var current = ConfigVersion(app: app, version: 0, vars: [:])
            let rows = try await connection.query("SELECT version, sealed FROM config_versions WHERE app = \(app) ORDER BY version DESC LIMIT 1", logger: logger)
            for try await (version, sealed) in rows.decode((Int, ByteBuffer).self) {
                current = ConfigVersion(app: app, version: version, vars: try vault.unseal(Data(buffer: sealed), app: app))
            }
            var vars = current.vars.merging(set) { _, new in new }
            for name in unset { vars[name] = nil }
            let next = ConfigVersion(app: app, version: current.version + 1, vars: vars)
            let sealed = ByteBuffer(data: try vault.seal(vars, app: app))
            try await connection.query("INSERT INTO config_versions (app, version, sealed) VALUES (\(app), \(next.version), \(sealed))", logger: logger)
            return next
        }
    }
}
