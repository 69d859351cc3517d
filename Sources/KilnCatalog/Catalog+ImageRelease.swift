import Foundation
import KilnDatabase
import PostgresNIO

extension Catalog {
    /// Records a release of `app` shipping an image no build made
    /// (`artifact`, from ``ReleaseArtifact/image(_:ports:manifestDigest:signatureDigest:)``:
    /// already in the farm's registry and signed, its manifest in the blob
    /// store), with the app's current config, handed off like any release;
    /// returns it. Throws `.notFound` for no such app (or a deleted one).
    public func releaseImage(app: String, artifact: ReleaseArtifact, description: String) async throws -> Release {
        guard artifact.buildSeq == nil, artifact.image != nil, artifact.manifestDigest != nil, artifact.signatureDigest != nil else {
            throw CatalogError(.invalid, "an image release needs its image and its signed manifest")
        }
        return try await database.transaction { connection in
            let locked = try await connection.query("SELECT 1 FROM apps WHERE name = \(app) AND deleted_at IS NULL FOR UPDATE", logger: logger)
            var exists = false
            for try await _ in locked { exists = true }
            guard exists else { throw CatalogError(.notFound, "there is no app \(app): see `kiln apps list`") }
            var config = 0
            for try await version in try await connection.query("SELECT coalesce(max(version), 0) FROM config_versions WHERE app = \(app)",
                                                                logger: logger).decode(Int.self) { config = version }
            let version = try await Self.recordRelease(app: app, artifact: artifact, configVersion: config, description: description,
                                                       on: connection, logger: logger)
            return try await Self.release(app: app, version: version, on: connection, logger: logger)
        }
    }
}
