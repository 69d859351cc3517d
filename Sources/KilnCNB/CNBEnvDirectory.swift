import Foundation

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
    /// per-process ones, read separately). A link resolving outside `root`,
    /// or a file over 1 MiB, is refused by name; a missing directory is empty.
    public static func load(_ directory: URL, root: URL, owner: String) throws -> CNBEnvDirectory {
        let manager = FileManager.default
        guard let names = try? manager.contentsOfDirectory(atPath: directory.path) else { return CNBEnvDirectory() }
        let rootPath = root.resolvingSymlinksInPath().path
        var files: [String: String] = [:]
        for name in names {
            let file = directory.appendingPathComponent(name)
            let resolved = file.resolvingSymlinksInPath().path
            guard resolved == rootPath || resolved.hasPrefix(rootPath + "/") else {
                throw CNBError("\(owner): \(directory.lastPathComponent)/\(name) is a link out of the layers directory")
            }
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: resolved, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            files[name] = try read(resolved, label: "\(owner): \(directory.lastPathComponent)/\(name)")
        }
        return CNBEnvDirectory(files)
    }

    static func read(_ path: String, label: String) throws -> String {
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        guard size <= maximumFileSize else { throw CNBError("\(label) is \(size) bytes; env files are limited to 1 MiB") }
        guard let data = FileManager.default.contents(atPath: path) else { throw CNBError("\(label) cannot be read") }
        return String(decoding: data, as: UTF8.self)
    }
}
