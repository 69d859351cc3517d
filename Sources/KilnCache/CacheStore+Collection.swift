import Foundation

extension CacheStore {
    /// What a store holds.
    public struct Usage: Codable, Sendable, Equatable {
        public var entries: Int
        public var objects: Int
        /// Bytes on disk: each object once, however many trees use it.
        public var storedBytes: Int64
        /// Bytes the apps' trees hold together: what one copy per app would take.
        public var treeBytes: Int64
        /// `treeBytes / storedBytes`: how many times over sharing pays.
        public var dedupRatio: Double {
            storedBytes == 0 ? 1 : Double(treeBytes) / Double(storedBytes)
        }

        public init(entries: Int, objects: Int, storedBytes: Int64, treeBytes: Int64) {
            self.entries = entries
            self.objects = objects
            self.storedBytes = storedBytes
            self.treeBytes = treeBytes
        }

        enum CodingKeys: String, CodingKey {
            case entries, objects
            case storedBytes = "stored_bytes"
            case treeBytes = "tree_bytes"
            case dedupRatio = "dedup_ratio"
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            self.init(entries: try container.decode(Int.self, forKey: .entries), objects: try container.decode(Int.self, forKey: .objects),
                      storedBytes: try container.decode(Int64.self, forKey: .storedBytes), treeBytes: try container.decode(Int64.self, forKey: .treeBytes))
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(entries, forKey: .entries)
            try container.encode(objects, forKey: .objects)
            try container.encode(storedBytes, forKey: .storedBytes)
            try container.encode(treeBytes, forKey: .treeBytes)
            try container.encode((dedupRatio * 100).rounded() / 100, forKey: .dedupRatio)
        }
    }

    /// What a collection did.
    public struct Collection: Sendable, Equatable {
        public var evictedEntries: Int
        public var freedBytes: Int64
    }

    /// Objects and their bytes, stored once however many trees use them.
    public func storedBytes() throws -> (objects: Int, bytes: Int64) {
        var bytes: Int64 = 0
        let names = try objectDigests()
        for name in names {
            var info = stat()
            if lstat(objectPath(named: name), &info) == 0 { bytes += Int64(info.st_size) }
        }
        return (names.count, bytes)
    }

    public func usage() throws -> Usage {
        let entries = self.entries()
        let stored = try storedBytes()
        var sizes: [String: Int64] = [:]
        var treeBytes: Int64 = 0
        for entry in entries where entry.scope != Self.farmScope {
            if sizes[entry.manifest] == nil { sizes[entry.manifest] = (try? manifest(entry.manifest))?.bytes ?? 0 }
            treeBytes += sizes[entry.manifest] ?? 0
        }
        return Usage(entries: entries.count, objects: stored.objects, storedBytes: stored.bytes, treeBytes: treeBytes)
    }

    /// Evicts entries least recently used first until what the rest need
    /// fits in `budget` bytes, then sweeps. Entries used within `grace` stay
    /// whatever the budget: a build may be restoring them.
    public func collect(budget: Int64, grace: TimeInterval = 3600) throws -> Collection {
        let now = Date()
        var kept = Set<String>()
        var bytes: Int64 = 0
        var evicted = 0
        for entry in entries().sorted(by: { $0.lastUsed > $1.lastUsed }) {
            guard let manifest = try? manifest(entry.manifest) else {
                removeEntry(entry)
                evicted += 1
                continue
            }
            var names: [String] = []
            var added: Int64 = 0
            for file in manifest.entries where file.kind == .file {
                guard let digest = file.digest else { continue }
                let name = digest + (file.mode & 0o111 != 0 ? ".x" : "")
                if !kept.contains(name) {
                    names.append(name)
                    added += file.size
                }
            }
            if bytes + added <= budget || now.timeIntervalSince(entry.lastUsed) < grace {
                kept.formUnion(names)
                bytes += added
            } else {
                removeEntry(entry)
                evicted += 1
            }
        }
        return Collection(evictedEntries: evicted, freedBytes: try sweep(grace: grace))
    }

    /// Removes every object no entry's tree uses, and abandoned temporary
    /// files; returns the bytes freed. Objects changed within `grace` stay: a
    /// build may be saving or restoring them (a link sets an object's ctime).
    public func sweep(grace: TimeInterval = 3600) throws -> Int64 {
        var live = Set<String>()
        for entry in entries() {
            live.insert(entry.manifest)
            guard let manifest = try? manifest(entry.manifest) else { continue }
            for file in manifest.entries {
                if let digest = file.digest { live.insert(digest + (file.mode & 0o111 != 0 ? ".x" : "")) }
            }
        }
        var freed: Int64 = 0
        let cutoff = Int(Date().addingTimeInterval(-grace).timeIntervalSince1970)
        let temporary = root.appendingPathComponent("tmp").path
        let abandoned = ((try? FileManager.default.contentsOfDirectory(atPath: temporary)) ?? []).map { temporary + "/" + $0 }
        for path in try objectDigests().filter({ !live.contains($0) }).map({ objectPath(named: $0) }) + abandoned {
            var info = stat()
            guard lstat(path, &info) == 0, info.st_ctim.tv_sec < cutoff else { continue }
            if unlink(path) == 0 { freed += Int64(info.st_size) }
        }
        return freed
    }
}
