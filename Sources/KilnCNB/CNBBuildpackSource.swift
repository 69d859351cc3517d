import Foundation

/// Where a buildpack an app asks for comes from, as its `uri` (or its id)
/// says. The app's files are hostile input, so a uri is taken apart here,
/// once, and whatever fetches the buildpack gets only these shapes.
public enum CNBBuildpackSource: Sendable, Equatable {
    /// One of the farm's own buildpacks, by id (and version; `nil` is the newest the farm has):
    /// no uri, or `urn:cnb:registry:ID@VERSION`, `urn:cnb:builder:ID`, `urn:buildpack:ID`.
    case farm(id: String, version: String?)
    /// A directory (or archive) inside the app, relative to its root,
    /// normalized: `.` and empty components dropped (`./bp/` is `bp`; the root itself is `.`).
    case app(String)
    /// A buildpack archive to download (`.tgz`, `.tar.gz`, `.tar` over http or https).
    case tarball(URL)
    /// A git repository to clone, and the ref (branch, tag, commit) after `#`, if any.
    case git(URL, ref: String?)
    /// An OCI image reference (`docker://REF`, the reference without the scheme).
    case registry(String)

    /// The source `uri` (or, without one, `id` and `version`) names. A
    /// refusal says what is wrong with the uri and what to write instead;
    /// its message does not name the file (the caller prefixes that).
    static func resolve(id: String?, version: String?, uri: String?) throws -> CNBBuildpackSource {
        guard let uri, !uri.isEmpty else {
            guard let id, !id.isEmpty else { throw CNBError("a buildpack has neither id nor uri: name it by id (and version) or give its uri") }
            return .farm(id: id, version: version)
        }
        let shown = "uri \(CNBTOMLWriter.quoted(uri))"
        if uri.unicodeScalars.contains("\0") { throw CNBError("\(shown) contains a NUL byte: write the uri as plain text") }
        if uri.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) {
            throw CNBError("\(shown) contains a control character: write the uri on one line, as plain text")
        }
        guard uri.utf8.count <= 4096 else { throw CNBError("uri of \(uri.utf8.count) bytes is longer than the 4096 Kiln reads: give a shorter uri") }
        guard let (scheme, rest) = Self.scheme(of: uri) else {
            return .app(try CNBRelativePath.normalize(uri, what: shown, advice: "give a path relative to the app's root"))
        }
        switch scheme {
        case "urn":
            return try farm(urn: rest, shown: shown)
        case "file":
            // A file URI names a path on the machine that reads it; Kiln reads only the app's own files.
            let path = rest.hasPrefix("//") ? String(rest.dropFirst(2)) : rest
            guard let decoded = path.removingPercentEncoding else { throw CNBError("\(shown) has a malformed %-escape: write the path as plain text") }
            if decoded.unicodeScalars.contains("\0") { throw CNBError("\(shown) contains a NUL byte (%00): write the path as plain text") }
            if decoded.hasPrefix("/") {
                throw CNBError("\(shown) points outside the app (an absolute path on the build machine): give a path relative to the app's root, or name the buildpack by id")
            }
            return .app(try CNBRelativePath.normalize(decoded, what: shown, advice: "give a path relative to the app's root"))
        case "http", "https":
            let url = try web(uri, shown: shown)
            let path = url.path.lowercased()
            if path.hasSuffix(".tgz") || path.hasSuffix(".tar.gz") || path.hasSuffix(".tar") { return .tarball(url) }
            if path.hasSuffix(".git") { return try git(url, shown: shown) }
            throw CNBError("\(shown) names neither a buildpack archive (a path ending .tgz, .tar.gz or .tar) nor a git repository (ending .git, or git+https://…): point it at one of those")
        case "git+https", "git+http":
            return try git(web(String(uri.dropFirst("git+".count)), shown: shown), shown: shown)
        case "docker":
            guard rest.hasPrefix("//") else { throw CNBError("\(shown) is not docker://IMAGE: write the image reference after docker://") }
            let reference = String(rest.dropFirst(2))
            // Image references as OCI spells them; anything else (a leading '-' above all) could reach a tool's command line.
            let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/:@")
            guard !reference.isEmpty, reference.unicodeScalars.allSatisfy(allowed.contains),
                  let first = reference.unicodeScalars.first, CharacterSet.alphanumerics.contains(first) else {
                throw CNBError("\(shown) is not docker://IMAGE with an image reference such as docker://gcr.io/paketo-buildpacks/java:1.0")
            }
            return .registry(reference)
        default:
            throw CNBError("\(shown) uses the scheme \(scheme):, which Kiln does not fetch buildpacks by: give a path in the app, an https URL of a .tgz or a git repository, docker://IMAGE, or name the buildpack by id")
        }
    }

    /// The scheme (lowercased) and what follows its colon, when `uri` has one (RFC 3986: a letter, then letters, digits, `+`, `-`, `.`).
    static func scheme(of uri: String) -> (String, String)? {
        guard let colon = uri.firstIndex(of: ":") else { return nil }
        let scheme = uri[..<colon]
        guard let first = scheme.unicodeScalars.first, first.isASCII, CharacterSet.letters.contains(first),
              scheme.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "+-.".unicodeScalars.contains($0)) }) else { return nil }
        return (scheme.lowercased(), String(uri[uri.index(after: colon)...]))
    }

    static func farm(urn: String, shown: String) throws -> CNBBuildpackSource {
        let reference: Substring
        if urn.hasPrefix("cnb:registry:") { reference = urn.dropFirst("cnb:registry:".count) }
        else if urn.hasPrefix("cnb:builder:") { reference = urn.dropFirst("cnb:builder:".count) }
        else if urn.hasPrefix("buildpack:") { reference = urn.dropFirst("buildpack:".count) }
        else { throw CNBError("\(shown) is not urn:cnb:registry:ID@VERSION, urn:cnb:builder:ID or urn:buildpack:ID: write one of those, or name the buildpack by id") }
        let (id, version) = CNBBuildpackName.split(String(reference))
        try CNBBuildpackName.check(id: id, version: version, in: shown)
        return .farm(id: id, version: version)
    }

    static func web(_ text: String, shown: String) throws -> URL {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http",
              let host = url.host, !host.isEmpty else {
            throw CNBError("\(shown) is not a URL Kiln can fetch: write https://HOST/PATH")
        }
        return url
    }

    static func git(_ url: URL, shown: String) throws -> CNBBuildpackSource {
        guard var components = URLComponents(url: url, resolvingAgainstBaseURL: false) else { throw CNBError("\(shown) is not a URL Kiln can fetch: write https://HOST/PATH") }
        let ref = components.fragment.flatMap { $0.isEmpty ? nil : $0 }
        components.fragment = nil
        if let ref {
            // What git itself refuses in a ref name, and a leading '-' that git would take for an option.
            guard !ref.hasPrefix("-"), !ref.contains(".."), !ref.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7f || "~^:?*[\\".unicodeScalars.contains($0) }) else {
                throw CNBError("\(shown) has #\(ref), which is not a git ref: after # give a branch, tag or commit")
            }
        }
        guard let bare = components.url else { throw CNBError("\(shown) is not a URL Kiln can fetch: write https://HOST/PATH") }
        return .git(bare, ref: ref)
    }
}

