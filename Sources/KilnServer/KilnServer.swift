import Foundation
import Hummingbird
import KilnBlobStore
import KilnBuildLog
import KilnCatalog
import KilnDatabase
import KilnQueue
import KilnReceiver
import KilnS3
import KilnSigning
import Logging
import ServiceLifecycle

/// Kiln's HTTP server: the git receiver, the REST API, health.
public enum KilnServer {
    /// Everything the server runs, in start order (they stop in reverse):
    /// the database pool, the HTTP application, the retention pruner, the release hand-off sender.
    public static func services(configuration: ServerConfiguration, database: Database, logger: Logger) throws -> [any Service] {
        [
            database.client,
            try makeApplication(configuration: configuration, database: database, logger: logger),
            RetentionService(queue: BuildQueue(database: database), log: BuildLog(database: database), retention: configuration.retention, logger: logger),
            HandoffSender(database: database, vault: try ConfigVault.load(from: configuration.configKeyFile),
                          signer: try URLSigner.loadOrCreate(at: configuration.urlSecretFile), blobs: try BlobStorage.open(directory: configuration.blobs, s3: configuration.s3),
                          publicURL: configuration.publicURL, logger: logger),
        ]
    }

    /// Builds the HTTP application. It serves until its service group stops;
    /// the database client must be running alongside it.
    public static func makeApplication(configuration: ServerConfiguration, database: Database, logger: Logger) throws -> some ApplicationProtocol {
        let catalog = Catalog(database: database)
        let authorizer = Authorizer(catalog: catalog)
        let repositories = RepositoryStore(root: configuration.repositories)
        let blobs = try BlobStorage.open(directory: configuration.blobs, s3: configuration.s3)
        try blobs.check()
        let key = try FarmKey.loadOrCreate(at: configuration.keyFile)

        let router = Router(context: BasicRequestContext.self)
        router.get("health") { _, _ in
            try await database.client.query("SELECT 1")
            return "ok\n"
        }
        router.get("api/farm/public-key") { _, _ in
            key.publicKey.pem
        }
        router.get("api/farm/public-keys") { _, _ in
            // Current first; retired keys still verify the slugs they signed.
            try FarmKeyring.publicKeys(current: key, keyFile: configuration.keyFile).map(\.pem).joined()
        }
        GitRoutes(configuration: configuration, catalog: catalog, authorizer: authorizer,
                  backend: GitHTTPBackend(repositories: repositories, logger: logger), repositories: repositories).register(on: router)
        AppRoutes(configuration: configuration, catalog: catalog, authorizer: authorizer).register(on: router)
        ConfigRoutes(catalog: catalog, authorizer: authorizer, vault: try ConfigVault.load(from: configuration.configKeyFile)).register(on: router)
        CacheRoutes(catalog: catalog, authorizer: authorizer, tiers: configuration.cacheTiers).register(on: router)
        let queue = BuildQueue(database: database)
        BuildRoutes(queue: queue, log: BuildLog(database: database), blobs: blobs, authorizer: authorizer).register(on: router)
        SourceURLRoutes(queue: queue, blobs: blobs, authorizer: authorizer,
                        importer: SourceArchiveImport(scratch: configuration.layout.temporary, policy: configuration.fetchPolicy)).register(on: router)
        SlugRoutes(queue: queue, blobs: blobs, signer: try URLSigner.loadOrCreate(at: configuration.urlSecretFile), authorizer: authorizer,
                   publicURL: configuration.publicURL).register(on: router)
        FarmRoutes(queue: queue, registry: WorkerRegistry(database: database), authorizer: authorizer).register(on: router)
        let workers = WorkerRegistry(database: database)
        MetricsRoutes(database: database, refresh: { try await MetricsRoutes.queueGauges(queue: queue, registry: workers) }).register(on: router)

        return Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "kiln"),
            logger: logger)
    }
}
