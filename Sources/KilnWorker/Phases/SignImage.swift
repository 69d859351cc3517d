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
        try await sign(context, reference: image.built.reference, size: image.built.size, ports: image.built.config.ports,
                       processTypes: image.processTypes, buildpacks: ["dockerfile"], stack: "oci", registry: registry)
    }

    /// Signs any image a pipeline pushed: a Dockerfile's, or a CNB app's
    /// (its buildpacks named, the stack it was built on).
    func sign(_ context: BuildContext, reference: ImageReference, size: Int64, ports: [Int], processTypes: [String: String],
              buildpacks: [String], stack: String, registry: RegistrySettings) async throws -> SignedSlug {
        let build = context.build
        var manifest = SlugManifest(
            app: build.app, build: build.id, commit: build.commit, sha256: String(reference.digest?.dropFirst(7) ?? ""), size: size,
            format: SlugManifest.imageFormat, processTypes: processTypes, buildpacks: buildpacks, stack: stack, created: Date())
        manifest.configVersion = context.settings.config.version
        manifest.image = SlugManifest.Image(reference: reference.description, ports: ports)
        let signed = try SignedSlug.sign(manifest, with: key, into: context.blobs.local)
        do {
            try await ImageSigning(key: key, registry: registry).sign(reference, app: build.app, build: build.id,
                                                                      scratch: context.workspace.root.appendingPathComponent("image-signature"), log: context.logLine)
        } catch let error as ImageError {
            throw BuildFailure(error.description)
        }
        return signed
    }
}
