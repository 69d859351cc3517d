import Crypto
import Foundation

/// The farm's keys over time: the current signing key, the public halves of
/// the keys it replaced, which still verify the slugs they signed, and those
/// of keys revoked after a compromise, which verify nothing.
///
/// `keys/farm-ed25519.pem` is the current key; `kiln farm-keys rotate` keeps
/// the old public half as `keys/retired/ID.pub.pem` (the old private half is
/// destroyed: nothing may sign with it again) and writes a new key in place;
/// `kiln farm-keys revoke ID` moves a retired key to `keys/revoked/ID.pub.pem`
/// beside `keys/revoked/ID.json` (when and why). A key revoked by either file
/// stays revoked: a revocation is never undone by a file that cannot be read.
public struct FarmKeyring: Sendable, Equatable {
    /// The current key first, then the retired ones newest first, then the revoked ones newest first.
    public var keys: [FarmKeyStatus]

    public init(keys: [FarmKeyStatus]) {
        self.keys = keys
    }

    /// What a verifier of this farm holds: every key not revoked, and the revocations.
    public var trusted: TrustedFarmKeys {
        TrustedFarmKeys(keys.filter { $0.state != .revoked }.compactMap(\.publicKey), revoked: keys.compactMap(\.revocation))
    }

    /// Where retired public keys are kept, beside the key file.
    public static func retiredDirectory(beside keyFile: URL) -> URL {
        keyFile.deletingLastPathComponent().appendingPathComponent("retired")
    }

    /// Where revoked public keys and their records are kept, beside the key file.
    public static func revokedDirectory(beside keyFile: URL) -> URL {
        keyFile.deletingLastPathComponent().appendingPathComponent("revoked")
    }

    /// The keyring of the key file at `keyFile` (read for its public half).
    public static func load(keyFile: URL) throws -> FarmKeyring {
        try load(current: try FarmKey.load(from: keyFile), keyFile: keyFile)
    }

    /// The keyring of `current`, loaded from `keyFile`, with the retired and revoked keys beside it.
    /// Throws when a retired key cannot be read (its slugs would silently stop verifying),
    /// and when `current` itself was revoked: it must not sign again.
    public static func load(current: FarmKey, keyFile: URL) throws -> FarmKeyring {
        let revoked = try revocations(beside: keyFile)
        if let revocation = revoked.first(where: { $0.id == current.publicKey.id }) {
            throw SigningError("""
                the farm key \(keyFile.path) is \(revocation.summary): it must not sign again. \
                Run `kiln farm-keys rotate --home HOME` where this home is (or copy the farm's new keys/farm-ed25519.pem here), then restart
                """)
        }
        let revokedIDs = Set(revoked.map(\.id))
        let retired = try files(in: retiredDirectory(beside: keyFile), suffix: ".pub.pem").map { file, modified -> FarmKeyStatus in
            let key: FarmPublicKey
            do {
                key = try FarmPublicKey(pem: String(contentsOf: file, encoding: .utf8))
            } catch {
                throw SigningError("the retired farm key \(file.path) cannot be read (\(error)); restore it from a backup")
            }
            return FarmKeyStatus(id: key.id, publicKey: key, state: .retired, since: modified)
        }
        // An interrupted revocation leaves a key in both directories: revoked wins.
        .filter { !revokedIDs.contains($0.id) && $0.id != current.publicKey.id }
        .sorted { ($0.since ?? .distantPast) > ($1.since ?? .distantPast) }
        let signingSince = try? keyFile.resourceValues(forKeys: [.contentModificationDateKey]).contentModificationDate
        let currentStatus = FarmKeyStatus(id: current.publicKey.id, publicKey: current.publicKey, state: .current, since: signingSince)
        let revokedStatus = revoked.sorted { ($0.revokedAt ?? .distantPast) > ($1.revokedAt ?? .distantPast) }
            .map { FarmKeyStatus(id: $0.id, publicKey: $0.publicKey, state: .revoked, since: $0.revokedAt, reason: $0.reason) }
        return FarmKeyring(keys: [currentStatus] + retired + revokedStatus)
    }

    /// The current public key first, then the retired ones, newest first; never a revoked one.
    /// Throws as ``load(current:keyFile:)``.
    public static func publicKeys(current: FarmKey, keyFile: URL) throws -> [FarmPublicKey] {
        try load(current: current, keyFile: keyFile).trusted.usable
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

    /// The revoked keys beside `keyFile`: one per id named by `ID.pub.pem` or `ID.json` in `revoked/`.
    static func revocations(beside keyFile: URL) throws -> [FarmKeyRevocation] {
        let directory = revokedDirectory(beside: keyFile)
        let entries = try files(in: directory, suffix: "")
        let ids = Set(entries.compactMap { file, _ in revokedID(of: file.lastPathComponent) }).sorted()
        return ids.map { id in
            let pemFile = directory.appendingPathComponent("\(id).pub.pem")
            // A public half that does not match its name says nothing about this id; the id is revoked all the same.
            let key = (try? String(contentsOf: pemFile, encoding: .utf8)).flatMap { try? FarmPublicKey(pem: $0) }.flatMap { $0.id == id ? $0 : nil }
            let record = (try? Data(contentsOf: directory.appendingPathComponent("\(id).json"))).flatMap { try? RevocationRecord.decode($0) }
            let written = entries.first { $0.0.lastPathComponent == "\(id).pub.pem" }?.1
            return FarmKeyRevocation(id: id, publicKey: key, revokedAt: record?.revokedAt ?? written, reason: record?.reason)
        }
    }

    /// `ID` of `ID.pub.pem` or `ID.json`, when ID is a key id (16 lowercase hex digits); temporary files are not.
    static func revokedID(of name: String) -> String? {
        let id = name.hasSuffix(".pub.pem") ? String(name.dropLast(8)) : name.hasSuffix(".json") ? String(name.dropLast(5)) : nil
        guard let id, isKeyID(id) else { return nil }
        return id
    }

    /// Whether `text` has the form of ``FarmPublicKey/id``.
    public static func isKeyID(_ text: String) -> Bool {
        text.utf8.count == 16 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// The files of `directory` whose names end in `suffix`, with their modification times; none when it does not exist.
    static func files(in directory: URL, suffix: String) throws -> [(URL, Date?)] {
        guard FileManager.default.fileExists(atPath: directory.path) else { return [] }
        let listed: [URL]
        do {
            listed = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: [.contentModificationDateKey])
        } catch {
            throw SigningError("cannot list \(directory.path) (\(error)): its farm keys would be missed; fix its permissions")
        }
        return listed.filter { $0.lastPathComponent.hasSuffix(suffix) && !$0.lastPathComponent.hasPrefix(".") }.map {
            ($0, try? $0.resourceValues(forKeys: [.contentModificationDateKey]).contentModificationDate)
        }
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
