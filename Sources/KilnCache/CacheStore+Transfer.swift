import Foundation

extension CacheStore {
    /// What a transfer between tiers moved.
    public struct Transferred: Sendable, Equatable {
        public var objects: Int
        public var bytes: Int64
    }

    /// Copies the tree `manifest` and every object of it this store lacks
    /// from `source` (the shared tier into a worker's, or back), many at
    /// once, checking each object's digest on the way. A corrupt object in
    /// `source` is dropped there and is a ``CacheFault``.
    @discardableResult
    public func pull(_ manifestDigest: String, from source: CacheStore) throws -> Transferred {
        if access(objectPath(manifestDigest), F_OK) != 0 {
            guard let data = FileManager.default.contents(atPath: source.objectPath(manifestDigest)) else {
                throw CacheFault("manifest \(manifestDigest.prefix(12)) is missing from \(source.root.path)")
            }
            let (stored, _) = try putData(data)
            guard stored == manifestDigest else {
                unlink(objectPath(stored))
                unlink(source.objectPath(manifestDigest))
                throw CacheFault("manifest \(manifestDigest.prefix(12)) in \(source.root.path) is corrupt; dropped")
            }
        }
        let manifest = try self.manifest(manifestDigest)
        let missing = manifest.entries.filter { entry in
            entry.kind == .file && access(objectPath(entry.digest ?? "", executable: entry.mode & 0o111 != 0), F_OK) != 0
        }
        try Self.inParallel(missing.count) { index in
            let entry = missing[index]
            let executable = entry.mode & 0o111 != 0
            let from = source.objectPath(entry.digest ?? "", executable: executable)
            guard access(from, F_OK) == 0 else { throw CacheFault("object \(entry.digest?.prefix(12) ?? "") of \(entry.path) is missing from \(source.root.path)") }
            do {
                // A copy, never a link: the tiers stay independent, so one's damaged object is the other's to restore.
                _ = try ingest(from, executable: executable, expected: entry.digest)
            } catch let fault as CacheFault {
                unlink(from)
                throw CacheFault("\(fault.description) in \(source.root.path); dropped")
            }
        }
        return Transferred(objects: missing.count, bytes: missing.reduce(0) { $0 + $1.size })
    }
}
