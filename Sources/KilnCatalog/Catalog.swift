import Crypto
import Foundation
import KilnDatabase
import KilnQueue
import Logging
import PostgresNIO

/// Apps, their API keys and their releases.
///
/// Keys are random 256-bit secrets shown once; only their SHA-256 is stored
/// (a fast hash suffices for secrets of that entropy: there is nothing to
/// guess). A key belongs to one app, or to no app for an administrator.
public struct Catalog: Sendable {
    let database: Database
    var logger: Logger { database.logger }

    public init(database: Database) {
        self.database = database
    }

    /// Creates an app. Throws `.invalid` for a bad name or branch, `.conflict` if it exists.
    public func createApp(name: String, deployBranch: String = "main") async throws -> App {
        guard App.isValidName(name) else {
            throw CatalogError(.invalid, "'\(name)' is not a valid app name: use lowercase letters, digits and dashes, starting with a letter (at most 63)")
        }
        guard App.isValidBranch(deployBranch) else {
            throw CatalogError(.invalid, "'\(deployBranch)' is not a valid branch name: give a git branch name, without spaces, control characters, ~ ^ : ? * [ \\ or ..")
        }
        do {
            let rows = try await database.client.query("""
                INSERT INTO apps (name, deploy_branch) VALUES (\(name), \(deployBranch))
                RETURNING \(unescaped: Self.appColumns)
                """, logger: logger)
            for try await row in rows { return try Self.app(row) }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            if try await deletedAt(app: name) != nil {
                // Its tombstone keeps its releases, whose versions a new app of that name would repeat.
                throw CatalogError(.conflict, "an app named \(name) was deleted and its releases are kept: choose another name, or purge it first with `kiln apps delete \(name) --confirm \(name) --purge` (its releases go too)")
            }
            throw CatalogError(.conflict, "an app named \(name) already exists")
        }
        throw CatalogError(.conflict, "the app \(name) was not created")
    }

    /// The app named `name`, or `nil` (also for a deleted app: see ``absentApp(_:)``).
    public func app(named name: String) async throws -> App? {
        let rows = try await database.client.query("SELECT \(unescaped: Self.appColumns) FROM apps WHERE name = \(name) AND deleted_at IS NULL", logger: logger)
        for try await row in rows { return try Self.app(row) }
        return nil
    }

    /// Every app that is not deleted, by name.
    public func apps() async throws -> [App] {
        let rows = try await database.client.query("SELECT \(unescaped: Self.appColumns) FROM apps WHERE deleted_at IS NULL ORDER BY name", logger: logger)
        var apps: [App] = []
        for try await row in rows { apps.append(try Self.app(row)) }
        return apps
    }

    static let appColumns = "name, deploy_branch, created_at, build_network, source_dir, cache_key_files, cache_epoch, release_webhook, docker_build_args, export_image, stack"
    /// An app from a row of ``appColumns``, read by column name.
    static func app(_ row: PostgresRow) throws -> App {
        let r = row.makeRandomAccess()
        return App(name: try r["name"].decode(String.self), deployBranch: try r["deploy_branch"].decode(String.self),
                   createdAt: try r["created_at"].decode(Date.self), buildNetwork: try r["build_network"].decode(Bool.self),
                   sourceDir: try r["source_dir"].decode(String?.self), cacheKeyFiles: try r["cache_key_files"].decode([String].self),
                   cacheEpoch: try r["cache_epoch"].decode(Int.self), releaseWebhook: try r["release_webhook"].decode(String?.self),
                   dockerBuildArgs: try r["docker_build_args"].decode(Bool.self), exportImage: try r["export_image"].decode(Bool.self),
                   stack: try r["stack"].decode(String.self))
    }

