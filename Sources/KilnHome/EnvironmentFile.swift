import Foundation

/// `HOME/kiln.env` (``KilnHome/environmentFile``), which clients source:
/// `export KILN_SERVER=...` and `export KILN_TOKEN=...` (the administrator
/// token), readable by its owner only. `kiln up` writes it at start; the
/// server rewrites it when `kiln admin rotate-token` replaces the token it holds.
public struct EnvironmentFile: Sendable, Equatable {
    public var server: String
    public var token: String

    public init(server: String, token: String) {
        self.server = server
        self.token = token
    }

    /// The file's text, as clients source it.
    public var text: String { "export KILN_SERVER=\(server)\nexport KILN_TOKEN=\(token)\n" }

    /// The file at `url`, or `nil` when it is absent or lacks the token.
    public static func read(_ url: URL) -> EnvironmentFile? {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return nil }
        var server = "", token: String?
        for line in text.split(separator: "\n") {
            if line.hasPrefix("export KILN_SERVER=") { server = String(line.dropFirst("export KILN_SERVER=".count)) }
            if line.hasPrefix("export KILN_TOKEN=") { token = String(line.dropFirst("export KILN_TOKEN=".count)) }
        }
        return token.map { EnvironmentFile(server: server, token: $0) }
    }

    /// Writes the file whole, mode 0600 before any byte is in it, and renames
    /// it into place: a reader sees the old token or the new one, never half.
    public func write(to url: URL) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).\(UUID().uuidString.prefix(8))")
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw WriteError(message: "cannot write \(temporary.path): check that the home \(url.deletingLastPathComponent().path) is writable by this user")
        }
        do {
            // createFile's mode is masked by the umask: set it again before the secret goes in.
            chmod(temporary.path, 0o600)
            try Data(text.utf8).write(to: temporary)
            guard rename(temporary.path, url.path) == 0 else {
                throw WriteError(message: "cannot replace \(url.path): \(String(cString: strerror(errno)))")
            }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
    }

    /// The file could not be written; the message names it and what to check.
    public struct WriteError: Error, CustomStringConvertible, Sendable {
        public let message: String
        public var description: String { message }
    }
}
