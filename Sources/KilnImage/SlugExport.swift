import Foundation
import KilnBlobStore
import KilnProcess
import KilnSigning
import KilnSlug

/// A signed slug exported as an OCI image and signed in the registry: what
/// a worker does for `export-image on` apps and `kiln images export` does
/// for any succeeded build.
public struct SlugExport: Sendable {
    public var registry: RegistrySettings
    public var base: String
    /// Signs the image.
    public var key: FarmKey
    /// Check the slug first: the farm's current and retired public keys, and its revocations.
    public var keys: TrustedFarmKeys

    public init(registry: RegistrySettings, base: String, key: FarmKey, keys: TrustedFarmKeys) {
        self.registry = registry
        self.base = base
        self.key = key
        self.keys = keys
    }

    /// Fetches the slug that the signed manifest `manifestDigest` describes
    /// through `blobs`, checks it as a release service would, exports it as
    /// `REPO/APP:BUILD`, signs the image, and returns it. Throws an
    /// ``ImageError`` for a manifest that names an image, not a slug.
    public func export(manifestDigest: BlobDigest, signatureDigest: BlobDigest, blobs: BlobStorage, scratch: URL,
                       log: @escaping @Sendable (String) async throws -> Void) async throws -> SlugImage.Exported {
        try? FileManager.default.removeItem(at: scratch) // farm-owned: the export scratch in the workspace
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true) // farm-owned: the export scratch in the workspace
        defer { try? FileManager.default.removeItem(at: scratch) } // farm-owned: the export scratch in the workspace
        let file = scratch.appendingPathComponent("slug")
        let keys = keys
        let manifest = try await onThread { () throws -> SlugManifest in
            let bytes = try blobs.data(for: manifestDigest), signature = try blobs.data(for: signatureDigest)
            let unchecked = try SignedSlug.verify(manifest: bytes, signature: signature, slug: nil, with: keys)
            guard unchecked.format != SlugManifest.imageFormat, let slug = BlobDigest(unchecked.sha256) else {
                throw ImageError("build \(unchecked.build) made an image, not a slug: there is nothing to export")
            }
            try blobs.copy(slug, to: file)
            return try SignedSlug.verify(manifest: bytes, signature: signature, slug: file, with: keys)
        }
        let slug = SlugImage.Slug(file: file, sha256: manifest.sha256, processTypes: manifest.processTypes,
                                  manifestDigest: manifestDigest.hex, signatureDigest: signatureDigest.hex)
        let exported = try await SlugImage(registry: registry, base: base).export(slug, app: manifest.app, tag: manifest.build, scratch: scratch) { line in
            try? await log(line)
        }
        try await ImageSigning(key: key, registry: registry).sign(exported.reference, app: manifest.app, build: manifest.build, scratch: scratch, log: log)
        return exported
    }
}
