import Foundation
import KilnBlobStore
import KilnProcess
import KilnSlug

/// The upload phase: put the slug, its manifest and their signature where every host
/// of the farm reads them, before the build's result names them (the result
/// and its release hand-off are then recorded in one transaction). With an
/// object store the slug's local copy is dropped: the worker's disk is not
/// where slugs are kept.
struct Upload {
    func run(_ context: BuildContext, packed: SlugPacker.Packed, signed: SignedSlug) async throws {
        guard context.blobs.shared != nil else { return }
        let started = ContinuousClock.now
        try await publish(context, [packed.digest, signed.manifestDigest, signed.signatureDigest])
        context.blobs.dropLocalCopy(of: packed.digest)
        await context.log("-----> Slug uploaded to \(context.blobs.location) (\(Figures.seconds(ContinuousClock.now - started)))")
    }

    /// Publishes `digests` to the farm's object store, if it has one.
    func publish(_ context: BuildContext, _ digests: [BlobDigest]) async throws {
        let blobs = context.blobs
        guard blobs.shared != nil else { return }
        try await onThread {
            for digest in digests { try blobs.publish(digest) }
        }
    }
}
