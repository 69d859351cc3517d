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

    func script(_ name: String) -> String {
        directory.appendingPathComponent("bin").appendingPathComponent(name).path
    }
}
