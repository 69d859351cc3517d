import Foundation

/// A farm key that was revoked (`kiln farm-keys revoke`): nothing it signed
/// is trusted any more, retired or not, pinned in a PEM file or not.
public struct FarmKeyRevocation: Sendable, Equatable {
    /// ``FarmPublicKey/id`` of the revoked key.
    public var id: String
    /// Its public half when known, to recognise its signature on a manifest that names no key.
    public var publicKey: FarmPublicKey?
    /// When it was revoked; `nil` when the record cannot be read (it is revoked all the same).
    public var revokedAt: Date?
    /// Why, as the operator said it.
    public var reason: String?

    public init(id: String, publicKey: FarmPublicKey? = nil, revokedAt: Date? = nil, reason: String? = nil) {
        self.id = id
        self.publicKey = publicKey
        self.revokedAt = revokedAt
        self.reason = reason
    }

    /// "farm key ID, revoked at TIME (REASON)": how every refusal names it.
    public var summary: String {
        let when = revokedAt.map { " at \($0.formatted(.iso8601))" } ?? ""
        let why = reason.map { " (\($0))" } ?? ""
        return "farm key \(id), which was revoked\(when)\(why)"
    }
}

/// Something was signed by a revoked farm key: refused whatever else holds.
public struct FarmKeyRevokedError: Error, CustomStringConvertible, Sendable {
    public let revocation: FarmKeyRevocation
    /// What was signed: "the manifest", "the image's signature".
    public let signed: String

    public init(_ revocation: FarmKeyRevocation, signed: String) {
        self.revocation = revocation
        self.signed = signed
    }

    public var description: String {
        "\(signed) was signed with \(revocation.summary): a revoked key verifies nothing. Build it again so that the farm's current key signs it (`kiln builds retry` of its build, or push again)"
    }
}
