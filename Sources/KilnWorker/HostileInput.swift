import Foundation
import KilnConfine

/// The worker's reads of files a build or a push left: each through a
/// ``ConfinedDirectory``, capped, and refused with a ``BuildFailure`` that
/// names the file and why ("Procfile links outside the app: refused").
enum HostileInput {
    /// A Procfile is a few lines; 64 KiB is generous.
    static let procfileCap = 64 << 10
    /// `.buildpacks`, one URL a line.
    static let listCap = 64 << 10
    /// A Dockerfile, read to find what it would fetch.
    static let dockerfileCap = 1 << 20
    /// A file that names a runtime version, read whole: package.json and Pipfile.lock are the big ones.
    static let versionFileCap = 32 << 20
    /// A hot upgrade record, a small JSON object.
    static let recordCap = 64 << 10

    /// Runs `body` on `directory` opened as a ``ConfinedDirectory``; a refusal becomes a ``BuildFailure`` naming the file.
    static func beneath<T>(_ directory: URL, label: String, _ body: (ConfinedDirectory) throws -> T) throws -> T {
        do {
            return try body(ConfinedDirectory(directory, label: label))
        } catch let error as ConfinedPathError {
            throw BuildFailure(error.description)
        }
    }

    /// The text of `relative` under `directory`, or `nil` when it is absent.
    static func readText(_ relative: String, in directory: URL, label: String, cap: Int,
                         links: ConfinedDirectory.Links = .beneath) throws -> String? {
        try beneath(directory, label: label) { try $0.readText(relative, cap: cap, links: links) }
    }

    /// What is at `relative` under `directory` (a link at its end not followed), or `nil`.
    static func kind(of relative: String, in directory: URL, label: String) throws -> ConfinedDirectory.Kind? {
        try beneath(directory, label: label) { try $0.kind(of: relative, links: .none) }
    }

    /// Removes `relative` under `directory`, never following a link.
    static func remove(_ relative: String, in directory: URL, label: String) throws {
        try beneath(directory, label: label) { try $0.remove(relative) }
    }
}
