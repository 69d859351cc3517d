import Foundation
import KilnArchive
import KilnBlobStore
import KilnBuildpacks
import KilnCatalog
import KilnProcess
import KilnSigning
import KilnSlug

/// A hot upgrade's two steps around compile (`KILN-HOT: true`). Before:
/// fetch the app's running slug by the path every consumer of a release
/// takes (its signed manifest checked with the farm's keys, the slug with
/// the manifest), unpacked for the builder to read at `/previous`. After:
/// read the upgrade the builder made, which goes into the signed manifest.
///
/// A running slug that a revoked farm key signed is no base for an upgrade:
/// the build fails, naming the key, and says to deploy by restart, as for
/// every other reason a hot upgrade is impossible (docs/hot-upgrades.md).
struct HotUpgrade {
    /// The farm's public keys, current and retired: the running slug may predate a rotation; and its revocations.
    let keys: TrustedFarmKeys

    /// Where a builder leaves its upgrade record, in the build directory.
    static let record = ".kiln/upgrade.json"

    /// Returns the running slug's `app/` directory, or `nil` for a build that is not hot.
    func fetchRunning(_ context: BuildContext) async throws -> URL? {
        // Only a builder's record of this build counts, never one committed with the source.
        try HostileInput.remove(Self.record, in: context.workspace.app, label: "the app")
        guard context.build.hot else { return nil }
        guard let running = context.settings.running else {
            throw BuildFailure("""
                Hot upgrade impossible: \(context.build.app) has no release yet to upgrade from.
                A push without KILN-HOT: true deploys this commit by restart; later pushes can then be hot.
                """)
        }
        guard let slugDigest = running.slugDigest else {
            throw BuildFailure("""
                Hot upgrade impossible: release v\(running.version) of \(context.build.app) (build \(running.build)) is an image built from a Dockerfile, not a slug.
                A push without KILN-HOT: true deploys this commit by restart.
                """)
        }
        guard let slug = BlobDigest(slugDigest), let manifest = running.manifestDigest.flatMap(BlobDigest.init),
              let signature = running.signatureDigest.flatMap(BlobDigest.init) else {
            throw BuildFailure("Hot upgrade impossible: release v\(running.version) of \(context.build.app) (build \(running.build)) has no signed manifest to check its slug with")
        }
        let blobs = context.blobs, workspace = context.workspace, keys = keys
        let file = workspace.root.appendingPathComponent("running.slug")
        let directory = workspace.root.appendingPathComponent("running")
        let verified: SlugManifest
        do {
            verified = try await onThread { () throws -> SlugManifest in
                try blobs.copy(slug, to: file)
                defer { try? FileManager.default.removeItem(at: file) } // farm-owned: the worker's copy of the running slug
                let checked = try SignedSlug.verify(manifest: try blobs.data(for: manifest), signature: try blobs.data(for: signature), slug: file, with: keys)
                _ = try ArchiveExtractor().extract(archive: file, into: directory)
                return checked
            }
        } catch let revoked as FarmKeyRevokedError {
            // Not a silent restart deploy: the push asked for hot, and the release it would build on is itself suspect.
            throw BuildFailure("""
                Hot upgrade impossible: release v\(running.version) of \(context.build.app) (build \(running.build)) was signed with \(revoked.revocation.summary), so its slug cannot be trusted as the base of an upgrade.
                A push without KILN-HOT: true deploys this commit by restart, signed with the farm's current key; later pushes can then be hot.
                """)
        }
        let app = directory.appendingPathComponent("app")
        try await context.handOver(app)
        let version = verified.upgrade.map { ", OTP release \($0.release) \($0.to)" } ?? ""
        await context.log("-----> Hot upgrade from release v\(running.version) (\(running.build)\(version)): its slug sha256:\(slugDigest.prefix(12)) verified and unpacked at \(BuildLayout.previousInside)")
        return app
    }

    /// The builder's upgrade record after compile, or `nil` for a build that is not hot.
    func collect(_ context: BuildContext, compiled: Compiled, buildpacks: [Buildpack]) async throws -> SlugUpgrade? {
        guard context.build.hot else { return nil }
        if compiled.releaseOutput != nil {
            throw BuildFailure("""
                Hot upgrade impossible: the slug is the release tarball a buildpack left in CACHE_DIR/out, which carries no OTP upgrade.
                A push without KILN-HOT: true deploys this commit by restart.
                """)
        }
        // Not following links: one planted there is a record, and reading it says what is wrong.
        guard try HostileInput.kind(of: Self.record, in: context.workspace.app, label: "the app") != nil else {
            throw BuildFailure("""
                Hot upgrade impossible: \(buildpacks.map(\.reference).joined(separator: ", ")) made no OTP upgrade; only an Elixir release (mix release) can be upgraded in place.
                A push without KILN-HOT: true deploys this commit by restart.
                """)
        }
        do {
            let upgrade = try SlugUpgrade.read(Self.record, in: context.workspace.app)
            await context.log("-----> Hot upgrade: \(upgrade.release) \(upgrade.from) -> \(upgrade.to), applied by \(upgrade.command)")
            return upgrade
        } catch let error as SlugUpgradeError {
            throw BuildFailure(error.description)
        }
    }
}
