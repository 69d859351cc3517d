import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
@testable import KilnAgent
import KilnSigning
import KilnTestSupport
import KilnWebhook
import Testing

/// What the agent refuses before taking a hand-off, and what it takes once.
@Suite struct HandoffRefusalTests {
    @Test func aTamperedBodyAStaleTimestampAndAMissingHeaderAreRefused() async throws {
        let fixture = try AgentFixture()
        let body = try fixture.body()
        try await Application(router: fixture.agent.router()).test(.router) { client in
            let signature = Webhook.timestampedSignature(of: body, secret: AgentFixture.secret, at: Date())
            var altered = body
            altered[try #require(altered.firstIndex(of: UInt8(ascii: "1")))] = UInt8(ascii: "2")
            let tampered = try await fixture.post(altered, signature: signature, to: client)
            #expect(tampered.status == 401 && tampered.body.contains("no v1 signature of X-Kiln-Signature matches the body"), "\(tampered)")

            let stale = try await fixture.post(body, signature: Webhook.timestampedSignature(of: body, secret: AgentFixture.secret, at: Date().addingTimeInterval(-600)),
                                               to: client)
            #expect(stale.status == 401 && stale.body.contains("outside the 300 s window: a replay"), "\(stale)")

            let unsigned = try await fixture.post(body, signature: .some(nil), to: client)
            #expect(unsigned.status == 401 && unsigned.body.contains("has no X-Kiln-Signature header"), "\(unsigned)")

            let otherSecret = try await fixture.post(body, signature: Webhook.timestampedSignature(of: body, secret: "not-the-secret", at: Date()), to: client)
            #expect(otherSecret.status == 401, "\(otherSecret)")

            // None was taken: the agent has no record of the app, and no deploy.
            let app = try await AgentFixture.object("/apps/shop", from: client)
            #expect(app["state"] as? String == "none" && (app["deploys"] as? [Any])?.isEmpty == true, "\(app)")
        }
    }

    @Test func aManifestSignedByAnUnknownOrARevokedKeyIsRefused() async throws {
        let scratch = try TestEnvironment.temporaryDirectory("keys")
        let stranger = try FarmKey.loadOrCreate(at: scratch.appendingPathComponent("stranger.key"))
        let fixture = try AgentFixture()
        try await Application(router: fixture.agent.router()).test(.router) { client in
            let unknown = try await fixture.post(try fixture.body(signedWith: stranger), to: client)
            #expect(unknown.status == 422 && unknown.body.contains("the manifest is signed by an unknown key: farm key \(stranger.publicKey.id)"), "\(unknown)")

            // A manifest signed with the pinned key's id but not by it: altered, or another farm's.
            var forged = try JSONSerialization.jsonObject(with: try fixture.body()) as! [String: Any]
            forged["manifest_signature"] = try stranger.sign(Data(base64Encoded: forged["manifest"] as! String)!).base64EncodedString()
            let invalid = try await fixture.post(try JSONSerialization.data(withJSONObject: forged), key: "b-2", to: client)
            #expect(invalid.status == 422 && invalid.body.contains("does not verify with the pinned farm keys"), "\(invalid)")

            let deploys = try await AgentFixture.object("/apps/shop/deploys?after=0", from: client)
            let outcomes = try #require(deploys["deploys"] as? [[String: Any]])
            #expect(outcomes.count == 2 && outcomes.allSatisfy { $0["outcome"] as? String == "refused" && $0["version"] as? Int == 1 }, "\(outcomes)")
        }

        let revoking = try AgentFixture(key: fixture.key, revoked: [FarmKeyRevocation(id: fixture.key.publicKey.id, reason: "leaked")])
        try await Application(router: revoking.agent.router()).test(.router) { client in
            let revoked = try await revoking.post(try revoking.body(), to: client)
            #expect(revoked.status == 422 && revoked.body.contains("which was revoked") && revoked.body.contains("(leaked)"), "\(revoked)")
        }
    }

    @Test func aTakenHandoffIsAnsweredAlreadyTakenAcrossRestartsAndItsFailureIsRecorded() async throws {
        let fixture = try AgentFixture()
        let body = try fixture.body()
        try await Application(router: fixture.agent.router()).test(.router) { client in
            let first = try await fixture.post(body, to: client)
            #expect(first.status == 202 && first.body.contains(#""status":"taken""#), "\(first)")
            let again = try await fixture.post(body, to: client)
            #expect(again.status == 200 && again.body.contains("already taken"), "\(again)")
            // Nothing listens where the slug is said to be: the deploy fails, and says why.
            let deploys = try await AgentFixture.object("/apps/shop/deploys?after=0&wait=60", from: client)
            let outcome = try #require((deploys["deploys"] as? [[String: Any]])?.first, "\(deploys)")
            #expect(outcome["outcome"] as? String == "failed" && (outcome["reason"] as? String)?.contains("the slug cannot be downloaded") == true, "\(outcome)")
            let app = try await AgentFixture.object("/apps/shop", from: client)
            #expect(app["state"] as? String == "none" && app["version"] is NSNull && app["port"] is Int, "\(app)")
        }
        await fixture.agent.deployers.shutdown()
        let restarted = try AgentFixture(directory: fixture.directory, key: fixture.key)
        try await Application(router: restarted.agent.router()).test(.router) { client in
            let resent = try await restarted.post(body, to: client)
            #expect(resent.status == 200 && resent.body.contains("already taken"), "\(resent)")
        }
    }
}
