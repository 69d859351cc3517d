import Foundation
import KilnQueue
import PostgresNIO

/// One row of `releases`, read by column name; the build's part of a
/// release (its id, image and digests) comes from the queue's ``BuildProduct``.
struct ReleaseRow: Sendable {
    var app: String
    var version: Int
    var buildSeq: Int64
    var slugDigest: String?
    var configVersion: Int
    var createdAt: Date
    var description: String
    var upgrade: Release.Upgrade?

    /// The columns ``init(row:)`` reads, of `releases` as `r`.
    static let columns = "r.app, r.version, r.build_seq, r.slug_digest, r.config_version, r.created_at, r.description, r.upgrade_from, r.upgrade_to"

    init(row: PostgresRow) throws {
        let r = row.makeRandomAccess()
        app = try r["app"].decode(String.self)
        version = try r["version"].decode(Int.self)
        buildSeq = try r["build_seq"].decode(Int64.self)
        slugDigest = try r["slug_digest"].decode(String?.self)
        configVersion = try r["config_version"].decode(Int.self)
        createdAt = try r["created_at"].decode(Date.self)
        description = try r["description"].decode(String.self)
        let from = try r["upgrade_from"].decode(String?.self), to = try r["upgrade_to"].decode(String?.self)
        upgrade = from.flatMap { from in to.map { Release.Upgrade(from: from, to: $0) } }
    }

    /// The release as the API shows it, with its build's product and its hand-off's state.
    func release(product: BuildProduct?, handoff: String) -> Release {
        Release(app: app, version: version, build: product?.id ?? "", slugDigest: slugDigest, configVersion: configVersion, createdAt: createdAt,
                description: description, handoff: handoff, upgrade: upgrade, image: product?.image, ports: product?.imagePorts)
    }
}
