import Foundation
import KilnArchive
import KilnBlobStore
import KilnBuildLog
import KilnCatalog
import KilnDatabase
import KilnGit
import KilnHome
import KilnQueue

/// git's pre-receive hook for a push to an app: exports the pushed commit of
/// the deploy branch into a source archive, queues its build, and streams the
/// build's log to the pusher (git shows it as `remote:` lines). The hook's
/// exit status accepts or rejects the push: a failed build rejects it.
///
/// If the pusher disconnects, the hook dies with its connection but the build
/// goes on; the line before the log says how to follow it.
public struct PushHook: Sendable {
    /// One ref update, as git passes it on standard input.
    public struct Update: Sendable, Equatable {
        public var old: String
        public var new: String
        public var ref: String

        /// Parses `OLD NEW REF` lines.
        public static func parse(_ text: String) -> [Update] {
            text.split(separator: "\n").compactMap { line in
                let parts = line.split(separator: " ")
                guard parts.count == 3 else { return nil }
                return Update(old: String(parts[0]), new: String(parts[1]), ref: String(parts[2]))
            }
        }

        var isDeletion: Bool { new.allSatisfy { $0 == "0" } }
    }

    let environment: PushHookEnvironment
    let database: Database
    let print: @Sendable (String) -> Void

    public init(environment: PushHookEnvironment, database: Database, print: @escaping @Sendable (String) -> Void) {
        self.environment = environment
        self.database = database
        self.print = print
    }

    /// Handles the updates of one push; returns the hook's exit status.
    public func run(updates: [Update], repository: String, quarantine: String?) async throws -> Int32 {
        let catalog = Catalog(database: database)
        guard let app = try await catalog.app(named: environment.app) else {
            print("push rejected: \(try await catalog.absentApp(environment.app).message)")
            return 1
        }
        let deployRef = "refs/heads/\(app.deployBranch)"
        var status: Int32 = 0
        for update in updates {
            guard update.ref == deployRef, !update.isDeletion else {
                if !update.isDeletion {
                    print("-----> \(update.ref.replacingOccurrences(of: "refs/heads/", with: "")) is not the deploy branch (\(app.deployBranch)): stored, not built")
                }
                continue
            }
            let build: Build
            do {
                build = try await enqueue(update: update, app: app, repository: repository, quarantine: quarantine)
            } catch let error as QueueError where error.code == .full {
                print("push rejected: \(error.message)")
                return 1
            } catch let error as CatalogError {
                // Deleted while the push was being exported.
                print("push rejected: \(error.message)")
                return 1
            }
            if let pusher = environment.pusher { print("-----> Pushed with \(pusher)") }
            print("-----> Build \(build.id) queued for \(app.name) at \(update.new.prefix(12)); follow it with `kiln logs \(build.id) -f`")
            status = max(status, try await follow(build))
        }
        return status
    }

    func enqueue(update: Update, app: App, repository: String, quarantine: String?) async throws -> Build {
        let blobs = try environment.blobStorage()
        // A short-lived process of its own: blocking libgit2 and libarchive calls are fine here.
        let repo = try GitRepository(path: repository, quarantine: quarantine)
        repo.maxFileSize = environment.maxFileSize
        let blob = try blobs.makeWriter()
        let writer = try ArchiveWriter(compression: .zstd, level: 3) { try blob.write($0) }
        try repo.exportTree(commit: update.new, into: writer)
        let submodules = try repo.submodules(of: update.new)
        if !submodules.isEmpty {
            // Per app: one app's push never exports a commit another app's push fetched.
            let cache = KilnHome(path: environment.home).submoduleCache(app: app.name)
            try await SubmoduleExport(cache: cache, policy: environment.fetchPolicy, print: print).export(submodules, under: "", into: writer)
        }
        try writer.finish()
        let digest = try blob.commit()
        // Before the build names it: a worker on another host fetches it from the farm's store.
        try blobs.publish(digest)
        let request = BuildRequest(app: app.name, commit: update.new, branch: app.deployBranch, sourceDigest: digest.hex,
                                   clean: environment.clean, hot: environment.hot)
        return try await Catalog(database: database).queueBuild(app: app.name) { try await BuildQueue(database: database).enqueue(request) }
    }

    /// Prints the build's log as it grows until the build ends; returns 0 if it succeeded.
    func follow(_ build: Build) async throws -> Int32 {
        let queue = BuildQueue(database: database)
        let log = BuildLog(database: database)
        return try await database.withListener(channels: [BuildLog.channel, BuildQueue.stateChannel]) { wakeups in
            var cursor = 0
            var unreachableSince: ContinuousClock.Instant?
            while true {
                let current: Build?, lines: [LogLine]
                do {
                    // Read the state before the lines: a final state read first guarantees its last lines are visible.
                    current = try await queue.build(id: build.id)
                    lines = try await log.lines(buildSeq: build.seq, after: cursor)
                    unreachableSince = nil
                } catch {
                    // The database restarting is no reason to drop the pusher: wait for it a while.
                    let since = unreachableSince ?? ContinuousClock.now
                    unreachableSince = since
                    guard ContinuousClock.now - since < .seconds(120) else { throw error }
                    try await Task.sleep(for: .seconds(1))
                    continue
                }
                guard let current else { throw ReceiverError("build \(build.id) disappeared") }
                for line in lines { print(line.text) }
                cursor = lines.last?.number ?? cursor
                if current.state.isFinal, lines.isEmpty {
                    return try await report(current)
                }
                if lines.isEmpty { _ = await wakeups.wait(timeout: .seconds(2)) }
            }
        }
    }

    func report(_ build: Build) async throws -> Int32 {
        // One line of where the time went, before the verdict (a rejection's reason stays the last line).
        if !build.timingSummary.isEmpty { print("-----> Timings: \(build.timingSummary)") }
        switch build.state {
        case .succeeded:
            let release = try await Catalog(database: database).releases(app: build.app).first { $0.build == build.id }
            print("-----> Released \(build.app) v\(release?.version ?? 0) (build \(build.id))")
            return 0
        case .superseded:
            let newer = try await BuildQueue(database: database).builds(app: build.app, limit: 1).first
            print("push rejected: build \(build.id) was superseded by \(newer?.id ?? "a newer build"), from a newer push of \(build.app)")
        case .cancelled:
            print("push rejected: build \(build.id) was cancelled")
        default:
            print("push rejected: build \(build.id) failed: \(build.error ?? "unknown error") — see `kiln logs \(build.id)`")
        }
        return 1
    }
}
