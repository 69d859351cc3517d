import Foundation

/// One buildpack named by an app: a git URL with an optional `#ref`, the
/// URL of a tarball (https, http or file, ending .tgz, .tar.gz, .tar.zst,
/// .tar or .zip), or the name of a built-in builder.
public struct BuildpackReference: Sendable, Equatable, CustomStringConvertible {
    public enum Source: Sendable, Equatable {
        /// A git repository (https, git, ssh or file URL) at `ref` (branch, tag or commit), or its default branch.
        case git(url: String, ref: String?)
        /// An archive of a buildpack, fetched with libcurl.
        case tarball(url: String)
        /// A builder shipped in Kiln's `builders/` directory.
        case builtIn(name: String)
    }

    static let archiveSuffixes = [".tgz", ".tar.gz", ".tar.zst", ".tzst", ".tar", ".zip"]

    public var source: Source
    /// Where the app named it (".buildpacks line 2", "the BUILDPACK_URL config var"), for errors; not part of its identity.
    public var origin: String?

    public init(_ source: Source, origin: String? = nil) {
        self.source = source
        self.origin = origin
    }

    public static func == (left: BuildpackReference, right: BuildpackReference) -> Bool { left.source == right.source }

    public var description: String {
        switch source {
        case .git(let url, let ref): ref.map { "\(url)#\($0)" } ?? url
        case .tarball(let url): url
        case .builtIn(let name): name
        }
    }

    /// Parses the lines of a `.buildpacks` file: one buildpack a line, blank
    /// lines and `#` comments ignored. The error names the offending line.
    public static func parseList(_ text: String) throws -> [BuildpackReference] {
        var references: [BuildpackReference] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            references.append(try parse(line, lineNumber: index + 1))
        }
        guard !references.isEmpty else {
            throw BuildpackError(".buildpacks lists no buildpack: put one git URL (or built-in builder name) on each line")
        }
        return references
    }

    /// Parses the value of a `BUILDPACK_URL` config var: one buildpack, as on a `.buildpacks` line.
    public static func parseConfigVar(_ value: String) throws -> BuildpackReference {
        do {
            var reference = try parse(value.trimmingCharacters(in: .whitespacesAndNewlines), lineNumber: 1)
            reference.origin = "the BUILDPACK_URL config var"
            return reference
        } catch let error as BuildpackError {
            throw BuildpackError(error.message.replacingOccurrences(of: ".buildpacks line 1", with: "the BUILDPACK_URL config var"))
        }
    }

    static func parse(_ line: String, lineNumber: Int) throws -> BuildpackReference {
        var reference = try parseSource(line, lineNumber: lineNumber)
        reference.origin = ".buildpacks line \(lineNumber)"
        return reference
    }

    static func parseSource(_ line: String, lineNumber: Int) throws -> BuildpackReference {
        if line.contains(where: { $0 == " " || $0 == "\t" }) {
            throw BuildpackError(".buildpacks line \(lineNumber): '\(line)' contains spaces; put one buildpack URL on each line")
        }
        if let schemeEnd = line.range(of: "://") {
            let scheme = line[..<schemeEnd.lowerBound]
            guard ["https", "http", "git", "ssh", "file"].contains(scheme) else {
                throw BuildpackError(".buildpacks line \(lineNumber): '\(line)' has the unsupported scheme \(scheme); use https, git, ssh or file")
            }
            let parts = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)
            let url = String(parts[0])
            let path = url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? url
            if ["https", "http", "file"].contains(scheme), archiveSuffixes.contains(where: { path.lowercased().hasSuffix($0) }) {
                guard parts.count == 1 else {
                    throw BuildpackError(".buildpacks line \(lineNumber): '\(line)' is a tarball URL; a #ref only applies to git URLs")
                }
                return BuildpackReference(.tarball(url: url))
            }
            let ref = parts.count > 1 ? String(parts[1]) : nil
            if let ref, ref.isEmpty || ref.hasPrefix("-") {
                throw BuildpackError(".buildpacks line \(lineNumber): '\(line)' has an empty or invalid #ref")
            }
            guard url.count > schemeEnd.upperBound.utf16Offset(in: line) else {
                throw BuildpackError(".buildpacks line \(lineNumber): '\(line)' has no host or path")
            }
            return BuildpackReference(.git(url: url, ref: ref))
        }
        if line.hasPrefix("git@") {
            let parts = line.split(separator: "#", maxSplits: 1)
            return BuildpackReference(.git(url: String(parts[0]), ref: parts.count > 1 ? String(parts[1]) : nil))
        }
        guard line.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
            throw BuildpackError(".buildpacks line \(lineNumber): '\(line)' is neither a git URL nor the name of a built-in builder")
        }
        return BuildpackReference(.builtIn(name: line))
    }
}
