import Foundation

/// The unprivileged account sandboxed programs run as.
public struct SandboxUser: Sendable, Equatable {
    public var uid: UInt32
    public var gid: UInt32

    public init(uid: UInt32, gid: UInt32) {
        self.uid = uid
        self.gid = gid
    }

    /// Looks up `name` in the system's accounts.
    public static func named(_ name: String) throws -> SandboxUser {
        guard let entry = getpwnam(name) else {
            throw SandboxError("there is no user \(name) to run builds as: create it (useradd --system --no-create-home kiln-build) or pass --build-user")
        }
        guard entry.pointee.pw_uid != 0 else {
            throw SandboxError("the build user \(name) is root; builds must run as an unprivileged user")
        }
        return SandboxUser(uid: entry.pointee.pw_uid, gid: entry.pointee.pw_gid)
    }

    /// Gives `directory` and everything under it to this user, so the build
    /// can write there; with `files: false` only the directories, so that
    /// files linked from a store stay the store's (the build may replace
    /// them, not change them).
    public func own(_ directory: URL, files: Bool = true) throws {
        guard let enumerator = FileManager.default.enumerator(atPath: directory.path) else { return }
        guard lchown(directory.path, uid, gid) == 0 else {
            throw SandboxError("cannot give \(directory.path) to uid \(uid): \(String(cString: strerror(errno)))")
        }
        while let relative = enumerator.nextObject() as? String {
            if !files, enumerator.fileAttributes?[.type] as? FileAttributeType != .typeDirectory { continue }
            lchown(directory.appendingPathComponent(relative).path, uid, gid)
        }
    }
}

/// A sandbox that could not be set up; the message says what to fix.
public struct SandboxError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
