import Foundation
import KilnBlobStore
import KilnBuildLog
import KilnCache
import KilnCatalog
import KilnDatabase
import KilnProcess
import KilnQueue
import KilnS3
import KilnSandbox
import KilnSigning
import Logging
import Metrics
import ServiceLifecycle

/// A build worker: claims builds from the queue, up to its capacity at once,
/// supervises each through its phases (``BuildLifecycle``: the shared fetch,
/// then the ``BuildPipeline`` of its kind) and finishes it: a succeeded
/// build through the release phase (``RecordRelease``), any other with its
/// failure, cancellation or hand-back. Everything else a build needs is in
/// `Lifecycle/` (preparation, supervision, outage retries, cache collection).
///
/// Stateless: everything it needs is in the database and the blob store, so
/// any number of workers may run on any number of hosts. On graceful
/// shutdown (SIGTERM) it stops claiming and lets running builds finish.
public struct Worker: Service {
    let configuration: WorkerConfiguration
    let database: Database
    let queue: BuildQueue
    let blobs: BlobStorage
    let cache: DependencyCache
    /// The phases every build runs, up to its release.
    let lifecycle: BuildLifecycle
    let preparation: BuildPreparation
    let supervisor: BuildSupervisor
    let retry: OutageRetry
    let release: RecordRelease
    let collector: CacheCollector
    let logger: Logger
    /// Builds running now, and this worker's capacity, for metrics.
    let busySlots = Gauge(label: "kiln_worker_busy_slots")

