import Foundation
import PostgresNIO

/// The app's current release, with the signed slug it runs: what a hot
/// upgrade is built from.
public struct RunningRelease: Sendable, Equatable {
    public var version: Int
    /// The build that made the slug (a rollback's release names the original build).
    public var build: String
    public var slugDigest: String
    public var manifestDigest: String
    public var signatureDigest: String
}

extension Catalog {
    /// The newest release of `app` and its slug's manifest and signature, or
    /// `nil` when the app has no release yet.
    public func runningRelease(app: String) async throws -> RunningRelease? {
        let rows = try await database.client.query("""
            SELECT r.version, b.id, r.slug_digest, b.manifest_digest, b.signature_digest
            FROM releases r JOIN builds b ON b.seq = r.build_seq
            WHERE r.app = \(app) ORDER BY r.version DESC LIMIT 1
            """, logger: logger)
        for try await row in rows.decode((Int, String, String, String?, String?).self) {
            guard let manifest = row.3, let signature = row.4 else {
                throw CatalogError(.notFound, "release v\(row.0) of \(app) has no signed manifest (build \(row.1))")
            }
            return RunningRelease(version: row.0, build: row.1, slugDigest: row.2, manifestDigest: manifest, signatureDigest: signature)
        }
        return nil
    }
}
