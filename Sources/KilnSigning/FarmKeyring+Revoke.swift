import Foundation

/// Revoking a farm key after a compromise.
extension FarmKeyring {
    /// Revokes the retired key `id` beside `keyFile`: from now on it verifies
    /// nothing it signed, on every server at once (they read `keys/` on each
    /// request) and on every worker restarted with the copied `keys/`.
    ///
    /// Idempotent: a key already revoked keeps its first record, and the call
    /// only finishes what an interrupted one left. Durable when it returns
    /// (files and directory fsynced). Throws, saying what to do, for the
    /// current key (rotate first), for an id the home does not have (naming
    /// those it has), and for a reason of more than one line.
    public static func revoke(_ id: String, reason: String?, keyFile: URL, now: Date = Date()) throws -> (revoked: FarmKeyStatus, already: Bool) {
        let id = id.lowercased()
        if let reason {
            guard !reason.isEmpty, reason.count <= 500, !reason.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw SigningError("--reason must be one line of at most 500 characters, without control characters")
            }
        }
        let home = keyFile.deletingLastPathComponent().deletingLastPathComponent().path
        let keyring = try load(keyFile: keyFile)
        guard let status = keyring.keys.first(where: { $0.id == id }) else {
            let known = keyring.keys.map { "\($0.id) (\($0.state.rawValue))" }.joined(separator: ", ")
            throw SigningError("there is no farm key \(id) in \(keyFile.deletingLastPathComponent().path): its keys are \(known) (`kiln farm-keys list --home \(home)`)")
        }
        let retiredFile = retiredDirectory(beside: keyFile).appendingPathComponent("\(id).pub.pem")
        switch status.state {
        case .current:
            throw SigningError("""
                farm key \(id) is the current key, which signs every new slug: it cannot be revoked while it signs. \
                Rotate first (`kiln farm-keys rotate --home \(home)`, which retires it and makes a new signing key), then revoke \(id), retired by then
                """)
        case .revoked:
            // An interrupted revocation may have left the retired copy.
            if unlink(retiredFile.path) == 0 { SecretFile.syncDirectory(of: retiredFile) }
            return (status, true)
        case .retired:
            break
        }
        guard let publicKey = status.publicKey else { throw SigningError("farm key \(id) has no public half to revoke") }
        let at = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
        let directory = revokedDirectory(beside: keyFile)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        // The record first: once the public file is there, so are the time and the reason.
        try writeDurably(try RevocationRecord(id: id, revokedAt: at, reason: reason).encoded(), to: directory.appendingPathComponent("\(id).json"))
        try writeDurably(Data(publicKey.pem.utf8), to: directory.appendingPathComponent("\(id).pub.pem"))
        // Only now does the retired copy go: a crash before leaves the key in both places, and revoked wins.
        guard unlink(retiredFile.path) == 0 || errno == ENOENT else {
            throw SigningError("farm key \(id) is revoked, but \(retiredFile.path) cannot be removed (\(String(cString: strerror(errno)))): remove it by hand")
        }
        SecretFile.syncDirectory(of: retiredFile)
        return (FarmKeyStatus(id: id, publicKey: publicKey, state: .revoked, since: at, reason: reason), false)
    }

    /// Writes `data` to `url` so that after a crash the file is either absent or whole:
    /// a temporary file beside it, fsynced, renamed into place, the directory fsynced.
    static func writeDurably(_ data: Data, to url: URL) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())").path
        unlink(temporary)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw SigningError("cannot create \(temporary): \(String(cString: strerror(errno)))") }
        let written = data.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor)
        close(descriptor)
        guard written == data.count, synced == 0, rename(temporary, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw SigningError("cannot write \(url.path): \(reason)")
        }
        SecretFile.syncDirectory(of: url)
    }
}

/// `keys/revoked/ID.json`: when a key was revoked and why.
struct RevocationRecord: Codable, Equatable {
    var id: String
    var revokedAt: Date
    var reason: String?

    enum CodingKeys: String, CodingKey {
        case id
        case revokedAt = "revoked_at"
        case reason
    }

    func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(self) + Data("\n".utf8)
    }

    static func decode(_ data: Data) throws -> RevocationRecord {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(RevocationRecord.self, from: data)
    }
}
