import Foundation
import Logging
import PostgresNIO

/// What a succeeded build made, as its releases name it: the catalog reads
/// it here for release listings and hand-offs, since the `builds` table is
/// this module's alone.
public struct BuildProduct: Sendable, Equatable {
    public var seq: Int64
    /// `b-N`.
    public var id: String
    public var commit: String?
    public var slugSize: Int64?
    public var manifestDigest: String?
    public var signatureDigest: String?
    /// The build's OCI image by digest, when it has one.
    public var image: String?
    /// The ports the image EXPOSEs.
    public var imagePorts: [Int]?
    public var finishedAt: Date?

    static let columns = "seq, id, commit, slug_size, manifest_digest, signature_digest, image, image_ports, finished_at"

    init(row: PostgresRow) throws {
        let r = row.makeRandomAccess()
        seq = try r["seq"].decode(Int64.self)
        id = try r["id"].decode(String.self)
        commit = try r["commit"].decode(String?.self)
        slugSize = try r["slug_size"].decode(Int64?.self)
        manifestDigest = try r["manifest_digest"].decode(String?.self)
        signatureDigest = try r["signature_digest"].decode(String?.self)
        image = try r["image"].decode(String?.self)
        imagePorts = try r["image_ports"].decode([Int]?.self)
        finishedAt = try r["finished_at"].decode(Date?.self)
    }
}

extension BuildQueue {
    /// The products of the builds `seqs`, by seq, on `connection` (a
    /// transaction's, when the caller holds rows it reads alongside).
    public static func products(of seqs: [Int64], on connection: PostgresConnection, logger: Logger) async throws -> [Int64: BuildProduct] {
        guard !seqs.isEmpty else { return [:] }
        let rows = try await connection.query("SELECT \(unescaped: BuildProduct.columns) FROM builds WHERE seq = ANY(\(Array(Set(seqs))))", logger: logger)
        var products: [Int64: BuildProduct] = [:]
        for try await row in rows {
            let product = try BuildProduct(row: row)
            products[product.seq] = product
        }
        return products
    }

    /// The same, on a connection of the pool.
    public func products(of seqs: [Int64]) async throws -> [Int64: BuildProduct] {
        try await database.client.withConnection { [logger] connection in try await Self.products(of: seqs, on: connection, logger: logger) }
    }

    /// Adds the build's last phase, `handoff`: from its end to the release
    /// service's 2xx. Only for a deploy's release, made as the build ended
    /// (a rollback's release is made long after its build), and only once.
    public static func recordHandoffTime(buildSeq: Int64, releasedAt: Date, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("""
            UPDATE builds SET timings = coalesce(timings, '{}'::jsonb)
                || jsonb_build_object('handoff', (extract(epoch FROM now() - finished_at) * 1000)::bigint)
            WHERE seq = \(buildSeq) AND \(releasedAt) - finished_at < interval '1 minute' AND NOT coalesce(timings ? 'handoff', false)
            """, logger: logger)
    }
}
