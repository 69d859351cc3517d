import Foundation
import KilnBlobStore
import KilnSigning

/// A slug's manifest and the farm's signature over its exact bytes, both stored as blobs.
public struct SignedSlug: Sendable {
    public var manifest: SlugManifest
    public var manifestDigest: BlobDigest
    public var signatureDigest: BlobDigest

    /// Encodes `manifest`, signs the bytes with `key` and stores both.
    public static func sign(_ manifest: SlugManifest, with key: FarmKey, into store: LocalBlobStore) throws -> SignedSlug {
        var manifest = manifest
        manifest.keyID = key.publicKey.id
        let bytes = try manifest.encoded()
        let signature = try key.sign(bytes)
        return SignedSlug(manifest: manifest, manifestDigest: try store.put(bytes), signatureDigest: try store.put(signature))
    }

    /// Checks a manifest, its signature and, when given, the slug file it names.
    /// Throws a ``SigningError`` that says which of the three does not match.
    public static func verify(manifest: Data, signature: Data, slug: URL?, with key: FarmPublicKey) throws -> SlugManifest {
        try verify(manifest: manifest, signature: signature, slug: slug, with: [key])
    }

    /// The same with several keys (the farm's current and retired ones): the
    /// manifest's `key_id` picks one; a manifest without it is tried with each.
    public static func verify(manifest: Data, signature: Data, slug: URL?, with keys: [FarmPublicKey]) throws -> SlugManifest {
        try verify(manifest: manifest, signature: signature, slug: slug, with: TrustedFarmKeys(keys))
    }

    /// The same with the farm's revocations too: a manifest a revoked key
    /// signed is refused with a ``FarmKeyRevokedError`` naming the key.
    public static func verify(manifest: Data, signature: Data, slug: URL?, with keys: TrustedFarmKeys) throws -> SlugManifest {
        // Read before it is trusted, only to choose a key: the signature decides.
        let claimed = (try? SlugManifest.decode(manifest))?.keyID
        switch try keys.signer(of: manifest, signature: signature, claimedKeyID: claimed, signed: "the manifest") {
        case .signed:
            break
        case .unknownKey(let id):
            let held = keys.usable
            throw SigningError("the manifest was signed with farm key \(id), which is not among the \(held.count) key(s) given (\(held.map(\.id).joined(separator: ", "))): get them all with `kiln farm-keys public --all`")
        case .invalid:
            throw SigningError("the manifest's signature does not verify with the farm's public key: the manifest or the signature was altered, or they come from another farm")
        }
        let decoded = try SlugManifest.decode(manifest)
        if let slug {
            let digest = try BlobDigest.of(file: slug).hex
            guard digest == decoded.sha256 else {
                throw SigningError("\(slug.lastPathComponent) has sha256 \(digest) but the signed manifest says \(decoded.sha256): the slug was altered")
            }
        }
        return decoded
    }
}
