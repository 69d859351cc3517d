import Foundation

/// The stacks a worker has: ``Stack/host`` always, and each `NAME/` of its
/// stacks directory (`HOME/stacks`, or `--stacks DIR`) that holds a
/// `stack.conf` and a `root/`, as `scripts/stack` makes them:
///
///     STACKS/NAME/stack.conf   heroku = heroku-22
///                              run-image = registry.example.com/stacks/NAME   (optional)
///     STACKS/NAME/root/        the root file system: usr/ etc/ var/ bin -> usr/bin …
///
/// The directory is the operator's, read afresh for each build (a stack made
/// while the worker runs is used by its next build, without a restart).
/// Because a stack's root is what builds run as their system, a root that
/// another user than root (or the worker's own user) owns, or that others
/// may write, is refused: a build user able to change it would change every
/// later build on it.
public struct StackDirectory: Sendable {
    /// The directory holding the stacks; it need not exist (then only ``Stack/host`` is there).
    public let directory: URL

    public init(_ directory: URL) {
        self.directory = directory.standardizedFileURL
    }

    /// The stack called `name`. Throws ``StackError`` naming the stacks this
    /// worker has when there is none by that name, or what is wrong with it.
    /// Reads a few small files; does not block for long.
    public func stack(named name: String) throws -> Stack {
        if name == Stack.hostName { return .host }
        guard Stack.isValidName(name), FileManager.default.fileExists(atPath: directory.appendingPathComponent(name).path) else {
            throw StackError("there is no stack \(name) on this worker: it has \(available().joined(separator: ", ")) (stacks in \(directory.path)); "
                             + "make it there with `scripts/stack \(name) \(directory.path)`")
        }
        return try load(name)
    }

    /// The names of the stacks this worker has, ``Stack/host`` first, then
    /// every stack of the directory that loads, sorted.
    public func available() -> [String] {
        [Stack.hostName] + stacks().map(\.name)
    }

    /// Every stack of the directory that loads, sorted by name (``problems()`` says why the others do not).
    public func stacks() -> [Stack] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.sorted().filter { Stack.isValidName($0) && $0 != Stack.hostName }.compactMap { try? load($0) }
    }

    /// What is wrong with each entry of the directory that is not a stack, for the worker's start-up log.
    public func problems() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.sorted().filter { !$0.hasPrefix(".") }.compactMap { name in
            guard Stack.isValidName(name), name != Stack.hostName else {
                return "\(directory.appendingPathComponent(name).path): '\(name)' is not a stack name (lowercase letters, digits, dots and dashes; not host)"
            }
            do { _ = try load(name); return nil } catch { return "\(error)" }
        }
    }

    func load(_ name: String) throws -> Stack {
        let base = directory.appendingPathComponent(name)
        let conf = base.appendingPathComponent("stack.conf"), root = base.appendingPathComponent("root")
        let declaration = try StackDeclaration(contentsOf: conf)
        try Self.checkOwned(root, what: "the root of stack \(name)", directory: true)
        for required in ["usr", "etc"] {
            try Self.checkOwned(root.appendingPathComponent(required), what: "\(required)/ of stack \(name)", directory: true)
        }
        // The mount point of the host's resolver configuration when a build has the network.
        guard FileManager.default.fileExists(atPath: root.appendingPathComponent("etc/resolv.conf").path) else {
            throw StackError("stack \(name) has no etc/resolv.conf in \(root.path): make it again with scripts/stack, or create it empty (touch \(root.path)/etc/resolv.conf)")
        }
        return Stack(name: name, heroku: declaration.heroku, root: root, runImage: declaration.runImage, made: declaration.made)
    }

    /// Refuses a path that is a link, not a directory (when `directory`), or
    /// not root's (or this process's user's), or writable by group or others.
    static func checkOwned(_ url: URL, what: String, directory: Bool) throws {
        var info = stat()
        guard lstat(url.path, &info) == 0 else {
            throw StackError("\(what) is missing (\(url.path)): make the stack with scripts/stack")
        }
        let type = info.st_mode & S_IFMT
        if directory, type != S_IFDIR {
            throw StackError("\(what) (\(url.path)) is \(type == S_IFLNK ? "a symbolic link" : "not a directory"): a stack's root must be a directory of its own")
        }
        if !directory, type != S_IFREG { throw StackError("\(what) (\(url.path)) is not a regular file") }
        guard info.st_uid == 0 || info.st_uid == getuid() else {
            throw StackError("\(what) (\(url.path)) belongs to uid \(info.st_uid): a stack must be root's (chown -R root: \(url.path))")
        }
        guard info.st_mode & (S_IWGRP | S_IWOTH) == 0 else {
            throw StackError("\(what) (\(url.path)) may be written by its group or others: chmod go-w \(url.path)")
        }
    }
}

/// A stack's `stack.conf`: `key = value` lines, `#` comments. `heroku`
/// (the Heroku stack name builds see in `STACK`) is required; `run-image`
/// (where slugs built on it run) and `made` (when, as scripts/stack writes
/// it) are optional; other keys are the operator's notes (scripts/stack
/// writes `distribution` and `packages`).
struct StackDeclaration: Sendable, Equatable {
    var heroku: String
    var runImage: String?
    var made: String?

    init(contentsOf url: URL) throws {
        try StackDirectory.checkOwned(url, what: "the declaration of stack \(url.deletingLastPathComponent().lastPathComponent)", directory: false)
        guard let data = FileManager.default.contents(atPath: url.path), data.count <= 64 << 10, let text = String(data: data, encoding: .utf8) else {
            throw StackError("\(url.path) cannot be read as text of at most 64 KiB")
        }
        try self.init(parsing: text, file: url.path)
    }

    init(parsing text: String, file: String) throws {
        var heroku: String?, runImage: String?, made: String?
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw StackError("\(file) line \(index + 1) is not `key = value`: \(line.prefix(80))")
            }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces), value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            switch key {
            case "heroku":
                guard value.wholeMatch(of: /heroku-[0-9]{2}/) != nil else {
                    throw StackError("\(file) line \(index + 1): heroku = \(value.prefix(40)) is not a Heroku stack name such as heroku-22 or heroku-24")
                }
                heroku = value
            case "run-image":
                guard !value.isEmpty, value.utf8.count <= 512, !value.contains(where: { $0.isWhitespace }) else {
                    throw StackError("\(file) line \(index + 1): run-image must be one image reference")
                }
                runImage = value
            case "made":
                made = String(value.prefix(64))
            default:
                continue
            }
        }
        guard let heroku else { throw StackError("\(file) has no `heroku = heroku-22` (or heroku-24) line: say which Heroku stack the stack stands in for") }
        self.heroku = heroku
        self.runImage = runImage
        self.made = made
    }
}

/// A stack that is not on this worker, or not usable; the message names it and what to do.
public struct StackError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
