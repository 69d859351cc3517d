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
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? []).filter { $0.hasSuffix(".tar.gz") }.sorted()
        guard let name = names.first else { return nil }
        guard names.count == 1 else {
            throw BuildFailure("CACHE_DIR/out holds several release tarballs (\(names.joined(separator: ", "))): the slug is made from one; leave only that one")
        }
        let stem = String(name.dropLast(".tar.gz".count))
        guard let dash = stem.lastIndex(of: "-"), dash != stem.startIndex, stem.index(after: dash) != stem.endIndex else {
            throw BuildFailure("CACHE_DIR/out/\(name) is not named APP-VERSION.tar.gz, as a release tarball must be")
        }
        try? FileManager.default.removeItem(at: workspace.releaseOutput)
        try FileManager.default.moveItem(at: out.appendingPathComponent(name), to: workspace.releaseOutput)
        try? FileManager.default.removeItem(at: out)
        return ReleaseOutput(release: String(stem[..<dash]), version: String(stem[stem.index(after: dash)...]))
    }
}
