import Foundation
import KilnBlobStore
import KilnBuildLog
import KilnCache
import KilnCatalog
import KilnDatabase
import KilnImage
import KilnQueue
import KilnS3
import KilnSandbox
import KilnSigning
import Logging
import Metrics
import ServiceLifecycle

/// A build worker: claims builds from the queue, up to its capacity at once,
/// runs each through the ``BuildPipeline`` and records the outcome.
///
/// Stateless: everything it needs is in the database and the blob store, so
/// any number of workers may run on any number of hosts. On graceful
/// shutdown (SIGTERM) it stops claiming and lets running builds finish.
public struct Worker: Service {
    let configuration: WorkerConfiguration
    let database: Database
    let queue: BuildQueue
    let log: BuildLog
    let blobs: BlobStorage
    let key: FarmKey
    /// The farm's current and retired public keys, as this worker's home holds them.
    let publicKeys: [FarmPublicKey]
    let vault: ConfigVault
    let cache: DependencyCache
    let logger: Logger
    /// Builds running now, and this worker's capacity, for metrics.
    let busySlots = Gauge(label: "kiln_worker_busy_slots")

    public init(configuration: WorkerConfiguration, database: Database, logger: Logger) throws {
        self.configuration = configuration
        self.database = database
        self.queue = BuildQueue(database: database)
        self.log = BuildLog(database: database)
        self.blobs = try BlobStorage.open(directory: configuration.blobDirectory, s3: configuration.s3)
        self.key = try FarmKey.loadOrCreate(at: configuration.keyFile)
        self.publicKeys = try FarmKeyring.publicKeys(current: key, keyFile: configuration.keyFile)
        self.vault = try ConfigVault.load(from: configuration.configKeyFile)
        let rules: [String: CacheRule]
        do {
            rules = try CacheRule.load(from: configuration.cacheRulesDirectory)
        } catch {
            throw CacheRuleError("\(error); fix the rule in \(configuration.cacheRulesDirectory.path)")
        }
        self.cache = DependencyCache(
            local: try CacheStore(root: configuration.localCacheDirectory), shared: try CacheStore(root: configuration.sharedCacheDirectory),
            rules: rules, buildersDirectory: configuration.buildersDirectory, scratchDirectory: configuration.cacheDirectory,
            farmWide: configuration.cacheSharedBetweenApps,
            recordUse: { [database, logger] use in
                WorkerMetrics.record(use)
                do {
                    try await database.bounded(.seconds(5)) { try await Catalog(database: database).recordCacheUse(use) }
                } catch {
                    logger.warning("cannot record the build's use of the cache", metadata: ["error": "\(String(reflecting: error))"])
                }
            })
        var logger = logger
        logger[metadataKey: "worker"] = "\(configuration.name)"
        self.logger = logger
    }

    /// What the worker enforces on its builds, found by making a group with
    /// its limits. A worker that cannot enforce them takes no build unless
    /// the operator said `--unlimited-builds`: a fork bomb must not reach the host.
    func checkLimits() async throws -> (text: String, unlimited: Bool) {
        let limits = configuration.buildLimits
        let missing = try await onThread { Sandbox.unenforceable(limits) }
        let enforced = "\(Sandbox.hierarchy): \(limits.summary)"
        guard !missing.isEmpty else { return (enforced, false) }
        guard configuration.unlimitedBuilds else {
            throw WorkerStartError("""
                this worker cannot enforce the build limits it was given (\(limits.summary)): \(missing.joined(separator: "; ")). \
                Give it the controllers (docs/operations.md, "Build limits": root on cgroup v1; on cgroup v2 a delegated group, \
                systemd's Delegate=yes), or start it with --unlimited-builds to run builds without them
                """)
        }
        logger.warning("builds run without the limits this host cannot enforce (--unlimited-builds)", metadata: ["missing": "\(missing.joined(separator: "; "))"])
        return ("not enforced: \(missing.joined(separator: "; "))", true)
    }

