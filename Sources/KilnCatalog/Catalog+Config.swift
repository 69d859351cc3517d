import Foundation
import KilnDatabase
import Logging
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

    /// The number of the app's current config version (0: none set), without unsealing it.
    public func configVersion(app: String) async throws -> Int {
        let rows = try await database.client.query("SELECT coalesce(max(version), 0) FROM config_versions WHERE app = \(app)", logger: logger)
        for try await version in rows.decode(Int.self) { return version }
        return 0
    }

    /// Version `version` of the app's config, unsealed (version 0: the empty
    /// config every app starts with). Throws `.notFound` for no such app or version.
    public func config(app: String, version: Int, vault: ConfigVault) async throws -> ConfigVersion {
        guard try await self.app(named: app) != nil else { throw try await absentApp(app) }
        if version == 0 { return ConfigVersion(app: app, version: 0, vars: [:]) }
        let rows = try await database.client.query("""
            SELECT sealed FROM config_versions WHERE app = \(app) AND version = \(version)
            """, logger: logger)
        for try await sealed in rows.decode(ByteBuffer.self) {
            return ConfigVersion(app: app, version: version, vars: try vault.unseal(Data(buffer: sealed), app: app))
        }
        throw CatalogError(.notFound, "\(app) has no config version \(version): see `kiln config --app \(app)` for the current one")
    }

    /// Sets and removes vars as one change: a new config version. With
    /// `releasedBy` (who made the change: `admin` or `key-N`, ``actor(for:)``)
    /// and an app that has a release, the same transaction records a new
    /// release of the newest release's slug or image with the new config,
    /// described after the change ("Set A, B and unset C by admin") and handed
    /// off like any release; a hot upgrade is never carried into it (it
    /// deploys by restart). Without `releasedBy` the change waits for the
    /// next release (`kiln config set --no-release`, to batch changes).
    public func changeConfig(app: String, set: [String: String], unset: [String], vault: ConfigVault,
                             releasedBy: String? = nil) async throws -> (config: ConfigVersion, release: Release?) {
        for name in Array(set.keys) + unset where !ConfigVersion.isValidName(name) {
            throw CatalogError(.invalid, "'\(name.prefix(80))' is not a valid config var name: use letters, digits and _, not starting with a digit")
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
            guard let releasedBy, let newest = try await Self.newestRelease(app: app, on: connection, logger: logger) else { return (next, nil) }
            let version = try await Self.recordRelease(
                app: app, artifact: newest.recordedArtifact, configVersion: next.version,
                description: Self.describeConfigChange(set: Array(set.keys), unset: unset, version: next.version, by: releasedBy),
                on: connection, logger: logger)
            return (next, try await Self.release(app: app, version: version, on: connection, logger: logger))
        }
    }

    /// "Set A, B and unset C by admin", names sorted; "Config v4 by key-3" for a change that names none.
    static func describeConfigChange(set: [String], unset: [String], version: Int, by actor: String) -> String {
        let set = set.sorted(), unset = unset.sorted()
        let parts = (set.isEmpty ? [] : ["Set " + set.joined(separator: ", ")]) + (unset.isEmpty ? [] : ["unset " + unset.joined(separator: ", ")])
        guard !parts.isEmpty else { return "Config v\(version) by \(actor)" }
        let text = parts.joined(separator: " and ")
        return text.prefix(1).uppercased() + text.dropFirst() + " by \(actor)"
    }

    /// The newest release of `app` on `connection`, or `nil` when it has none.
    static func newestRelease(app: String, on connection: PostgresConnection, logger: Logger) async throws -> ReleaseRow? {
        let rows = try await connection.query("""
            SELECT \(unescaped: ReleaseRow.columns) FROM releases r WHERE r.app = \(app) ORDER BY r.version DESC LIMIT 1
            """, logger: logger)
        for try await row in rows { return try ReleaseRow(row: row) }
        return nil
    }
}
