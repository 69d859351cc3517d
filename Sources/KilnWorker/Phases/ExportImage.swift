import Foundation
import KilnImage
import KilnSandbox
import KilnSigning
import KilnSlug

/// The image phase, for apps with `export-image on`: the slug, once
/// uploaded, becomes an OCI image in the farm's registry, signed like the
/// slug (``KilnImage/SlugExport``), on the run image of the stack it was
/// built on when that stack names one, else the farm's export base image.
struct ExportImage {
    let key: FarmKey
    var stack: Stack = .host

    func run(_ context: BuildContext, signed: SignedSlug) async throws -> SlugImage.Exported? {
        guard context.settings.app.exportImage else { return nil }
        let configuration = context.configuration
        guard let registry = configuration.registry, let base = stack.runImage ?? configuration.stackImage else {
            throw BuildFailure("export-image is on for \(context.build.app), and this farm has no registry: start the workers with --registry HOST[:PORT]/PREFIX, or turn it off with `kiln apps set --app \(context.build.app) --export-image off`")
        }
        let exporter = SlugExport(registry: registry, base: base, key: key, keys: TrustedFarmKeys([key.publicKey]))
        do {
            return try await exporter.export(manifestDigest: signed.manifestDigest, signatureDigest: signed.signatureDigest,
                                             blobs: context.blobs, scratch: context.workspace.root.appendingPathComponent("image-export"), log: context.logLine)
        } catch let error as ImageError {
            throw BuildFailure(error.description)
        }
    }
}
