import Foundation
import PostgresNIO

/// The app's current release, with the signed slug it runs: what a hot
/// upgrade is built from.
public struct RunningRelease: Sendable, Equatable {
    public var version: Int
    /// The build that made the slug (a rollback's release names the original build).
    public var build: String
    /// `nil` for a Dockerfile build's release, which has an image and no slug.
    public var slugDigest: String?
    /// The slug's signed manifest and signature (absent only for a build recorded without them).
    public var manifestDigest: String?
    public var signatureDigest: String?
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
        for try await row in rows.decode((Int, String, String?, String?, String?).self) {
            return RunningRelease(version: row.0, build: row.1, slugDigest: row.2, manifestDigest: row.3, signatureDigest: row.4)
        }
        return nil
    }
}
