import Crypto
import Foundation

/// An SSH public key as a `.pub` file or `authorized_keys` holds it:
/// `TYPE BASE64 [COMMENT]`. Its ``fingerprint`` is the one `ssh-keygen -l`
/// prints (`SHA256:` and the unpadded base64 of the SHA-256 of the key's
/// wire form), which names the key in every listing and log line.
public struct SSHPublicKey: Sendable, Equatable {
    /// The key's algorithm: `ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`, ...
    public let type: String
    /// The key in SSH wire form (what the base64 field encodes).
    public let blob: [UInt8]
    /// Whatever followed the key on its line (often `user@host`); never used to authorize.
    public let comment: String

    /// The algorithms a key may have here. swift-nio-ssh, which serves Kiln's
    /// own SSH port, has no RSA: an RSA key pushes through OpenSSH's sshd only.
    public static let types = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa"]
    /// The algorithms Kiln's own SSH server authenticates.
    public static let builtInServerTypes: Set<String> = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521"]

    /// Parses one public key line; the error says what is wrong with it.
    public init(parsing text: String) throws {
        let line = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard line.utf8.count <= 16 * 1024 else {
            throw CatalogError(.invalid, "the SSH key is \(line.utf8.count) bytes long: give one public key line (a .pub file), at most 16 KiB")
        }
        if line.contains("PRIVATE KEY") {
            throw CatalogError(.invalid, "this is a private SSH key: give its public half (the .pub file, or `ssh-keygen -y -f KEY`), and keep the private key to yourself")
        }
        guard !line.contains("\n") else {
            throw CatalogError(.invalid, "give one SSH public key line, not several: add each key on its own")
        }
        // No control characters but tabs: a NUL is no text to PostgreSQL, and an escape sequence would reach every listing.
        if let bad = line.unicodeScalars.first(where: { ($0.value < 0x20 && $0 != "\t") || $0.value == 0x7F }) {
            throw CatalogError(.invalid, "the SSH key line has a control character (U+\(String(format: "%04X", bad.value))): give the line of the .pub file as it is")
        }
        let fields = line.split(maxSplits: 2, whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count >= 2 else {
            throw CatalogError(.invalid, "'\(line.prefix(40))' is not an SSH public key: give a line such as `ssh-ed25519 AAAA... you@host` (the .pub file)")
        }
        guard Self.types.contains(fields[0]) else {
            if fields.contains(where: { Self.types.contains($0) }) {
                throw CatalogError(.invalid, "the SSH key line starts with options ('\(fields[0].prefix(40))'): give the public key alone, TYPE BASE64 [COMMENT]")
            }
            throw CatalogError(.invalid, "'\(fields[0].prefix(40))' is not an SSH key type Kiln takes: use one of \(Self.types.joined(separator: ", "))")
        }
        guard let data = Data(base64Encoded: fields[1]), let named = Self.leadingString(of: Array(data)) else {
            throw CatalogError(.invalid, "the \(fields[0]) key's base64 part is not a public key: copy the whole line of the .pub file")
        }
        guard named == fields[0] else {
            throw CatalogError(.invalid, "the key line says \(fields[0]) but the key inside is \(named.prefix(40)): copy the whole line of the .pub file")
        }
        type = fields[0]
        blob = Array(data)
        comment = fields.count > 2 ? fields[2].trimmingCharacters(in: .whitespaces) : ""
    }

    /// A key given as its base64 alone (sshd's `%k`): the type is the key's own first field.
    public init(base64: String) throws {
        guard let data = Data(base64Encoded: base64), let type = Self.leadingString(of: Array(data)) else {
            throw CatalogError(.invalid, "'\(base64.prefix(40))' is not a base64 SSH public key (sshd's %k)")
        }
        try self.init(parsing: "\(type) \(base64)")
    }

    /// `SHA256:…`, as `ssh-keygen -l -E sha256` prints it.
    public var fingerprint: String {
        Self.fingerprint(of: blob)
    }

    /// The fingerprint of a key in wire form.
    public static func fingerprint(of blob: [UInt8]) -> String {
        let digest = Data(SHA256.hash(data: blob)).base64EncodedString()
        return "SHA256:" + digest.replacingOccurrences(of: "=", with: "")
    }

    /// `TYPE BASE64`, without the comment: what authorizes, as `authorized_keys` takes it.
    public var line: String { "\(type) \(Data(blob).base64EncodedString())" }

    /// Whether Kiln's own SSH server can authenticate this key (RSA needs OpenSSH's sshd).
    public var isBuiltInServerType: Bool { Self.builtInServerTypes.contains(type) }

    /// The first SSH `string` (a 32-bit length, then the bytes) of a wire-form key: its algorithm's name.
    static func leadingString(of bytes: [UInt8]) -> String? {
        guard bytes.count >= 4 else { return nil }
        let length = Int(bytes[0]) << 24 | Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3])
        guard length > 0, length <= 64, bytes.count >= 4 + length else { return nil }
        return String(bytes: bytes[4..<(4 + length)], encoding: .utf8)
    }
}
