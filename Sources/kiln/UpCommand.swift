import ArgumentParser
import Foundation
import KilnCatalog
import KilnDatabase
import KilnHome
import KilnProcess
import KilnSandbox
import KilnServer
import KilnSSH
import Logging
import ServiceLifecycle

/// `kiln up`: everything on one machine. A private PostgreSQL under the home
/// (unless `--database-url`), migrations, the server, and worker processes;
/// SIGTERM or SIGINT stops them all, PostgreSQL last.
struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "up", abstract: "Run Kiln on this machine, with a private PostgreSQL.")

    @OptionGroup var home: HomeOptions
    @Option(help: "Address to listen on.") var host: String = "127.0.0.1"
    @Option(help: "Port to listen on.") var port: Int = 8750
    @Option(help: "Port of the SSH server for git pushes (Kiln's own, on --host).") var sshPort: Int = 2222
    @Flag(help: "Serve git over HTTP only.") var noSSH = false
    @Option(help: "Worker processes to start.") var workers: Int = 2
    @Option(name: [.customLong("concurrency"), .customLong("capacity")], help: "Builds each worker runs at once.") var capacity: Int = 1
    @Option(help: "Use this PostgreSQL instead of starting a private one.") var databaseURL: String?
    @Option(help: "Size the dependency cache is kept under, least recently used first (e.g. 20GB; default: no limit).") var cacheBudget: ByteSize?
    @OptionGroup var slugs: SlugOptions
    @OptionGroup var blobs: BlobStoreOptions
    @Option(help: "Most bytes one pushed file may have (e.g. 512MiB); a push with a larger one is refused, naming it.") var maxPushFileSize: ByteSize?
    @OptionGroup var images: RegistryOptions
    @OptionGroup var fetching: FetchOptions
    @OptionGroup var runtimes: RuntimeOptions
    @OptionGroup var cnb: CNBOptions
    @Option(help: "Seconds each buildpack script or image build may run.") var buildTimeLimit: Int = 900
    @Option(help: "MiB of log a build may print, all its buildpacks together.") var buildLogLimit: Int = 16
    @Option(help: "CPUs a build may use at once, e.g. 1.5 (default: no limit).") var buildCpus: Double?
    @Flag(help: "Let the workers run builds even where their limits cannot be enforced.") var unlimitedBuilds = false
    @Option(help: "The directory of build stacks, each NAME/ with stack.conf and root/ (default: HOME/stacks; docs/operations.md, \"Stacks\").")
    var stacks: String?
    @OptionGroup var logs: LogOptions

    func run() async throws {
        // Before anything starts: a worker refusing its options would only be restarted again and again.
        try cnb.check(hasRegistry: images.registry != nil)
        let logger = KilnLogging.bootstrap(format: logs.logFormat)
        KilnMetrics.bootstrap()
        let home = home.homeURL
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        // cgroup v2: the server and PostgreSQL in a leaf of their own, so that the workers can take this group's controllers for their builds.
        UnifiedHierarchy.moveIntoOwnLeaf()

        let postgres = databaseURL == nil ? LocalPostgres(directory: KilnHome(home).postgres, logger: logger) : nil
        if let postgres {
            try await postgres.start()
            logger.info("private PostgreSQL started", metadata: ["url": "\(postgres.url)"])
        }
        do {
            try await serve(home: home, databaseURL: databaseURL ?? postgres!.url, logger: logger)
        } catch {
            try? await postgres?.stop()
            throw error
        }
        try await postgres?.stop()
        logger.info("stopped")
    }

    private func serve(home: URL, databaseURL: String, logger: Logger) async throws {
        let url = try DatabaseURL(databaseURL)
        let environmentFile = KilnHome(home).environmentFile
        let server = "http://\(host):\(port)"
        let token = try await Database.with(url: url, logger: logger) { database in
            try await Migrations.apply(on: database)
            let catalog = Catalog(database: database)
            let token = EnvironmentFile.read(environmentFile)?.token ?? Catalog.newAdminKey()
            do {
                try await catalog.registerAdminKey(token)
                return token
            } catch let error as CatalogError where error.code == .revoked {
                // Never the revoked token again; whoever can start `kiln up` on this home may administer the farm, so a new token, said loudly.
                let replacement = Catalog.newAdminKey()
                try await catalog.registerAdminKey(replacement)
                logger.warning("the token in kiln.env was revoked; kiln up wrote a new one", metadata: ["file": "\(environmentFile.path)"])
                emit("The token in \(environmentFile.path) was revoked: kiln up wrote a new one (below); the revoked one stays refused")
                return replacement
            }
        }
        try EnvironmentFile(server: server, token: token).write(to: environmentFile)

        let database = Database(url: url, logger: logger)
        var configuration = ServerConfiguration(home: home, host: host, port: port, databaseURL: databaseURL)
        configuration.s3 = try blobs.settings()
        if let maxPushFileSize { configuration.maxPushFileSize = maxPushFileSize.bytes }
        configuration.fetchPolicy = try fetching.policy()
        configuration.sshPort = noSSH ? nil : sshPort
        configuration.registry = try images.settings(home: home)
        let services = ServiceGroup(services: try KilnServer.services(configuration: configuration, database: database, logger: logger),
                                    gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)

        emit("Kiln is starting on \(server) with \(workers) worker(s); home \(home.path)")
        emit("export KILN_SERVER=\(server)")
        emit("export KILN_TOKEN=\(token)")
        emit("(both are in \(environmentFile.path): `. \(environmentFile.path)`)")
        if !noSSH {
            let keys = try SSHHostKeys.loadOrCreate(home: KilnHome(home)).keys
            emit("git over SSH on \(host):\(sshPort): git push ssh://git@\(host):\(sshPort)/APP.git; host keys "
                 + keys.map { "\($0.fingerprint) (\($0.type))" }.joined(separator: ", "))
        }

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await services.run() }
            for index in 0..<workers {
                group.addTask {
                    try await Self.runWorker(index: index, home: home, databaseURL: databaseURL, capacity: capacity, cacheBudget: cacheBudget, options: slugs.arguments + blobs.arguments + images.arguments + fetching.arguments + runtimes.arguments + cnb.arguments
                                             + ["--build-time-limit", "\(buildTimeLimit)", "--build-log-limit", "\(buildLogLimit)", "--log-format", logs.logFormat.rawValue]
                                             + (buildCpus.map { ["--build-cpus", "\($0)"] } ?? []) + (unlimitedBuilds ? ["--unlimited-builds"] : [])
                                             + (stacks.map { ["--stacks", $0] } ?? []), logger: logger)
                }
            }
            // The service group ends on SIGTERM/SIGINT; then the workers are stopped.
            try await group.next()
            group.cancelAll()
            try await group.waitForAll()
        }
    }

    /// Runs one `kiln worker` child, restarting it if it dies, until cancelled.
    static func runWorker(index: Int, home: URL, databaseURL: String, capacity: Int, cacheBudget: ByteSize?, options: [String], logger: Logger) async throws {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        // `kiln up` is for one machine: a stopping worker gets 5 s to finish its
        // builds, then hands them back; it is killed if it takes 10 s in all.
        var command = Command(executable, ["worker", "--home", home.path, "--database-url", databaseURL, "--concurrency", "\(capacity)", "--drain-timeout", "5", "--parent-pid", "\(getpid())"])
        command.arguments += options
        if let cacheBudget {
            // One host, one disk: the same budget for each tier.
            command.arguments += ["--cache-budget", "\(cacheBudget.bytes)", "--shared-cache-budget", "\(cacheBudget.bytes)"]
        }
        command.gracePeriod = .seconds(10)
        while !Task.isCancelled {
            let status = try? await command.stream { line in
                // JSON lines stay JSON (they name their worker); text lines get a prefix.
                // Whoever read kiln up's output may be gone: a lost line, never a crash (FileHandle.write(_:) traps on EPIPE).
                try? FileHandle.standardError.write(contentsOf: Data((line.hasPrefix("{") ? "\(line)\n" : "[worker \(index)] \(line)\n").utf8))
            }
            if Task.isCancelled { return }
            logger.warning("worker exited; restarting it", metadata: ["worker": "\(index)", "status": "\(status.map(String.init) ?? "?")"])
            try await Task.sleep(for: .seconds(1))
        }
    }
}
