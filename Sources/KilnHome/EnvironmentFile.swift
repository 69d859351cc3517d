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

    /// Writes the file whole, owner-only (``OwnerOnlyFile``): a reader sees the old token or the new one, never half.
    public func write(to url: URL) throws {
        try OwnerOnlyFile.write(Data(text.utf8), to: url)
    }
}