/// Paths an app gives for its own files (a buildpack directory, where the
/// code is): relative, inside the app, and written one way.
enum CNBRelativePath {
    /// `path` with `.` and empty components dropped (`.` for the root);
    /// absolute paths, `..` and NUL refused, `what` naming it.
    static func normalize(_ path: String, what: String, advice: String) throws -> String {
        if path.unicodeScalars.contains("\0") { throw CNBError("\(what) contains a NUL byte: \(advice)") }
        if path.hasPrefix("/") { throw CNBError("\(what) is an absolute path, which points outside the app: \(advice)") }
        let components = path.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
        if components.contains("..") { throw CNBError("\(what) has a .. component, which could point outside the app: \(advice)") }
        return components.isEmpty ? "." : components.joined(separator: "/")
    }
}

/// Buildpack ids and versions as the apps' files give them. They become
/// directory names in the farm's buildpack store, so what could climb out
/// of it, or reach a command line as an option, is refused.
enum CNBBuildpackName {
    /// `id@version`, or `id` alone (version `nil`).
    static func split(_ reference: String) -> (String, String?) {
        guard let at = reference.firstIndex(of: "@") else { return (reference, nil) }
        return (String(reference[..<at]), String(reference[reference.index(after: at)...]))
    }

    static func check(id: String, version: String?, in what: String) throws {
        // The Buildpack spec's ids are letters, digits, '.', '/' and '-'; '_' is let through too.
        let idCharacters = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/")
        let parts = id.split(separator: "/", omittingEmptySubsequences: false)
        guard !id.isEmpty, id.utf8.count <= 256, id.unicodeScalars.allSatisfy(idCharacters.contains),
              parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }), !id.hasPrefix("-") else {
            throw CNBError("\(what): \(CNBTOMLWriter.quoted(id)) is not a buildpack id: use letters, digits, '.', '-', '_' and '/' between names (e.g. paketo-buildpacks/nodejs)")
        }
        if let version {
            guard !version.isEmpty, version.utf8.count <= 128, version != ".", version != "..", !version.hasPrefix("-"),
                  !version.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7f || $0 == "/" }) else {
                throw CNBError("\(what): \(CNBTOMLWriter.quoted(version)) is not a buildpack version: write it as the buildpack does (e.g. 1.2.3), without spaces or '/'")
            }
        }
    }
}
