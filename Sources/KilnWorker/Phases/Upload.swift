import Foundation
import KilnSlug

/// Phase 7: put the slug, its manifest and their signature where every host
/// of the farm reads them, before the build's result names them (the result
/// and its release hand-off are then recorded in one transaction). With an
/// object store the slug's local copy is dropped: the worker's disk is not
/// where slugs are kept.
struct Upload {
    func run(_ context: BuildContext, packed: SlugPacker.Packed, signed: SignedSlug) async throws {
        let blobs = context.blobs
        guard blobs.shared != nil else { return }
        let started = ContinuousClock.now
        try await onThread {
            for digest in [packed.digest, signed.manifestDigest, signed.signatureDigest] {
                try blobs.publish(digest)
            }
            blobs.dropLocalCopy(of: packed.digest)
        }
        await context.log("-----> Slug uploaded to \(blobs.location) (\(Figures.seconds(ContinuousClock.now - started)))")
    }
}