    /// Claims and runs builds until graceful shutdown; then drains: no more
    /// claims, running builds get up to the drain timeout to finish, and
    /// those still running after it are handed back to the queue.
    public func run() async throws {
        try await onThread { [blobs] in try blobs.check() }
        Gauge(label: "kiln_worker_slots").record(configuration.capacity)
        busySlots.record(0)
        let limits = try await checkLimits()
        logger.info("worker started", metadata: ["capacity": "\(configuration.capacity)", "blob_store": "\(blobs.location)", "build_limits": "\(limits.text)"])
        let registry = WorkerRegistry(database: database)
        try await registry.register(name: configuration.name, host: ProcessInfo.processInfo.hostName, pid: Int(getpid()), capacity: configuration.capacity,
                                    limits: limits.text, unlimited: limits.unlimited)
        try await withThrowingTaskGroup(of: Void.self) { background in
            background.addTask { await heartbeat(registry) }
            background.addTask { await collectCache() }
            defer { background.cancelAll() }
            if configuration.listensForWork {
                try await database.withListener(channels: [BuildQueue.workChannel]) { wakeups in
                    try await claimUntilShutdown(wakeups: wakeups)
                }
            } else {
                try await claimUntilShutdown(wakeups: Wakeups())
            }
        }
        try? await registry.deregister(name: configuration.name)
        logger.info("worker stopped")
    }

    private func claimUntilShutdown(wakeups: Wakeups) async throws {
        let draining = Flag()
        try await withGracefulShutdownHandler {
            try await claimLoop(wakeups: wakeups, draining: draining)
        } onGracefulShutdown: {
            Task {
                await draining.set()
                await wakeups.signal("drain")
            }
        }
    }

