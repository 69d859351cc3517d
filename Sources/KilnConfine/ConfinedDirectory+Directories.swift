import Foundation

/// Directories beneath the directory: opened and made without following links, listed and walked.
extension ConfinedDirectory {
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
}
