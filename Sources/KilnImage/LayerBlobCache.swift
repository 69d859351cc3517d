import Foundation

/// The compressed layers a worker exported, by the digest of their
/// uncompressed tar (`diff_id`): a layer whose tar is the same as one
/// exported before is not compressed again, its blob is linked into the
/// export's layout from here, and the registry, which has the blob, gets
/// nothing but the manifest. Working out a tar's digest reads the files
/// once; compressing is what costs (gzip runs at a few tens of MB/s).
///
/// `blobs/HEX` holds the gzip blobs (the farm's, written only here),
/// `diffs/HEX` maps a diff_id to `sha256:DIGEST SIZE`, `layers/HEX` maps a
/// blob back to its diff_id. A missing or damaged entry is a miss.
public struct LayerBlobCache: Sendable {
    public let directory: URL

    public init(_ directory: URL) { self.directory = directory }

    struct Hit {
        var descriptor: OCILayout.Descriptor
        var diffID: String
    }

    static func hex(_ digest: String) -> String? {
        let hex = digest.hasPrefix("sha256:") ? String(digest.dropFirst(7)) : digest
        return hex.count == 64 && hex.allSatisfy(\.isHexDigit) ? hex : nil
    }

    func blob(_ digest: String) -> URL? { Self.hex(digest).map { directory.appendingPathComponent("blobs/\($0)") } }

    /// The blob cached for the tar of digest `diffID`, if its file is there with its size.
    func lookup(diffID: String) -> Hit? {
        guard let key = Self.hex(diffID),
              let text = try? String(contentsOf: directory.appendingPathComponent("diffs/\(key)"), encoding: .utf8) else { return nil } // farm-owned: the worker's layer cache
        let parts = text.split(separator: " ")
        guard parts.count == 2, let size = Int64(parts[1]), let file = blob(String(parts[0])),
              let attributes = try? FileManager.default.attributesOfItem(atPath: file.path), // farm-owned: the worker's layer cache
              (attributes[.size] as? NSNumber)?.int64Value == size else { return nil }
        return Hit(descriptor: .init(mediaType: OCILayout.gzipLayerType, digest: String(parts[0]), size: size), diffID: diffID)
    }

    /// The blob `digest` as cached, with its diff_id, if it is there.
    func lookup(digest: String) -> Hit? {
        guard let key = Self.hex(digest),
              let diffID = try? String(contentsOf: directory.appendingPathComponent("layers/\(key)"), encoding: .utf8) else { return nil } // farm-owned: the worker's layer cache
        guard let hit = lookup(diffID: diffID), hit.descriptor.digest == digest else { return nil }
        return hit
    }

    /// Keeps the layout's blob of `descriptor` (a hard link, else a copy).
    func store(_ descriptor: OCILayout.Descriptor, diffID: String, from layout: OCILayout) {
        guard let file = blob(descriptor.digest), let diffKey = Self.hex(diffID), let blobKey = Self.hex(descriptor.digest) else { return }
        let manager = FileManager.default
        for folder in ["blobs", "diffs", "layers"] {
            try? manager.createDirectory(at: directory.appendingPathComponent(folder), withIntermediateDirectories: true) // farm-owned: the worker's layer cache
        }
        if !manager.fileExists(atPath: file.path) { // farm-owned: the worker's layer cache
            let staged = file.appendingPathExtension("tmp-\(getpid())")
            try? manager.removeItem(at: staged) // farm-owned: the worker's layer cache
            guard (try? manager.linkItem(at: layout.blob(descriptor.digest), to: staged)) != nil // farm-owned: the export's layout and the layer cache
                    || (try? manager.copyItem(at: layout.blob(descriptor.digest), to: staged)) != nil else { return } // farm-owned: the same
            guard rename(staged.path, file.path) == 0 else { try? manager.removeItem(at: staged); return } // farm-owned: the worker's layer cache
        }
        try? Data("\(descriptor.digest) \(descriptor.size)".utf8).write(to: directory.appendingPathComponent("diffs/\(diffKey)"), options: .atomic) // farm-owned: the worker's layer cache
        try? Data(diffID.utf8).write(to: directory.appendingPathComponent("layers/\(blobKey)"), options: .atomic) // farm-owned: the worker's layer cache
    }

    /// Removes the least recently used blobs (and their entries) until the
    /// blobs take at most `budget` bytes; a blob is used when it is stored or
    /// placed. What a missing entry costs is one compression.
    public func prune(budget: Int64) {
        let manager = FileManager.default
        let folder = directory.appendingPathComponent("blobs")
        let keys: [URLResourceKey] = [.contentModificationDateKey, .fileSizeKey]
        guard let files = try? manager.contentsOfDirectory(at: folder, includingPropertiesForKeys: keys) else { return } // farm-owned: the worker's layer cache
        var blobs = files.compactMap { file -> (URL, Date, Int64)? in
            guard let values = try? file.resourceValues(forKeys: Set(keys)) else { return nil }
            return (file, values.contentModificationDate ?? .distantPast, Int64(values.fileSize ?? 0))
        }
        var total = blobs.reduce(Int64(0)) { $0 + $1.2 }
        blobs.sort { $0.1 < $1.1 }
        for (file, _, size) in blobs where total > budget {
            let key = file.lastPathComponent
            if let diffID = try? String(contentsOf: directory.appendingPathComponent("layers/\(key)"), encoding: .utf8), let diffKey = Self.hex(diffID) { // farm-owned: the worker's layer cache
                try? manager.removeItem(at: directory.appendingPathComponent("diffs/\(diffKey)")) // farm-owned: the worker's layer cache
            }
            try? manager.removeItem(at: directory.appendingPathComponent("layers/\(key)")) // farm-owned: the worker's layer cache
            try? manager.removeItem(at: file) // farm-owned: the worker's layer cache
            total -= size
        }
    }

    /// Puts the cached blob of `hit` into `layout` (a hard link, else a copy).
    func place(_ hit: Hit, into layout: OCILayout) throws {
        guard let file = blob(hit.descriptor.digest) else { throw ImageError("the layer cache has no blob \(hit.descriptor.digest)") }
        let destination = layout.blob(hit.descriptor.digest)
        let manager = FileManager.default
        try manager.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true) // farm-owned: the export's layout
        // Used now: the last to go when the cache is pruned.
        utimes(file.path, nil) // farm-owned: the worker's layer cache
        if manager.fileExists(atPath: destination.path) { return } // farm-owned: the export's layout
        if (try? manager.linkItem(at: file, to: destination)) == nil { try manager.copyItem(at: file, to: destination) } // farm-owned: the layer cache and the layout
    }
}
