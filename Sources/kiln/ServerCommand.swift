import ArgumentParser
import Foundation
import KilnDatabase
import KilnServer
import ServiceLifecycle

/// `kiln server`: the git receiver and the REST API, against an existing database.
struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "server", abstract: "Run the receiver and API server.")

    @OptionGroup var home: HomeOptions
    @Option(help: "PostgreSQL URL.") var databaseURL: String = ProcessInfo.processInfo.environment["KILN_DATABASE_URL"] ?? ""
    @Option(help: "Address to listen on.") var host: String = "127.0.0.1"
    @Option(help: "Port to listen on.") var port: Int = 8750
    @Option(help: "URL pushers reach this server at (default http://HOST:PORT).") var publicURL: String?
    @Option(help: "Also serve git over SSH on this port (Kiln's own SSH server; default: none).") var sshPort: Int?
    @Option(help: "Days to keep finished builds that made no release, and build logs.") var retentionDays: Int = 30
    @OptionGroup var blobs: BlobStoreOptions
    @Option(help: "Most bytes one pushed file may have (e.g. 512MiB); a push with a larger one is refused, naming it.") var maxPushFileSize: ByteSize?
    @OptionGroup var fetching: FetchOptions
    @OptionGroup var images: RegistryOptions
    @OptionGroup var logs: LogOptions

    func run() async throws {
        let logger = KilnLogging.bootstrap(format: logs.logFormat)
        KilnMetrics.bootstrap()
        let url = try DatabaseURL(databaseURL)
        _ = try await Database.with(url: url, logger: logger) { try await Migrations.apply(on: $0) }
        let database = Database(url: url, logger: logger)
        var configuration = ServerConfiguration(home: home.homeURL, host: host, port: port, publicURL: publicURL, databaseURL: databaseURL)
        configuration.retention = .seconds(retentionDays * 24 * 3600)
        configuration.s3 = try blobs.settings()
        if let maxPushFileSize { configuration.maxPushFileSize = maxPushFileSize.bytes }
        configuration.fetchPolicy = try fetching.policy()
        configuration.sshPort = sshPort
        // Images released by reference (`kiln releases create --image`) are copied and signed there.
        configuration.registry = try images.settings(home: home.homeURL)
        let services = try KilnServer.services(configuration: configuration, database: database, logger: logger)
        try await ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
    }
}
