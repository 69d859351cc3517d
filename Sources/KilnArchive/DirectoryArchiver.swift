import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Packs a directory tree into an ``ArchiveWriter`` in a fixed order.
///
/// Entries are visited depth-first with names sorted bytewise, and carry only
/// what a deploy needs: type, the executable bit, and a symbolic link's
/// target. The same tree therefore always gives the same entry stream.
///
/// A thread of its own walks the tree and reads the files ahead (up to
/// 32 MiB), while the calling thread formats and compresses: on a tree of
/// many small files the reads' system calls no longer hold up the
/// compressor, as a `tar | zstd` pipeline overlaps them. Blocks on I/O.
public struct DirectoryArchiver: Sendable {
    /// The prefix put in front of every entry path (for slugs, `app`).
    public var prefix: String

    public init(prefix: String) {
        self.prefix = prefix
    }

    /// Writes `directory` and everything under it; returns the number of entries written.
    @discardableResult
    public func archive(_ directory: URL, into writer: ArchiveWriter) throws -> Int {
        let queue = PieceQueue(limit: 32 << 20)
        let reader = Thread { [prefix] in
            do {
                var count = 0
                if !prefix.isEmpty {
                    try queue.put(.header(ArchiveEntry(path: prefix + "/", kind: .directory, permissions: 0o755)))
                    count += 1
                }
                try Self.walk(directory.path, relative: "", prefix: prefix, into: queue, count: &count)
                queue.finish(count: count, error: nil)
            } catch {
                queue.finish(count: 0, error: error)
            }
        }
        reader.stackSize = 4 << 20
        reader.start()
        do {
            while let piece = try queue.take() {
                switch piece {
                case .header(let entry): try writer.writeHeader(entry)
                case .data(let bytes): try bytes.withUnsafeBytes { try writer.writeData($0) }
                }
            }
        } catch {
            // The reader stops at its next piece; it is waited for, so that nothing outlives the call.
            queue.abandon()
            queue.waitForReader()
            throw error
        }
        return queue.count
    }

    private static func walk(_ absolute: String, relative: String, prefix: String, into queue: PieceQueue, count: inout Int) throws {
        for name in try sortedNames(in: absolute) {
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
                try queue.put(.header(ArchiveEntry(path: entryPath + "/", kind: .directory, permissions: 0o755)))
                count += 1
                try walk(path, relative: relative.isEmpty ? name : relative + "/" + name, prefix: prefix, into: queue, count: &count)
            case S_IFREG:
                let size = Int64(info.st_size)
                try queue.put(.header(ArchiveEntry(path: entryPath, kind: .file, permissions: executable ? 0o755 : 0o644, size: size)))
                try read(path, size: size, into: queue)
                count += 1
            case S_IFLNK:
                var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                let length = readlink(path, &buffer, buffer.count - 1)
                guard length >= 0 else { throw ArchiveError(.openFailed, "cannot read the link \(path)") }
                let target = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                try queue.put(.header(ArchiveEntry(path: entryPath, kind: .symlink(target: target), permissions: 0o777)))
                count += 1
            default:
                continue // sockets and fifos left behind by a build are not part of an app
            }
        }
    }

    /// Reads exactly `size` bytes of the file, in pieces of at most 1 MiB.
    private static func read(_ path: String, size: Int64, into queue: PieceQueue) throws {
        // Not followed if it became a link since it was listed, and no waiting on a fifo put in its place.
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard descriptor >= 0 else { throw ArchiveError(.openFailed, "cannot read \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            throw ArchiveError(.openFailed, "\(path) changed while it was being packed: it is no longer a regular file")
        }
        var remaining = size
        while remaining > 0 {
            let wanted = Int(min(remaining, 1 << 20))
            var failure: Int32 = 0
            let bytes = [UInt8](unsafeUninitializedCapacity: wanted) { buffer, initialized in
                initialized = 0
                while initialized < wanted {
                    let count = Glibc.read(descriptor, buffer.baseAddress! + initialized, wanted - initialized)
                    if count < 0, errno == EINTR { continue }
                    if count <= 0 {
                        failure = count < 0 ? errno : -1
                        return
                    }
                    initialized += count
                }
            }
            if failure == -1 { throw ArchiveError(.writeFailed, "\(path) shrank while it was being packed") }
            if failure != 0 { throw ArchiveError(.openFailed, "cannot read \(path): \(String(cString: strerror(failure)))") }
            try queue.put(.data(bytes))
            remaining -= Int64(bytes.count)
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

/// A header or a file's bytes, in archive order.
enum ArchivePiece: Sendable {
    case header(ArchiveEntry)
    case data([UInt8])

    /// What it counts for against the queue's limit.
    var size: Int {
        if case .data(let bytes) = self { return bytes.count }
        return 512
    }
}

/// The bounded hand-over between the reading thread and the writing one.
final class PieceQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var pieces: [ArchivePiece] = []
    private var head = 0
    private var buffered = 0
    private let limit: Int
    private var done = false
    private var abandoned = false
    private var failure: (any Error)?
    private(set) var count = 0

    init(limit: Int) {
        self.limit = limit
    }

    /// Adds a piece, waiting while `limit` bytes are buffered; throws once the writer gave up.
    func put(_ piece: ArchivePiece) throws {
        let size = piece.size
        condition.lock()
        defer { condition.unlock() }
        while buffered >= limit && !abandoned { condition.wait() }
        if abandoned { throw CancellationError() }
        pieces.append(piece)
        buffered += size
        condition.broadcast()
    }

    /// The next piece; `nil` at the end; the reader's error when it failed.
    func take() throws -> ArchivePiece? {
        condition.lock()
        defer { condition.unlock() }
        while head == pieces.count && !done { condition.wait() }
        if head == pieces.count {
            if let failure { throw failure }
            return nil
        }
        let piece = pieces[head]
        head += 1
        if head > 4096 {
            pieces.removeFirst(head)
            head = 0
        }
        buffered -= piece.size
        condition.broadcast()
        return piece
    }

    func finish(count: Int, error: (any Error)?) {
        condition.lock()
        self.count = count
        failure = error
        done = true
        condition.broadcast()
        condition.unlock()
    }

    func abandon() {
        condition.lock()
        abandoned = true
        condition.broadcast()
        condition.unlock()
    }

    func waitForReader() {
        condition.lock()
        while !done { condition.wait() }
        condition.unlock()
    }
}