    public init(configuration: WorkerConfiguration, database: Database, logger: Logger) throws {
        var logger = logger
        logger[metadataKey: "worker"] = "\(configuration.name)"
        self.configuration = configuration
        self.database = database
        self.queue = BuildQueue(database: database)
        self.blobs = try BlobStorage.open(directory: configuration.blobDirectory, s3: configuration.s3)
        let key = try FarmKey.loadOrCreate(at: configuration.keyFile)
        // Read once: a revocation reaches a worker with the copied keys/ and a restart (docs/operations.md).
        let publicKeys = try FarmKeyring.load(current: key, keyFile: configuration.keyFile).trusted
        let vault = try ConfigVault.load(from: configuration.configKeyFile)
        let rules: [String: CacheRule]
        do {
            rules = try CacheRule.load(from: configuration.cacheRulesDirectory)
        } catch {
            throw CacheRuleError("\(error); fix the rule in \(configuration.cacheRulesDirectory.path)")
        }
        let cache = DependencyCache(
            local: try CacheStore(root: configuration.localCacheDirectory), shared: try CacheStore(root: configuration.sharedCacheDirectory),
            rules: rules, buildersDirectory: configuration.buildersDirectory, scratchDirectory: configuration.cacheDirectory,
            farmWide: configuration.cacheSharedBetweenApps, probe: ToolchainProbe(user: configuration.buildUser, limits: configuration.buildLimits),
            recordUse: { [database, logger] use in
                WorkerMetrics.record(use)
                do {
                    try await database.bounded(.seconds(5)) { try await Catalog(database: database).recordCacheUse(use) }
                } catch {
                    logger.warning("cannot record the build's use of the cache", metadata: ["error": "\(String(reflecting: error))"])
                }
            })
        self.cache = cache
        let retry = OutageRetry(database: database, lease: configuration.lease)
        self.retry = retry
        self.lifecycle = BuildLifecycle(configuration: configuration, key: key, keys: publicKeys, cache: cache)
        self.preparation = BuildPreparation(configuration: configuration, database: database, log: BuildLog(database: database), vault: vault, retry: retry)
        self.supervisor = BuildSupervisor(configuration: configuration, database: database, queue: queue)
        self.release = RecordRelease(worker: configuration.name, database: database, queue: queue, registry: configuration.registry, retry: retry)
        self.collector = CacheCollector(tiers: [.init(name: "local", store: cache.local, budget: configuration.cacheBudget),
                                                .init(name: "shared", store: cache.shared, budget: configuration.sharedCacheBudget)],
                                        interval: configuration.cacheCollectInterval, logger: logger)
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
        let stacks = configuration.stacks
        logger.info("stacks", metadata: ["stacks": "\(stacks.available().joined(separator: ", "))", "directory": "\(stacks.directory.path)"])
        for problem in stacks.problems() { logger.warning("not a usable stack", metadata: ["problem": "\(problem)"]) }
        let registry = WorkerRegistry(database: database)
        try await registry.register(name: configuration.name, host: ProcessInfo.processInfo.hostName, pid: Int(getpid()), capacity: configuration.capacity,
                                    limits: limits.text, unlimited: limits.unlimited)
        try await withThrowingTaskGroup(of: Void.self) { background in
            background.addTask { await heartbeat(registry) }
            background.addTask { await collector.run() }
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
        let prepared: BuildPreparation.Prepared
        do {
            prepared = try await preparation.prepare(build)
        } catch {
            logger.error("cannot prepare the build", metadata: ["error": "\(String(reflecting: error))"])
            await retry.record("failure", of: build, logger: logger) { [queue, configuration] in
                try await queue.fail(build, worker: configuration.name, reason: "the worker could not prepare the build: \(String(reflecting: error))")
            }
            return
        }
        defer { prepared.workspace.remove() }
        let context = BuildContext(build: build, settings: prepared.settings, workspace: prepared.workspace, configuration: configuration,
                                   blobs: blobs, logSink: prepared.writer)

        let outcome = await supervisor.supervise(build) { [lifecycle] in try await lifecycle.run(context) }
        let elapsed = ContinuousClock.now - started
        if Task.isCancelled {
            await handBack(build, context: context, logger: logger)
            return
        }
        await finish(build, outcome: outcome, context: context, writer: prepared.writer, elapsed: elapsed, logger: logger)
    }

    /// The worker is shutting down past its drain timeout: the build goes
    /// back to the queue. This task is cancelled, so the hand-back runs in a
    /// task of its own, awaited.
    private func handBack(_ build: Build, context: BuildContext, logger: Logger) async {
        await Task { [queue, configuration] in
            await context.log("-----> Worker \(configuration.name) is stopping: build handed back to the queue")
            do {
                try await queue.handBack(build, worker: configuration.name)
            } catch {
                logger.error("cannot hand the build back; it will be rescued when its lease expires", metadata: ["error": "\(error)"])
            }
        }.value
    }

    /// Records what became of a build that ran to its end: the release
    /// phase for a success, otherwise its failure or cancellation.
    private func finish(_ build: Build, outcome: Result<Built, any Error>, context: BuildContext, writer: BuildLogWriter,
                        elapsed: Duration, logger: Logger) async {
        // Every line stored before the build is final: followers stop reading then.
        await writer.flush()
        WorkerMetrics.record(outcome: outcome, phases: context.timer.phases, elapsed: elapsed)
        switch outcome {
        case .success(let built):
            await context.log("-----> Build \(build.id) done in \(elapsed.formatted(.units(allowed: [.seconds, .milliseconds], width: .narrow))): \(built.product)")
            await writer.flush()
            await release.run(built, of: build, settings: context.settings, timings: context.timer.milliseconds, logger: logger)
        case .failure(let error as BuildSupervisionError) where error == .leaseLost:
            // Fenced out: whatever this attempt did no longer counts.
            logger.warning("build lease lost; leaving it to its retry")
        case .failure(let error as BuildSupervisionError) where error == .cancelled:
            await context.log("-----> Build \(build.id) cancelled")
            await writer.flush()
            await retry.record("cancellation", of: build, logger: logger) { [queue, configuration] in try await queue.markCancelled(build, worker: configuration.name) }
        case .failure(let error):
            let reason = Self.describe(error)
            await context.log(" !     \(reason)")
            await writer.flush()
            await retry.record("failure", of: build, logger: logger) { [queue, configuration, timings = context.timer.milliseconds] in
                try await queue.fail(build, worker: configuration.name, reason: reason, timings: timings)
            }
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
