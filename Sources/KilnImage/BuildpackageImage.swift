import Foundation

/// A buildpackage: an OCI image of Cloud Native Buildpacks at
/// `/cnb/buildpacks/ID_ESCAPED/VERSION/`, as `pack buildpack package`
/// makes it, with its main buildpack in the
/// `io.buildpacks.buildpackage.metadata` label. Pulled only from the farm's
/// registry (an app names it; the farm decides what it may reach), within a
/// size bound, into an OCI layout whose layer blobs the caller unpacks.
public struct BuildpackageImage: Sendable {
    public var registry: RegistrySettings
    /// The most a buildpackage's layers may hold, compressed.
    public var maximumBytes: Int64 = 512 << 20

    public init(registry: RegistrySettings) { self.registry = registry }

    /// What was pulled: the layer blobs in order, and the config's labels.
    public struct Pulled: Sendable {
        public var layers: [URL]
        public var labels: [String: String]
        /// The main buildpack, from the buildpackage label, when it has one.
        public var id: String?
        public var version: String?
    }

    public func pull(_ text: String, into scratch: URL) async throws -> Pulled {
        let skopeo = Skopeo(registry: registry)
        let reference: ImageReference
        do { reference = try ImageReference(parsing: text) } catch { throw ImageError("\(text) is not an image reference: \(error)") }
        guard skopeo.isFarm(reference.repository) else {
            throw ImageError("the buildpackage \(text) is not in the farm's registry \(registry.host): push it there (skopeo copy) and name it as \(registry.host)/…")
        }
        let (data, digest) = try await skopeo.rawManifest(reference)
        let manifest = try OCILayout.object(data)
        let sizes = (manifest["layers"] as? [[String: Any]] ?? []).map { ($0["size"] as? NSNumber)?.int64Value ?? 0 }
        guard !sizes.isEmpty else { throw ImageError("the buildpackage \(text) has no layers: it is not a buildpackage (or is an index; name one platform's image)") }
        guard sizes.reduce(0, +) <= maximumBytes else {
            throw ImageError("the buildpackage \(text) is \(sizes.reduce(0, +)) bytes, more than the \(maximumBytes) a build may pull")
        }
        let layout = OCILayout(directory: scratch)
        try? FileManager.default.removeItem(at: scratch) // farm-owned: the build's pull scratch
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true) // farm-owned: the build's pull scratch
        try await skopeo.copy(reference.pinned(to: digest).transport, "oci:\(scratch.path):package", preservingDigests: false)
        let (_, pulled) = try layout.manifest(tag: "package")
        guard let configDigest = (pulled["config"] as? [String: Any])?["digest"] as? String else {
            throw ImageError("the buildpackage \(text) has no config")
        }
        let config = try OCILayout.object(Data(contentsOf: layout.blob(configDigest))) // farm-owned: the layout skopeo wrote
        let labels = (config["config"] as? [String: Any])?["Labels"] as? [String: String] ?? [:]
        var id: String?, version: String?
        if let label = labels["io.buildpacks.buildpackage.metadata"],
           let object = try? JSONSerialization.jsonObject(with: Data(label.utf8)) as? [String: Any] {
            id = object["id"] as? String
            version = object["version"] as? String
        }
        let layers = (pulled["layers"] as? [[String: Any]] ?? []).compactMap { $0["digest"] as? String }.map(layout.blob)
        return Pulled(layers: layers, labels: labels, id: id, version: version)
    }
}
