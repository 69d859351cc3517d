import Foundation
import KilnWebhook
import Testing

/// `X-Kiln-Signature: t=…,v1=…` as a receiver checks it: Stripe's scheme, the
/// header's grammar, and the window that turns a captured delivery away.
@Suite struct WebhookSignatureTests {
    let secret = "whsec-kiln-test-secret"
    let body = Data(#"{"app":"shipped","version":1}"#.utf8)
    let signedAt = Date(timeIntervalSince1970: 1_700_000_000)
    /// HMAC-SHA256("whsec-kiln-test-secret", "1700000000." + body), computed apart
    /// (Python's hmac), so that the payload's layout is fixed by this test, not by the code.
    let stripeV1 = "c714e25729f18efc6e12dff62a452053932d0747f2d5583d897b5b52d4629fce"

    func refusal(_ header: String?, body: Data? = nil, secret: String? = nil, tolerance: Duration = Webhook.defaultTolerance,
                 now: Date? = nil) -> WebhookSignatureError? {
        do {
            try Webhook.verify(header: header, body: body ?? self.body, secret: secret ?? self.secret, tolerance: tolerance, now: now ?? signedAt)
            return nil
        } catch {
            return error
        }
    }

    @Test func theHeaderIsStripesTimestampDotBodyHMAC() throws {
        let header = Webhook.timestampedSignature(of: body, secret: secret, at: signedAt.addingTimeInterval(0.9))
        #expect(header == "t=1700000000,v1=\(stripeV1)")
        #expect(try Webhook.verify(header: header, body: body, secret: secret, now: signedAt) == signedAt)
        // The body-only signature stays what it was for existing receivers.
        #expect(Webhook.signature(of: body, secret: secret) == "sha256=98a9541ef50e461b8bafc4bb9a6454ad6f7f82fc0441d648305745fc007498f8")
    }

    @Test func aDeliveryIsAcceptedUpToTheToleranceEitherSideAndRefusedPastIt() throws {
        let header = "t=1700000000,v1=\(stripeV1)"
        #expect(refusal(header, now: signedAt.addingTimeInterval(300.5)) == nil)
        #expect(refusal(header, now: signedAt.addingTimeInterval(-300)) == nil)

        let replay = try #require(refusal(header, now: signedAt.addingTimeInterval(301)))
        #expect(replay.code == .outsideTolerance)
        #expect(replay.message == "the delivery was signed at 1700000000, 301 s ago, outside the 300 s window: a replay, or the receiver's clock is off")
        let tenMinutesLater = try #require(refusal(header, now: signedAt.addingTimeInterval(600)))
        #expect(tenMinutesLater.message.contains("600 s ago, outside the 300 s window"), "\(tenMinutesLater)")

        let ahead = try #require(refusal(header, now: signedAt.addingTimeInterval(-301)))
        #expect(ahead.code == .outsideTolerance && ahead.message.contains("301 s in the future"), "\(ahead)")

        #expect(refusal(header, tolerance: .seconds(30), now: signedAt.addingTimeInterval(31))?.message.contains("outside the 30 s window") == true)
        #expect(refusal(header, tolerance: .seconds(900), now: signedAt.addingTimeInterval(600)) == nil)
    }

    @Test func aBodyAlteredByOneByteOrAnotherSecretOrTimestampMatchesNoSignature() throws {
        let header = "t=1700000000,v1=\(stripeV1)"
        var altered = body
        altered[altered.startIndex + 27] ^= 0x01
        #expect(refusal(header, body: altered)?.code == .noMatchingSignature)
        #expect(refusal(header, body: body + Data(" ".utf8))?.code == .noMatchingSignature)
        #expect(refusal(header, secret: "another-secret-of-16")?.code == .noMatchingSignature)
        // A moved timestamp does not carry the old signature with it.
        #expect(refusal("t=1700000600,v1=\(stripeV1)", now: signedAt.addingTimeInterval(600))?.code == .noMatchingSignature)
        // Nor does a timestamp written otherwise: the digits as sent are what was signed.
        #expect(refusal("t=01700000000,v1=\(stripeV1)")?.code == .noMatchingSignature)
        // The body-only signature is no v1.
        #expect(refusal("t=1700000000,v1=98a9541ef50e461b8bafc4bb9a6454ad6f7f82fc0441d648305745fc007498f8")?.code == .noMatchingSignature)
        let message = try #require(refusal(header, body: altered)).message
        #expect(message.contains("no v1 signature of X-Kiln-Signature matches") && message.contains("raw bytes"), "\(message)")
    }

    @Test func anUnverifiedTimestampIsNeverReportedAsAReplay() {
        // An old timestamp with a wrong signature is a forgery or an alteration first.
        let forged = "t=1600000000,v1=" + String(repeating: "0", count: 64)
        #expect(refusal(forged)?.code == .noMatchingSignature)
    }

    @Test func anyOfSeveralV1SignaturesMayMatchAndOtherSchemesAreIgnored() {
        let other = String(repeating: "ab", count: 32)
        #expect(refusal("t=1700000000,v1=\(other),v1=\(stripeV1)") == nil)
        #expect(refusal("v1=\(stripeV1),t=1700000000,v1=\(other)") == nil)
        #expect(refusal(" t=1700000000 , v0=\(other), v2=anything-at-all,v1=\(stripeV1.uppercased())") == nil)
        #expect(refusal("t=1700000000,v1=\(other),v1=\(other)")?.code == .noMatchingSignature)
        // A scheme Kiln does not know does not stand in for v1.
        #expect(refusal("t=1700000000,v0=\(stripeV1)")?.code == .malformedHeader)
    }

    @Test func aMissingHeaderIsRefusedAsSuch() {
        for header in [nil, "", "  "] as [String?] {
            let refused = refusal(header)
            #expect(refused?.code == .missingHeader, "\(String(describing: header))")
            #expect(refused?.message.contains("has no X-Kiln-Signature header") == true)
        }
    }

    @Test(arguments: [
        ("sha256=\(String(repeating: "0", count: 64))", "no t=UNIX_SECONDS"),
        ("v1=\(String(repeating: "0", count: 64))", "no t=UNIX_SECONDS"),
        ("t=1700000000", "no v1= signature"),
        ("t=1700000000,", "is not KEY=VALUE"),
        ("t=1700000000,=abc,v1=\(String(repeating: "0", count: 64))", "is not KEY=VALUE"),
        ("t=1700000000;v1=\(String(repeating: "0", count: 64))", "is not Unix seconds"),
        ("t=+1700000000,v1=\(String(repeating: "0", count: 64))", "is not Unix seconds"),
        ("t=-5,v1=\(String(repeating: "0", count: 64))", "is not Unix seconds"),
        ("t=,v1=\(String(repeating: "0", count: 64))", "is not Unix seconds"),
        ("t=99999999999999999999,v1=\(String(repeating: "0", count: 64))", "is not Unix seconds"),
        ("t=1,t=2,v1=\(String(repeating: "0", count: 64))", "more than one t="),
        ("t=1700000000,v1=\(String(repeating: "0", count: 63))", "is not 64 hex digits"),
        ("t=1700000000,v1=\(String(repeating: "0", count: 62))g0", "is not 64 hex digits"),
        // 62 hex digits and U+03DC: 64 bytes of UTF-8 in 63 characters.
        ("t=1700000000,v1=\(String(repeating: "0", count: 62))\u{3DC}", "is not 64 hex digits"),
    ])
    func aMalformedHeaderIsRefusedNamingWhatIsWrong(header: String, problem: String) {
        let refused = refusal(header)
        #expect(refused?.code == .malformedHeader, "\(header): \(String(describing: refused))")
        #expect(refused?.message.contains(problem) == true, "\(header): \(String(describing: refused))")
    }

    @Test func aHostileHeaderIsQuotedShortAndPrintableInTheError() throws {
        let refused = try #require(refusal("t=\u{1B}[31m" + String(repeating: "9", count: 500) + ",v1=x"))
        #expect(refused.code == .malformedHeader)
        #expect(!refused.message.contains("\u{1B}") && refused.message.count < 200, "\(refused)")
    }
}
