import CKilnFile
import Foundation

/// A directory whose contents someone else controls (a build's app, cache or
/// env directory, a pushed tree), opened once and then touched only beneath
/// its descriptor.
///
/// Every path is resolved by the kernel (`openat2` with `RESOLVE_BENEATH |
/// RESOLVE_NO_MAGICLINKS`): a symbolic link that stays inside the directory
/// resolves, one that leaves it (absolute, `..` past the top, `/proc` magic
/// links) fails, and with ``Links/none`` no link is followed at all. Reads
/// check the file type and cap the bytes; removals and walks never follow a
/// link. The worker and the receiver run as root, so this type is the only
/// way they reach a path a build or a push could have planted.
///
/// Owns its descriptor (closed on deinit); immutable, so `Sendable`.
/// Every call blocks on I/O.
public final class ConfinedDirectory: Sendable {
    /// How links on the way to a path are treated.
    public enum Links: Sendable {
        /// Links that stay inside the directory resolve; one that leaves it is refused.
        case beneath
        /// No component may be a link: the path must be real all the way.
        case none
    }

    /// The kind of a directory entry, as `lstat` sees it.
    public enum Kind: Sendable, Equatable, CustomStringConvertible {
        case regular, directory, symlink, fifo, socket, device, other

        init(_ mode: mode_t) {
            switch mode & S_IFMT {
            case S_IFREG: self = .regular
            case S_IFDIR: self = .directory
            case S_IFLNK: self = .symlink
            case S_IFIFO: self = .fifo
            case S_IFSOCK: self = .socket
            case S_IFCHR, S_IFBLK: self = .device
            default: self = .other
            }
        }

        public var description: String {
            switch self {
            case .regular: "a regular file"
            case .directory: "a directory"
            case .symlink: "a symbolic link"
            case .fifo: "a fifo"
            case .socket: "a socket"
            case .device: "a device"
            case .other: "not a regular file"
            }
        }
    }

    /// The open descriptor of the directory itself.
    public let descriptor: Int32
    /// How errors name the directory: "the app", "CACHE_DIR".
    public let label: String
    /// The path it was opened at, for messages and for handing to other programs.
    public let path: String