    private func claimLoop(wakeups: Wakeups, draining: Flag) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            var running = 0
            while !(await draining.isSet) && !Task.isCancelled {
                while running < configuration.capacity, !(await draining.isSet) {
                    let build: Build?
                    do {
                        build = try await queue.claim(worker: configuration.name, lease: configuration.lease)
                    } catch {
                        logger.warning("cannot claim from the queue", metadata: ["error": "\(String(reflecting: error))"])
                        break
                    }
                    guard let build else { break }
                    running += 1
                    busySlots.record(running)
                    group.addTask {
                        await execute(build)
                        await wakeups.signal("done")
                    }
                }
                let events = await wakeups.wait(timeout: configuration.pollInterval)
                running -= events.filter { $0 == "done" }.count
                busySlots.record(running)
            }
            // Draining: running builds have until the deadline, then go back to the queue.
            let deadline = ContinuousClock.now + configuration.drainTimeout
            while running > 0, ContinuousClock.now < deadline {
                logger.info("draining", metadata: ["running": "\(running)"])
                let events = await wakeups.wait(timeout: min(deadline - ContinuousClock.now, .seconds(5)))
                running -= events.filter { $0 == "done" }.count
            }
            if running > 0 {
                logger.warning("drain timeout: handing running builds back to the queue", metadata: ["running": "\(running)"])
                group.cancelAll()
            }
            try await group.waitForAll()
        }
    }

    /// Keeps each cache tier within its budget, now and then, while builds run.
    private func collectCache() async {
        let tiers = [("local", cache.local, configuration.cacheBudget), ("shared", cache.shared, configuration.sharedCacheBudget)]
        guard tiers.contains(where: { $0.2 != nil }) else { return }
        while !Task.isCancelled {
            for (name, store, budget) in tiers {
                guard let budget else { continue }
                do {
                    let collected = try await onThread { try store.collect(budget: budget) }
                    if collected.evictedEntries > 0 || collected.freedBytes > 0 {
                        logger.info("cache collected", metadata: ["tier": "\(name)", "evicted": "\(collected.evictedEntries)", "freed_bytes": "\(collected.freedBytes)"])
                    }
                } catch {
                    logger.warning("cannot collect the cache", metadata: ["tier": "\(name)", "error": "\(String(reflecting: error))"])
                }
            }
            try? await Task.sleep(for: configuration.cacheCollectInterval)
        }
    }

    private func heartbeat(_ registry: WorkerRegistry) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: configuration.heartbeat)
            if Task.isCancelled { return }
            do {
                try await registry.heartbeat(name: configuration.name)
            } catch {
                logger.warning("cannot record the worker's heartbeat", metadata: ["error": "\(String(reflecting: error))"])
            }
        }
    }

    /// Runs one claimed build to its end, whatever happens: the build is
    /// always left succeeded, failed or cancelled.
    func execute(_ build: Build) async {
        var logger = logger
        logger[metadataKey: "build"] = "\(build.id)"
        logger[metadataKey: "app"] = "\(build.app)"
        logger.info("build claimed")
        if let claimed = build.startedAt {
            // Enqueue to this claim (a rescued build's wait includes its first attempt).
            Metrics.Timer(label: "kiln_build_claim_wait_seconds").recordNanoseconds(Int64(max(0, claimed.timeIntervalSince(build.createdAt)) * 1e9))
        }
        let started = ContinuousClock.now
        let workspace: BuildWorkspace
        let writer: BuildLogWriter
        let settings: BuildSettings
        do {
            workspace = try BuildWorkspace.create(under: configuration.workDirectory, build: build.id, attempt: build.attempts)
            writer = try await openLog(build)
            settings = try await loadSettings(build)
        } catch {
            logger.error("cannot prepare the build", metadata: ["error": "\(String(reflecting: error))"])
            await record("failure", of: build, logger: logger) {
                try await queue.fail(build, worker: configuration.name, reason: "the worker could not prepare the build: \(String(reflecting: error))")
            }
            return
        }
        defer { workspace.remove() }
        let context = BuildContext(build: build, settings: settings, workspace: workspace, configuration: configuration, blobs: blobs, logWriter: writer)
        let pipeline = BuildPipeline(configuration: configuration, key: key, keys: publicKeys, cache: cache)

        let outcome = await supervise(build) { try await pipeline.run(context) }
        let elapsed = ContinuousClock.now - started
        if Task.isCancelled {
            // The worker is shutting down past its drain timeout. This task is
            // cancelled, so the hand-back runs in a task of its own, awaited.
            await Task {
                await context.log("-----> Worker \(configuration.name) is stopping: build handed back to the queue")
                do {
                    try await queue.handBack(build, worker: configuration.name)
                } catch {
                    logger.error("cannot hand the build back; it will be rescued when its lease expires", metadata: ["error": "\(error)"])
                }
            }.value
            return
        }
        // Every line stored before the build is final: followers stop reading then.
        await writer.flush()
        WorkerMetrics.record(outcome: outcome, phases: context.timer.phases, elapsed: elapsed)
        switch outcome {
        case .success(let (result, signed)):
            let product = result.slugDigest.map { "slug sha256:\($0)" + (result.image.map { ", image \($0)" } ?? "") } ?? "image \(result.image ?? "")"
            await context.log("-----> Build \(build.id) done in \(elapsed.formatted(.units(allowed: [.seconds, .milliseconds], width: .narrow))): \(product)")
            await writer.flush()
            await record("success", of: build, logger: logger) {
                try await queue.succeed(build, worker: configuration.name, result: result, timings: context.timer.milliseconds) { connection, logger in
                    let source = build.commit.map { " (\($0.prefix(12)))" } ?? ""
                    try await Catalog.recordRelease(app: build.app, buildSeq: build.seq, slugDigest: result.slugDigest,
                                                    configVersion: settings.config.version, description: "Deploy \(build.id)\(source)",
                                                    upgrade: signed.manifest.upgrade.map { Release.Upgrade(from: $0.from, to: $0.to) },
                                                    upgradeBase: settings.running?.version,
                                                    idempotencyKey: build.id, on: connection, logger: logger)
                }
            }
            if let image = result.image { await tagRelease(image, of: build, logger: logger) }
        case .failure(let error as BuildSupervisionError) where error == .leaseLost:
            // Fenced out: whatever this attempt did no longer counts.
            logger.warning("build lease lost; leaving it to its retry")
        case .failure(let error as BuildSupervisionError) where error == .cancelled:
            await context.log("-----> Build \(build.id) cancelled")
            await writer.flush()
            await record("cancellation", of: build, logger: logger) { try await queue.markCancelled(build, worker: configuration.name) }
        case .failure(let error):
            let reason = Self.describe(error)
            await context.log(" !     \(reason)")
            await writer.flush()
            await record("failure", of: build, logger: logger) {
                try await queue.fail(build, worker: configuration.name, reason: reason, timings: context.timer.milliseconds)
            }
        }
    }

    /// Tags a released image `vN` in the registry, beside its `b-N` tag.
    /// Only a convenience for people browsing it: releases name the digest.
    func tagRelease(_ image: String, of build: Build, logger: Logger) async {
        guard let registry = configuration.registry else { return }
        do {
            guard let release = try await Catalog(database: database).releases(app: build.app).first(where: { $0.build == build.id }) else { return }
            let reference = try ImageReference(parsing: image)
            try await ImageTagger(registry: registry).tag(reference, as: "v\(release.version)")
        } catch {
            logger.warning("cannot tag the released image", metadata: ["image": "\(image)", "error": "\(error)"])
        }
    }

    /// Opens the build's log, waiting out a database that is briefly away
    /// (the build was claimed a moment ago, so it is back soon or the lease
    /// runs out and the build is rescued).
    func openLog(_ build: Build) async throws -> BuildLogWriter {
        // One budget for the whole build's log: each script's own cap is also the total.
        let limit = configuration.buildLimits.outputBytes
        return try await waitingOutOutage { [log] in try await log.writer(buildSeq: build.seq, limit: limit) }
    }

    /// The app's settings and config as the build starts, read the same patient way.
    func loadSettings(_ build: Build) async throws -> BuildSettings {
        try await waitingOutOutage { [database, vault] in
            let catalog = Catalog(database: database)
            // A clean build purges the app's cache on every worker: its keys change.
            if build.clean { _ = try? await catalog.purgeCache(app: build.app) }
            guard let app = try await catalog.app(named: build.app) else { throw BuildFailure("the app \(build.app) no longer exists") }
            return BuildSettings(app: app, config: try await catalog.config(app: build.app, vault: vault),
                                 running: build.hot ? try await catalog.runningRelease(app: build.app) : nil)
        }
    }

    /// Runs a read the build needs before it starts, retrying with back-off
    /// for up to one lease while the database is away.
    func waitingOutOutage<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        var delay = Duration.milliseconds(250)
        let deadline = ContinuousClock.now + configuration.lease
        while true {
            do {
                return try await database.bounded(.seconds(15)) { try await body() }
            } catch {
                guard ContinuousClock.now < deadline, !(error is BuildFailure) else { throw error }
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }

    /// Records a build's outcome, retrying with back-off while the database
    /// is unreachable: a finished build's result is not thrown away because
    /// PostgreSQL restarted. Completion is fenced, so a retry of a write that
    /// did land is refused harmlessly.
    func record(_ what: String, of build: Build, logger: Logger, _ write: @escaping @Sendable () async throws -> Void) async {
        var delay = Duration.milliseconds(250)
        let deadline = ContinuousClock.now + configuration.lease * 10
        while true {
            do {
                try await database.bounded(.seconds(30)) { try await write() }
                logger.info("build outcome recorded", metadata: ["outcome": "\(what)"])
                return
            } catch let error as QueueError where error.code == .fenced {
                logger.warning("build outcome not recorded: the build is no longer this worker's", metadata: ["outcome": "\(what)", "reason": "\(error.message)"])
                return
            } catch {
                guard ContinuousClock.now < deadline else {
                    logger.error("giving up recording the build's outcome; the build will be rescued and retried", metadata: ["outcome": "\(what)", "error": "\(String(reflecting: error))"])
                    return
                }
                logger.warning("cannot record the build's outcome; retrying", metadata: ["outcome": "\(what)", "error": "\(String(reflecting: error))"])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }

    /// Runs `body` while renewing the build's lease; stops it when the build
    /// is cancelled, when the lease is lost, or when it runs out of time.
    func supervise<T: Sendable>(_ build: Build, _ body: @escaping @Sendable () async throws -> T) async -> Result<T, any Error> {
        await withTaskGroup(of: Result<T, any Error>?.self) { group in
            group.addTask {
                do { return .success(try await body()) } catch { return .failure(error) }
            }
            group.addTask {
                let clock = ContinuousClock()
                var lastRenewal = clock.now
                while !Task.isCancelled {
                    try? await Task.sleep(for: configuration.cancelCheck)
                    if Task.isCancelled { return nil }
                    // Bounded: a query that hangs must not stall cancel checks and renewals.
                    if (try? await database.bounded(.seconds(5)) { [queue] in try await queue.isCancelRequested(build) }) == true {
                        return .failure(BuildSupervisionError.cancelled)
                    }
                    guard clock.now - lastRenewal >= configuration.heartbeat else { continue }
                    // A failed renewal (database briefly away) is retried at the next tick.
                    if let held = try? await database.bounded(.seconds(5), { [queue, configuration] in
                        try await queue.renew(build, worker: configuration.name, lease: configuration.lease)
                    }) {
                        if !held { return .failure(BuildSupervisionError.leaseLost) }
                        lastRenewal = clock.now
                    }
                }
                return nil
            }
            group.addTask {
                try? await Task.sleep(for: configuration.buildTimeout)
                return Task.isCancelled ? nil : .failure(BuildSupervisionError.timedOut(configuration.buildTimeout))
            }
            var outcome: Result<T, any Error> = .failure(BuildSupervisionError.cancelled)
            while let next = await group.next() {
                if let next {
                    outcome = next
                    break
                }
            }
            group.cancelAll()
            return outcome
        }
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case let error as BuildFailure: error.message
        case let error as any CustomStringConvertible: error.description
        default: String(reflecting: error)
        }
    }
}

/// A worker that cannot start as configured; the message says what to change.
struct WorkerStartError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
