import Crypto
import Foundation

/// The farm's keys over time: the current signing key, and the public
/// halves of the keys it replaced, which still verify the slugs they signed.
///
/// `keys/farm-ed25519.pem` is the current key; `kiln keys rotate` keeps the
/// old public half as `keys/retired/ID.pub.pem` (the old private half is
/// destroyed: nothing may sign with it again) and writes a new key in place.
public enum FarmKeyring {
    /// Where retired public keys are kept, beside the key file.
    public static func retiredDirectory(beside keyFile: URL) -> URL {
        keyFile.deletingLastPathComponent().appendingPathComponent("retired")
    }

    /// Replaces the key at `keyFile` with a new one; returns the retired public key and the new key.
    public static func rotate(at keyFile: URL) throws -> (retired: FarmPublicKey, current: FarmKey) {
        let old = try FarmKey.load(from: keyFile)
        let retired = retiredDirectory(beside: keyFile)
        try FileManager.default.createDirectory(at: retired, withIntermediateDirectories: true)
        // The retired public key is on disk before the key it verifies is gone.
        let retiredFile = retired.appendingPathComponent("\(old.publicKey.id).pub.pem")
        try Data(old.publicKey.pem.utf8).write(to: retiredFile, options: .atomic)
        let handle = try FileHandle(forUpdating: retiredFile)
        try handle.synchronize()
        try handle.close()
        SecretFile.syncDirectory(of: retiredFile)
        let next = FarmKey(Curve25519.Signing.PrivateKey())
        let temporary = keyFile.path + ".new-\(getpid())"
        unlink(temporary)
        _ = try SecretFile.readOrCreate(at: URL(fileURLWithPath: temporary)) { Data(next.pem.utf8) }
        guard rename(temporary, keyFile.path) == 0 else {
            unlink(temporary)
            throw SigningError("cannot replace \(keyFile.path): \(String(cString: strerror(errno)))")
        }
        SecretFile.syncDirectory(of: keyFile)
        return (old.publicKey, next)
    }

    /// The current public key first, then the retired ones, oldest last.
    /// Throws when a retired key cannot be read: its slugs would silently stop verifying.
    public static func publicKeys(current: FarmKey, keyFile: URL) throws -> [FarmPublicKey] {
        let retired = retiredDirectory(beside: keyFile)
        let files = ((try? FileManager.default.contentsOfDirectory(at: retired, includingPropertiesForKeys: [.contentModificationDateKey])) ?? [])
            .filter { $0.lastPathComponent.hasSuffix(".pub.pem") }
            .sorted {
                let first = (try? $0.resourceValues(forKeys: [.contentModificationDateKey]).contentModificationDate) ?? .distantPast
                let second = (try? $1.resourceValues(forKeys: [.contentModificationDateKey]).contentModificationDate) ?? .distantPast
                return first > second
            }
        let old = try files.map { file in
            do {
                return try FarmPublicKey(pem: String(contentsOf: file, encoding: .utf8))
            } catch {
                throw SigningError("the retired farm key \(file.path) cannot be read (\(error)); restore it from a backup")
            }
        }
        return [current.publicKey] + old.filter { $0 != current.publicKey }
    }
}

extension FarmPublicKey {
    /// A short name for the key: the first 16 hex digits of the SHA-256 of its 32 bytes.
    public var id: String {
        SHA256.hash(data: raw).prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    /// Every public key in a PEM text that holds one or several.
    public static func all(pem text: String) throws -> [FarmPublicKey] {
        let end = "-----END PUBLIC KEY-----"
        let blocks = text.components(separatedBy: end).filter { $0.contains("-----BEGIN PUBLIC KEY-----") }.map { $0 + end }
        guard !blocks.isEmpty else { throw SigningError("expected a PEM block '-----BEGIN PUBLIC KEY-----'") }
        return try blocks.map { try FarmPublicKey(pem: $0) }
    }
}
