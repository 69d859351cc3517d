import Foundation

/// A path beneath a ``ConfinedDirectory`` that was refused or could not be
/// used: it names the file and why, and never quotes the file's contents.
/// "Procfile links outside the app: refused".
public struct ConfinedPathError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Why a path was refused.
    public enum Reason: Sendable, Equatable {
        /// A symbolic link on the way (or at the end) leads outside the directory.
        case leaves
        /// A component on the way is a symbolic link, and none is allowed here.
        case throughLink
        /// A component on the way is a file, not a directory.
        case throughFile
        /// The path itself is a symbolic link, and a real file was expected.
        case isLink
        /// Not a regular file (a fifo, a device, a directory).
        case notRegular(ConfinedDirectory.Kind)
        /// Not a directory, where one is needed.
        case notDirectory(ConfinedDirectory.Kind)
        /// Larger than the cap, in bytes.
        case tooLarge(Int)
        /// Not UTF-8 text.
        case notText
        /// A tree with more entries than the bound.
        case tooManyEntries(Int)
        /// Any other failure, with its errno.
        case system(Int32)
    }

    /// How the directory is named ("the app", "CACHE_DIR").
    public let label: String
    /// The path, relative to the directory.
    public let path: String
    public let reason: Reason

    public init(label: String, path: String, reason: Reason) {
        self.label = label
        self.path = path
        self.reason = reason
    }

    /// Whether this is a refusal of hostile input (rather than an I/O failure).
    public var isRefusal: Bool {
        if case .system = reason { return false }
        return true
    }

    public var description: String {
        let name = path.isEmpty ? label : path
        switch reason {
        case .leaves: return "\(name) links outside \(label): refused"
        case .throughLink: return "\(name) goes through a symbolic link in \(label): refused"
        case .throughFile: return "\(name) goes through a file that is not a directory in \(label): refused"
        case .isLink: return "\(name) is a symbolic link in \(label), where a real file is needed: refused"
        case .notRegular(let kind): return "\(name) in \(label) is \(kind), not a regular file: refused"
        case .notDirectory(let kind): return "\(name) in \(label) is \(kind), not a directory: refused"
        case .tooLarge(let cap): return "\(name) in \(label) is larger than \(cap) bytes: refused"
        case .notText: return "\(name) in \(label) is not UTF-8 text: refused"
        case .tooManyEntries(let bound): return "\(name) in \(label) takes the tree over \(bound) entries: refused"
        case .system(let code): return "\(name) in \(label): \(String(cString: strerror(code)))"
        }
    }
}
