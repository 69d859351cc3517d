import CKilnFile
import Foundation

/// Reading regular files beneath the directory: type checked before opening, capped.
extension ConfinedDirectory {
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
}
