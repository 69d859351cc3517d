import Foundation
import KilnBuildLog
import KilnCatalog
import KilnDatabase
import KilnQueue

/// What a claimed build needs before its first phase: its workspace, its
/// log and the app's settings and config, read the patient way
/// (``OutageRetry/waitingOutOutage(_:)``).
struct BuildPreparation: Sendable {
    /// A prepared build.
    struct Prepared: Sendable {
        let workspace: BuildWorkspace
        let writer: BuildLogWriter
        let settings: BuildSettings
    }

    let configuration: WorkerConfiguration
    let database: Database
    let log: BuildLog
    let vault: ConfigVault
    let retry: OutageRetry

    /// Makes the attempt's workspace, opens its log and reads its settings;
    /// throws what stopped it (the build then fails with it).
    func prepare(_ build: Build) async throws -> Prepared {
        let workspace = try BuildWorkspace.create(under: configuration.workDirectory, build: build.id, attempt: build.attempts)
        do {
            return Prepared(workspace: workspace, writer: try await openLog(build), settings: try await loadSettings(build))
        } catch {
            workspace.remove()
            throw error
        }
    }

    /// Opens the build's log, waiting out a database that is briefly away.
    func openLog(_ build: Build) async throws -> BuildLogWriter {
        // One budget for the whole build's log: each script's own cap is also the total.
        let limit = configuration.buildLimits.outputBytes
        return try await retry.waitingOutOutage { [log] in try await log.writer(buildSeq: build.seq, limit: limit) }
    }

    /// The app's settings and config as the build starts, read the same patient way.
    func loadSettings(_ build: Build) async throws -> BuildSettings {
        try await retry.waitingOutOutage { [database, vault] in
            let catalog = Catalog(database: database)
            // A clean build purges the app's cache on every worker: its keys change.
            if build.clean { _ = try? await catalog.purgeCache(app: build.app) }
            guard let app = try await catalog.app(named: build.app) else { throw BuildFailure("the app \(build.app) no longer exists") }
            return BuildSettings(app: app, config: try await catalog.config(app: build.app, vault: vault),
                                 running: build.hot ? try await catalog.runningRelease(app: build.app) : nil)
        }
    }
}
