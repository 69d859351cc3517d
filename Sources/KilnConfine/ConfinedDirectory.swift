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

    /// Wraps a descriptor this instance now owns.
    init(descriptor: Int32, label: String, path: String) {
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
}
