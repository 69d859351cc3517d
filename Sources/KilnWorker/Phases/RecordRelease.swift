import Foundation
import KilnCatalog
import KilnDatabase
import KilnImage
import KilnQueue
import Logging

/// The release phase, the last of every pipeline, which the worker runs for a succeeded
/// build: the build's result and its release (with the release's hand-off
/// outbox row) commit in one transaction, fenced by the worker's attempt
/// (a worker that lost its lease records nothing); then an image is tagged
/// `vN` (``tag(_:of:logger:)``).
///
/// Not timed: the same transaction writes the build's timings.
struct RecordRelease: Sendable {
    let worker: String
    let database: Database
    let queue: BuildQueue
    let registry: RegistrySettings?
    let retry: OutageRetry

    /// Records `built` as `build`'s result and release, retrying through a
    /// database outage; never throws (a result that cannot be recorded is
    /// left to the build's rescue).
    func run(_ built: Built, of build: Build, settings: BuildSettings, timings: [String: Int64], logger: Logger) async {
        await retry.record("success", of: build, logger: logger) { [queue, worker] in
            try await queue.succeed(build, worker: worker, result: built.result, timings: timings) { connection, logger in
                let source = build.commit.map { " (\($0.prefix(12)))" } ?? ""
                try await Catalog.recordRelease(app: build.app, buildSeq: build.seq, slugDigest: built.result.slugDigest,
                                                configVersion: settings.config.version, description: "Deploy \(build.id)\(source)",
                                                upgrade: built.signed.manifest.upgrade.map { Release.Upgrade(from: $0.from, to: $0.to) },
                                                upgradeBase: settings.running?.version,
                                                idempotencyKey: build.id, on: connection, logger: logger)
            }
        }
        if let image = built.result.image { await tag(image, of: build, logger: logger) }
    }
}