    /// Changes an app's build settings; `nil` leaves one as it is, and an
    /// empty source directory means the whole tree again.
    public func updateApp(_ name: String, buildNetwork: Bool? = nil, sourceDir: String? = nil, cacheKeyFiles: [String]? = nil,
                          dockerBuildArgs: Bool? = nil, exportImage: Bool? = nil, stack: String? = nil) async throws -> App {
        if let stack, !App.isValidStack(stack) {
            throw CatalogError(.invalid, "'\(stack.prefix(80))' is not a stack name: give host or a stack's name (lowercase letters, digits, dots and dashes, at most 63)")
        }
        if let sourceDir, !sourceDir.isEmpty, !App.isValidSourceDir(sourceDir) {
            throw CatalogError(.invalid, "'\(sourceDir)' is not a valid source directory: give a relative path inside the repository, without . or .. components")
        }
        if let cacheKeyFiles {
            if let bad = cacheKeyFiles.first(where: { !App.isRelativePath($0) }) {
                throw CatalogError(.invalid, "'\(bad)' is not a valid cache key file: give a path inside the app, without . or .. components")
            }
            guard cacheKeyFiles.count <= 32 else { throw CatalogError(.invalid, "at most 32 cache key files, not \(cacheKeyFiles.count)") }
        }
        let clearDir = sourceDir == ""
        let rows = try await database.client.query("""
            UPDATE apps SET build_network = coalesce(\(buildNetwork), build_network),
                source_dir = CASE WHEN \(clearDir) THEN NULL ELSE coalesce(\(sourceDir), source_dir) END,
                cache_key_files = coalesce(\(cacheKeyFiles), cache_key_files),
                docker_build_args = coalesce(\(dockerBuildArgs), docker_build_args), export_image = coalesce(\(exportImage), export_image),
                stack = coalesce(\(stack), stack)
            WHERE name = \(name) AND deleted_at IS NULL RETURNING \(unescaped: Self.appColumns)
            """, logger: logger)
        for try await row in rows { return try Self.app(row) }
        throw try await absentApp(name)
    }

    /// Creates a key for `app` (or an administrator key when `app` is nil) and
    /// returns it; it cannot be shown again.
    public func createKey(app: String?) async throws -> String {
        if let app, try await self.app(named: app) == nil { throw try await absentApp(app) }
        var bytes = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for index in bytes.indices { bytes[index] = generator.next() }
        let key = "kiln_" + bytes.map { String(format: "%02x", $0) }.joined()
        try await database.client.query("INSERT INTO api_keys (app, key_sha256) VALUES (\(app), \(Self.hash(key)))", logger: logger)
        return key
    }

    /// Stores an administrator key chosen elsewhere (the one `kiln up` writes to kiln.env); idempotent
    /// for a key that works. Throws `.revoked` for a key that was revoked (`kiln admin rotate-token`,
    /// `kiln keys revoke`): its hash is kept so that an old kiln.env cannot bring it back.
    public func registerAdminKey(_ key: String) async throws {
        let rows = try await database.client.query("""
            INSERT INTO api_keys (app, key_sha256) VALUES (NULL, \(Self.hash(key)))
            ON CONFLICT (key_sha256) DO UPDATE SET key_sha256 = excluded.key_sha256
            RETURNING app IS NULL AS admin, revoked_at
            """, logger: logger)
        for try await (admin, revokedAt) in rows.decode((Bool, Date?).self) {
            if let revokedAt {
                throw CatalogError(.revoked, "the token in kiln.env was revoked on \(revokedAt.formatted(.iso8601)) (`kiln admin rotate-token` or `kiln keys revoke`): use the newer token, or remove the file and start `kiln up` again to have it write a new one")
            }
            guard admin else {
                throw CatalogError(.conflict, "the token in kiln.env is an app's API key, not an administrator's: remove the file and start `kiln up` again to have it write a new one")
            }
        }
    }

    /// What a key may do.
    public enum Grant: Sendable, Equatable {
        case none
        case app(String)
        case admin

        /// Whether the key may push to and read `app`.
        public func allows(app: String) -> Bool {
            switch self {
            case .admin: true
            case .app(let name): name == app
            case .none: false
            }
        }
    }

    /// Looks a presented key up: `.none` for an unknown or revoked key, and for a key of a deleted app.
    public func grant(for key: String) async throws -> Grant {
        let rows = try await database.client.query("""
            SELECT k.app FROM api_keys k LEFT JOIN apps a ON a.name = k.app
            WHERE k.key_sha256 = \(Self.hash(key)) AND k.revoked_at IS NULL AND (k.app IS NULL OR a.deleted_at IS NULL)
            """, logger: logger)
        for try await app in rows.decode(String?.self) {
            return app.map(Grant.app) ?? .admin
        }
        return .none
    }

