import Foundation
import KilnSigning

/// Signs an image in the registry with the farm's key (its `.sig` beside
/// it), and says so in the build's log: for Dockerfile builds and exported
/// slugs alike.
public struct ImageSigning: Sendable {
    public let key: FarmKey
    public let registry: RegistrySettings

    public init(key: FarmKey, registry: RegistrySettings) {
        self.key = key
        self.registry = registry
    }

    /// Signs `image` as `app`'s build `build`, working in `scratch` (made
    /// here); throws an ``ImageError`` when the registry refuses the signature.
    public func sign(_ image: ImageReference, app: String, build: String, scratch: URL, log: @Sendable (String) async throws -> Void) async throws {
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true) // farm-owned: the signature scratch in the workspace
        try await ImageSignature(registry: registry).sign(image, app: app, build: build, key: key, scratch: scratch)
        try await log("-----> Image signed with the farm's key: \(ImageSignature.location(of: image))")
    }
}
