import Foundation

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
        let out = workspace.cache.appendingPathComponent("out")
        // The build wrote CACHE_DIR: a link there could point the worker at any file of its host.
        guard fileType(out) == S_IFDIR else {
            if fileType(out) != nil { throw BuildFailure("CACHE_DIR/out is not a directory (a link or a file): a release tarball goes in a real CACHE_DIR/out") }
            return nil
        }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? []).filter { $0.hasSuffix(".tar.gz") }.sorted()
        guard let name = names.first else { return nil }
        guard names.count == 1 else {
            throw BuildFailure("CACHE_DIR/out holds several release tarballs (\(names.joined(separator: ", "))): the slug is made from one; leave only that one")
        }
        guard fileType(out.appendingPathComponent(name)) == S_IFREG else {
            throw BuildFailure("CACHE_DIR/out/\(name) is not a regular file (a link or a directory)")
        }
        // APP-VERSION: the version starts at the first dash followed by a digit (release names have none; versions may: 1.0.0-rc.1).
        let stem = String(name.dropLast(".tar.gz".count))
        let dashes = stem.indices.filter { stem[$0] == "-" && stem.index(after: $0) < stem.endIndex && stem[stem.index(after: $0)].isNumber }
        guard let dash = dashes.first, dash != stem.startIndex else {
            throw BuildFailure("CACHE_DIR/out/\(name) is not named APP-VERSION.tar.gz, as a release tarball must be")
        }
        try? FileManager.default.removeItem(at: workspace.releaseOutput)
        try FileManager.default.moveItem(at: out.appendingPathComponent(name), to: workspace.releaseOutput)
        try? FileManager.default.removeItem(at: out)
        return ReleaseOutput(release: String(stem[..<dash]), version: String(stem[stem.index(after: dash)...]))
    }

    private static func fileType(_ url: URL) -> mode_t? {
        var info = stat()
        return lstat(url.path, &info) == 0 ? info.st_mode & S_IFMT : nil
    }
}
