import Foundation
import KilnSigning

/// The farm's signature of an image, kept in the registry beside it as
/// `REPO:sha256-HEX.sig` (cosign's convention): an OCI artifact whose one
/// layer is the signed payload, a simple-signing JSON naming the image's
/// manifest digest, and whose annotation holds the Ed25519 signature of the
/// payload's exact bytes, base64. Anyone with the registry and the farm's
/// public key can check it, with `kiln image verify` or with openssl.
public struct ImageSignature: Sendable {
    public var registry: RegistrySettings

    public init(registry: RegistrySettings) {
        self.registry = registry
    }

    static let payloadType = "application/vnd.dev.cosign.simplesigning.v1+json"
    static let signatureAnnotation = "dev.kiln.signature"
    static let keyAnnotation = "dev.kiln.key-id"
    static let kind = "kiln container image signature"

    /// What the signature says, beyond the digest it covers.
    public struct Claims: Sendable, Equatable {
        public var app: String
        public var build: String
        public var keyID: String
    }

    /// The tag that holds the signature of `digest`.
    static func tag(of digest: String) -> String {
        digest.replacingOccurrences(of: ":", with: "-") + ".sig"
    }

    /// Where the signature of `image` (by digest) is kept: `REPO:sha256-HEX.sig`.
    public static func location(of image: ImageReference) -> ImageReference {
        ImageReference(repository: image.repository, tag: image.digest.map(tag(of:)))
    }

    /// The payload: critical (what is signed) and optional (context) parts.
    static func payload(repository: String, digest: String, app: String, build: String, keyID: String) throws -> Data {
        let value: [String: Any] = [
            "critical": [
                "identity": ["docker-reference": repository],
                "image": ["docker-manifest-digest": digest],
                "type": kind,
            ],
            "optional": ["app": app, "build": build, "key_id": keyID],
        ]
        return try OCILayout.encode(value) + Data("\n".utf8)
    }

    /// Signs `image` (by digest) with `key` and pushes the signature next to it.
    public func sign(_ image: ImageReference, app: String, build: String, key: FarmKey, scratch: URL) async throws {
        guard let digest = image.digest else { throw ImageError("\(image) has no digest to sign") }
        let payload = try Self.payload(repository: image.repository, digest: digest, app: app, build: build, keyID: key.publicKey.id)
        let signature = try key.sign(payload)
        let layout = OCILayout(directory: scratch.appendingPathComponent("signature"))
        try? FileManager.default.removeItem(at: layout.directory)
        try FileManager.default.createDirectory(at: layout.directory, withIntermediateDirectories: true)
        let config = try layout.write(Data("{}".utf8), mediaType: OCILayout.configType)
        var layer = try layout.write(payload, mediaType: Self.payloadType).json
        layer["annotations"] = [Self.signatureAnnotation: signature.base64EncodedString(), Self.keyAnnotation: key.publicKey.id]
        let manifest = try layout.write(try OCILayout.encode([
            "schemaVersion": 2, "mediaType": OCILayout.manifestType, "config": config.json, "layers": [layer],
        ]), mediaType: OCILayout.manifestType)
        try layout.tag(manifest, as: "signature")
        let target = ImageReference(repository: image.repository, tag: Self.tag(of: digest))
        do {
            try await Skopeo(registry: registry).copy("oci:\(layout.directory.path):signature", target.transport)
        } catch let error as ImageError {
            throw ImageError("the registry \(registry.host) refused the image's signature \(target): \(error)")
        }
    }

    /// Checks that `image` is in its registry and that the farm signed exactly
    /// that manifest with one of `keys` not revoked; returns the digest and what the signature says.
    /// Throws an ``ImageError`` for every refusal, one naming the key for a revoked key's signature.
    public func verify(_ image: ImageReference, keys: TrustedFarmKeys, scratch: URL) async throws -> (String, Claims) {
        let skopeo = Skopeo(registry: registry)
        let (_, actual) = try await skopeo.rawManifest(image)
        if let pinned = image.digest, pinned != actual {
            throw ImageError("the registry serves \(image.repository)@\(pinned) with a manifest whose digest is \(actual): it was altered")
        }
        let signatureImage = ImageReference(repository: image.repository, tag: Self.tag(of: actual))
        let directory = scratch.appendingPathComponent("signature")
        try? FileManager.default.removeItem(at: directory)
        do {
            try await skopeo.copy(signatureImage.transport, "dir:\(directory.path)")
        } catch {
            throw ImageError("\(image.repository)@\(actual) has no farm signature (\(signatureImage) cannot be read): it was not built or exported by this farm")
        }
        let manifest = try OCILayout.object(Data(contentsOf: directory.appendingPathComponent("manifest.json")))
        guard let layer = (manifest["layers"] as? [[String: Any]])?.first, let payloadDigest = layer["digest"] as? String,
              let annotations = layer["annotations"] as? [String: String],
              let encoded = annotations[Self.signatureAnnotation], let signature = Data(base64Encoded: encoded) else {
            throw ImageError("\(signatureImage) is not a Kiln image signature (no payload layer with a \(Self.signatureAnnotation) annotation)")
        }
        let payload = try Data(contentsOf: directory.appendingPathComponent(payloadDigest.replacingOccurrences(of: "sha256:", with: "")))
        guard OCIDigest.of(payload) == payloadDigest else { throw ImageError("the signature's payload does not match its digest: it was altered") }
        let verdict: TrustedFarmKeys.Verdict
        do {
            verdict = try keys.signer(of: payload, signature: signature, claimedKeyID: annotations[Self.keyAnnotation],
                                      signed: "\(image.repository)@\(actual)")
        } catch let revoked as FarmKeyRevokedError {
            throw ImageError(revoked.description)
        }
        guard case .signed(let signer) = verdict else {
            throw ImageError("the signature of \(image.repository)@\(actual) does not verify with the farm's public key\(keys.usable.count == 1 ? "" : "s"): the signature or its payload was altered, or they come from another farm")
        }
        let document = try OCILayout.object(payload)
        let critical = document["critical"] as? [String: Any]
        let signed = (critical?["image"] as? [String: Any])?["docker-manifest-digest"] as? String
        let identity = (critical?["identity"] as? [String: Any])?["docker-reference"] as? String
        guard critical?["type"] as? String == Self.kind, signed == actual else {
            throw ImageError("the farm's signature covers \(signed ?? "no digest"), not \(actual): it belongs to another image")
        }
        guard identity == image.repository else {
            throw ImageError("the farm signed this manifest as \(identity ?? "no repository"), not as \(image.repository)")
        }
        let optional = document["optional"] as? [String: String] ?? [:]
        return (actual, Claims(app: optional["app"] ?? "", build: optional["build"] ?? "", keyID: signer.id))
    }
}
