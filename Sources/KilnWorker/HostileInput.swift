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
    /// A hot upgrade record, a small JSON object.
    static let recordCap = 64 << 10

    /// The text of `relative` under `directory`, or `nil` when it is absent.
    static func readText(_ relative: String, in directory: URL, label: String, cap: Int,
                         links: ConfinedDirectory.Links = .beneath) throws -> String? {
        do {
            return try ConfinedDirectory(directory, label: label).readText(relative, cap: cap, links: links)
        } catch let error as ConfinedPathError {
            throw BuildFailure(error.description)
        }
    }

    /// The bytes of `relative` under `directory`, or `nil` when it is absent.
    static func read(_ relative: String, in directory: URL, label: String, cap: Int,
                     links: ConfinedDirectory.Links = .beneath) throws -> Data? {
        do {
            return try ConfinedDirectory(directory, label: label).read(relative, cap: cap, links: links)
        } catch let error as ConfinedPathError {
            throw BuildFailure(error.description)
        }
    }

    /// What is at `relative` under `directory` (a link at its end not followed), or `nil`.
    static func kind(of relative: String, in directory: URL, label: String) throws -> ConfinedDirectory.Kind? {
        do {
            return try ConfinedDirectory(directory, label: label).kind(of: relative, links: .none)
        } catch let error as ConfinedPathError {
            throw BuildFailure(error.description)
        }
    }

    /// Removes `relative` under `directory`, never following a link.
    static func remove(_ relative: String, in directory: URL, label: String) throws {
        do {
            try ConfinedDirectory(directory, label: label).remove(relative)
        } catch let error as ConfinedPathError {
            throw BuildFailure(error.description)
        }
    }
}
