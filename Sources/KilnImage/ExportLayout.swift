import Foundation

/// The OCI layout an exporter builds an image in, the same for slug images
/// (``SlugImage``) and layered ones (``LayeredImage``): the base pulled in
/// by its digest, then the finished manifest pushed and its digest checked.
struct ExportLayout {
    let layout: OCILayout
    let skopeo: Skopeo

    /// The base as pulled: its digest, its manifest's layer descriptors and its config.
    struct Base {
        let digest: String
        let layers: [[String: Any]]
        let config: [String: Any]
    }

    /// An empty layout in `scratch` (what an earlier export left removed).
    init(scratch: URL, registry: RegistrySettings) throws {
        layout = OCILayout(directory: scratch.appendingPathComponent("layout"))
        skopeo = Skopeo(registry: registry)
        try? FileManager.default.removeItem(at: layout.directory) // farm-owned: the export's layout in the worker's scratch
        try FileManager.default.createDirectory(at: layout.directory, withIntermediateDirectories: true) // farm-owned: the export's layout in the worker's scratch
    }

    /// Pulls `base` into the layout by its digest, so that the copy and the
    /// annotation name the same image; a Docker-format base is converted to
    /// OCI on the way (its layers keep their digests). `what` names it in errors
    /// ("the stack image"), `advice` says what to do when it cannot be pulled.
    func pullBase(_ base: String, what: String, advice: String) async throws -> Base {
        let reference = try ImageReference(parsing: base)
        let digest: String
        do {
            digest = try await skopeo.rawManifest(reference).1
            try await skopeo.copy(reference.pinned(to: digest).transport, "oci:\(layout.directory.path):base", preservingDigests: false)
        } catch let error as ImageError {
            throw ImageError("\(what) \(base) cannot be pulled (\(error)); \(advice)")
        }
        let (_, manifest) = try layout.manifest(tag: "base")
        guard let configDigest = (manifest["config"] as? [String: Any])?["digest"] as? String,
              let layers = manifest["layers"] as? [[String: Any]] else {
            throw ImageError("\(what) \(base) has no config or layers in its manifest: push a complete image")
        }
        let config = try OCILayout.object(Data(contentsOf: layout.blob(configDigest))) // farm-owned: the layout skopeo wrote in the worker's scratch
        return Base(digest: digest, layers: layers, config: config)
    }

    /// Writes `manifest`, pushes it as `target` and checks that the registry
    /// stored it as written; returns the reference pinned to its digest.
    func push(_ manifest: [String: Any], as target: ImageReference, registry: String) async throws -> ImageReference {
        let descriptor = try layout.write(try OCILayout.encode(manifest), mediaType: OCILayout.manifestType)
        try layout.tag(descriptor, as: "export")
        let pushed: String
        do {
            pushed = try await skopeo.copy("oci:\(layout.directory.path):export", target.transport)
        } catch let error as ImageError {
            throw ImageError("the registry \(registry) refused the image \(target): \(error)")
        }
        guard pushed == descriptor.digest else {
            throw ImageError("the registry stored \(target) as \(pushed), not as the exported manifest \(descriptor.digest)")
        }
        return target.pinned(to: pushed)
    }
}
