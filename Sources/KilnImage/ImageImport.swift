import Foundation

/// An image released by reference, which no build made, brought into the
/// farm's registry as `REGISTRY/PREFIX/APP@sha256:…` and read: copied there
/// byte for byte (`skopeo copy --preserve-digests`, so its digest is the
/// one the user named) when it lives anywhere else, with its config (how it
/// starts, what it EXPOSEs) and its size.
public struct ImageImport: Sendable {
    public var registry: RegistrySettings
    /// Longest each skopeo command may run.
    public var timeout: Duration
    /// Most bytes the image's config and layers may have, as its manifest declares them.
    public var maxBytes: Int64

    public init(registry: RegistrySettings, timeout: Duration = .seconds(600), maxBytes: Int64 = 8 << 30) {
        self.registry = registry
        self.timeout = timeout
        self.maxBytes = maxBytes
    }

    /// The image in the farm's registry, and what it was read to be.
    public struct Imported: Sendable, Equatable {
        /// `REGISTRY/PREFIX/APP@sha256:…`.
        public var reference: ImageReference
        public var config: ImageConfig
        /// Its config's and layers' bytes.
        public var size: Int64
        /// Whether it was copied from elsewhere (`false`: it was already the app's).
        public var copied: Bool
    }

    /// Brings `source` (by digest) into `app`'s repository of the farm's
    /// registry, once `check` accepted its config (read from `source`, so
    /// that an image refused is never copied). Throws an ``ImageError`` for a
    /// reference without a digest, a multi-platform index (one platform's
    /// manifest is what runs), a manifest whose digest is not the one named,
    /// an image over ``maxBytes``, and whatever skopeo could not do, with its
    /// reason; and what `check` throws.
    public func bring(_ source: ImageReference, app: String, check: (ImageConfig) throws -> Void = { _ in }) async throws -> Imported {
        guard let digest = source.digest else {
            throw ImageError("\(source) names no digest: give REPOSITORY@sha256:…, as `skopeo inspect` prints it")
        }
        let source = ImageReference(repository: source.repository, digest: digest)
        let target = ImageReference(repository: registry.repository(app: app), digest: digest)
        let skopeo = Skopeo(registry: registry, timeout: timeout)
        let (manifest, actual) = try await skopeo.rawManifest(source)
        guard actual == digest else {
            throw ImageError("the registry serves \(source) with a manifest whose digest is \(actual): it was altered on the way")
        }
        let document = try OCILayout.object(manifest)
        if document["manifests"] != nil {
            throw ImageError("\(source) is a multi-platform index, not one image: give the digest of the image for this farm's platform (`skopeo inspect --raw docker://\(source)` lists them)")
        }
        guard let config = document["config"] as? [String: Any] else {
            throw ImageError("\(source) is not an image manifest (it has no config): give the digest of an OCI or Docker image manifest")
        }
        // The declared sizes are all the cap has before the copy: each must be a whole, non-negative number.
        let descriptors = [config] + (document["layers"] as? [[String: Any]] ?? [])
        guard descriptors.count <= 256 else {
            throw ImageError("\(source) has \(descriptors.count - 1) layers, more than the 256 an image released by reference may have: flatten it")
        }
        var size: Int64 = 0
        for descriptor in descriptors {
            guard let declared = descriptor["size"] as? Int, declared >= 0, declared <= maxBytes else {
                throw ImageError("\(source) declares a layer or config without a size from 0 to \(maxBytes) bytes (\(String(describing: descriptor["size"] ?? "none").prefix(40))): it cannot be released by reference")
            }
            size += Int64(declared)
        }
        guard size <= maxBytes else {
            throw ImageError("\(source) has \(size) bytes of config and layers, more than the \(maxBytes) bytes an image released by reference may have: release a smaller image, or have the farm's operator raise the cap")
        }
        let imageConfig = try ImageConfig(json: try await skopeo.config(source))
        try check(imageConfig)
        var copied = false
        if source.repository != target.repository {
            let written = try await skopeo.copy(source.transport, target.transport)
            guard written == digest else {
                throw ImageError("skopeo wrote \(source) to \(target.repository) as \(written), not as \(digest): the image was not released")
            }
            copied = true
        }
        // The config is the one the manifest names by digest, and the digest was kept: the copy starts as the source does.
        return Imported(reference: target, config: imageConfig, size: size, copied: copied)
    }
}
