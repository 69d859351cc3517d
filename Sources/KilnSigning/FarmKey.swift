import Crypto
import Foundation

/// The farm's Ed25519 key pair, which signs every slug manifest.
///
/// Stored as a PKCS#8 PEM file readable by its owner only (mode 0600); the
/// public half is published as SubjectPublicKeyInfo PEM so that any release
/// service can verify slugs with stock tools (`openssl pkeyutl -verify`).
public struct FarmKey: Sendable {
    // Raw bytes rather than the CryptoKit type, which is not Sendable.
    private let seed: Data

    private var privateKey: Curve25519.Signing.PrivateKey {
        // The seed was validated when the key was made or loaded.
        try! Curve25519.Signing.PrivateKey(rawRepresentation: seed)
    }

    /// The public half, for verifying.
    public var publicKey: FarmPublicKey { FarmPublicKey(privateKey.publicKey) }

    init(_ key: Curve25519.Signing.PrivateKey) { seed = key.rawRepresentation }

    /// Loads the key at `url`, or creates it (mode 0600) when there is none.
    /// Refuses a key file that others can read.
    public static func loadOrCreate(at url: URL) throws -> FarmKey {
        if FileManager.default.fileExists(atPath: url.path) {
            return try load(from: url)
        }
        // Created 0600 from the start: no window in which the key is world-readable.
        _ = try SecretFile.readOrCreate(at: url) { Data(FarmKey(Curve25519.Signing.PrivateKey()).pem.utf8) }
        return try load(from: url)
    }

    /// PKCS#8 PEM of the private key.
    var pem: String {
        PEM.encode(DER.pkcs8Prefix + privateKey.rawRepresentation, label: "PRIVATE KEY")
    }

    /// Loads a PKCS#8 PEM Ed25519 private key.
    public static func load(from url: URL) throws -> FarmKey {
        var info = stat()
        guard stat(url.path, &info) == 0 || errno != ENOENT else {
            throw SigningError("there is no farm key at \(url.path): give the server's home (--home or KILN_HOME); the server makes the key when it first starts")
        }
        if info.st_mode & 0o077 != 0 {
            throw SigningError("the farm key \(url.path) is readable by others (mode \(String(info.st_mode & 0o777, radix: 8))); run `chmod 600 \(url.path)`")
        }
        let text = try String(contentsOf: url, encoding: .utf8)
        let der = try PEM.decode(text, label: "PRIVATE KEY")
        guard der.count == DER.pkcs8Prefix.count + 32, der.prefix(DER.pkcs8Prefix.count) == DER.pkcs8Prefix else {
            throw SigningError("\(url.path) is not an Ed25519 private key in PKCS#8 PEM")
        }
        return FarmKey(try Curve25519.Signing.PrivateKey(rawRepresentation: der.suffix(32)))
    }

    /// Signs `message` (64-byte Ed25519 signature).
    public func sign(_ message: Data) throws -> Data {
        try privateKey.signature(for: message)
    }
}

/// The farm's public key, which verifies slug manifests.
public struct FarmPublicKey: Sendable, Equatable {
    /// The 32 raw key bytes (the CryptoKit type is not Sendable).
    let raw: Data

    var key: Curve25519.Signing.PublicKey {
        // The bytes were validated when this value was made.
        try! Curve25519.Signing.PublicKey(rawRepresentation: raw)
    }

    init(_ key: Curve25519.Signing.PublicKey) { raw = key.rawRepresentation }

    /// Parses SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`).
    public init(pem: String) throws {
        let der = try PEM.decode(pem, label: "PUBLIC KEY")
        guard der.count == DER.spkiPrefix.count + 32, der.prefix(DER.spkiPrefix.count) == DER.spkiPrefix else {
            throw SigningError("not an Ed25519 public key in SubjectPublicKeyInfo PEM")
        }
        raw = try Curve25519.Signing.PublicKey(rawRepresentation: der.suffix(32)).rawRepresentation
    }

    /// SubjectPublicKeyInfo PEM, as `openssl pkey -pubout` writes it.
    public var pem: String {
        PEM.encode(DER.spkiPrefix + key.rawRepresentation, label: "PUBLIC KEY")
    }

    /// Whether `signature` is this key's signature of exactly `message`.
    public func isValidSignature(_ signature: Data, for message: Data) -> Bool {
        key.isValidSignature(signature, for: message)
    }
}

/// The fixed DER prefixes of Ed25519 keys (RFC 8410): the key bytes follow them.
enum DER {
    /// SEQUENCE { SEQUENCE { OID 1.3.101.112 } BIT STRING (32 bytes) }
    static let spkiPrefix = Data([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00])
    /// SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING (32 bytes) } }
    static let pkcs8Prefix = Data([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20])
}
