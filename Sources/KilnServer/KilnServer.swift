import Foundation
import Hummingbird
import KilnAPI
import KilnBlobStore
import KilnBuildLog
import KilnCatalog
import KilnDatabase
import KilnQueue
import KilnReceiver
import KilnS3
import KilnSigning
import KilnSSH
import Logging
import OpenAPIHummingbird
import ServiceLifecycle

/// Kiln's HTTP server: the git receiver, the REST API, health.
public enum KilnServer {
    /// Everything the server runs, in start order (they stop in reverse):
    /// the database pool, the HTTP application, the retention pruner, the
    /// release hand-off sender, and the SSH server when it has a port.
    ///
    /// It also writes the push settings OpenSSH's forced command reads
    /// (``KilnReceiver/PushSettings``), so that sshd can take pushes for this home.
    public static func services(configuration: ServerConfiguration, database: Database, logger: Logger) throws -> [any Service] {
        let settings = PushSettings(configuration.hookEnvironment(app: ""))
        try settings.write(to: configuration.layout.sshPushSettings)
        var services: [any Service] = [
            database.client,
            try makeApplication(configuration: configuration, database: database, logger: logger),
            RetentionService(queue: BuildQueue(database: database), log: BuildLog(database: database), retention: configuration.retention, logger: logger),
            HandoffSender(database: database, vault: try ConfigVault.load(from: configuration.configKeyFile),
                          signer: try URLSigner.loadOrCreate(at: configuration.urlSecretFile), blobs: try BlobStorage.open(directory: configuration.blobs, s3: configuration.s3),
                          publicURL: configuration.publicURL, logger: logger),
        ]
        if let sshPort = configuration.sshPort {
            let catalog = Catalog(database: database)
            let access = GitSSHAccess(catalog: catalog, repositories: RepositoryStore(root: configuration.repositories), settings: settings)
            services.append(SSHServer(host: configuration.host, port: sshPort, hostKeys: try SSHHostKeys.loadOrCreate(home: configuration.layout),
                                      catalog: catalog, access: access, logger: logger))
        }
        return services
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
        // Refuses to start with a revoked key, and with a retired key it cannot read.
        _ = try FarmKeyring.load(current: key, keyFile: configuration.keyFile)

        let vault = try ConfigVault.load(from: configuration.configKeyFile)
        let signer = try URLSigner.loadOrCreate(at: configuration.urlSecretFile)
        let queue = BuildQueue(database: database)
        let workers = WorkerRegistry(database: database)

        let router = Router(context: BasicRequestContext.self)
        // First, so that it answers for every route below, generated or not.
        router.add(middleware: ErrorMiddleware())
        router.get("health") { _, _ in
            try await database.client.query("SELECT 1")
            return "ok\n"
        }
        // The JSON API, from docs/openapi.yaml.
        let api = APIHandler(
            configuration: configuration, catalog: catalog, authorizer: authorizer, vault: vault, queue: queue, log: BuildLog(database: database),
            blobs: blobs, importer: SourceArchiveImport(scratch: configuration.layout.temporary, policy: configuration.fetchPolicy), repositories: repositories,
            signer: signer, registry: workers, key: key, tiers: configuration.cacheTiers, logger: logger)
        try api.registerHandlers(on: router, configuration: APIFormat.configuration,
                                 middlewares: [CredentialsMiddleware(), StatusSignatureMiddleware(catalog: catalog, vault: vault)])
        // Described in docs/openapi.yaml too, but served by hand (docs/api.md says why).
        GitRoutes(configuration: configuration, catalog: catalog, authorizer: authorizer,
                  backend: GitHTTPBackend(repositories: repositories, logger: logger), repositories: repositories).register(on: router)
        BuildArtifactRoutes(queue: queue, blobs: blobs, authorizer: authorizer).register(on: router)
        SlugRoutes(queue: queue, blobs: blobs, signer: signer).register(on: router)
        MetricsRoutes(database: database, refresh: { try await MetricsRoutes.queueGauges(queue: queue, registry: workers) }).register(on: router)

        return Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "kiln"),
            logger: logger)
    }
}