    static func hash(_ key: String) -> ByteBuffer {
        ByteBuffer(bytes: SHA256.hash(data: Data(key.utf8)))
    }

    /// Records the next release of `app` for a succeeded build, on the
    /// connection of the transaction that marks the build succeeded. A hot
    /// `upgrade` built from release `upgradeBase` is recorded as one only
    /// while that release is still the newest; after a rollback or another
    /// release it no longer applies to the running nodes and deploys by restart.
    /// The release takes the app's newest config version, which may be newer
    /// than `configVersion`, the one the build compiled with.
    @discardableResult
    public static func recordRelease(app: String, buildSeq: Int64, slugDigest: String?, configVersion: Int = 0, description: String = "",
                                     upgrade: Release.Upgrade? = nil, upgradeBase: Int? = nil, idempotencyKey: String? = nil,
                                     on connection: PostgresConnection, logger: Logger) async throws -> Int {
        // A config change committed while the build ran was released with the running slug (changeConfig, under the
        // same lock, taken here first): this release must not take it back by shipping the config the build started with.
        try await connection.query("SELECT 1 FROM apps WHERE name = \(app) FOR UPDATE", logger: logger)
        var config = configVersion, description = description
        for try await newest in try await connection.query("SELECT coalesce(max(version), 0) FROM config_versions WHERE app = \(app)",
                                                           logger: logger).decode(Int.self) where newest > config {
            description += " (config v\(newest), changed while it built on v\(config))"
            config = newest
        }
        return try await recordRelease(app: app, artifact: ReleaseArtifact(buildSeq: buildSeq, slugDigest: slugDigest), configVersion: config,
                                       description: description, upgrade: upgrade, upgradeBase: upgradeBase, idempotencyKey: idempotencyKey,
                                       on: connection, logger: logger)
    }

    /// Records the next release of `app`, shipping `artifact` (a build's, by
    /// its `buildSeq`; or an image no build made, by its own image, ports and
    /// manifest) with config version `configVersion`, and its hand-off outbox
    /// row when the app has a webhook, on `connection` (a transaction's; the
    /// app row is locked `FOR UPDATE` until it ends). `rollbackOf` marks an
    /// automatic rollback with the version that failed. Returns the version.
    @discardableResult
    public static func recordRelease(app: String, artifact: ReleaseArtifact, configVersion: Int, description: String,
                                     upgrade: Release.Upgrade? = nil, upgradeBase: Int? = nil, idempotencyKey: String? = nil, rollbackOf: Int? = nil,
                                     on connection: PostgresConnection, logger: Logger) async throws -> Int {
        // Lock the app row: concurrent releases of one app get consecutive versions, and a deletion
        // (which takes the same lock) either comes after this release or is seen here.
        let locked = try await connection.query("SELECT deleted_at FROM apps WHERE name = \(app) FOR UPDATE", logger: logger)
        for try await deletedAt in locked.decode(Date?.self) where deletedAt != nil {
            // Fenced, as a build whose worker lost it: the build was cancelled by the deletion, and records nothing.
            let what = artifact.buildSeq.map { "build seq \($0)'s result and release are" } ?? "the release is"
            throw QueueError("the app \(app) was deleted: \(what) not recorded", code: .fenced)
        }
        var upgrade = upgrade, description = description
        if upgrade != nil, let upgradeBase {
            var newest = 0
            for try await version in try await connection.query("SELECT coalesce(max(version), 0) FROM releases WHERE app = \(app)",
                                                                logger: logger).decode(Int.self) { newest = version }
            if newest != upgradeBase {
                upgrade = nil
                description += " (by restart: built as a hot upgrade of v\(upgradeBase), but v\(newest) was released meanwhile)"
            }
        }
        // A build's release reads its image and manifest from the build; only a release no build made keeps its own.
        let own = artifact.buildSeq == nil ? artifact : ReleaseArtifact()
        let rows = try await connection.query("""
            INSERT INTO releases (app, version, build_seq, slug_digest, config_version, description, upgrade_from, upgrade_to,
                                  image, image_ports, manifest_digest, signature_digest, rollback_of)
            SELECT \(app), coalesce(max(version), 0) + 1, \(artifact.buildSeq), \(artifact.slugDigest), \(configVersion), \(description.storableText),
                   \(upgrade?.from), \(upgrade?.to), \(own.image), \(own.ports), \(own.manifestDigest), \(own.signatureDigest), \(rollbackOf)
            FROM releases WHERE app = \(app)
            RETURNING version
            """, logger: logger)
        var version = 0
        for try await value in rows.decode(Int.self) { version = value }
        // The hand-off is recorded with the release, or neither is: a sender delivers it after the commit.
        let key = idempotencyKey ?? "\(app)-v\(version)"
        try await connection.query("""
            INSERT INTO release_handoffs (app, version, idempotency_key)
            SELECT \(app), \(version), \(key) FROM apps WHERE name = \(app) AND release_webhook IS NOT NULL
            """, logger: logger)
        return version
    }

