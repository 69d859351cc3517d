import Foundation
import KilnCatalog
import KilnDatabase
import KilnQueue
import KilnTestSupport
import Testing

/// Releases as the catalog records them, on a real PostgreSQL: config
/// changes released, deploy outcomes and the automatic rollback a failure
/// makes, and images released by reference, which no build made.
@Suite struct CatalogReleaseTests {
    struct Farm {
        let database: Database
        let queue: BuildQueue
        let catalog: Catalog
        let vault: ConfigVault
    }

    func withCatalog(_ body: @Sendable (Farm) async throws -> Void) async throws {
        let url = try await TestEnvironment.freshDatabase()
        let vault = try ConfigVault.load(from: try TestEnvironment.temporaryDirectory("vault").appendingPathComponent("config.key"))
        try await Database.with(url: url, logger: TestEnvironment.logger) { database in
            try await body(Farm(database: database, queue: BuildQueue(database: database), catalog: Catalog(database: database), vault: vault))
        }
    }

    /// A build of `app` that succeeds with a slug of its own (digest `digit` repeated), released as the next version; returns the version.
    @discardableResult
    func deploy(_ farm: Farm, _ app: String, slug digit: Character, upgrade: Release.Upgrade? = nil) async throws -> Int {
        let digest = String(repeating: digit, count: 64)
        _ = try await farm.queue.enqueue(BuildRequest(app: app, commit: "c\(digit)", branch: "main", sourceDigest: String(repeating: "0", count: 64)))
        let build = try #require(try await farm.queue.claim(worker: "w", lease: .seconds(30)))
        let version = VersionBox()
        try await farm.queue.succeed(build, worker: "w", result: BuildResult(slugDigest: digest, manifestDigest: digest, signatureDigest: digest, slugSize: 1)) { connection, logger in
            let recorded = try await Catalog.recordRelease(app: app, buildSeq: build.seq, slugDigest: digest, description: "Deploy \(build.id)", upgrade: upgrade,
                                                           idempotencyKey: build.id, on: connection, logger: logger)
            await version.set(recorded)
        }
        return await version.value
    }

    actor VersionBox {
        var value = 0
        func set(_ version: Int) { value = version }
    }

    func release(_ farm: Farm, _ app: String, _ version: Int) async throws -> Release {
        try #require(try await farm.catalog.releases(app: app).first { $0.version == version }, "v\(version) of \(app)")
    }

    @Test func aFailedDeployOfTheNewestReleaseRollsBackToTheLastThatSucceededOnce() async throws {
        try await withCatalog { farm in
            _ = try await farm.catalog.createApp(name: "shop")
            _ = try await farm.catalog.setReleaseWebhook(app: "shop", url: "http://127.0.0.1:9/releases", secret: "a-secret-of-16-characters", vault: farm.vault)
            try await deploy(farm, "shop", slug: "1")
            try await deploy(farm, "shop", slug: "2")
            _ = try await farm.catalog.changeConfig(app: "shop", set: ["MODE": "fast"], unset: [], vault: farm.vault, releasedBy: "admin")
            #expect(try await farm.catalog.recordStatus(app: "shop", version: 1, status: .succeeded, reason: nil).rollback == nil)
            let second = try await farm.catalog.recordStatus(app: "shop", version: 2, status: .succeeded, reason: "  healthy \n")
            #expect(second.release.status == .succeeded && second.release.statusReason == "healthy" && second.release.statusAt != nil)
            #expect(try await farm.catalog.recordStatus(app: "shop", version: 3, status: .deploying, reason: nil).release.status == .deploying)

            // v3 (v2's slug with config v1) fails: v4 goes back to v2, the newest release that succeeded, with v2's config.
            let failed = try await farm.catalog.recordStatus(app: "shop", version: 3, status: .failed, reason: "health check timed out")
            #expect(failed.release.status == .failed && failed.release.statusReason == "health check timed out")
            let rollback = try #require(failed.rollback)
            let v2 = try await release(farm, "shop", 2)
            #expect(rollback.version == 4 && rollback.description == "Rollback to v2: v3 failed (health check timed out)", "\(rollback.description)")
            #expect(rollback.rollbackOf == 3 && rollback.slugDigest == v2.slugDigest && rollback.build == v2.build && rollback.configVersion == 0)
            #expect(rollback.status == nil && rollback.handoff == "pending")

            // The same failure reported again (a resend): v3 is no longer the newest, nothing more is released.
            #expect(try await farm.catalog.recordStatus(app: "shop", version: 3, status: .failed, reason: "health check timed out").rollback == nil)
            // The automatic rollback fails in turn: no rollback of a rollback.
            let loop = try await farm.catalog.recordStatus(app: "shop", version: 4, status: .failed, reason: "still down")
            #expect(loop.rollback == nil && loop.release.status == .failed)
            #expect(try await farm.catalog.releases(app: "shop").count == 4)

            // A release made by hand (`kiln rollback`) is no automatic rollback: its failure rolls back.
            let manual = try await farm.catalog.rollback(app: "shop", to: 1)
            #expect(manual.rollbackOf == nil && manual.description == "Rollback to v1")
            let again = try #require(try await farm.catalog.recordStatus(app: "shop", version: manual.version, status: .failed, reason: nil).rollback)
            #expect(again.description == "Rollback to v2: v5 failed" && again.rollbackOf == 5, "\(again.description)")

            await #expect(throws: CatalogError.self) { try await farm.catalog.recordStatus(app: "shop", version: 99, status: .failed, reason: nil) }
            await #expect(throws: CatalogError.self) { try await farm.catalog.recordStatus(app: "nowhere", version: 1, status: .failed, reason: nil) }
        }
    }

