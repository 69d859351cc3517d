import Foundation
import KilnBuildpacks
import KilnSigning
import KilnSlug

/// Phase 6b: write the slug's manifest and sign its exact bytes with the farm's key.
struct Sign {
    let key: FarmKey
    let stack: String

    func run(_ context: BuildContext, packed: SlugPacker.Packed, processTypes: ProcessTypes, buildpacks: [Buildpack]) async throws -> SignedSlug {
        let manifest = SlugManifest(
            app: context.build.app, build: context.build.id, commit: context.build.commit,
            sha256: packed.digest.hex, size: packed.size, format: SlugPacker().compression.fileExtension,
            processTypes: processTypes.commands, buildpacks: buildpacks.map(\.reference), stack: stack, created: Date())
        let signed = try SignedSlug.sign(manifest, with: key, into: context.blobs)
        await context.log("-----> Manifest signed with the farm's key")
        return signed
    }
}
