import Foundation

extension CacheStore {
    /// One entry: a key of an app (or of the farm) and the tree it maps to.
    public struct Entry: Sendable, Equatable {
        /// The app, or `_farm` for entries every app may use.
        public var scope: String
        public var key: String
        public var manifest: String
        /// When a build last used it (or saved it).
        public var lastUsed: Date
    }

    static let farmScope = "_farm"

    /// Records that `key` (a hex digest) maps to `manifest`, for `app` or, with `nil`, the farm.
    public func setEntry(_ key: String, manifest: String, app: String?) throws {
        try write(Data(manifest.utf8), to: entriesDirectory(app ?? Self.farmScope).appendingPathComponent(key))
    }

    /// The manifest `key` maps to: the app's own entry, then, when
    /// `farmWide`, the entry any app saved under the same key.
    public func entry(_ key: String, app: String, farmWide: Bool = true) -> String? {
        for scope in farmWide ? [app, Self.farmScope] : [app] {
            let file = entriesDirectory(scope).appendingPathComponent(key)
            if let data = FileManager.default.contents(atPath: file.path) {
                // Its modification time is its last use, for eviction least recently used first.
                utimes(file.path, nil)
                return String(decoding: data, as: UTF8.self)
            }
        }
        return nil
    }

    /// Every entry of every scope.
    public func entries() -> [Entry] {
        let root = self.root.appendingPathComponent("entries")
        var found: [Entry] = []
        for scope in (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? [] {
            let directory = root.appendingPathComponent(scope)
            for key in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [] {
                let path = directory.appendingPathComponent(key).path
                var info = stat()
                guard lstat(path, &info) == 0, let data = FileManager.default.contents(atPath: path) else { continue }
                found.append(Entry(scope: scope, key: key, manifest: String(decoding: data, as: UTF8.self),
                                   lastUsed: Date(timeIntervalSince1970: TimeInterval(info.st_mtim.tv_sec))))
            }
        }
        return found
    }

    func removeEntry(_ entry: Entry) {
        unlink(entriesDirectory(entry.scope).appendingPathComponent(entry.key).path)
    }

    /// Removes the app's entries and notes (not the objects: other apps may
    /// use them; collection removes the rest).
    public func purge(app: String) throws {
        try? FileManager.default.removeItem(at: entriesDirectory(app))
        try? FileManager.default.removeItem(at: root.appendingPathComponent("notes").appendingPathComponent(app))
    }

    /// Keeps the key a builder last saved for the app, so that a miss can say what changed.
    public func setLastKey(_ key: CacheKey, app: String, builder: String) throws {
        let directory = root.appendingPathComponent("notes").appendingPathComponent(app)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try write(try JSONEncoder().encode(key), to: directory.appendingPathComponent(builder))
    }

    public func lastKey(app: String, builder: String) -> CacheKey? {
        let file = root.appendingPathComponent("notes").appendingPathComponent(app).appendingPathComponent(builder)
        return FileManager.default.contents(atPath: file.path).flatMap { try? JSONDecoder().decode(CacheKey.self, from: $0) }
    }

    func entriesDirectory(_ scope: String) -> URL {
        root.appendingPathComponent("entries").appendingPathComponent(scope)
    }

    /// Writes a small file whole, by rename: readers see the old or the new content.
    func write(_ data: Data, to file: URL) throws {
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        let temporary = root.appendingPathComponent("tmp").appendingPathComponent(UUID().uuidString)
        try data.write(to: temporary)
        guard rename(temporary.path, file.path) == 0 else {
            unlink(temporary.path)
            throw fault("cannot write \(file.lastPathComponent.prefix(12))")
        }
    }
}
