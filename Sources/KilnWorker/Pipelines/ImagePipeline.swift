import Foundation
import KilnQueue
import KilnSigning

/// A build from a root `Dockerfile`, into a signed OCI image, in place of
/// detect/compile/pack: detect (``CheckDockerfile``) → compile
/// (``BuildImage``: buildah builds and pushes) → sign (``SignImage``: the
/// manifest names the image by digest) → upload (the manifest and its signature).
struct ImagePipeline: BuildPipeline {
    let key: FarmKey

    func run(_ context: BuildContext) async throws -> Built {
        let timer = context.timer
        let plan = try await timer.measure(.detect) { try await CheckDockerfile().run(context) }
        let image = try await timer.measure(.compile) { try await BuildImage().run(context, plan: plan) }
        let signed = try await timer.measure(.sign) { try await SignImage(key: key).run(context, image: image, registry: plan.registry) }
        try await timer.measure(.upload) { try await Upload().publish(context, [signed.manifestDigest, signed.signatureDigest]) }
        let result = BuildResult(slugDigest: nil, manifestDigest: signed.manifestDigest.hex, signatureDigest: signed.signatureDigest.hex, slugSize: nil,
                                 image: image.built.reference.description, imagePorts: image.built.config.ports)
        return Built(result: result, signed: signed)
    }
}
