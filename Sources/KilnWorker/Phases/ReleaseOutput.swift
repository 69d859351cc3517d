import Foundation
import KilnConfine

/// Gigalixir's convention for release buildpacks (its releases and
/// distillery buildpacks): the slug is the tarball the buildpack leaves as
/// `CACHE_DIR/out/APP-VSN.tar.gz`, the release's own directory, rather than
/// the whole build directory. Taken out of CACHE_DIR as soon as a buildpack
/// leaves it (``CacheDirectory/takeReleaseOutput(to:)``), so that it is not
/// kept as cache; from then on the compile's result owns it (``Compiled``)
/// and hands it to Pack.
struct ReleaseOutput: Sendable, Equatable {
    /// The OTP release's name (APP), which Gigalixir's `bin/release` reads as `GIGALIXIR_APP_NAME`.
    let release: String
    let version: String
    /// Where the tarball is now: in the workspace, out of CACHE_DIR.
    let file: URL

    /// A release tarball as a buildpack left it in CACHE_DIR/out.
    struct Left: Equatable {
        /// Its file name in `out/`.
        let name: String
        let release: String
        let version: String
    }

    /// The tarball in CACHE_DIR/out, checked but not moved; `nil` when there is none.
    static func find(in cache: ConfinedDirectory) throws -> Left? {
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
        return Left(name: name, release: String(stem[..<dash]), version: String(stem[stem.index(after: dash)...]))
    }
}
