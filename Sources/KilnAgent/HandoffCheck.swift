import Foundation
import KilnSigning
import KilnSlug
import KilnWebhook

/// The checks a hand-off passes before the agent takes it: its
/// `X-Kiln-Signature` over the raw body (signature, then the 300 s window),
/// then the farm's signature over the manifest it carries, with the pinned
/// keys less the revoked ones, the manifest against the hand-off, and the
/// hand-off's URLs against the farm's routes for this release.
struct HandoffCheck: Sendable {
    var secret: String
    /// The farm server's URL, without a trailing slash.
    var farm: String
    var trustedKeys: @Sendable () async throws -> TrustedFarmKeys

    /// A hand-off whose every check passed, with its manifest decoded.
    struct Verified: Sendable {
        var handoff: Handoff
        var manifest: SlugManifest
    }

    /// Checks the signature header only; returns the body decoded.
    func signed(body: Data, header: String?, now: Date = Date()) throws -> Handoff {
        do {
            try Webhook.verify(header: header, body: body, secret: secret, now: now)
        } catch {
            throw HandoffRefusal(error.code == .outsideTolerance ? .stale : .badSignature, "refused: \(error.message)")
        }
        do {
            let handoff = try JSONDecoder().decode(Handoff.self, from: body)
            guard Handoff.isAppName(handoff.app) else {
                throw HandoffRefusal(.malformedBody, "refused: \(handoff.app.debugDescription) is not an app name")
            }
            return handoff
        } catch let refusal as HandoffRefusal {
            throw refusal
        } catch {
            throw HandoffRefusal(.malformedBody, "refused: the body is not a release hand-off (\(error))")
        }
    }

    /// Checks the farm's signature over the hand-off's manifest and that the
    /// manifest is of this hand-off's app and slug (or image).
    func manifest(of handoff: Handoff) async throws -> Verified {
        guard let manifest = Data(base64Encoded: handoff.manifest), let signature = Data(base64Encoded: handoff.manifestSignature) else {
            throw HandoffRefusal(.malformedBody, "refused: manifest or manifest_signature is not base64")
        }
        let keys: TrustedFarmKeys
        do {
            keys = try await trustedKeys()
        } catch {
            throw HandoffRefusal(.keysUnavailable, "not taken yet: \(error)")
        }
        let claimed = (try? SlugManifest.decode(manifest))?.keyID
        do {
            switch try keys.signer(of: manifest, signature: signature, claimedKeyID: claimed, signed: "the manifest") {
            case .signed:
                break
            case .unknownKey(let id):
                throw HandoffRefusal(.unknownKey, "refused: the manifest is signed by an unknown key: farm key \(id) is not among the "
                    + "\(keys.usable.count) pinned (\(keys.usable.map(\.id).joined(separator: ", "))); pin every farm key with `kiln farm-keys public --all`")
            case .invalid:
                throw HandoffRefusal(.badManifest, "refused: the manifest's signature does not verify with the pinned farm keys: the manifest or its "
                    + "signature was altered, or it was signed by an unknown key (another farm's)")
            }
        } catch let refusal as HandoffRefusal {
            throw refusal
        } catch {
            throw HandoffRefusal(.revokedKey, "refused: \(error)")
        }
        let decoded: SlugManifest
        do {
            decoded = try SlugManifest.decode(manifest)
        } catch {
            throw HandoffRefusal(.badManifest, "refused: the signed manifest cannot be read (\(error))")
        }
        guard decoded.app == handoff.app else {
            throw HandoffRefusal(.badManifest, "refused: the hand-off is for \(handoff.app) but the signed manifest is of \(decoded.app)")
        }
        if let slug = handoff.slug {
            guard slug.sha256 == decoded.sha256 else {
                throw HandoffRefusal(.badManifest, "refused: the hand-off names slug \(slug.sha256) but the signed manifest is of \(decoded.sha256)")
            }
        } else if let image = handoff.image {
            guard decoded.format == SlugManifest.imageFormat, let signed = decoded.image, signed.reference == image.reference else {
                throw HandoffRefusal(.badManifest, "refused: the hand-off names image \(image.reference) but the signed manifest names "
                    + "\(decoded.image?.reference ?? "none")")
            }
        } else {
            throw HandoffRefusal(.malformedBody, "refused: the hand-off has neither a slug nor an image")
        }
        if let hot = handoff.hot, hot != decoded.upgrade {
            throw HandoffRefusal(.badManifest, "refused: the hand-off's hot upgrade is not the signed manifest's upgrade")
        }
        try pinned(handoff, manifest: decoded)
        return Verified(handoff: handoff, manifest: decoded)
    }

    /// Checks that the slug, config and status URLs are the farm's routes for
    /// this release: a body signed with the webhook secret alone cannot send the
    /// agent elsewhere for its files, its config vars or its reports.
    func pinned(_ handoff: Handoff, manifest: SlugManifest) throws {
        func refuse(_ field: String, _ url: String, _ expected: String) -> HandoffRefusal {
            HandoffRefusal(.foreignURL, "refused: \(field) \(url.prefix(200).debugDescription) is not the farm's \(expected)")
        }
        if let slug = handoff.slug {
            let route = "\(farm)/slugs/\(manifest.sha256)"
            guard slug.url.hasPrefix(route + "?") else { throw refuse("slug.url", slug.url, route + "?…") }
        }
        if let config = handoff.config {
            let route = "\(farm)/api/apps/\(manifest.app)/config/versions/\(config.version)"
            guard config.version >= 0, config.url.hasPrefix(route + "?") else { throw refuse("config.url", config.url, route + "?…") }
        }
        if let status = handoff.statusURL {
            let route = "\(farm)/api/apps/\(manifest.app)/releases/v\(handoff.version)/status"
            guard status == route else { throw refuse("status_url", status, route) }
        }
    }
}
