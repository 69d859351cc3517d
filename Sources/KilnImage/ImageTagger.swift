import Foundation

/// Adds a tag to an image already in the farm's registry (its manifest is
/// copied as is: the digest does not change).
public struct ImageTagger: Sendable {
    public var registry: RegistrySettings

    public init(registry: RegistrySettings) {
        self.registry = registry
    }

    public func tag(_ image: ImageReference, as tag: String) async throws {
        try await Skopeo(registry: registry).copy(image.transport, ImageReference(repository: image.repository, tag: tag).transport)
    }
}
