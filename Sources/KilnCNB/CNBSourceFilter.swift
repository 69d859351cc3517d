import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// project.toml's `include` or `exclude`: which of the app's files the
/// build (and the image's `/workspace`) sees, as the project descriptor
/// says, in gitignore's pattern syntax. Supported: blank lines and `#`
/// comments ignored; `*`, `?` and `[...]` within a name; `**` across
/// directories; a leading `/` anchors a pattern at the app's root; a
/// trailing `/` matches directories only; a pattern without a `/` in it
/// matches a name at any depth. A `!` (re-inclusion) pattern is refused
/// by name rather than half-honoured.
public struct CNBSourceFilter: Sendable, Equatable {
    public enum Mode: Sendable, Equatable { case include, exclude }

    struct Pattern: Sendable, Equatable {
        var glob: String
        var anchored: Bool
        var directoryOnly: Bool
    }

    public var mode: Mode
    var patterns: [Pattern]

    /// The filter of `patterns`; `file` names them in errors ("project.toml build.exclude").
    public init(_ mode: Mode, patterns: [String], file: String) throws {
        self.mode = mode
        self.patterns = try patterns.compactMap { raw in
            var text = raw.trimmingCharacters(in: .whitespaces)
            if text.isEmpty || text.hasPrefix("#") { return nil }
            if text.hasPrefix("!") {
                throw CNBError("\(file): \(CNBTOMLWriter.quoted(raw)) re-includes files with !, which Kiln does not support: list only what to \(mode == .include ? "include" : "exclude")")
            }
            let directoryOnly = text.hasSuffix("/")
            if directoryOnly { text.removeLast() }
            var anchored = text.hasPrefix("/")
            if anchored { text.removeFirst() }
            if text.contains("/") { anchored = true }
            guard !text.isEmpty else { return nil }
            return Pattern(glob: text, anchored: anchored, directoryOnly: directoryOnly)
        }
    }

    /// Whether a pattern matches the entry at `path` (relative to the app, `/`-separated).
    func matches(_ path: String, isDirectory: Bool) -> Bool {
        patterns.contains { pattern in
            if pattern.directoryOnly && !isDirectory { return false }
            let subject = pattern.anchored ? path : String(path.split(separator: "/").last ?? "")
            guard pattern.glob.contains("**") else { return fnmatch(pattern.glob, subject, FNM_PATHNAME) == 0 }
            // `**` spans directories, none included: `a/**/b` is `a/*/b` with `*` crossing `/`, or `a/b`.
            let across = pattern.glob.replacingOccurrences(of: "**", with: "*")
            let none = pattern.glob.replacingOccurrences(of: "**/", with: "").replacingOccurrences(of: "/**", with: "")
            return fnmatch(across, subject, 0) == 0 || fnmatch(none, subject, 0) == 0
        }
    }

    /// What becomes of an entry: kept, removed (with everything under it),
    /// or, for a directory, looked into (under `include` it is kept only
    /// for what it holds; under `exclude` it stays, less what is excluded).
    public enum Verdict: Sendable, Equatable { case keep, remove, descend }

    /// The verdict for the entry at `path`, whose parent was kept or descended into.
    public func verdict(_ path: String, isDirectory: Bool) -> Verdict {
        switch mode {
        case .exclude:
            if matches(path, isDirectory: isDirectory) { return .remove }
            return isDirectory ? .descend : .keep
        case .include:
            if matches(path, isDirectory: isDirectory) { return .keep }
            return isDirectory ? .descend : .remove
        }
    }
}
