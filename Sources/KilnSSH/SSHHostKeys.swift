import Crypto
import Foundation
import KilnCatalog
import KilnHome
import KilnSigning
import NIOSSH

/// The SSH server's host keys: an Ed25519 and an ECDSA P-256 key, made the
/// first time a server starts on a home and kept under `HOME/ssh/`
/// (owner-only), so that clients' `known_hosts` stay true across restarts.
public struct SSHHostKeys: Sendable {
    /// One host key and what clients see of it.
    public struct HostKey: Sendable {
        public let privateKey: NIOSSHPrivateKey
        /// `TYPE BASE64`, as `known_hosts` and `ssh-keyscan` write it.
        public let publicLine: String
        /// `SHA256:…`, as `ssh-keygen -l` and OpenSSH's first-connection prompt print it.
        public let fingerprint: String
        public var type: String { String(publicLine.prefix { $0 != " " }) }
    }

    public let keys: [HostKey]

    /// Loads the home's host keys, making any that is missing.
    public static func loadOrCreate(home: KilnHome) throws -> SSHHostKeys {
        let ed25519Data = try SecretFile.readOrCreate(at: home.sshHostKey("ed25519")) {
            Data(Curve25519.Signing.PrivateKey().rawRepresentation)
        }
        let ecdsaData = try SecretFile.readOrCreate(at: home.sshHostKey("ecdsa")) {
            Data(P256.Signing.PrivateKey().pemRepresentation.utf8)
        }
        let ed25519: Curve25519.Signing.PrivateKey
        let ecdsa: P256.Signing.PrivateKey
        do {
            ed25519 = try Curve25519.Signing.PrivateKey(rawRepresentation: ed25519Data)
            ecdsa = try P256.Signing.PrivateKey(pemRepresentation: String(decoding: ecdsaData, as: UTF8.self))
        } catch {
            throw SSHServerError("a host key under \(home.sshHostKey("").deletingLastPathComponent().path) cannot be read (\(error)): restore it from a backup, or remove it to make a new one (clients will then warn that the host key changed)")
        }
        return SSHHostKeys(keys: try [NIOSSHPrivateKey(ed25519Key: ed25519), NIOSSHPrivateKey(p256Key: ecdsa)].map(Self.describe))
    }

    static func describe(_ key: NIOSSHPrivateKey) throws -> HostKey {
        let line = String(openSSHPublicKey: key.publicKey)
        return HostKey(privateKey: key, publicLine: line, fingerprint: try SSHPublicKey(parsing: line).fingerprint)
    }
}

/// A fault of the SSH server's own (its host keys, its port), with what to do.
public struct SSHServerError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