    /// Opens the directory at `path`, a path of the farm's own (the last
    /// component must not be a link unless `followingLink`: an operator may
    /// make HOME's directories links, a build never). Throws if it is not a directory.
    public init(path: String, label: String, followingLink: Bool = false) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (followingLink ? 0 : O_NOFOLLOW))
        guard fd >= 0 else {
            throw ConfinedPathError(label: label, path: path, reason: errno == ELOOP ? .isLink : .system(errno))
        }
        self.descriptor = fd
        self.label = label
        self.path = path
    }

    /// Opens `url` (a farm path) as ``init(path:label:)``.
    public convenience init(_ url: URL, label: String) throws {
        try self.init(path: url.path, label: label)
    }

    private init(descriptor: Int32, label: String, path: String) {
        self.descriptor = descriptor
        self.label = label
        self.path = path
    }

    deinit { close(descriptor) }

    // MARK: Resolving

    /// The raw `openat2` beneath this directory; `nil` when the path does not exist.
    /// A link that leaves the directory, or any link with ``Links/none``, throws.
    func openBeneath(_ relative: String, flags: Int32, mode: mode_t = 0, links: Links) throws -> Int32? {
        let name = relative.isEmpty ? "." : relative
        var resolve = UInt64(KILN_RESOLVE_BENEATH | KILN_RESOLVE_NO_MAGICLINKS)
        if links == .none { resolve |= UInt64(KILN_RESOLVE_NO_SYMLINKS) }
        while true {
            let fd = kiln_openat2(descriptor, name, flags | O_CLOEXEC, UInt32(mode), resolve)
            if fd >= 0 { return fd }
            switch errno {
            case EINTR, EAGAIN: continue
            case ENOENT: return nil
            case EXDEV: throw error(relative, .leaves)
            case ELOOP: throw error(relative, links == .none ? .throughLink : .leaves)
            case ENOTDIR:
                // O_DIRECTORY | O_NOFOLLOW on a link, or on a file, says ENOTDIR too: tell which.
                if flags & O_DIRECTORY != 0, let kind = try? status(of: relative, links: links)?.kind {
                    throw error(relative, kind == .symlink ? .throughLink : .notDirectory(kind))
                }
                throw error(relative, .throughFile)
            default: throw error(relative, .system(errno))
            }
        }
    }

    func error(_ relative: String, _ reason: ConfinedPathError.Reason) -> ConfinedPathError {
        ConfinedPathError(label: label, path: relative, reason: reason)
    }

    /// What `relative` is, without following a link at its end; `nil` when absent.
    /// Links on the way follow `links`.
    public func kind(of relative: String, links: Links = .beneath) throws -> Kind? {
        try status(of: relative, links: links)?.kind
    }

    /// The kind, size and mode of `relative`, without following a link at
    /// its end unless `followingLast` (and then only a link that stays
    /// beneath, with ``Links/beneath``); `nil` when absent.
    public func status(of relative: String, links: Links = .beneath, followingLast: Bool = false) throws -> Entry? {
        let last = followingLast && links == .beneath ? 0 : O_NOFOLLOW
        guard let fd = try openBeneath(relative, flags: KILN_O_PATH | last, links: links) else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw error(relative, .system(errno)) }
        let name = relative.split(separator: "/").last.map(String.init) ?? ""
        return Entry(name: name, kind: Kind(info.st_mode), size: Int64(info.st_size), mode: info.st_mode & 0o7777)
    }

    /// Whether something (of any kind) is at `relative`, its last component not followed.
    public func exists(_ relative: String, links: Links = .beneath) -> Bool {
        (try? kind(of: relative, links: links)) != nil
    }

    // MARK: Reading

    /// Opens the regular file at `relative` for reading; `nil` when absent.
    /// A link at the end is followed under `links`; anything but a regular
    /// file (a fifo, a device, a directory) is refused without opening it.
    public func openFile(_ relative: String, links: Links = .beneath) throws -> FileHandle? {
        let last: Int32 = links == .none ? O_NOFOLLOW : 0
        guard let pathFD = try openBeneath(relative, flags: KILN_O_PATH | last, links: links) else { return nil }
        defer { close(pathFD) }
        var info = stat()
        guard fstat(pathFD, &info) == 0 else { throw error(relative, .system(errno)) }
        let kind = Kind(info.st_mode)
        guard kind == .regular else { throw error(relative, kind == .symlink ? .isLink : .notRegular(kind)) }
        // Re-opened from the O_PATH descriptor: the same inode that was checked, never a swapped one.
        let fd = open("/proc/self/fd/\(pathFD)", O_RDONLY | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else { throw error(relative, .system(errno)) }
        return FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    }

    /// The bytes of the regular file at `relative`, at most `cap`; `nil` when absent.
    /// A larger file is refused whole (``ConfinedPathError/Reason/tooLarge(_:)``).
    public func read(_ relative: String, cap: Int, links: Links = .beneath) throws -> Data? {
        guard let handle = try openFile(relative, links: links) else { return nil }
        var data = Data()
        while data.count <= cap {
            guard let chunk = try handle.read(upToCount: min(1 << 16, cap + 1 - data.count)), !chunk.isEmpty else { return data }
            data.append(chunk)
        }
        throw error(relative, .tooLarge(cap))
    }

    /// The file at `relative` as UTF-8 text, at most `cap` bytes; `nil` when absent.
    public func readText(_ relative: String, cap: Int, links: Links = .beneath) throws -> String? {
        guard let data = try read(relative, cap: cap, links: links) else { return nil }
        guard let text = String(data: data, encoding: .utf8) else { throw error(relative, .notText) }
        return text
    }

    // MARK: Directories

    /// The directory at `relative`, as a confined directory of its own; `nil` when absent.
    /// With ``Links/none`` (the default) no component may be a link.
    public func directory(_ relative: String, links: Links = .none) throws -> ConfinedDirectory? {
        let last: Int32 = links == .none ? O_NOFOLLOW : 0
        guard let fd = try openBeneath(relative, flags: O_RDONLY | O_DIRECTORY | last, links: links) else { return nil }
        return ConfinedDirectory(descriptor: fd, label: label, path: relative.isEmpty ? path : path + "/" + relative)
    }

    /// The directory at `relative`, created with its missing parents (mode
    /// 0755) when absent. A component that is a link or a file is refused.
    public func makeDirectories(_ relative: String) throws -> ConfinedDirectory {
        var current = try itself()
        var walked = ""
        for component in relative.split(separator: "/") where component != "." {
            let name = String(component)
            walked += (walked.isEmpty ? "" : "/") + name
            guard name != ".." else { throw error(walked, .leaves) }
            if mkdirat(current.descriptor, name, 0o755) != 0, errno != EEXIST { throw error(walked, .system(errno)) }
            let fd = openat(current.descriptor, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else {
                let code = errno
                var info = stat()
                if code == ELOOP || code == ENOTDIR, fstatat(current.descriptor, name, &info, AT_SYMLINK_NOFOLLOW) == 0 {
                    throw error(walked, Kind(info.st_mode) == .symlink ? .throughLink : .notDirectory(Kind(info.st_mode)))
                }
                throw error(walked, .system(code))
            }
            current = ConfinedDirectory(descriptor: fd, label: label, path: path + "/" + walked)
        }
        return current
    }

    /// One entry of a directory listing.
    public struct Entry: Sendable {
        public let name: String
        public let kind: Kind
        public let size: Int64
        /// Permission bits.
        public let mode: mode_t

        /// A regular file with an executable bit.
        public var isExecutableFile: Bool { kind == .regular && mode & 0o111 != 0 }
    }

    /// A second descriptor of this directory, with a position of its own.
    func itself() throws -> ConfinedDirectory {
        let fd = openat(descriptor, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw error("", .system(errno)) }
        return ConfinedDirectory(descriptor: fd, label: label, path: path)
    }

    /// The entries of this directory (not `.` or `..`), sorted by name, as `lstat` sees them.
    public func entries() throws -> [Entry] {
        // A descriptor of its own (not dup, which shares the offset): listings may run at once.
        let fd = openat(descriptor, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0, let stream = fdopendir(fd) else {
            if fd >= 0 { close(fd) }
            throw error("", .system(errno))
        }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != ".", name != ".." { names.append(name) }
        }
        return try names.sorted().compactMap { name in
            var info = stat()
            guard fstatat(descriptor, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
                if errno == ENOENT { return nil }
                throw error(name, .system(errno))
            }
            return Entry(name: name, kind: Kind(info.st_mode), size: Int64(info.st_size), mode: info.st_mode & 0o7777)
        }
    }

    /// Visits every entry under this directory, depth first in name order,
    /// with its path relative to `relative`, its status and the directory
    /// that holds it (to open or read it by name). Never follows a link:
    /// links are visited as links, and only real directories are entered.
    public func walk(relative: String = "", _ visit: (String, Entry, ConfinedDirectory) throws -> Void) throws {
        for entry in try entries() {
            let path = relative.isEmpty ? entry.name : relative + "/" + entry.name
            try visit(path, entry, self)
            if entry.kind == .directory, let child = try directory(entry.name, links: .none) {
                try child.walk(relative: path, visit)
            }
        }
    }

    /// The target of the link named `name` in this directory (not a path: one name).
    public func linkTarget(_ name: String) throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlinkat(descriptor, name, &buffer, buffer.count - 1)
        guard count >= 0 else { throw error(name, .system(errno)) }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Opens the regular file named `name` in this directory, never through a link.
    public func openEntry(_ name: String) throws -> FileHandle {
        let fd = openat(descriptor, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else { throw error(name, errno == ELOOP ? .isLink : .system(errno)) }
        var info = stat()
        guard fstat(fd, &info) == 0, Kind(info.st_mode) == .regular else {
            close(fd)
            throw error(name, .notRegular(Kind(info.st_mode)))
        }
        return FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    }

    // MARK: Writing

    /// Creates the file `name` in this directory (it must not exist: never
    /// opened through a link) with `mode`, for writing.
    public func createFile(_ name: String, mode: mode_t = 0o644) throws -> FileHandle {
        let fd = openat(descriptor, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { throw error(name, .system(errno)) }
        return FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    }

    /// Creates the symbolic link `name` → `target` in this directory.
    public func makeLink(_ name: String, to target: String) throws {
        guard symlinkat(target, descriptor, name) == 0 else { throw error(name, .system(errno)) }
    }

    /// Hard-links the farm's file at `absolute` as `name` in this directory.
    /// Returns `false` (nothing done) when the two are on different file
    /// systems or the file has too many links, so the caller can copy.
    public func hardLink(from absolute: String, as name: String) throws -> Bool {
        if linkat(AT_FDCWD, absolute, descriptor, name, 0) == 0 { return true }
        if errno == EXDEV || errno == EMLINK || errno == EPERM { return false }
        throw error(name, .system(errno))
    }

    /// Moves the entry `name` of this directory to `absolute`, a farm path
    /// (on the same file system). The entry itself moves, a link as a link.
    public func move(_ name: String, to absolute: String) throws {
        guard renameat(descriptor, name, AT_FDCWD, absolute) == 0 else { throw error(name, .system(errno)) }
    }

    // MARK: Removing

    /// Removes whatever is at `relative`, a whole tree included, never
    /// following a link: a link on the way is itself removed, and what it
    /// points at is left alone. Absent is fine.
    public func remove(_ relative: String) throws {
        let components = relative.split(separator: "/").map(String.init).filter { $0 != "." }
        guard let last = components.last else { return try removeContents() }
        if components.contains("..") { throw error(relative, .leaves) }
        var parent = try itself()
        for (index, component) in components.dropLast().enumerated() {
            var info = stat()
            guard fstatat(parent.descriptor, component, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
                if errno == ENOENT { return }
                throw error(components[...index].joined(separator: "/"), .system(errno))
            }
            guard Kind(info.st_mode) == .directory else {
                // A link or file where a directory was expected: it goes, the path below it with it.
                return try parent.removeEntry(component)
            }
            guard let next = try parent.directory(component, links: .none) else { return }
            parent = next
        }
        try parent.removeEntry(last)
    }

    /// Removes everything inside this directory, never following a link.
    public func removeContents() throws {
        for entry in try entries() { try removeEntry(entry.name) }
    }

    /// Removes the entry `name` of this directory (a tree, a file, a link).
    func removeEntry(_ name: String) throws {
        var info = stat()
        guard fstatat(descriptor, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
            if errno == ENOENT { return }
            throw error(name, .system(errno))
        }
        if Kind(info.st_mode) == .directory {
            let fd = openat(descriptor, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { throw error(name, .system(errno)) }
            try ConfinedDirectory(descriptor: fd, label: label, path: path + "/" + name).removeContents()
            guard unlinkat(descriptor, name, AT_REMOVEDIR) == 0 || errno == ENOENT else { throw error(name, .system(errno)) }
        } else {
            guard unlinkat(descriptor, name, 0) == 0 || errno == ENOENT else { throw error(name, .system(errno)) }
        }
    }

    /// Removes the tree at `url` (a farm path such as a build's workspace)
    /// without following any link inside it; a link at `url` itself is
    /// removed, not followed.
    public static func removeTree(_ url: URL) throws {
        let parent = url.deletingLastPathComponent().path
        let directory: ConfinedDirectory
        do {
            directory = try ConfinedDirectory(path: parent, label: parent, followingLink: true)
        } catch let error as ConfinedPathError where error.reason == .system(ENOENT) {
            return // no parent, nothing to remove
        }
        try directory.removeEntry(url.lastPathComponent)
    }
}