    @Test func aFailureMakesNoRollbackWhenNothingSucceededOrANewerReleaseExists() async throws {
        try await withCatalog { farm in
            _ = try await farm.catalog.createApp(name: "fresh")
            try await deploy(farm, "fresh", slug: "1")
            try await deploy(farm, "fresh", slug: "2")
            // Nothing ever succeeded: there is nothing known good to go back to.
            #expect(try await farm.catalog.recordStatus(app: "fresh", version: 2, status: .failed, reason: "crash").rollback == nil)
            #expect(try await farm.catalog.recordStatus(app: "fresh", version: 1, status: .succeeded, reason: nil).rollback == nil)
            try await deploy(farm, "fresh", slug: "3")
            // v2 is not the newest (v3 replaced it): its failure is recorded and nothing is released.
            let old = try await farm.catalog.recordStatus(app: "fresh", version: 2, status: .failed, reason: "crash")
            #expect(old.rollback == nil && old.release.status == .failed)
            #expect(try await farm.catalog.releases(app: "fresh").map(\.version) == [3, 2, 1])
        }
    }

    @Test func aReasonIsKeptToItsFirstThousandCharacters() async throws {
        try await withCatalog { farm in
            _ = try await farm.catalog.createApp(name: "wordy")
            try await deploy(farm, "wordy", slug: "1")
            let reported = try await farm.catalog.recordStatus(app: "wordy", version: 1, status: .failed, reason: String(repeating: "é", count: 5000) + "\0")
            #expect(reported.release.statusReason == String(repeating: "é", count: 1000))
        }
    }

    @Test func aBuildThatEndsAfterAConfigReleaseShipsTheNewerConfig() async throws {
        try await withCatalog { farm in
            _ = try await farm.catalog.createApp(name: "racy")
            _ = try await farm.catalog.changeConfig(app: "racy", set: ["A": "1"], unset: [], vault: farm.vault, releasedBy: "admin")
            try await deploy(farm, "racy", slug: "1")
            // A push's build starts on config v1; the config changes (v2, released with the running slug) before it ends.
            _ = try await farm.queue.enqueue(BuildRequest(app: "racy", commit: "c2", branch: "main", sourceDigest: String(repeating: "0", count: 64)))
            let build = try #require(try await farm.queue.claim(worker: "w", lease: .seconds(30)))
            let changed = try await farm.catalog.changeConfig(app: "racy", set: ["A": "2"], unset: [], vault: farm.vault, releasedBy: "admin")
            #expect(changed.release?.version == 2 && changed.release?.configVersion == 2)
            let digest = String(repeating: "2", count: 64)
            try await farm.queue.succeed(build, worker: "w", result: BuildResult(slugDigest: digest, manifestDigest: digest, signatureDigest: digest, slugSize: 1)) { connection, logger in
                _ = try await Catalog.recordRelease(app: "racy", buildSeq: build.seq, slugDigest: digest, configVersion: 1, description: "Deploy \(build.id)",
                                                    idempotencyKey: build.id, on: connection, logger: logger)
            }
            // The push's release does not take the change back.
            let newest = try await release(farm, "racy", 3)
            #expect(newest.configVersion == 2 && newest.slugDigest == digest, "\(newest)")
            #expect(newest.description == "Deploy \(build.id) (config v2, changed while it built on v1)", "\(newest.description)")
        }
    }

