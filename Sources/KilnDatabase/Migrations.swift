import Logging
import PostgresNIO

/// Kiln's schema, as numbered migrations applied in order, each once.
///
/// Applying is idempotent and safe to run from several processes at once: an
/// advisory lock serialises them and each migration commits with its version.
public enum Migrations {
    /// One schema step.
    public struct Migration: Sendable {
        public let version: Int
        public let name: String
        let statements: [String]
    }

    /// All migrations, oldest first. Append only: never edit a released one.
    public static let all: [Migration] = [
        Migration(version: 1, name: "apps, keys, builds, logs, releases", statements: [
            """
            CREATE TABLE apps (
                name text PRIMARY KEY,
                deploy_branch text NOT NULL DEFAULT 'main',
                created_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            """
            CREATE TABLE api_keys (
                id bigserial PRIMARY KEY,
                app text REFERENCES apps(name) ON DELETE CASCADE,
                key_sha256 bytea NOT NULL UNIQUE,
                created_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            "COMMENT ON COLUMN api_keys.app IS 'NULL for an administrator key, valid for every app'",
            """
            CREATE TABLE builds (
                seq bigserial PRIMARY KEY,
                id text GENERATED ALWAYS AS ('b-' || seq) STORED UNIQUE,
                app text NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
                state text NOT NULL DEFAULT 'queued'
                    CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'superseded')),
                commit text,
                branch text,
                source_digest text NOT NULL,
                clean boolean NOT NULL DEFAULT false,
                hot boolean NOT NULL DEFAULT false,
                attempts integer NOT NULL DEFAULT 0,
                max_attempts integer NOT NULL DEFAULT 3,
                run_after timestamptz NOT NULL DEFAULT now(),
                worker text,
                lease_expires_at timestamptz,
                cancel_requested boolean NOT NULL DEFAULT false,
                slug_digest text,
                manifest_digest text,
                signature_digest text,
                slug_size bigint,
                error text,
                created_at timestamptz NOT NULL DEFAULT now(),
                started_at timestamptz,
                finished_at timestamptz
            )
            """,
            "CREATE INDEX builds_claimable ON builds (run_after, seq) WHERE state = 'queued'",
            "CREATE INDEX builds_by_app ON builds (app, seq DESC)",
            // The database, not the workers' good manners, keeps one build per app running.
            "CREATE UNIQUE INDEX builds_one_running_per_app ON builds (app) WHERE state = 'running'",
            """
            CREATE TABLE build_log (
                build_seq bigint NOT NULL REFERENCES builds(seq) ON DELETE CASCADE,
                line_no integer NOT NULL,
                line text NOT NULL,
                at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (build_seq, line_no)
            )
            """,
            """
            CREATE TABLE releases (
                app text NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
                version integer NOT NULL,
                build_seq bigint NOT NULL REFERENCES builds(seq),
                slug_digest text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (app, version)
            )
            """,
        ]),
        Migration(version: 2, name: "workers", statements: [
            """
            CREATE TABLE workers (
                name text PRIMARY KEY,
                host text NOT NULL,
                pid integer NOT NULL,
                capacity integer NOT NULL,
                started_at timestamptz NOT NULL DEFAULT now(),
                heartbeat_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            "CREATE INDEX builds_running_by_worker ON builds (worker) WHERE state = 'running'",
        ]),
        Migration(version: 3, name: "fair claims", statements: [
            // The claim orders apps by when their last build started.
            "CREATE INDEX builds_last_start ON builds (app, started_at DESC NULLS LAST)",
        ]),
        Migration(version: 4, name: "build settings and config vars", statements: [
            "ALTER TABLE apps ADD COLUMN build_network boolean NOT NULL DEFAULT false, ADD COLUMN source_dir text",
            // Each change of an app's config is a new version: the whole set, sealed (AES-GCM).
            """
            CREATE TABLE config_versions (
                app text NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
                version integer NOT NULL,
                sealed bytea NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (app, version)
            )
            """,
            "ALTER TABLE releases ADD COLUMN config_version integer NOT NULL DEFAULT 0",
        ]),
        Migration(version: 5, name: "dependency cache settings and use", statements: [
            // The epoch is part of every cache key of the app: a purge bumps it, and every worker misses.
            "ALTER TABLE apps ADD COLUMN cache_key_files text[] NOT NULL DEFAULT '{}', ADD COLUMN cache_epoch integer NOT NULL DEFAULT 0",
            """
            CREATE TABLE cache_use (
                app text PRIMARY KEY REFERENCES apps(name) ON DELETE CASCADE,
                hits bigint NOT NULL DEFAULT 0,
                misses bigint NOT NULL DEFAULT 0,
                faults bigint NOT NULL DEFAULT 0,
                files_restored bigint NOT NULL DEFAULT 0,
                bytes_restored bigint NOT NULL DEFAULT 0,
                bytes_saved bigint NOT NULL DEFAULT 0,
                updated_at timestamptz NOT NULL DEFAULT now()
            )
            """,
        ]),
        Migration(version: 6, name: "slugs by digest", statements: [
            // Signed slug URLs name the slug, not the build.
            "CREATE INDEX builds_slug_digest ON builds (slug_digest) WHERE slug_digest IS NOT NULL",
        ]),
        Migration(version: 7, name: "release hand-offs", statements: [
            // The secret is sealed with the config key, as config vars are.
            "ALTER TABLE apps ADD COLUMN release_webhook text, ADD COLUMN release_webhook_secret bytea",
            "ALTER TABLE releases ADD COLUMN description text NOT NULL DEFAULT ''",
            // The outbox: written in the transaction that records the release, sent by the servers.
            """
            CREATE TABLE release_handoffs (
                app text NOT NULL,
                version integer NOT NULL,
                idempotency_key text NOT NULL,
                attempts integer NOT NULL DEFAULT 0,
                next_attempt_at timestamptz NOT NULL DEFAULT now(),
                delivered_at timestamptz,
                last_status integer,
                last_error text,
                created_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (app, version),
                FOREIGN KEY (app, version) REFERENCES releases (app, version) ON DELETE CASCADE
            )
            """,
            "CREATE INDEX release_handoffs_due ON release_handoffs (next_attempt_at) WHERE delivered_at IS NULL",
        ]),
        Migration(version: 8, name: "build timings", statements: [
            // Milliseconds per phase, written with the build's outcome; `handoff` when the release service took it.
            "ALTER TABLE builds ADD COLUMN timings jsonb",
        ]),
        Migration(version: 9, name: "hot releases", statements: [
            // Both set for a release deployed as an OTP upgrade of the one before it.
            "ALTER TABLE releases ADD COLUMN upgrade_from text, ADD COLUMN upgrade_to text",
        ]),
        Migration(version: 10, name: "images", statements: [
            // A Dockerfile build's release has an image and no slug; an exported slug has both.
            "ALTER TABLE releases ALTER COLUMN slug_digest DROP NOT NULL",
            // The image by digest (REGISTRY/PREFIX/APP@sha256:…) and the ports its config EXPOSEs.
            "ALTER TABLE builds ADD COLUMN image text, ADD COLUMN image_ports integer[]",
            "ALTER TABLE apps ADD COLUMN docker_build_args boolean NOT NULL DEFAULT false, ADD COLUMN export_image boolean NOT NULL DEFAULT false",
        ]),
        Migration(version: 11, name: "worker limits", statements: [
            // What the worker enforces on its builds ("cgroup v2: 2048 MiB, 1024 processes"), and whether it
            // was started with --unlimited-builds, where it cannot.
            "ALTER TABLE workers ADD COLUMN limits text NOT NULL DEFAULT '', ADD COLUMN unlimited boolean NOT NULL DEFAULT false",
        ]),
        Migration(version: 12, name: "log retention by age", statements: [
            // Logs are pruned by the age of their last line, without reading builds (KilnBuildLog owns build_log).
            "CREATE INDEX build_log_at ON build_log (at)",
        ]),
        Migration(version: 13, name: "stacks", statements: [
            // The stack an app's buildpack builds run on, by name; 'host' is the worker host's own system, as before.
            "ALTER TABLE apps ADD COLUMN stack text NOT NULL DEFAULT 'host'",
        ]),
        Migration(version: 14, name: "ssh keys", statements: [
            // One row per app a key may push to: the same key added to two apps is two rows, revoked one by one.
            """
            CREATE TABLE ssh_keys (
                id bigserial PRIMARY KEY,
                app text NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
                fingerprint text NOT NULL,
                key_type text NOT NULL,
                public_key text NOT NULL,
                comment text NOT NULL DEFAULT '',
                created_at timestamptz NOT NULL DEFAULT now(),
                added_by bigint REFERENCES api_keys(id) ON DELETE CASCADE,
                UNIQUE (app, fingerprint)
            )
            """,
            "CREATE INDEX ssh_keys_fingerprint ON ssh_keys (fingerprint)",
            "COMMENT ON COLUMN ssh_keys.fingerprint IS 'SHA256:... as ssh-keygen -l prints it, of the key in wire form'",
            "COMMENT ON COLUMN ssh_keys.added_by IS 'the API key that added it: revoking that key removes it, so a leaked key leaves no SSH access behind'",
        ]),
        Migration(version: 15, name: "revoked keys and deleted apps", statements: [
            // A revoked key keeps its hash, so that the token a kiln.env still holds cannot be registered again.
            "ALTER TABLE api_keys ADD COLUMN revoked_at timestamptz",
            // A deleted app stays as a tombstone, hidden from every lookup, so that its releases (which
            // reference it ON DELETE CASCADE) stay readable for the release service until it is purged.
            "ALTER TABLE apps ADD COLUMN deleted_at timestamptz",
        ]),
        Migration(version: 16, name: "releases as the seeds define them", statements: [
            // An image released by reference (`kiln releases create --image`) has no build: its image, ports and
            // signed manifest are the release's own. A release of a build reads them from the build.
            "ALTER TABLE releases ALTER COLUMN build_seq DROP NOT NULL",
            """
            ALTER TABLE releases ADD COLUMN image text, ADD COLUMN image_ports integer[],
                ADD COLUMN manifest_digest text, ADD COLUMN signature_digest text
            """,
            "ALTER TABLE releases ADD CONSTRAINT releases_ship_something CHECK (build_seq IS NOT NULL OR (image IS NOT NULL AND manifest_digest IS NOT NULL AND signature_digest IS NOT NULL))",
            // The release service's report of its deploy: deploying, succeeded or failed (with why), and when.
            """
            ALTER TABLE releases ADD COLUMN status text CHECK (status IN ('deploying', 'succeeded', 'failed')),
                ADD COLUMN status_reason text, ADD COLUMN status_at timestamptz
            """,
            // Set on the automatic rollback a failed release made: the version that failed. Such a rollback
            // that fails in turn makes no further rollback.
            "ALTER TABLE releases ADD COLUMN rollback_of integer",
        ]),
        Migration(version: 17, name: "signed status reports taken", statements: [
            // A signed status report names its release, but the same signed request could be sent again within
            // its 300 s window (a `failed` after the `succeeded` would roll back): each signature is taken once.
            """
            CREATE TABLE status_report_signatures (
                signature_sha256 text PRIMARY KEY,
                app text NOT NULL REFERENCES apps (name) ON DELETE CASCADE,
                taken_at timestamptz NOT NULL DEFAULT now()
            )
            """,
        ]),
    ]

    /// The versions this binary knows that the database has not applied: empty when its schema is current.
    public static func pending(on database: Database) async throws -> [Int] {
        var done = Set<Int>()
        let rows = try await database.client.query("SELECT version FROM schema_migrations", logger: database.logger)
        for try await version in rows.decode(Int.self) {
            done.insert(version)
        }
        return all.map(\.version).filter { !done.contains($0) }
    }

    /// Applies every migration not yet applied; returns the versions applied now.
    @discardableResult
    public static func apply(on database: Database) async throws -> [Int] {
        try await database.client.withConnection { connection in
            // Session-level lock: concurrent starters wait here, then find nothing left to do.
            try await connection.query("SELECT pg_advisory_lock(7140001)", logger: database.logger)
            do {
                let applied = try await run(on: connection, logger: database.logger)
                try await connection.query("SELECT pg_advisory_unlock(7140001)", logger: database.logger)
                return applied
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(7140001)", logger: database.logger)
                throw error
            }
        }
    }

    private static func run(on connection: PostgresConnection, logger: Logger) async throws -> [Int] {
        try await connection.query("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY,
                name text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """, logger: logger)
        var done = Set<Int>()
        for try await version in try await connection.query("SELECT version FROM schema_migrations", logger: logger).decode(Int.self) {
            done.insert(version)
        }
        var applied: [Int] = []
        for migration in all where !done.contains(migration.version) {
            try await connection.query("BEGIN", logger: logger)
            do {
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query("INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))", logger: logger)
                try await connection.query("COMMIT", logger: logger)
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw DatabaseError("migration \(migration.version) (\(migration.name)) failed: \(String(reflecting: error))")
            }
            applied.append(migration.version)
            logger.info("migration applied", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
        }
        return applied
    }
}
