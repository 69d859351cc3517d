import Foundation

/// Removing trees without following a link.
extension ConfinedDirectory {
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
