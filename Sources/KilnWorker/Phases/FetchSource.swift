import Foundation
import KilnArchive
import KilnBlobStore

/// Phase 1: fetch the source archive from the blob store and unpack it into
/// the build directory, refusing entries that would land outside it.
struct FetchSource {
    func run(_ context: BuildContext) async throws {
        guard let digest = BlobDigest(context.build.sourceDigest) else {
            throw BuildFailure("build \(context.build.id) names an invalid source digest \(context.build.sourceDigest)")
        }
        let blobs = context.blobs, workspace = context.workspace
        let summary = try await onThread { () throws -> ArchiveExtractor.Summary in
            try blobs.copy(digest, to: workspace.source)
            return try ArchiveExtractor().extract(archive: workspace.source, into: workspace.app)
        }
        try? FileManager.default.removeItem(at: workspace.source)
        await context.log("-----> Source \(context.build.commit.map { String($0.prefix(12)) } ?? digest.hex.prefix(12).description): \(summary.entries) entries, \(summary.bytes) bytes")
    }
}
