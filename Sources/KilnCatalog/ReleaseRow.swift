import Foundation
import KilnQueue
import PostgresNIO

/// One row of `releases`, read by column name. What it ships
/// (``ReleaseArtifact``) comes from its build's ``BuildProduct`` when a build
/// made it, and from its own image columns when none did.
struct ReleaseRow: Sendable {
    var app: String
    var version: Int
    var buildSeq: Int64?
    var slugDigest: String?
    var configVersion: Int
    var createdAt: Date
    var description: String
    var upgrade: Release.Upgrade?
    /// The release's own image and manifest: set only when no build made it.
    var image: String?
    var imagePorts: [Int]?
    var manifestDigest: String?
    var signatureDigest: String?
    var status: Release.Status?
    var statusReason: String?
    var statusAt: Date?
    var rollbackOf: Int?

    /// The columns ``init(row:)`` reads, of `releases` as `r`.
    static let columns = """
        r.app, r.version, r.build_seq, r.slug_digest, r.config_version, r.created_at, r.description, r.upgrade_from, r.upgrade_to, \
        r.image, r.image_ports, r.manifest_digest, r.signature_digest, r.status, r.status_reason, r.status_at, r.rollback_of
        """

    init(row: PostgresRow) throws {
        let r = row.makeRandomAccess()
        app = try r["app"].decode(String.self)
        version = try r["version"].decode(Int.self)
        buildSeq = try r["build_seq"].decode(Int64?.self)
        slugDigest = try r["slug_digest"].decode(String?.self)
        configVersion = try r["config_version"].decode(Int.self)
        createdAt = try r["created_at"].decode(Date.self)
        description = try r["description"].decode(String.self)
        let from = try r["upgrade_from"].decode(String?.self), to = try r["upgrade_to"].decode(String?.self)
        upgrade = from.flatMap { from in to.map { Release.Upgrade(from: from, to: $0) } }
        image = try r["image"].decode(String?.self)
        imagePorts = try r["image_ports"].decode([Int]?.self)
        manifestDigest = try r["manifest_digest"].decode(String?.self)
        signatureDigest = try r["signature_digest"].decode(String?.self)
        status = try r["status"].decode(String?.self).flatMap(Release.Status.init(rawValue:))
        statusReason = try r["status_reason"].decode(String?.self)
        statusAt = try r["status_at"].decode(Date?.self)
        rollbackOf = try r["rollback_of"].decode(Int?.self)
    }

    /// What the release ships, given its build's product (ignored for a release no build made).
    func artifact(product: BuildProduct?) -> ReleaseArtifact {
        guard let buildSeq else {
            return ReleaseArtifact(slugDigest: slugDigest, image: image, ports: imagePorts, manifestDigest: manifestDigest, signatureDigest: signatureDigest)
        }
        return ReleaseArtifact(buildSeq: buildSeq, slugDigest: slugDigest, product: product)
    }

    /// What a new release of the same artifact records (a rollback, a config release): the build,
    /// or the image and manifest of a release no build made.
    var recordedArtifact: ReleaseArtifact {
        ReleaseArtifact(buildSeq: buildSeq, slugDigest: slugDigest, image: image, ports: imagePorts, manifestDigest: manifestDigest, signatureDigest: signatureDigest)
    }

    /// The release as the API shows it, with what it ships and its hand-off's state.
    func release(artifact: ReleaseArtifact, handoff: String) -> Release {
        Release(app: app, version: version, build: artifact.build, slugDigest: slugDigest, configVersion: configVersion, createdAt: createdAt,
                description: description, handoff: handoff, upgrade: upgrade, image: artifact.image, ports: artifact.ports,
                status: status, statusReason: statusReason, statusAt: statusAt, rollbackOf: rollbackOf)
    }

    /// The artifacts of `rows`, their builds' products read on `connection`.
    static func artifacts(of rows: [ReleaseRow], on connection: PostgresConnection, logger: Logger) async throws -> [ReleaseArtifact] {
        let products = try await BuildQueue.products(of: rows.compactMap(\.buildSeq), on: connection, logger: logger)
        return rows.map { $0.artifact(product: $0.buildSeq.flatMap { products[$0] }) }
    }
}