    @Test func aConfigChangeReleasesTheNewestSlugWithTheNewConfigAndNeverItsHotUpgrade() async throws {
        try await withCatalog { farm in
            _ = try await farm.catalog.createApp(name: "hot")
            // No release yet: the change waits for the first.
            let before = try await farm.catalog.changeConfig(app: "hot", set: ["EARLY": "1"], unset: [], vault: farm.vault, releasedBy: "admin")
            #expect(before.release == nil && before.config.version == 1)
            try await deploy(farm, "hot", slug: "1")
            try await deploy(farm, "hot", slug: "2", upgrade: Release.Upgrade(from: "0.1.0", to: "0.2.0"))
            #expect(try await release(farm, "hot", 2).upgrade != nil)

            let changed = try await farm.catalog.changeConfig(app: "hot", set: ["B": "2", "A": "1"], unset: ["C"], vault: farm.vault, releasedBy: "admin")
            let released = try #require(changed.release)
            #expect(released.version == 3 && released.description == "Set A, B and unset C by admin", "\(released.description)")
            #expect(released.configVersion == 2 && changed.config.version == 2 && changed.config.vars == ["EARLY": "1", "A": "1", "B": "2"])
            let hot = try await release(farm, "hot", 2)
            #expect(released.slugDigest == String(repeating: "2", count: 64) && released.build == hot.build)
            // A hot upgrade applies to the nodes running v1; a config change deploys by restart.
            #expect(released.upgrade == nil)

            let batched = try await farm.catalog.changeConfig(app: "hot", set: ["D": "4"], unset: [], vault: farm.vault, releasedBy: nil)
            #expect(batched.release == nil && batched.config.version == 3)
            let unset = try #require(try await farm.catalog.changeConfig(app: "hot", set: [:], unset: ["EARLY"], vault: farm.vault, releasedBy: "key-7").release)
            #expect(unset.description == "Unset EARLY by key-7" && unset.configVersion == 4)
            #expect(try await farm.catalog.config(app: "hot", version: 4, vault: farm.vault).vars == ["A": "1", "B": "2", "D": "4"])
            #expect(try await farm.catalog.config(app: "hot", version: 0, vault: farm.vault).vars.isEmpty)
            await #expect(throws: CatalogError.self) { try await farm.catalog.config(app: "hot", version: 5, vault: farm.vault) }
        }
    }

    @Test func anImageReleasedByReferenceShipsItsOwnManifestThroughRollbacksAndConfigChanges() async throws {
        try await withCatalog { farm in
            _ = try await farm.catalog.createApp(name: "img")
            _ = try await farm.catalog.setReleaseWebhook(app: "img", url: "http://127.0.0.1:9/releases", secret: "a-secret-of-16-characters", vault: farm.vault)
            try await deploy(farm, "img", slug: "1")
            let image = "registry.example.com/kiln/img@sha256:" + String(repeating: "a", count: 64)
            let manifest = String(repeating: "b", count: 64), signature = String(repeating: "c", count: 64)
            let released = try await farm.catalog.releaseImage(app: "img", artifact: .image(image, ports: [8080], manifestDigest: manifest, signatureDigest: signature),
                                                               description: "Deploy image registry.example.com/acme/img@sha256:aaaaaaaaaaaa by admin")
            #expect(released.version == 2 && released.build == nil && released.slugDigest == nil && released.image == image && released.ports == [8080])
            #expect(released.handoff == "pending")
            let changed = try #require(try await farm.catalog.changeConfig(app: "img", set: ["X": "1"], unset: [], vault: farm.vault, releasedBy: "admin").release)
            #expect(changed.image == image && changed.build == nil && changed.configVersion == 1)
            #expect(try await farm.catalog.runningRelease(app: "img")?.manifestDigest == manifest)
            let back = try await farm.catalog.rollback(app: "img", to: 1)
            #expect(back.image == nil && back.slugDigest == String(repeating: "1", count: 64) && back.build != nil)
            let forward = try await farm.catalog.rollback(app: "img", to: 2)
            #expect(forward.image == image && forward.ports == [8080] && forward.build == nil && forward.configVersion == 0)
        }
    }
}
