import Crypto
import Foundation

/// The timestamped signature, `X-Kiln-Signature: t=UNIX_SECONDS,v1=HEX`, made
/// and checked exactly as Stripe's `Stripe-Signature`: HEX is the lowercase hex
/// of HMAC-SHA256, keyed with the webhook's secret, over the timestamp's
/// digits, a literal `.`, and the raw body's bytes. docs/slug-protocol.md is
/// the receiver's reference.
extension Webhook {
    /// The header's name.
    public static let timestampedSignatureHeader = "X-Kiln-Signature"

    /// How far a delivery's timestamp may be from the receiver's clock, by
    /// default: Stripe's five minutes.
    public static let defaultTolerance: Duration = .seconds(300)

    /// `t=UNIX_SECONDS,v1=HEX` of `body` signed at `time` (whole seconds, rounded down).
    public static func timestampedSignature(of body: Data, secret: String, at time: Date) -> String {
        let timestamp = String(Int(time.timeIntervalSince1970.rounded(.down)))
        let code = timestampedCode(timestamp: timestamp, body: body, secret: secret)
        return "t=\(timestamp),v1=" + code.map { String(format: "%02x", $0) }.joined()
    }

    /// Checks an `X-Kiln-Signature` header against the raw `body` a receiver got
    /// and the app's webhook `secret`; returns the time the delivery was signed.
    ///
    /// The header is `t=SECONDS` and one or more `v1=HEX`, comma-separated (a
    /// sender rotating its secret may sign with each); other schemes are
    /// ignored. Some `v1` must be the HMAC of `"\(t).\(body)"` (compared in
    /// constant time), and only then is `t` trusted and compared with `now`:
    /// a delivery signed more than `tolerance` ago is refused as a replay, and
    /// one signed more than `tolerance` ahead as a clock that is off. Inject
    /// `now` to test; a receiver leaves it. Pure, never blocks.
    ///
    /// - Throws: ``WebhookSignatureError`` naming the problem: `.missingHeader`,
    ///   `.malformedHeader`, `.noMatchingSignature` or `.outsideTolerance`.
    @discardableResult
    public static func verify(header: String?, body: Data, secret: String,
                              tolerance: Duration = defaultTolerance, now: Date = Date()) throws(WebhookSignatureError) -> Date {
        let signature = try TimestampedSignature(parsing: header)
        let expected = timestampedCode(timestamp: signature.timestamp, body: body, secret: secret)
        // swift-crypto's `==` of a code and bytes is constant-time (`safeCompare`).
        guard signature.codes.contains(where: { expected == $0 }) else {
            throw WebhookSignatureError(.noMatchingSignature, "no v1 signature of \(timestampedSignatureHeader) matches the body signed at "
                + "\(signature.timestamp) with this secret: the body was altered (verify the raw bytes received, before any JSON "
                + "parsing), or the secret is not the app's webhook secret (`kiln apps set --release-webhook-secret`)")
        }
        let window = tolerance.components.seconds
        let age = Int(now.timeIntervalSince1970.rounded(.down)) - signature.seconds
        if age > window {
            throw WebhookSignatureError(.outsideTolerance, "the delivery was signed at \(signature.timestamp), \(age) s ago, outside the "
                + "\(window) s window: a replay, or the receiver's clock is off")
        }
        if -age > window {
            throw WebhookSignatureError(.outsideTolerance, "the delivery was signed at \(signature.timestamp), \(-age) s in the future, outside the "
                + "\(window) s window: the sender's or the receiver's clock is off (keep both on NTP)")
        }
        return Date(timeIntervalSince1970: TimeInterval(signature.seconds))
    }

    /// Fed in two parts, so that the body is never copied behind its timestamp.
    static func timestampedCode(timestamp: some StringProtocol, body: Data, secret: String) -> HashedAuthenticationCode<SHA256> {
        var hmac = HMAC<SHA256>(key: SymmetricKey(data: Data(secret.utf8)))
        hmac.update(data: Data("\(timestamp).".utf8))
        hmac.update(data: body)
        return hmac.finalize()
    }
}
