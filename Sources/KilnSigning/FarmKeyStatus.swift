import Foundation

/// One of the farm's keys and where it stands, as `kiln farm-keys list` and
/// `GET /api/farm/keys` show it.
public struct FarmKeyStatus: Sendable, Equatable {
    /// What a key may still do.
    public enum State: String, Sendable, CaseIterable {
        /// Signs every new slug and image.
        case current
        /// Replaced by a rotation; still verifies what it signed.
        case retired
        /// Revoked after a compromise: verifies nothing, whoever holds it.
        case revoked
    }

    /// ``FarmPublicKey/id``, as manifests name it in `key_id`.
    public var id: String
    /// The public half; `nil` only for a revoked key whose public file is lost,
    /// which stays revoked by its id.
    public var publicKey: FarmPublicKey?
    public var state: State
    /// When it became the signing key, was retired, or was revoked; `nil`
    /// when the file that says so cannot be read.
    public var since: Date?
    /// Why it was revoked, as the operator said it.
    public var reason: String?

    public init(id: String, publicKey: FarmPublicKey?, state: State, since: Date?, reason: String? = nil) {
        self.id = id
        self.publicKey = publicKey
        self.state = state
        self.since = since
        self.reason = reason
    }

    /// The revocation this status records, for a revoked key.
    public var revocation: FarmKeyRevocation? {
        state == .revoked ? FarmKeyRevocation(id: id, publicKey: publicKey, revokedAt: since, reason: reason) : nil
    }
}