    /// The releases of `app`, newest first.
    public func releases(app: String) async throws -> [Release] {
        try await database.client.withConnection { connection in try await Self.releases(app: app, on: connection, logger: logger) }
    }

    /// The releases of `app` on `connection`, newest first (only `version` when given).
    static func releases(app: String, version: Int? = nil, on connection: PostgresConnection, logger: Logger) async throws -> [Release] {
        let rows = try await connection.query("""
            SELECT \(unescaped: ReleaseRow.columns),
                   CASE WHEN h.app IS NULL THEN 'none' WHEN h.delivered_at IS NOT NULL THEN 'delivered'
                        WHEN h.attempts = 0 THEN 'pending'
                        ELSE 'pending (attempt ' || h.attempts || ': ' || coalesce(h.last_error, 'HTTP ' || h.last_status) || ')' END AS handoff
            FROM releases r LEFT JOIN release_handoffs h ON h.app = r.app AND h.version = r.version
            WHERE r.app = \(app) AND (\(version)::integer IS NULL OR r.version = \(version)) ORDER BY r.version DESC
            """, logger: logger)
        var found: [(ReleaseRow, String)] = []
        for try await row in rows {
            found.append((try ReleaseRow(row: row), try row.makeRandomAccess()["handoff"].decode(String.self)))
        }
        let artifacts = try await ReleaseRow.artifacts(of: found.map(\.0), on: connection, logger: logger)
        return zip(found, artifacts).map { found, artifact in found.0.release(artifact: artifact, handoff: found.1) }
    }

    /// Release `version` of `app` on `connection`, locked (`FOR UPDATE`) until the transaction ends, or `nil`.
    static func releaseRow(app: String, version: Int, on connection: PostgresConnection, logger: Logger) async throws -> ReleaseRow? {
        let rows = try await connection.query("""
            SELECT \(unescaped: ReleaseRow.columns) FROM releases r WHERE r.app = \(app) AND r.version = \(version) FOR UPDATE
            """, logger: logger)
        for try await row in rows { return try ReleaseRow(row: row) }
        return nil
    }

    /// Records a new release of `app` pointing at version `version`'s slug
    /// (or image) and config, handed off like any release; returns it.
    public func rollback(app: String, to version: Int) async throws -> Release {
        guard try await self.app(named: app) != nil else { throw try await absentApp(app) }
        return try await database.transaction { connection -> Release in
            // The app row first, as every release and status report takes it: locking the release row first could deadlock with them.
            try await connection.query("SELECT 1 FROM apps WHERE name = \(app) FOR UPDATE", logger: logger)
            guard let target = try await Self.releaseRow(app: app, version: version, on: connection, logger: logger) else {
                throw CatalogError(.notFound, "\(app) has no release v\(version): see `kiln releases --app \(app)`")
            }
            let created = try await Self.recordRelease(app: app, artifact: target.recordedArtifact, configVersion: target.configVersion,
                                                       description: "Rollback to v\(version)", on: connection, logger: logger)
            return try await Self.release(app: app, version: created, on: connection, logger: logger)
        }
    }

    /// Release `version` of `app` as the API shows it, on `connection`; throws `.notFound` when there is none.
    static func release(app: String, version: Int, on connection: PostgresConnection, logger: Logger) async throws -> Release {
        guard let release = try await releases(app: app, version: version, on: connection, logger: logger).first else {
            throw CatalogError(.notFound, "\(app) has no release v\(version): see `kiln releases --app \(app)`")
        }
        return release
    }
}
