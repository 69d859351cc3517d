import Crypto
import Foundation

/// Signs and checks expiring URLs, `/slugs/SHA256?expires=T&signature=S`:
/// the signature is HMAC-SHA256, keyed with the farm's URL secret, over
/// `METHOD\nPATH\nEXPIRES` (expiry in Unix seconds), in lowercase hex.
/// Whoever holds such a URL may use it until it expires, and nobody can make
/// one without the secret. docs/slug-protocol.md is the reference.
public struct URLSigner: Sendable {
    private let secret: Data

    public init(secret: Data) {
        self.secret = secret
    }

    private var key: SymmetricKey { SymmetricKey(data: secret) }

    /// Reads the secret (32 random bytes) from `file`, creating it (mode 0600) on first use.
    /// Every server of a farm must share it, as they share the farm's key.
    public static func loadOrCreate(at file: URL) throws -> URLSigner {
        let data = try SecretFile.readOrCreate(at: file) { SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) } }
        guard data.count >= 32 else { throw SigningError("\(file.path) holds \(data.count) bytes; a URL secret is 32: remove it to make a new one") }
        return URLSigner(secret: data)
    }

    /// The hex signature of `method` and `path` until `expires`.
    public func signature(method: String, path: String, expires: Int) -> String {
        HMAC<SHA256>.authenticationCode(for: Data(Self.message(method: method, path: path, expires: expires).utf8), using: key)
            .map { String(format: "%02x", $0) }.joined()
    }

    /// `path?expires=T&signature=S`.
    public func signedPath(_ path: String, method: String = "GET", expires: Int) -> String {
        "\(path)?expires=\(expires)&signature=\(signature(method: method, path: path, expires: expires))"
    }

    /// What a check found.
    public enum Verdict: Sendable, Equatable {
        case valid
        case expired
        case badSignature
    }

    /// Checks a request's signature (in constant time) and then its expiry.
    public func check(method: String, path: String, expires: Int, signature: String, now: Date = Date()) -> Verdict {
        guard let given = Self.bytes(hex: signature),
              HMAC<SHA256>.isValidAuthenticationCode(given, authenticating: Data(Self.message(method: method, path: path, expires: expires).utf8), using: key)
        else { return .badSignature }
        return Double(expires) < now.timeIntervalSince1970 ? .expired : .valid
    }

    static func message(method: String, path: String, expires: Int) -> String {
        "\(method)\n\(path)\n\(expires)"
    }

    /// The 32 bytes of a 64-digit hex signature, or `nil` for anything else.
    /// Works on the UTF-8 bytes, not on characters: a multi-byte character
    /// makes 64 bytes fewer than 64 characters, and a signature ending in one
    /// once ran the character index past the end of the string (a crash any
    /// URL could cause). Only hex digits count, where `UInt8(_:radix:)` would
    /// also take a sign ("+f").
    public static func bytes(hex: some StringProtocol) -> Data? {
        let digits = Array(hex.utf8)
        guard digits.count == 64 else { return nil }
        var data = Data(capacity: 32)
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            data.append(high << 4 | low)
        }
        return data
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
