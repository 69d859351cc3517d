import Foundation
import KilnSigning

/// An `X-Kiln-Signature` header, parsed but not yet checked.
struct TimestampedSignature: Sendable {
    /// The timestamp's digits exactly as received: they are what was signed.
    var timestamp: Substring
    var seconds: Int
    /// The 32 bytes of each `v1` signature.
    var codes: [Data]

    init(parsing header: String?) throws(WebhookSignatureError) {
        let name = Webhook.timestampedSignatureHeader
        guard let header, !header.allSatisfy(\.isWhitespace) else {
            throw WebhookSignatureError(.missingHeader, "the delivery has no \(name) header: it was not sent by Kiln, or by a Kiln "
                + "older than this scheme (which sends only X-Kiln-Signature-256); refuse it")
        }
        var timestamp: (text: Substring, seconds: Int)?
        var codes: [Data] = []
        for item in header.split(separator: ",", omittingEmptySubsequences: false) {
            let item = item.trimmingCharacters(in: .whitespaces)
            guard let equals = item.firstIndex(of: "="), equals != item.startIndex else {
                throw WebhookSignatureError(.malformedHeader, "\(name) item \(Self.quoted(item)) is not KEY=VALUE; the header is t=UNIX_SECONDS,v1=HEX")
            }
            let value = item[item.index(after: equals)...]
            switch item[..<equals] {
            case "t":
                guard timestamp == nil else {
                    throw WebhookSignatureError(.malformedHeader, "\(name) has more than one t=; the header is t=UNIX_SECONDS,v1=HEX")
                }
                // Digits only: `Int(_:)` would also take a sign.
                guard !value.isEmpty, value.utf8.count <= 18, value.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
                      let seconds = Int(value) else {
                    throw WebhookSignatureError(.malformedHeader, "\(name) timestamp \(Self.quoted(value)) is not Unix seconds")
                }
                timestamp = (Substring(value), seconds)
            case "v1":
                guard let code = URLSigner.bytes(hex: value) else {
                    throw WebhookSignatureError(.malformedHeader, "\(name) v1 \(Self.quoted(value)) is not 64 hex digits")
                }
                codes.append(code)
            default:
                // Other schemes (a future v2, Stripe's test-mode v0) are for other receivers.
                continue
            }
        }
        guard let timestamp else {
            throw WebhookSignatureError(.malformedHeader, "\(name) has no t=UNIX_SECONDS; the header is t=UNIX_SECONDS,v1=HEX")
        }
        guard !codes.isEmpty else {
            throw WebhookSignatureError(.malformedHeader, "\(name) has no v1= signature; the header is t=UNIX_SECONDS,v1=HEX")
        }
        self.timestamp = timestamp.text
        self.seconds = timestamp.seconds
        self.codes = codes
    }

    /// A value from the header for an error message, quoted and cut short:
    /// the header is the sender's (or an attacker's) text.
    static func quoted(_ value: some StringProtocol) -> String {
        let cut = value.count > 80 ? value.prefix(80) + "…" : Substring(value)
        return "\"" + cut.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7f ? String($0) : $0.escaped(asASCII: true) }.joined() + "\""
    }
}
