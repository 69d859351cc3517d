import Foundation

/// Adds a tag to an image already in the farm's registry (its manifest is
/// copied as is: the digest does not change).
public struct ImageTagger: Sendable {
    public var registry: RegistrySettings

    public init(registry: RegistrySettings) {
        self.registry = registry
    }

    public func tag(_ image: ImageReference, as tag: String, scratch: URL) async throws {
        let target = ImageReference(repository: image.repository, tag: tag)
        let digestFile = scratch.appendingPathComponent(".tag-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: digestFile) }
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        try await Skopeo(registry: registry).copy(image.transport, target.transport, digestFile: digestFile)
    }
}
