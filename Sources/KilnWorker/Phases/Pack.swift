import Foundation
import KilnSlug

/// Phase 6a: pack the built app into a deterministic slug in the blob store.
struct Pack {
    let packer = SlugPacker()

    func run(_ context: BuildContext) async throws -> SlugPacker.Packed {
        let packer = packer, app = context.workspace.app, blobs = context.blobs
        let packed = try await onThread { try packer.pack(app, into: blobs) }
        await context.log("-----> Slug packed: \(packed.size) bytes, \(packed.entries) entries, \(packed.digest)")
        return packed
    }
}
