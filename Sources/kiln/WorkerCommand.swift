import ArgumentParser
import Foundation
import KilnDatabase
import KilnSandbox
import KilnServer
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
    @Option(help: "The unprivileged user buildpacks run as (when the worker runs as root).") var buildUser: String = "kiln-build"
    @Option(help: "Seconds each buildpack script may run.") var buildTimeLimit: Int = 900
    @Option(help: "MiB of memory a build's processes may use together (0: no limit).") var buildMemory: Int = 2048
    @Option(help: "Processes a build may have at once (0: no limit).") var buildProcesses: Int = 1024
    @Option(help: "MiB of log a build may print, all its buildpacks together.") var buildLogLimit: Int = 16
    @Option(help: "CPUs a build may use at once, e.g. 1.5 (default: no limit).") var buildCpus: Double?
    @Flag(help: "Run builds even where their memory, process and CPU limits cannot be enforced (otherwise the worker refuses to start).")
    var unlimitedBuilds = false
    @Option(help: "Size this worker's local dependency cache is kept under, least recently used first (e.g. 20GB; default: no limit).")
    var cacheBudget: ByteSize?
    @Option(help: "Size the farm's shared dependency cache is kept under (e.g. 200GB; default: no limit).") var sharedCacheBudget: ByteSize?
    @Option(help: "The farm's shared dependency cache, a directory every worker reaches (default: HOME/blobs/cache).") var sharedCache: String?
    @Flag(help: "Let an app restore dependencies another app saved under the same key (one tenant's farm only).") var shareCacheBetweenApps = false
    @OptionGroup var slugs: SlugOptions
    @OptionGroup var blobs: BlobStoreOptions
    @OptionGroup var images: RegistryOptions
    @OptionGroup var fetching: FetchOptions
    @OptionGroup var runtimes: RuntimeOptions
    @OptionGroup var cnb: CNBOptions
    @OptionGroup var logs: LogOptions
    @Option(help: "The directory of build stacks, each NAME/ with stack.conf and root/ (default: HOME/stacks; docs/operations.md, \"Stacks\").")
    var stacks: String?
    @Option(help: "Serve /metrics, /health and /ready on this port (default: none).") var metricsPort: Int?
    @Option(help: "The address the metrics port listens on.") var metricsHost = "0.0.0.0"

    func run() async throws {
        let logger = KilnLogging.bootstrap(format: logs.logFormat)
        KilnMetrics.bootstrap()
        let database = Database(url: try DatabaseURL(databaseURL), logger: logger)
        var configuration = WorkerConfiguration(home: home.homeURL, buildersDirectory: BuiltInBuilders.directory(), capacity: concurrency, name: name)
        configuration.drainTimeout = .seconds(drainTimeout)
        configuration.lease = .seconds(max(lease, 2))
        configuration.heartbeat = .seconds(max(lease, 2)) / 6
        configuration.pollInterval = .milliseconds(Int(max(pollInterval, 0.05) * 1000))
        configuration.listensForWork = !noListen
        configuration.buildUser = getuid() == 0 ? try SandboxUser.named(buildUser) : nil
        configuration.buildLimits = SandboxLimits(
            wallTime: .seconds(max(buildTimeLimit, 1)), memoryBytes: buildMemory > 0 ? buildMemory << 20 : nil,
            processes: buildProcesses > 0 ? buildProcesses : nil, outputBytes: max(buildLogLimit, 1) << 20, cpus: buildCpus)
        configuration.unlimitedBuilds = unlimitedBuilds
        configuration.buildTimeout = max(configuration.buildTimeout, configuration.buildLimits.wallTime * 2)
        configuration.cacheBudget = cacheBudget?.bytes
        configuration.sharedCacheBudget = sharedCacheBudget?.bytes
        if let sharedCache { configuration.sharedCacheDirectory = URL(fileURLWithPath: sharedCache).standardizedFileURL }
        configuration.cacheSharedBetweenApps = shareCacheBetweenApps
        configuration.slugCompression = slugs.slugFormat.compression
        configuration.slugSizeLimit = slugs.slugSizeLimit.bytes
        configuration.slugSizeWarning = slugs.slugSizeWarning.bytes
        configuration.s3 = try blobs.settings()
        configuration.registry = try images.settings(home: home.homeURL)
        configuration.exportBaseImage = images.exportBaseImage
        configuration.imageContextLimit = images.imageContextLimit.bytes
        configuration.fetchPolicy = try fetching.policy()
        configuration.runtimesDirectory = runtimes.url(home: home.homeURL)
        if let stacks { configuration.stacks = StackDirectory(URL(fileURLWithPath: stacks)) }
        try cnb.apply(to: &configuration, home: home.homeURL)
        let worker = try Worker(configuration: configuration, database: database, logger: logger)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: database.client),
            .init(service: worker, successTerminationBehavior: .gracefullyShutdownGroup),
        ]
        if let parentPid { services.append(.init(service: ParentWatch(parent: parentPid))) }
        if let metricsPort {
            services.append(.init(service: KilnServer.workerEndpoint(host: metricsHost, port: metricsPort, database: database, logger: logger)))
        }
        let group = ServiceGroup(configuration: .init(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
    }
}
