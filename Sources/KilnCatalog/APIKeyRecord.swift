import Foundation

/// An API key as the farm knows it: its id, whom it is for and when it was
/// made. Never its secret: the farm holds only the secret's SHA-256.
public struct APIKeyRecord: Sendable, Equatable {
    /// `key-N`: what `kiln keys revoke` takes.
    public var id: String
    /// The app it may push to and read; `nil` for an administrator key.
    public var app: String?
    public var createdAt: Date
    /// When it stopped working; `nil` while it works.
    public var revokedAt: Date?
}
