import Foundation
import KilnQueue
import PostgresNIO

/// The app's current release, with the signed slug it runs: what a hot
/// upgrade is built from.
public struct RunningRelease: Sendable, Equatable {
    public var version: Int
    /// The build that made the slug (a rollback's release names the original build); empty for an image released by reference.
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
            SELECT \(unescaped: ReleaseRow.columns) FROM releases r WHERE r.app = \(app) ORDER BY r.version DESC LIMIT 1
            """, logger: logger)
        var newest: ReleaseRow?
        for try await row in rows { newest = try ReleaseRow(row: row) }
        guard let newest else { return nil }
        let artifact = try await database.client.withConnection { [logger] connection in
            try await ReleaseRow.artifacts(of: [newest], on: connection, logger: logger)[0]
        }
        return RunningRelease(version: newest.version, build: artifact.build ?? "", slugDigest: newest.slugDigest,
                              manifestDigest: artifact.manifestDigest, signatureDigest: artifact.signatureDigest)
    }
}
