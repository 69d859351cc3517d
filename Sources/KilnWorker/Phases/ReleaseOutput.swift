import Foundation
import KilnConfine

/// Gigalixir's convention for release buildpacks (its releases and
/// distillery buildpacks): the slug is the tarball the buildpack leaves as
/// `CACHE_DIR/out/APP-VSN.tar.gz`, the release's own directory, rather than
/// the whole build directory. Taken out of CACHE_DIR as soon as a buildpack
/// leaves it, so that it is not kept as cache.
struct ReleaseOutput: Sendable {
    /// The OTP release's name (APP), which Gigalixir's `bin/release` reads as `GIGALIXIR_APP_NAME`.
    let release: String
    let version: String

    /// Moves the tarball a buildpack just left in CACHE_DIR/out into the
    /// workspace (``BuildWorkspace/releaseOutput``); `nil` when there is none.
    static func take(from workspace: BuildWorkspace) throws -> ReleaseOutput? {
        try HostileInput.beneath(workspace.cache, label: "CACHE_DIR") { try take(from: $0, to: workspace.releaseOutput) }
    }

    private static func take(from cache: ConfinedDirectory, to destination: URL) throws -> ReleaseOutput? {
        // The build wrote CACHE_DIR: a link there could point the worker at any file of its host.
        switch try cache.kind(of: "out", links: .none) {
        case nil: return nil
        case .directory?: break
        case let kind?: throw BuildFailure("CACHE_DIR/out is \(kind), not a directory: a release tarball goes in a real CACHE_DIR/out")
        }
        guard let out = try cache.directory("out", links: .none) else { return nil }
        let tarballs = try out.entries().filter { $0.name.hasSuffix(".tar.gz") }
        guard let tarball = tarballs.first else { return nil }
        guard tarballs.count == 1 else {
            throw BuildFailure("CACHE_DIR/out holds several release tarballs (\(tarballs.map(\.name).joined(separator: ", "))): the slug is made from one; leave only that one")
        }
        let name = tarball.name
        guard tarball.kind == .regular else {
            throw BuildFailure("CACHE_DIR/out/\(name) is \(tarball.kind), not a regular file")
        }
        // APP-VERSION: the version starts at the first dash followed by a digit (release names have none; versions may: 1.0.0-rc.1).
        let stem = String(name.dropLast(".tar.gz".count))
        let dashes = stem.indices.filter { stem[$0] == "-" && stem.index(after: $0) < stem.endIndex && stem[stem.index(after: $0)].isNumber }
        guard let dash = dashes.first, dash != stem.startIndex else {
            throw BuildFailure("CACHE_DIR/out/\(name) is not named APP-VERSION.tar.gz, as a release tarball must be")
        }
        try ConfinedDirectory.removeTree(destination)
        try out.move(name, to: destination.path)
        try cache.remove("out")
        return ReleaseOutput(release: String(stem[..<dash]), version: String(stem[stem.index(after: dash)...]))
    }
}
