import Crypto
import Foundation
import KilnCurl

/// A signed JSON POST to a receiver's URL, with libcurl, carrying two
/// signatures made with the shared secret:
///
/// - `X-Kiln-Signature: t=UNIX_SECONDS,v1=HEX`, HMAC-SHA256 of `"\(t).\(body)"`
///   as Stripe's `Stripe-Signature`, with `t` taken at each attempt: a receiver
///   that checks it with ``verify(header:body:secret:tolerance:now:)`` refuses
///   a captured delivery replayed later;
/// - `X-Kiln-Signature-256: sha256=HEX`, HMAC-SHA256 of the body alone (as
///   GitHub's `X-Hub-Signature-256`), kept for existing receivers: it proves who
///   sent the body, not when, so it does not stop a replay;
///
/// and an `Idempotency-Key` so that the receiver can drop a delivery it
/// already took: a retry is signed afresh but keeps its key.
public struct Webhook: Sendable {
    public var url: String
    public var secret: String
    public var timeout: Duration

    public init(url: String, secret: String, timeout: Duration = .seconds(15)) {
        self.url = url
        self.secret = secret
        self.timeout = timeout
    }

    /// `sha256=HEX` of `body`.
    public static func signature(of body: Data, secret: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8)))
        return "sha256=" + code.map { String(format: "%02x", $0) }.joined()
    }

    /// Sends `body`, signed at `signedAt` (the moment of this attempt, so that
    /// a retry carries a fresh timestamp); returns the answer's HTTP status.
    /// Throws when no answer came (refused, timed out). Blocks the calling thread.
    public func post(_ body: Data, idempotencyKey: String, event: String, signedAt: Date = Date()) throws -> Int {
        guard url.lowercased().hasPrefix("http://") || url.lowercased().hasPrefix("https://") else {
            throw WebhookError("\(url) is not an http(s) URL")
        }
        let headers = [
            "Content-Type: application/json",
            "X-Kiln-Event: \(event)",
            "\(Self.timestampedSignatureHeader): \(Self.timestampedSignature(of: body, secret: secret, at: signedAt))",
            "X-Kiln-Signature-256: \(Self.signature(of: body, secret: secret))",
            "Idempotency-Key: \(idempotencyKey)",
        ]
        // The answer's body is kept in memory (up to 1 MiB) and dropped.
        var request = CurlRequest("POST", url, headers: headers, body: .data(body))
        request.timeout = timeout
        do {
            return try request.perform().status
        } catch {
            throw WebhookError("no answer from \(url): \(error.message)")
        }
    }
}

/// A delivery that got no answer; the message names the URL and the cause.
public struct WebhookError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
