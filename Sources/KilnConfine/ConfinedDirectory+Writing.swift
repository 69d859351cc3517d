import Foundation

/// Creating entries in the directory itself, never through a link.
extension ConfinedDirectory {
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

    /// Renames the entry `name` of this directory to `newName`, in this
    /// directory (an entry already called so is replaced, as rename(2) does).
    public func renameEntry(_ name: String, to newName: String) throws {
        guard !name.contains("/"), !newName.contains("/"), renameat(descriptor, name, descriptor, newName) == 0 else {
            throw error(name, .system(errno == 0 ? EINVAL : errno))
        }
    }

    /// Moves the entry `name` of this directory to `absolute`, a farm path
    /// (on the same file system). The entry itself moves, a link as a link.
    public func move(_ name: String, to absolute: String) throws {
        guard renameat(descriptor, name, AT_FDCWD, absolute) == 0 else { throw error(name, .system(errno)) }
    }
}

extension ConfinedDirectory {
    /// Gives the regular file at `relative` an execute bit wherever it has a
    /// read bit (`chmod +x` for whoever may read it), through a descriptor of
    /// the file itself; returns whether its mode changed, `false` when it is absent.
    public func addExecuteBits(_ relative: String, links: Links = .beneath) throws -> Bool {
        guard let handle = try openFile(relative, links: links) else { return false }
        var info = stat()
        guard fstat(handle.fileDescriptor, &info) == 0 else { throw error(relative, .system(errno)) }
        let mode = info.st_mode & 0o7777
        let wanted = mode | ((mode & 0o444) >> 2)
        guard wanted != mode else { return false }
        guard fchmod(handle.fileDescriptor, wanted) == 0 else { throw error(relative, .system(errno)) }
        return true
    }
}
