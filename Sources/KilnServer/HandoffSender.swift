import Foundation
import KilnBlobStore
import KilnCatalog
import KilnDatabase
import KilnProcess
import KilnQueue
import KilnSigning
import KilnSlug
import KilnWebhook
import Logging
import Metrics
import ServiceLifecycle

/// Delivers the release hand-offs the outbox (`release_handoffs`) holds:
/// each is POSTed to its app's webhook, signed, until a 2xx answer, with
/// back-off between attempts (2 s, 4 s, … 5 min). The outbox is the
/// catalog's (``Catalog/deliverNextHandoff(_:)`` holds the row while it is
/// sent); this service composes and posts.
struct HandoffSender: Service {
    let database: Database
    let vault: ConfigVault
    let signer: URLSigner
    let blobs: BlobStorage
    let publicURL: String
    let logger: Logger
    var pollInterval: Duration = .milliseconds(500)
    /// How long the slug URL of a hand-off stays valid.
    var urlLifetime = 3600

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    while try await sendOne() {}
                } catch {
                    logger.warning("cannot send release hand-offs", metadata: ["error": "\(String(reflecting: error))"])
                }
                try? await Task.sleep(for: pollInterval)
            }
        }
    }

    /// Sends the oldest due hand-off, if any; returns whether there was one.
    func sendOne() async throws -> Bool {
        let catalog = Catalog(database: database)
        let sent = try await catalog.deliverNextHandoff { [self] due in
            do {
                let body = try await onThread { try payload(due) }
                let secret = try vault.unseal(due.sealedSecret, app: due.release.app)["secret"] ?? ""
                let webhook = Webhook(url: due.webhook, secret: secret)
                let status = try await onThread { try webhook.post(body, idempotencyKey: due.idempotencyKey, event: "release") }
                if (200..<300).contains(status) { return .delivered(status: status) }
                return .failed(status: status, error: "HTTP \(status)", retryIn: Self.delay(after: due.attempts))
            } catch {
                return .failed(status: nil, error: "\(error)", retryIn: Self.delay(after: due.attempts))
            }
        }
        guard let (due, attempt) = sent else { return false }
        let metadata: Logger.Metadata = ["app": "\(due.release.app)", "version": "\(due.release.version)", "attempt": "\(due.attempts + 1)"]
        switch attempt {
        case .delivered:
            Counter(label: "kiln_handoffs_total", dimensions: [("outcome", "delivered")]).increment()
            logger.info("release handed off", metadata: metadata)
        case .failed(_, let error, let delay):
            Counter(label: "kiln_handoffs_total", dimensions: [("outcome", "failed")]).increment()
            logger.warning("release hand-off failed; will retry", metadata: metadata.merging(["retry_in_s": "\(delay)", "error": "\(error)"]) { $1 })
        }
        return true
    }

    /// Seconds before the next attempt: doubling from 2 s, at most 5 minutes.
    static func delay(after attempts: Int) -> Int {
        min(1 << min(attempts + 1, 9), 300)
    }

    /// The JSON the release service receives, with fresh signed URLs of the slug and of the config.
    func payload(_ due: DueHandoff) throws -> Data {
        let artifact = due.artifact
        guard let manifestDigest = artifact.manifestDigest.flatMap(BlobDigest.init),
              let signatureDigest = artifact.signatureDigest.flatMap(BlobDigest.init) else {
            throw BlobStoreError("the release has no signed manifest")
        }
        let manifestBytes = try blobs.data(for: manifestDigest)
        let manifest = try SlugManifest.decode(manifestBytes)
        let expires = Int(Date().timeIntervalSince1970) + urlLifetime
        let expiresAt = Date(timeIntervalSince1970: TimeInterval(expires))
        let release = due.release
        let handoff = ReleaseHandoff(
            app: release.app, version: release.version, description: release.description, build: artifact.build, commit: artifact.commit,
            configVersion: release.configVersion,
            config: .init(version: release.configVersion,
                          url: publicURL + signer.signedPath(ReleaseHandoff.configPath(app: release.app, version: release.configVersion), expires: expires),
                          urlExpiresAt: expiresAt),
            statusURL: publicURL + ReleaseHandoff.statusPath(app: release.app, version: release.version),
            createdAt: release.createdAt,
            slug: release.slugDigest.map { slug in
                .init(sha256: slug, size: artifact.slugSize ?? 0, url: publicURL + signer.signedPath("/slugs/\(slug)", expires: expires), urlExpiresAt: expiresAt)
            },
            image: artifact.image.map { ReleaseHandoff.Image(reference: $0, ports: artifact.ports ?? []) },
            manifest: manifestBytes.base64EncodedString(), manifestSignature: try blobs.data(for: signatureDigest).base64EncodedString(),
            // A hot release says so (a rollback to a hot build's slug, or a config change, deploys by restart).
            processTypes: manifest.processTypes, hot: release.upgrade != nil ? manifest.upgrade : nil)
        return try JSONResponse.encoder.encode(handoff)
    }
}
