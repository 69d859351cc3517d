import Crypto
import Foundation
import KilnConfine

/// The key of one builder's dependencies for one build: named parts (the
/// stack, the builder's version, the toolchain, each key file's digest,
/// config vars, the app's purge epoch) hashed together. Keeping the parts
/// lets a miss say what changed since the app's last saved key.
public struct CacheKey: Codable, Sendable, Equatable {
    public struct Part: Codable, Sendable, Equatable {
        public var name: String
        public var value: String
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    public var parts: [Part]

    public init(parts: [Part]) {
        self.parts = parts
    }

    /// The key's digest, hex: what entries are stored under.
    public var digest: String {
        var hasher = SHA256()
        hasher.update(data: Data("kiln-cache-key-1\n".utf8))
        for part in parts { hasher.update(data: Data("\(part.name)\t\(part.value)\n".utf8)) }
        return CacheStore.hex(hasher.finalize())
    }

    /// What differs from `previous`, for the build log: "mix.lock changed".
    public func changes(since previous: CacheKey) -> [String] {
        let old = Dictionary(previous.parts.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
        let new = Dictionary(parts.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
        var changes: [String] = []
        for part in parts where old[part.name] != part.value {
            changes.append(Self.describe(part.name, was: old[part.name], now: part.value))
        }
        for part in previous.parts where new[part.name] == nil {
            changes.append(Self.describe(part.name, was: part.value, now: nil))
        }
        return changes
    }

    static func describe(_ name: String, was: String?, now: String?) -> String {
        let (kind, subject) = name.firstIndex(of: " ").map { (String(name[..<$0]), String(name[name.index(after: $0)...])) } ?? (name, "")
        switch kind {
        case "file" where was == nil: return "\(subject) became a key file"
        case "file" where was == "absent": return "\(subject) added"
        case "file" where now == nil || now == "absent": return "\(subject) removed"
        case "file": return "\(subject) changed"
        case "var": return "\(subject) changed (\(was ?? "unset") → \(now ?? "unset"))"
        case "toolchain": return "toolchain changed (\(was ?? "none") → \(now ?? "none"))"
        case "runtime": return "\(subject) runtime changed (\(was ?? "none") → \(now ?? "none"))"
        case "epoch": return "cache purged"
        default: return "\(name) changed"
        }
    }

    /// The digest of a file's content, or "absent".
    public static func fileDigest(_ url: URL) -> String {
        (try? CacheStore.digest(ofFile: url.path)) ?? "absent"
    }

    /// Most bytes a key file of an app (a lockfile) may have.
    public static let keyFileCap: Int64 = 256 << 20

    /// The digest of the app's key file `relative` (a lockfile the build
    /// controls), or "absent". Reached beneath `app` (a link that leaves it
    /// is refused), a regular file only, at most ``keyFileCap`` bytes: a
    /// lockfile that links to a host file or to `/dev/zero` is an error that
    /// names it, never read.
    public static func fileDigest(_ relative: String, in app: ConfinedDirectory) throws -> String {
        guard let handle = try app.openFile(relative, links: .beneath) else { return "absent" }
        guard let digest = try CacheStore.digest(of: handle, cap: keyFileCap) else {
            throw ConfinedPathError(label: app.label, path: relative, reason: .tooLarge(Int(keyFileCap)))
        }
        return digest
    }
}

extension CacheKey {
    /// One digest of every file under `directory` (paths, modes and
    /// contents): a builder's version, which changes whenever its scripts do.
    public static func directoryDigest(_ directory: URL) -> String {
        var lines: [String] = []
        let base = directory.resolvingSymlinksInPath().path
        let enumerator = FileManager.default.enumerator(atPath: base)
        while let relative = enumerator?.nextObject() as? String {
            let path = base + "/" + relative
            var info = stat()
            guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { continue }
            lines.append("\(relative) \(info.st_mode & 0o111 != 0 ? "x" : "-") \(fileDigest(URL(fileURLWithPath: path)))")
        }
        var hasher = SHA256()
        hasher.update(data: Data(lines.sorted().joined(separator: "\n").utf8))
        return CacheStore.hex(hasher.finalize())
    }
}
