import Foundation
import KilnBlobStore
import KilnCatalog
import KilnDatabase
import KilnSigning
import KilnSlug
import KilnWebhook
import Logging
import Metrics
import PostgresNIO
import ServiceLifecycle

/// Delivers the release hand-offs the outbox (`release_handoffs`) holds:
/// each is POSTed to its app's webhook, signed, until a 2xx answer, with
/// back-off between attempts (2 s, 4 s, … 5 min). A row is held with
/// `FOR UPDATE SKIP LOCKED` while it is sent, so several servers never send
/// one at once; a crash between the answer and the commit sends it again,
/// which the idempotency key lets the receiver ignore.
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

    typealias Row = (String, Int, String, Int, String, ByteBuffer, String?, Int, String, Date, String, String?, Int64?, String, String)

    /// Sends the oldest due hand-off, if any; returns whether there was one.
    func sendOne() async throws -> Bool {
        try await database.transaction { connection in
            let rows = try await connection.query("""
                SELECT h.app, h.version, h.idempotency_key, h.attempts, a.release_webhook, a.release_webhook_secret,
                       r.slug_digest, r.config_version, r.description, r.created_at, b.id, b.commit, b.slug_size, b.manifest_digest, b.signature_digest
                FROM release_handoffs h JOIN apps a ON a.name = h.app
                    JOIN releases r ON r.app = h.app AND r.version = h.version JOIN builds b ON b.seq = r.build_seq
                WHERE h.delivered_at IS NULL AND h.next_attempt_at <= now() AND a.release_webhook IS NOT NULL
                ORDER BY h.next_attempt_at LIMIT 1 FOR UPDATE OF h SKIP LOCKED
                """, logger: logger)
            var found: Row?
            for try await row in rows.decode(Row.self) { found = row }
            guard let row = found else { return false }
            let (app, version, key, attempts) = (row.0, row.1, row.2, row.3)
            // A hot release says so (a rollback to a hot build's slug deploys by restart), and an image names itself.
            var extra = Extra(hot: false, image: nil, ports: nil)
            for try await more in try await connection.query("""
                SELECT r.upgrade_to IS NOT NULL, b.image, b.image_ports FROM releases r JOIN builds b ON b.seq = r.build_seq
                WHERE r.app = \(app) AND r.version = \(version)
                """, logger: logger).decode((Bool, String?, [Int]?).self) { extra = Extra(hot: more.0, image: more.1, ports: more.2) }
            var status: Int?
            var failure: String?
            do {
                let body = try await onThread { [extra] in try payload(row, extra) }
                let secret = try vault.unseal(Data(buffer: row.5), app: app)["secret"] ?? ""
                let webhook = Webhook(url: row.4, secret: secret)
                status = try await onThread { try webhook.post(body, idempotencyKey: key, event: "release") }
                if let status, !(200..<300).contains(status) { failure = "HTTP \(status)" }
            } catch {
                failure = "\(error)"
            }
            if failure == nil {
                try await connection.query("""
                    UPDATE release_handoffs SET delivered_at = now(), attempts = attempts + 1, last_status = \(status), last_error = NULL
                    WHERE app = \(app) AND version = \(version)
                    """, logger: logger)
                // The build's last phase: from its end to the release service's 2xx (a deploy's
                // release only; a rollback's release is made long after its build).
                try await connection.query("""
                    UPDATE builds b SET timings = coalesce(b.timings, '{}'::jsonb)
                        || jsonb_build_object('handoff', (extract(epoch FROM now() - b.finished_at) * 1000)::bigint)
                    FROM releases r
                    WHERE r.app = \(app) AND r.version = \(version) AND b.seq = r.build_seq
                      AND r.created_at - b.finished_at < interval '1 minute' AND NOT coalesce(b.timings ? 'handoff', false)
                    """, logger: logger)
                Counter(label: "kiln_handoffs_total", dimensions: [("outcome", "delivered")]).increment()
                logger.info("release handed off", metadata: ["app": "\(app)", "version": "\(version)", "attempt": "\(attempts + 1)"])
            } else {
                let delay = min(1 << min(attempts + 1, 9), 300)
                try await connection.query("""
                    UPDATE release_handoffs SET attempts = attempts + 1, last_status = \(status), last_error = \(failure),
                        next_attempt_at = now() + make_interval(secs => \(delay))
                    WHERE app = \(app) AND version = \(version)
                    """, logger: logger)
                Counter(label: "kiln_handoffs_total", dimensions: [("outcome", "failed")]).increment()
                logger.warning("release hand-off failed; will retry", metadata: [
                    "app": "\(app)", "version": "\(version)", "attempt": "\(attempts + 1)", "retry_in_s": "\(delay)", "error": "\(failure ?? "")"])
            }
            return true
        }
    }

    /// What the hand-off says beyond the release row: whether it is hot, and the build's image.
    struct Extra: Sendable {
        var hot: Bool
        var image: String?
        var ports: [Int]?
    }

    func payload(_ row: Row, _ extra: Extra) throws -> Data {
        guard let manifestDigest = BlobDigest(row.13), let signatureDigest = BlobDigest(row.14) else {
            throw BlobStoreError("the release's build has no manifest")
        }
        let manifestBytes = try blobs.data(for: manifestDigest)
        let manifest = try SlugManifest.decode(manifestBytes)
        let expires = Int(Date().timeIntervalSince1970) + urlLifetime
        let handoff = ReleaseHandoff(
            app: row.0, version: row.1, description: row.8, build: row.10, commit: row.11, configVersion: row.7, createdAt: row.9,
            slug: row.6.map { slug in
                .init(sha256: slug, size: row.12 ?? 0, url: publicURL + signer.signedPath("/slugs/\(slug)", expires: expires),
                      urlExpiresAt: Date(timeIntervalSince1970: TimeInterval(expires)))
            },
            image: extra.image.map { ReleaseHandoff.Image(reference: $0, ports: extra.ports ?? []) },
            manifest: manifestBytes.base64EncodedString(), manifestSignature: try blobs.data(for: signatureDigest).base64EncodedString(),
            processTypes: manifest.processTypes, hot: extra.hot ? manifest.upgrade : nil)
        return try JSONResponse.encoder.encode(handoff)
    }
}
