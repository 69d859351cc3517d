import Foundation
import KilnConfine

/// The files of one layer env directory (`env/`, `env.build/`,
/// `env.launch/` or `env.launch/<process>/`), file name to contents, so the
/// modification rules can be applied and tested without a file system.
public struct CNBEnvDirectory: Sendable, Equatable {
    /// How a file changes its variable, from the suffix after the first period.
    public enum Action: String, Sendable, Equatable {
        case append, prepend, override, `default`, delim
    }

    public var files: [String: String]

    public init(_ files: [String: String] = [:]) { self.files = files }

    /// Applies the directory to `env` as the lifecycle does: files in name
    /// order, a bare `NAME` as override (Buildpack API 0.5 and later), a
    /// suffix it does not know ignored, and `NAME.delim` joining only within this directory.
    public func apply(to env: inout [String: String]) {
        for name in files.keys.sorted() {
            guard let value = files[name], let (variable, action) = Self.split(name) else { continue }
            apply(action, variable, value, to: &env)
        }
    }

    func apply(_ action: Action, _ variable: String, _ value: String, to env: inout [String: String]) {
        let existing = env[variable] ?? ""
        // The delimiter goes between values only: joining onto an empty variable adds none.
        let delim = files["\(variable).delim"] ?? ""
        switch action {
        case .prepend: env[variable] = existing.isEmpty ? value : value + delim + existing
        case .append: env[variable] = existing.isEmpty ? value : existing + delim + value
        case .override: env[variable] = value
        case .default: if existing.isEmpty { env[variable] = value }
        case .delim: break
        }
    }

    /// The variable is the name up to the first period; no period means override.
    static func split(_ name: String) -> (String, Action)? {
        guard let dot = name.firstIndex(of: ".") else { return name.isEmpty ? nil : (name, .override) }
        let variable = String(name[..<dot])
        guard !variable.isEmpty, let action = Action(rawValue: String(name[name.index(after: dot)...])) else { return nil }
        return (variable, action)
    }
}

extension CNBEnvDirectory {
    /// Env files larger than this are refused: a variable is not a place for a megabyte.
    public static let maximumFileSize = 1 << 20

    /// Reads the regular files of `directory` (subdirectories are the
    /// per-process ones, read separately), beneath `root`, the layers
    /// directory, which the build wrote: every file is opened beneath root's
    /// descriptor (KilnConfine), so a link may lead to another file of the
    /// layers but never out of them. A file over 1 MiB, or anything but a
    /// regular file, is refused by name; a missing directory is empty.
    public static func load(_ directory: URL, root: URL, owner: String) throws -> CNBEnvDirectory {
        let layers = try ConfinedDirectory(root, label: "the layers directory")
        let relative = try CNBLayerPath.relative(directory, to: root, owner: owner)
        return try load(relative, in: layers, owner: owner)
    }

    static func load(_ relative: String, in layers: ConfinedDirectory, owner: String) throws -> CNBEnvDirectory {
        let label = relative.split(separator: "/").dropFirst().joined(separator: "/")
        guard let directory = try CNBLayerPath.confined(owner, label, { try layers.directory(relative, links: .none) }) else { return CNBEnvDirectory() }
        var files: [String: String] = [:]
        for entry in try CNBLayerPath.confined(owner, label, { try directory.entries() }) where entry.kind != .directory {
            let name = "\(label)/\(entry.name)"
            guard entry.kind == .regular || entry.kind == .symlink else { throw CNBError("\(owner): \(name) is \(entry.kind), not a file") }
            if entry.kind == .regular, entry.size > maximumFileSize {
                throw CNBError("\(owner): \(name) is \(entry.size) bytes; env files are limited to \(maximumFileSize >> 20) MiB")
            }
            let data = try CNBLayerPath.confined(owner, name) { try layers.read("\(relative)/\(entry.name)", cap: maximumFileSize, links: .beneath) }
            files[entry.name] = String(decoding: data ?? Data(), as: UTF8.self)
        }
        return CNBEnvDirectory(files)
    }
}

/// Paths inside the layers directory, and KilnConfine's refusals said as CNB errors.
enum CNBLayerPath {
    /// `directory`'s path below `root`; an error when it is not below it.
    static func relative(_ directory: URL, to root: URL, owner: String) throws -> String {
        let base = root.standardizedFileURL.path, path = directory.standardizedFileURL.path
        guard path.hasPrefix(base + "/") else { throw CNBError("\(owner): \(path) is not in the layers directory \(base)") }
        return String(path.dropFirst(base.count + 1))
    }

    /// Runs `body`; a refusal of KilnConfine (a link out, a file too large) becomes a ``CNBError`` naming `name`.
    static func confined<T>(_ owner: String, _ name: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as ConfinedPathError {
            switch error.reason {
            case .tooLarge(let cap): throw CNBError("\(owner): \(name) is larger than \(cap >> 20) MiB; env files are limited to \(cap >> 20) MiB")
            case .isLink, .leaves, .throughLink: throw CNBError("\(owner): \(name) is a link out of the layers directory")
            default: throw CNBError("\(owner): \(name): \(error)")
            }
        }
    }
}
