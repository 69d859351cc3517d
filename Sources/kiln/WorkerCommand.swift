import ArgumentParser
import Foundation
import KilnDatabase
import KilnWorker
import ServiceLifecycle

/// `kiln worker`: runs builds from the queue until SIGTERM, then drains.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "worker", abstract: "Run a build worker.")

    @OptionGroup var home: HomeOptions
    @Option(help: "PostgreSQL URL.") var databaseURL: String = ProcessInfo.processInfo.environment["KILN_DATABASE_URL"] ?? ""
    @Option(name: [.customLong("concurrency"), .customLong("capacity")], help: "Builds run at once.") var concurrency: Int = 1
    @Option(help: "Seconds running builds get to finish on SIGTERM before they are handed back to the queue.") var drainTimeout: Int = 600
    @Option(help: "This worker's name (default: host and pid).") var name: String?
    @Option(help: .hidden) var parentPid: Int32?
    @Option(help: "Seconds a claimed build's lease lasts without a heartbeat; a dead worker's builds are rescued after it.") var lease: Int = 60
    @Option(help: "Seconds between looks at the queue when no notification came.") var pollInterval: Double = 5
    @Flag(help: "Poll only, without LISTEN (behind a connection pooler in transaction mode).") var noListen = false

    func run() async throws {
        let logger = KilnLogging.bootstrap()
        let database = Database(url: try DatabaseURL(databaseURL), logger: logger)
        var configuration = WorkerConfiguration(home: home.homeURL, buildersDirectory: BuiltInBuilders.directory(), capacity: concurrency, name: name)
        configuration.drainTimeout = .seconds(drainTimeout)
        configuration.lease = .seconds(max(lease, 2))
        configuration.heartbeat = .seconds(max(lease, 2)) / 6
        configuration.pollInterval = .milliseconds(Int(max(pollInterval, 0.05) * 1000))
        configuration.listensForWork = !noListen
        let worker = try Worker(configuration: configuration, database: database, logger: logger)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: database.client),
            .init(service: worker, successTerminationBehavior: .gracefullyShutdownGroup),
        ]
        if let parentPid { services.append(.init(service: ParentWatch(parent: parentPid))) }
        let group = ServiceGroup(configuration: .init(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
    }
}
