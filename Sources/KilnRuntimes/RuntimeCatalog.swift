import Foundation

/// One runtime a build may use: the stack's own toolchain (no directory),
/// or a directory the operator added under `--runtimes`.
public struct Runtime: Sendable, Equatable, CustomStringConvertible {
    public var kind: String
    public var version: RuntimeVersion
    /// `DIR/NAME/VERSION`, or `nil` for the toolchain the stack itself has.
    public var directory: URL?

    public init(kind: String, version: RuntimeVersion, directory: URL?) {
        self.kind = kind
        self.version = version
        self.directory = directory
    }

    /// `3.11.2 (host)` or `3.12.4`.
    public func label(system: String) -> String { directory == nil ? "\(version) (\(system))" : "\(version)" }

    public var description: String { "\(kind) \(version)" + (directory == nil ? "" : " from \(directory!.path)") }
}

/// The runtimes a worker has: its stack's own toolchains and a runtimes
/// directory the operator fills (`kiln runtimes add`), one folder per name
/// and version, `DIR/node/24.19.0/bin/node`.
public struct RuntimeCatalog: Sendable {
    public var runtimes: [Runtime]
    /// What the stack's own toolchains are called in messages: `host` on a one-machine farm.
    public var system: String

    public init(runtimes: [Runtime], system: String = "host") {
        self.runtimes = runtimes
        self.system = system
    }

    /// The runtimes of `directory` (none when it does not exist): each
    /// `NAME/VERSION/` of a known kind whose `bin/` has its executable.
    /// The directory is the operator's, not a build's.
    public static func scan(_ directory: URL) -> [Runtime] {
        var found: [Runtime] = []
        let files = FileManager.default
        for kind in RuntimeKind.all {
            let folder = directory.appendingPathComponent(kind.name)
            for name in (try? files.contentsOfDirectory(atPath: folder.path)) ?? [] where !name.hasPrefix(".") {
                guard let version = RuntimeVersion(name), version.description == name else { continue }
                let root = folder.appendingPathComponent(name)
                guard files.isExecutableFile(atPath: root.appendingPathComponent("bin/\(kind.executable)").path) else { continue }
                found.append(Runtime(kind: kind.name, version: version, directory: root))
            }
        }
        return found
    }

    /// A selected runtime, and whether it meets what the app asked or
    /// stands in for it (``RuntimeKind/standIn``).
    public struct Choice: Sendable, Equatable {
        public var runtime: Runtime
        /// `nil` when it meets the request (or there was none), else the line that says it does not.
        public var mismatch: String?

        public init(runtime: Runtime, mismatch: String? = nil) {
            self.runtime = runtime
            self.mismatch = mismatch
        }
    }

    /// For what the app asks (or the default when it asks nothing): the
    /// newest runtime that meets the request, the stack's own toolchain
    /// when versions tie (nothing to copy). With no request: the stack's
    /// own, else the newest added one. Where the kind allows a stand-in,
    /// the newest runtime of the same series, with the mismatch named.
    /// Otherwise throws, in one line naming the file, what it asks and
    /// what this farm has.
    public func select(_ kind: RuntimeKind, for request: RuntimeRequest?) throws -> Choice? {
        let candidates = runtimes.filter { $0.kind == kind.name }
        let preferred: (Runtime, Runtime) -> Bool = { ($0.version, $0.directory == nil ? 1 : 0) < ($1.version, $1.directory == nil ? 1 : 0) }
        guard let request else {
            return (candidates.first { $0.directory == nil } ?? candidates.max { $0.version < $1.version }).map { Choice(runtime: $0) }
        }
        if let best = candidates.filter({ request.requirement.accepts($0.version) }).max(by: preferred) {
            return Choice(runtime: best)
        }
        let has = candidates.sorted { $0.version > $1.version }.map { $0.label(system: system) }.joined(separator: ", ")
        let asked = "\(request.file) asks for \(kind.title) \(request.requirement); this farm has \(has.isEmpty ? "none" : has)"
        if let series = kind.standIn, let pinned = request.requirement.pinned, pinned.components.count >= series {
            let prefix = RuntimeVersion(Array(pinned.components.prefix(series)))
            if let standIn = candidates.filter({ $0.version.starts(with: prefix) }).max(by: preferred) {
                return Choice(runtime: standIn, mismatch: """
                    \(asked): building with \(standIn.version), of the same \(kind.title) \(prefix); \
                    add \(pinned) with kiln runtimes add \(kind.name) DIR_OR_ARCHIVE to build with exactly it
                    """)
            }
        }
        throw RuntimeError("\(asked); add a runtime with kiln runtimes add \(kind.name) DIR_OR_ARCHIVE, or ask for a version the farm has")
    }
}
