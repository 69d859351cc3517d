import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension ConfinedDirectory {
    /// What a bounded copy may take at most.
    public struct CopyBounds: Sendable {
        public var entries: Int
        public var bytes: Int64
        public init(entries: Int, bytes: Int64) {
            self.entries = entries
            self.bytes = bytes
        }
    }

    /// Copies this directory's tree into `destination` (which must be
    /// empty), walking beneath this directory's descriptor and writing
    /// beneath the destination's: links are copied as links and never
    /// followed, files keep only whether they are executable (0755 or
    /// 0644), and anything but a file, directory or link (a fifo, a device)
    /// is refused by name, as is a tree over `bounds`. For trees a build or a
    /// push wrote, which the farm copies somewhere a build must not change.
    public func copyTree(into destination: ConfinedDirectory, bounds: CopyBounds) throws {
        var directories: [String: ConfinedDirectory] = ["": destination]
        var entries = 0
        var bytes: Int64 = 0
        try walk { relative, entry, parent in
            entries += 1
            guard entries <= bounds.entries else {
                throw error(relative, .tooManyEntries(bounds.entries))
            }
            let parentPath = relative.split(separator: "/").dropLast().joined(separator: "/")
            // Depth first: only the directories above this entry can be written to again, so only they stay open.
            directories = directories.filter { key, _ in key.isEmpty || key == parentPath || parentPath.hasPrefix(key + "/") }
            guard let into = directories[parentPath] else { return }
            switch entry.kind {
            case .directory:
                directories[relative] = try into.makeDirectories(entry.name)
            case .symlink:
                try into.makeLink(entry.name, to: try parent.linkTarget(entry.name))
            case .regular:
                bytes += entry.size
                guard bytes <= bounds.bytes else { throw error(relative, .tooLarge(Int(bounds.bytes))) }
                let source = try parent.openEntry(entry.name)
                defer { try? source.close() }
                let target = try into.createFile(entry.name, mode: entry.mode & 0o111 != 0 ? 0o755 : 0o644)
                defer { try? target.close() }
                var copied: Int64 = 0
                while let chunk = try source.read(upToCount: 1 << 20), !chunk.isEmpty {
                    copied += Int64(chunk.count)
                    // The file may have grown since it was listed: the bound holds on what is read.
                    guard bytes - entry.size + copied <= bounds.bytes else { throw error(relative, .tooLarge(Int(bounds.bytes))) }
                    try target.write(contentsOf: chunk)
                }
            default:
                throw error(relative, .notRegular(entry.kind))
            }
        }
    }
}
