import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Packs a directory tree into an ``ArchiveWriter`` in a fixed order.
///
/// Entries are visited depth-first with names sorted bytewise, and carry only
/// what a deploy needs: type, the executable bit, and a symbolic link's
/// target. The same tree therefore always gives the same entry stream.
/// Blocks on I/O.
public struct DirectoryArchiver: Sendable {
    /// The prefix put in front of every entry path (for slugs, `app`).
    public var prefix: String

    public init(prefix: String) {
        self.prefix = prefix
    }

    /// Writes `directory` and everything under it; returns the number of entries written.
    @discardableResult
    public func archive(_ directory: URL, into writer: ArchiveWriter) throws -> Int {
        var count = 0
        if !prefix.isEmpty {
            try writer.writeHeader(ArchiveEntry(path: prefix + "/", kind: .directory, permissions: 0o755))
            count += 1
        }
        try walk(directory.path, relative: "", writer: writer, count: &count)
        return count
    }

    private func walk(_ absolute: String, relative: String, writer: ArchiveWriter, count: inout Int) throws {
        for name in try Self.sortedNames(in: absolute) {
            let path = absolute + "/" + name
            let entryPath = [prefix, relative, name].filter { !$0.isEmpty }.joined(separator: "/")
            var info = stat()
            guard lstat(path, &info) == 0 else {
                throw ArchiveError(.openFailed, "cannot read \(path): \(String(cString: strerror(errno)))")
            }
            // Normalise permissions: what matters to a deploy is whether a file is executable.
            let executable = info.st_mode & 0o111 != 0
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                try writer.writeHeader(ArchiveEntry(path: entryPath + "/", kind: .directory, permissions: 0o755))
                count += 1
                try walk(path, relative: relative.isEmpty ? name : relative + "/" + name, writer: writer, count: &count)
            case S_IFREG:
                let entry = ArchiveEntry(path: entryPath, kind: .file, permissions: executable ? 0o755 : 0o644, size: Int64(info.st_size))
                try writer.write(entry, contentsOfFile: path)
                count += 1
            case S_IFLNK:
                var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                let length = readlink(path, &buffer, buffer.count - 1)
                guard length >= 0 else { throw ArchiveError(.openFailed, "cannot read the link \(path)") }
                let target = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                try writer.writeHeader(ArchiveEntry(path: entryPath, kind: .symlink(target: target), permissions: 0o777))
                count += 1
            default:
                continue // sockets and fifos left behind by a build are not part of an app
            }
        }
    }

    static func sortedNames(in directory: String) throws -> [String] {
        guard let dir = opendir(directory) else {
            throw ArchiveError(.openFailed, "cannot list \(directory): \(String(cString: strerror(errno)))")
        }
        defer { closedir(dir) }
        var names: [[UInt8]] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                Array(raw.prefix(while: { $0 != 0 }))
            }
            if name == [46] || name == [46, 46] { continue }
            names.append(name)
        }
        names.sort { $0.lexicographicallyPrecedes($1) }
        return names.map { String(decoding: $0, as: UTF8.self) }
    }
}
