import Foundation
import KilnImage
import KilnSigning
import KilnSlug

/// The sign phase of an image build: a manifest that names the image by
/// digest, signed with the farm's key like a slug's, and the farm's
/// signature pushed beside the image in the registry (``KilnImage/ImageSigning``).
struct SignImage {
    let key: FarmKey

    func run(_ context: BuildContext, image: BuiltImage, registry: RegistrySettings) async throws -> SignedSlug {
        let build = context.build, built = image.built
        var manifest = SlugManifest(
            app: build.app, build: build.id, commit: build.commit, sha256: String(built.reference.digest?.dropFirst(7) ?? ""), size: built.size,
            format: SlugManifest.imageFormat, processTypes: image.processTypes, buildpacks: ["dockerfile"], stack: "oci", created: Date())
        manifest.configVersion = context.settings.config.version
        manifest.image = SlugManifest.Image(reference: built.reference.description, ports: built.config.ports)
        let signed = try SignedSlug.sign(manifest, with: key, into: context.blobs.local)
        do {
            try await ImageSigning(key: key, registry: registry).sign(built.reference, app: build.app, build: build.id,
                                                                      scratch: context.workspace.root.appendingPathComponent("image-signature"), log: context.logLine)
        } catch let error as ImageError {
            throw BuildFailure(error.description)
        }
        return signed
    }
}
