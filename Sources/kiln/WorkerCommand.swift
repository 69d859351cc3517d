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

    func run() async throws {
        let logger = KilnLogging.bootstrap()
        let database = Database(url: try DatabaseURL(databaseURL), logger: logger)
        var configuration = WorkerConfiguration(home: home.homeURL, buildersDirectory: BuiltInBuilders.directory(), capacity: concurrency, name: name)
        configuration.drainTimeout = .seconds(drainTimeout)
        configuration.lease = .seconds(max(lease, 2))
        configuration.heartbeat = .seconds(max(lease, 2)) / 6
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
