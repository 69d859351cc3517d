import Foundation

/// What a verifier holds: the farm's public keys it trusts (current and
/// retired, from the farm or pinned in a PEM file) and the farm's revocations,
/// which win over any of them. Revocations only take trust away, so learning
/// them over a channel less trusted than the pin is safe.
public struct TrustedFarmKeys: Sendable, Equatable {
    /// The keys that verify, in order of preference (the current one first).
    public var publicKeys: [FarmPublicKey]
    public var revoked: [FarmKeyRevocation]

    public init(_ publicKeys: [FarmPublicKey], revoked: [FarmKeyRevocation] = []) {
        self.publicKeys = publicKeys
        self.revoked = revoked
    }

    /// The keys that verify: ``publicKeys`` less every revoked one.
    public var usable: [FarmPublicKey] {
        publicKeys.filter { revocation(of: $0.id) == nil }
    }

    /// The revocation of the key `id`, if it was revoked.
    public func revocation(of id: String) -> FarmKeyRevocation? {
        revoked.first { $0.id == id }
    }

    /// What a signature check found.
    public enum Verdict: Sendable, Equatable {
        /// A usable key made the signature.
        case signed(by: FarmPublicKey)
        /// The signed object names a key this verifier does not hold.
        case unknownKey(String)
        /// No usable key made it: altered, or another farm's.
        case invalid
    }

    /// Which usable key made `signature` over `message`. `claimedKeyID` (what
    /// the signed object says) only picks the key: the signature decides.
    /// Throws ``FarmKeyRevokedError`` (naming `signed`) when the claimed key, or
    /// the key that made the signature, was revoked.
    public func signer(of message: Data, signature: Data, claimedKeyID: String?, signed: String) throws -> Verdict {
        if let claimedKeyID, let revocation = revocation(of: claimedKeyID) {
            throw FarmKeyRevokedError(revocation, signed: signed)
        }
        let candidates = claimedKeyID.map { id in usable.filter { $0.id == id } } ?? usable
        if let claimedKeyID, candidates.isEmpty { return .unknownKey(claimedKeyID) }
        if let key = candidates.first(where: { $0.isValidSignature(signature, for: message) }) { return .signed(by: key) }
        // Older manifests name no key: one a revoked key signed must say so, not just "does not verify".
        let revokedKeys = revoked.compactMap { revocation in revocation.publicKey.map { (revocation, $0) } }
            + publicKeys.compactMap { key in revocation(of: key.id).map { ($0, key) } }
        if claimedKeyID == nil, let (revocation, _) = revokedKeys.first(where: { $0.1.isValidSignature(signature, for: message) }) {
            throw FarmKeyRevokedError(revocation, signed: signed)
        }
        return .invalid
    }
}
