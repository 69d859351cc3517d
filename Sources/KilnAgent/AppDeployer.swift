import Foundation
import KilnProcess
import KilnSlug
import Logging

/// One app's deploys, one at a time in the order they were taken (a newer
/// hand-off waits behind the one in progress), its stable port's proxy and
/// its current web process. Each deploy starts the new process on a private
/// port, waits until it answers, swaps it in behind the stable port, and only
/// then stops the previous one, once its proxied connections have finished.
actor AppDeployer {
    let app: String
    private let context: AgentContext
    private var logger: Logger
    private var proxy: StableProxy?
    /// The process serving the app, and the version it serves (a hot upgrade changes the version, not the process).
    private var process: WebProcess?
    private var version: Int?
    private let jobs: AsyncStream<DeployJob>.Continuation
    private let queued: AsyncStream<DeployJob>
    /// Takes the queued jobs one at a time; started with the first, ended by ``shutdown()``.
    private var loop: Task<Void, Never>?

    init(app: String, context: AgentContext) {
        self.app = app
        self.context = context
        var logger = context.logger
        logger[metadataKey: "app"] = "\(app)"
        self.logger = logger
        (queued, jobs) = AsyncStream.makeStream(of: DeployJob.self)
    }

    /// Queues a deploy behind those already queued.
    func enqueue(_ job: DeployJob) {
        if loop == nil {
            let queued = self.queued
            loop = Task {
                for await job in queued {
                    await self.perform(job)
                }
            }
        }
        jobs.yield(job)
    }

    /// What `GET /apps/APP` shows of the live state.
    struct Live: Sendable {
        var port: Int?
        var version: Int?
        var running: Bool
    }

    var live: Live {
        Live(port: proxy?.port ?? context.store.record(app)?.port, version: version, running: process.map { !$0.hasExited } ?? false)
    }

    /// Ends the queue, the deploy in progress, the web process and the stable port.
    func shutdown() async {
        jobs.finish()
        loop?.cancel()
        await loop?.value
        await process?.stop()
        process = nil
        await proxy?.close()
        proxy = nil
    }

    // MARK: - One deploy

    private func perform(_ job: DeployJob) async {
        switch job {
        case .handoff(let verified):
            let handoff = verified.handoff
            var logger = self.logger
            logger[metadataKey: "version"] = "v\(handoff.version)"
            await context.reporter.report(.deploying, to: handoff.statusURL, app: app, version: handoff.version)
            do {
                _ = try await stableProxy()
                let note: String?
                if let hot = handoff.hot {
                    note = try await hotUpgrade(verified, upgrade: hot, logger: logger)
                } else if handoff.slug != nil {
                    try await deploySlug(verified, logger: logger)
                    note = nil
                } else {
                    try await deployImage(verified, logger: logger)
                    note = nil
                }
                logger.info("deploy succeeded")
                // The directories no process uses go before the outcome is recorded (the old process's, still
                // draining, is in use and stays until the next deploy): whoever waits for it finds them gone.
                pruneReleases()
                // Reported before it is recorded: whoever waits for the outcome finds Kiln told already.
                await context.reporter.report(.succeeded, reason: note, to: handoff.statusURL, app: app, version: handoff.version)
                context.store.append(DeployRecord(version: handoff.version, outcome: .succeeded, reason: note), app: app)
            } catch {
                let reason = error is CancellationError ? "the agent stopped before v\(handoff.version) was swapped in" : "\(error)"
                logger.error("deploy failed", metadata: ["reason": "\(reason)"])
                removeUnused(context.directory(of: app).appendingPathComponent("v\(handoff.version)"))
                await context.reporter.report(.failed, reason: reason, to: handoff.statusURL, app: app, version: handoff.version)
                context.store.append(DeployRecord(version: handoff.version, outcome: .failed, reason: reason), app: app)
            }
        case .restart(let current):
            do {
                try await restart(current)
                context.store.append(DeployRecord(version: current.version, outcome: .succeeded, reason: "started again when the agent started"), app: app)
            } catch {
                logger.error("restart failed", metadata: ["version": "v\(current.version)", "reason": "\(error)"])
                context.store.append(DeployRecord(version: current.version, outcome: .failed, reason: "not started again when the agent started: \(error)"), app: app)
            }
        }
        await retireOldProcesses()
        pruneReleases()
    }

    /// A slug release by restart: fetched, checked, unpacked, started, swapped in.
    private func deploySlug(_ verified: HandoffCheck.Verified, logger: Logger) async throws {
        let handoff = verified.handoff
        let directory = try await fetchSlug(verified, logger: logger)
        guard let command = verified.manifest.processTypes["web"] else {
            throw AgentError("the release has no web process type (it has \(verified.manifest.processTypes.keys.sorted().joined(separator: ", ")))")
        }
        let environment = try await environment(for: verified, logger: logger)
        let current = CurrentRelease(version: handoff.version, directory: directory.lastPathComponent, launch: Launch(kind: .slug, command: command),
                                     environment: environment)
        try await start(current, logger: logger)
    }

    /// Downloads, checks and unpacks the hand-off's slug into `DIR/APP/vN`; returns that directory.
    private func fetchSlug(_ verified: HandoffCheck.Verified, logger: Logger) async throws -> URL {
        let handoff = verified.handoff
        guard let slug = handoff.slug else { throw AgentError("the hand-off has no slug") }
        let directory = try freshReleaseDirectory(handoff.version)
        // Beside the release directory, not in it: nothing the slug unpacks can land on the file being read.
        let file = context.directory(of: app).appendingPathComponent(".v\(handoff.version).slug")
        defer { try? FileManager.default.removeItem(at: file) } // farm-owned: the agent's download, beside the release directory
        logger.info("downloading the slug", metadata: ["sha256": "\(slug.sha256)"])
        try await ReleaseFiles.downloadSlug(slug.url, to: file, maxBytes: context.configuration.maxSlugBytes, sha256: verified.manifest.sha256)
        logger.info("unpacking the slug", metadata: ["directory": "\(directory.path)"])
        try await ReleaseFiles.unpack(file, into: directory)
        let unpacked = try? FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent("app").path) // farm-owned: just unpacked, safely; not followed
        guard unpacked?[.type] as? FileAttributeType == .typeDirectory else {
            try? FileManager.default.removeItem(at: directory) // farm-owned: the agent's release directory (removal follows no link)
            throw AgentError("the slug has no app/ directory")
        }
        return directory
    }

    /// The variables the release's processes get: the manifest's defaults, `--app-env`, then the config vars.
    private func environment(for verified: HandoffCheck.Verified, logger: Logger) async throws -> [String: String] {
        var environment = verified.manifest.configVars ?? [:]
        environment.merge(context.configuration.appEnvironment[app] ?? [:]) { $1 }
        if let config = verified.handoff.config {
            logger.info("fetching the config vars", metadata: ["config_version": "\(config.version)"])
            environment.merge(try await ReleaseFiles.configVars(config.url, app: app, version: config.version)) { $1 }
        }
        environment.removeValue(forKey: "PORT")
        return environment
    }

    /// An image release: pulled by digest, checked, unpacked, started, swapped in.
    private func deployImage(_ verified: HandoffCheck.Verified, logger: Logger) async throws {
        let handoff = verified.handoff
        guard let image = handoff.image else { throw AgentError("the hand-off has neither a slug nor an image") }
        let directory = try freshReleaseDirectory(handoff.version)
        let layout = directory.appendingPathComponent("layout")
        logger.info("pulling the image", metadata: ["image": "\(image.reference)"])
        let insecure = context.configuration.insecureRegistry
        // The manifest first: its digest is the signed one, and the sizes it declares are within the limit before any layer is copied.
        try await OCIImage.checkRemoteManifest(image.reference, sha256: verified.manifest.sha256, maxBytes: context.configuration.maxImageBytes,
                                               insecure: insecure, timeout: Self.skopeoTimeout)
        let tls = insecure ? ["--src-tls-verify=false"] : []
        let copied = try await Command("skopeo", ["--command-timeout", Self.skopeoTimeout, "copy", "--quiet"] + tls
            + ["docker://\(image.reference)", "oci:\(layout.path):run"]).run()
        guard copied.succeeded else {
            throw AgentError("the image \(image.reference) cannot be pulled: \(Self.tail(copied.output))")
        }
        let pulled = try OCIImage(layout: layout)
        guard pulled.manifestDigest == "sha256:" + verified.manifest.sha256 else {
            throw AgentError("the image's manifest digest is \(pulled.manifestDigest), the signed manifest says sha256:\(verified.manifest.sha256)")
        }
        logger.info("unpacking the image")
        let rootfs = directory.appendingPathComponent("rootfs")
        let unpacked = try await Command("umoci", ["raw", "unpack"] + (getuid() == 0 ? [] : ["--rootless"]) + ["--image", "\(layout.path):run", rootfs.path]).run()
        guard unpacked.succeeded else { throw AgentError("the image cannot be unpacked: \(Self.tail(unpacked.output))") }
        // Unpacked as root: no setuid or setgid bit, device node, fifo or socket of the image stays, before anything of it runs.
        try await onThread { try OCIImage.sanitize(rootfs: rootfs) }
        var argv = pulled.entrypoint + pulled.cmd
        if argv.isEmpty, let web = verified.manifest.processTypes["web"] { argv = ["/bin/sh", "-c", web] }
        guard !argv.isEmpty else { throw AgentError("the image has no ENTRYPOINT or CMD to run") }
        let environment = try await environment(for: verified, logger: logger)
        let current = CurrentRelease(version: handoff.version, directory: directory.lastPathComponent,
                                     launch: Launch(kind: .image, argv: argv, workingDirectory: pulled.workingDirectory, imageEnvironment: pulled.environment),
                                     environment: environment)
        try await start(current, logger: logger)
    }

    /// A hot release: applied to the running slug process in place when there
    /// is one, else deployed by restart. Returns a note for the outcome.
    private func hotUpgrade(_ verified: HandoffCheck.Verified, upgrade: SlugUpgrade, logger: Logger) async throws -> String? {
        let handoff = verified.handoff
        guard let running = process, !running.hasExited, let recorded = context.store.record(app)?.current, recorded.launch.kind == .slug else {
            logger.info("no running slug process to upgrade in place: deploying by restart")
            try await deploySlug(verified, logger: logger)
            return "deployed by restart: no slug process was running to upgrade in place"
        }
        let directory = try await fetchSlug(verified, logger: logger)
        guard let command = verified.manifest.processTypes["web"] else { throw AgentError("the release has no web process type") }
        logger.info("applying the hot upgrade", metadata: ["from": "\(upgrade.from)", "to": "\(upgrade.to)", "running": "v\(running.version)"])
        let environment = running.environment.merging(["PORT": "\(running.port)"]) { $1 }
        let (status, output) = try await context.launcher.hotUpgrade(running: running.directory.appendingPathComponent("app"),
                                                                    new: directory.appendingPathComponent("app"), command: upgrade.command,
                                                                    release: upgrade.release, environment: environment)
        guard status == 0 else {
            throw AgentError("the hot upgrade \(upgrade.from) -> \(upgrade.to) exited with status \(status); the process still runs v\(version ?? running.version): \(output)")
        }
        version = handoff.version
        // A later start (the agent's restart) boots the new slug, whose release is the upgraded one.
        try context.store.update(app) {
            $0.current = CurrentRelease(version: handoff.version, directory: directory.lastPathComponent, launch: Launch(kind: .slug, command: command),
                                        environment: running.environment)
        }
        return "hot upgrade \(upgrade.from) -> \(upgrade.to) applied in place to the process of v\(running.version)"
    }

    /// The recorded current release started again, as at a deploy.
    private func restart(_ current: CurrentRelease) async throws {
        var logger = self.logger
        logger[metadataKey: "version"] = "v\(current.version)"
        logger.info("starting the current release again")
        try await start(current, logger: logger)
    }

    /// Starts `current` on a private port, waits until it answers, swaps it in and records it.
    private func start(_ current: CurrentRelease, logger: Logger) async throws {
        let proxy = try await stableProxy()
        let directory = context.directory(of: app).appendingPathComponent(current.directory)
        let port = try WebProcess.freePort()
        let environment = current.environment.merging(["PORT": "\(port)"]) { $1 }
        let runner: WebProcess.Runner
        switch current.launch.kind {
        case .slug:
            let appDirectory = directory.appendingPathComponent("app")
            try context.launcher.user?.own(appDirectory)
            runner = context.launcher.slug(app: appDirectory, command: current.launch.command ?? "", environment: environment)
        case .image:
            runner = context.launcher.image(rootfs: directory.appendingPathComponent("rootfs"), argv: current.launch.argv ?? [],
                                            workingDirectory: current.launch.workingDirectory ?? "/", imageEnvironment: current.launch.imageEnvironment ?? [],
                                            environment: environment)
        }
        logger.info("starting web", metadata: ["private_port": "\(port)"])
        let started = WebProcess.start(port: port, version: current.version, directory: directory, environment: current.environment, runner: runner) {
            [weak self] process, status in
            Task { await self?.exited(process, status: status) }
        }
        do {
            try await started.waitUntilServing(within: context.configuration.bootTimeout)
        } catch {
            await started.stop()
            throw error
        }
        // Recorded before the swap: the release the stable port sends to is always the one the record starts again.
        let recorded = context.store.record(app)?.current
        do {
            // The agent stopping during the boot (SIGTERM) is not a readiness: nothing is swapped in.
            try Task.checkCancellation()
            try context.store.update(app) { $0.current = current }
        } catch {
            await started.stop()
            throw error
        }
        logger.info("web answers; swapping it in", metadata: ["private_port": "\(port)", "stable_port": "\(proxy.port)"])
        let previous = process
        let previousBackend = proxy.swap(to: ProxyBackend(port: port))
        guard !started.hasExited else {
            // It answered, then ended before the swap took: the previous process serves again.
            _ = proxy.swap(to: previousBackend)
            try? context.store.update(app) { $0.current = recorded }
            throw AgentError("web exited right after it answered: \(started.lastLines)")
        }
        process = started
        version = current.version
        if let previous { retiring.append((previous, previousBackend)) }
    }

    /// Processes swapped out, with the backend their connections count on, to be stopped once those finish.
    private var retiring: [(WebProcess, ProxyBackend?)] = []

    /// Stops each swapped-out process once its proxied connections have finished (at most the drain timeout).
    private func retireOldProcesses() async {
        let old = retiring
        retiring = []
        for (process, backend) in old {
            if let backend, await !backend.drained(within: context.configuration.drainTimeout) {
                logger.warning("connections still open after the drain timeout; stopping anyway",
                               metadata: ["version": "v\(process.version)", "connections": "\(backend.liveConnections)"])
            }
            logger.info("stopping the previous process", metadata: ["version": "v\(process.version)", "private_port": "\(process.port)"])
            await process.stop()
        }
    }

    /// The current process ended by itself: the stable port refuses connections until the next deploy.
    private func exited(_ ended: WebProcess, status: Int32) {
        guard ended === process else { return }
        logger.error("web exited", metadata: ["version": "v\(ended.version)", "status": "\(status)", "output": "\(ended.lastLines)"])
        _ = proxy?.swap(to: nil)
        process = nil
        version = nil
    }

    // MARK: - Ports and directories

    /// The app's proxy, listening once on its stable port: `--app-port`, else
    /// the one recorded, else the first free one of the range.
    private func stableProxy() async throws -> StableProxy {
        if let proxy { return proxy }
        let configuration = context.configuration
        let host = "127.0.0.1"
        let opened: StableProxy
        if let chosen = configuration.appPorts[app] ?? context.store.record(app)?.port {
            do {
                opened = try await StableProxy.listen(host: host, port: chosen)
            } catch {
                throw AgentError("the stable port \(chosen) of \(app) cannot be listened on: \(error)")
            }
        } else {
            let taken = Set(context.store.appNames.compactMap { context.store.record($0)?.port } + configuration.appPorts.values)
            var found: StableProxy?
            for port in configuration.portRange where !taken.contains(port) {
                if let listening = try? await StableProxy.listen(host: host, port: port) {
                    found = listening
                    break
                }
            }
            guard let found else {
                throw AgentError("no free port left in \(configuration.portRange.lowerBound)-\(configuration.portRange.upperBound) for \(app): widen --port-range")
            }
            opened = found
        }
        try context.store.update(app) { $0.port = opened.port }
        let directory = context.directory(of: app)
        // 0711: traversable by the run user for the sandbox's binds, not listable by others.
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o711]) // farm-owned: the agent's directories
        chmod(directory.path, 0o711) // farm-owned: the agent's directories
        try Data("\(opened.port)\n".utf8).write(to: directory.appendingPathComponent("port"))
        logger.info("listening on the stable port", metadata: ["stable_port": "\(opened.port)"])
        proxy = opened
        return opened
    }

    /// `DIR/APP/vN`, empty (what an earlier attempt left is removed), unless a running process uses it.
    private func freshReleaseDirectory(_ version: Int) throws -> URL {
        let directory = context.directory(of: app).appendingPathComponent("v\(version)")
        guard !inUse.contains(directory.lastPathComponent) else {
            throw AgentError("v\(version) is the release directory of the running process; it is not replaced")
        }
        try? FileManager.default.removeItem(at: directory) // farm-owned: a release directory of the agent's (removal follows no link)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o711]) // farm-owned: the agent's directories
        return directory
    }

    /// Release directories the running processes or the record need.
    private var inUse: Set<String> {
        var names = Set([process?.directory.lastPathComponent].compactMap { $0 } + retiring.map { $0.0.directory.lastPathComponent })
        if let current = context.store.record(app)?.current { names.insert(current.directory) }
        return names
    }

    private func removeUnused(_ directory: URL) {
        guard !inUse.contains(directory.lastPathComponent) else { return }
        try? FileManager.default.removeItem(at: directory) // farm-owned: a release directory of the agent's (removal follows no link)
    }

    /// Keeps the two newest release directories and those in use; removes the others.
    private func pruneReleases() {
        let directory = context.directory(of: app)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [] // farm-owned: DIR/APP, the agent's
        let versions = names.compactMap { name -> (Int, String)? in
            guard name.hasPrefix("v"), let number = Int(name.dropFirst()) else { return nil }
            return (number, name)
        }.sorted { $0.0 > $1.0 }
        let keep = Set(versions.prefix(2).map(\.1)).union(inUse)
        for (_, name) in versions where !keep.contains(name) {
            logger.info("removing an old release directory", metadata: ["directory": "\(name)"])
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(name)) // farm-owned: a release directory of the agent's (removal follows no link)
        }
    }

    /// skopeo's limit on one command (`--command-timeout`): a registry that stalls fails the release.
    static let skopeoTimeout = "10m"

    static func tail(_ output: String) -> String {
        output.split(separator: "\n").suffix(5).joined(separator: "\n")
    }
}
