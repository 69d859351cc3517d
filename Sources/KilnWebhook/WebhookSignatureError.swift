/// Why a receiver refused a delivery's `X-Kiln-Signature`
/// (``Webhook/verify(header:body:secret:tolerance:now:)``), with what to do
/// about it. The receiver answers such a delivery 4xx and does not record it.
public struct WebhookSignatureError: Error, CustomStringConvertible, Sendable, Equatable {
    /// A stable code for receivers and tests.
    public enum Code: String, Sendable {
        /// No `X-Kiln-Signature` header, or an empty one.
        case missingHeader
        /// Not `t=UNIX_SECONDS,v1=HEX[,v1=HEX…]`: an item without `=`, no or a
        /// second `t`, a timestamp that is not digits, no `v1`, or a `v1` that is
        /// not 64 hex digits.
        case malformedHeader
        /// No `v1` is the HMAC of the timestamp and this body with this secret:
        /// an altered body or timestamp, or another secret.
        case noMatchingSignature
        /// Correctly signed, but at a time further from the receiver's clock
        /// than the tolerance: a replay, or a clock that is off.
        case outsideTolerance
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
