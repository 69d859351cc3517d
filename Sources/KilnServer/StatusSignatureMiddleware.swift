import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import KilnCatalog
import KilnWebhook
import OpenAPIRuntime

/// Checks `X-Kiln-Signature` of `POST /api/apps/{app}/releases/{release}/status`
/// against the raw body, which the generated handler never sees (it gets
/// the decoded JSON): collects the body (at most 64 KiB), unseals the app's
/// webhook secret, runs `Webhook.verify` (signature, then the 300 s window),
/// and passes the body on with a ``SignedStatusReport`` for that app and
/// that operation. A signature that does not verify is a 401 naming the
/// reason, whatever key the request also carries. Requests without the
/// header, and every other operation, pass untouched (a key then decides).
struct StatusSignatureMiddleware: ServerMiddleware {
    static let operationID = "reportReleaseStatus"
    /// Most bytes of a report's body: a status and a reason of 1000 characters need far fewer.
    static let maxBody = 64 << 10
    static let header = HTTPField.Name(Webhook.timestampedSignatureHeader)!

    let catalog: Catalog
    let vault: ConfigVault

    func intercept(_ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
                   next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)) async throws -> (HTTPResponse, HTTPBody?) {
        guard operationID == Self.operationID, let header = request.headerFields[Self.header] else {
            return try await next(request, body, metadata)
        }
        let app = metadata.pathParameters["app"].map(String.init) ?? ""
        guard App.isValidName(app) else { throw HTTPError(.notFound, message: "there is no app named \(app.prefix(80))") }
        let raw: Data
        do {
            raw = try await Data(collecting: body ?? HTTPBody(), upTo: Self.maxBody)
        } catch {
            throw HTTPError(.contentTooLarge, message: "the status report's body is over \(Self.maxBody / 1024) KiB: send {\"app\": …, \"release\": \"vN\", \"status\": …, \"reason\": …} with a reason of at most \(Catalog.statusReasonLimit) characters")
        }
        guard let secret = try await catalog.releaseWebhookSecret(app: app, vault: vault) else {
            throw HTTPError(.unauthorized, message: "\(app) has no release webhook secret to check \(Webhook.timestampedSignatureHeader) with (or there is no such app): set one with `kiln apps set --app \(app) --release-webhook URL --release-webhook-secret S`, or report with the app's key")
        }
        do {
            try Webhook.verify(header: header, body: raw, secret: secret)
        } catch {
            throw HTTPError(.unauthorized, message: "\(Webhook.timestampedSignatureHeader) refused: \(error.message)")
        }
        return try await SignedStatusReport.$current.withValue(SignedStatusReport(app: app, operationID: operationID,
                                                                        signature: SHA256.hash(data: Data(header.utf8)).map { String(format: "%02x", $0) }.joined())) {
            try await next(request, HTTPBody(raw), metadata)
        }
    }
}
