import Foundation

/// A buildpack on disk, ready to run: a directory with `bin/detect`,
/// `bin/compile` and optionally `bin/release`.
public struct Buildpack: Sendable, Equatable {
    /// How the app named it (URL or built-in name), recorded in the slug's manifest.
    public var reference: String
    public var directory: URL

    public init(reference: String, directory: URL) {
        self.reference = reference
        self.directory = directory
    }

    /// Whether it is one of the farm's built-in builders, which an app names
    /// by its bare name (`python`), never by a URL or a path.
    public var isBuiltIn: Bool { !reference.contains("/") && !reference.contains(":") }

    func script(_ name: String) -> String {
        directory.appendingPathComponent("bin").appendingPathComponent(name).path
    }
}
