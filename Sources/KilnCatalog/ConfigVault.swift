import Crypto
import Foundation
import KilnSigning

/// Seals app config with AES-256-GCM under a key kept in the farm's home
/// (`keys/config-aes256.key`, owner-only), so that a database dump or
/// backup holds no secret in clear. The app's name is the authenticated
/// data: one app's sealed config pasted into another's row does not open.
public struct ConfigVault: Sendable {
    let keyBytes: Data
    var key: SymmetricKey { SymmetricKey(data: keyBytes) }

    public init(key: SymmetricKey) {
        self.keyBytes = key.withUnsafeBytes { Data($0) }
    }

    /// Loads the key from `file`, creating it (0600, in a 0700 directory) on first use.
    public static func load(from file: URL) throws -> ConfigVault {
        // Owner-only, and created once when processes start together (see SecretFile).
        let data = try SecretFile.readOrCreate(at: file) { SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) } }
        guard data.count == 32 else {
            throw CatalogError(.invalid, "\(file.path) is not a config key (expected 32 bytes, found \(data.count)); restore it from a backup")
        }
        return ConfigVault(key: SymmetricKey(data: data))
    }

    public func seal(_ vars: [String: String], app: String) throws -> Data {
        let plain = try JSONEncoder().encode(vars)
        return try AES.GCM.seal(plain, using: key, authenticating: Data(app.utf8)).combined!
    }

    public func unseal(_ sealed: Data, app: String) throws -> [String: String] {
        do {
            let box = try AES.GCM.SealedBox(combined: sealed)
            return try JSONDecoder().decode([String: String].self, from: try AES.GCM.open(box, using: key, authenticating: Data(app.utf8)))
        } catch {
            throw CatalogError(.invalid, "the config of \(app) does not open with this farm's config key (keys/config-aes256.key): was the key replaced?")
        }
    }
}
