import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
@testable import KilnAgent
import KilnTestSupport
import KilnWebhook
import Logging
import NIOCore
import Synchronization
import Testing

/// What binds a hand-off to its farm and its release: URLs of the pinned
/// farm only, versions taken once and in order, signed status reports that
/// name their release, and nothing recorded for a body the farm did not sign.
@Suite struct HandoffBindingTests {
    static let sha256 = String(repeating: "ab", count: 32)

    @Test func slugConfigAndStatusURLsMustBeThePinnedFarmsRoutesForTheRelease() async throws {
        let fixture = try AgentFixture()
        let farm = AgentFixture.farm
        let cases: [(field: String, extra: [String: Any], slugURL: String?)] = [
            ("slug.url", [:], "http://attacker.example/slugs/\(Self.sha256)?expires=1&signature=00"),
            ("slug.url", [:], "\(farm)/slugs/\(String(repeating: "cd", count: 32))?expires=1&signature=00"),
            ("slug.url", [:], "\(farm)/slugs/\(Self.sha256)"),
            ("config.url", ["config": ["version": 2, "url": "\(farm)/api/apps/other/config/versions/2?expires=1&signature=00"]], nil),
            ("config.url", ["config": ["version": 2, "url": "\(farm)/api/apps/shop/config/versions/3?expires=1&signature=00"]], nil),
            ("status_url", ["status_url": "\(farm)/api/apps/shop/releases/v2/status"], nil),
            ("status_url", ["status_url": "http://attacker.example/api/apps/shop/releases/v1/status"], nil),
        ]
        let bodies = try cases.map { (field: $0.field, body: try fixture.body(slugURL: $0.slugURL, extra: $0.extra)) }
        try await Application(router: fixture.agent.router()).test(.router) { client in
            for (index, refused) in bodies.enumerated() {
                let answer = try await fixture.post(refused.body, key: "pin-\(index)", to: client)
                #expect(answer.status == 422 && answer.body.contains("refused: \(refused.field) ") && answer.body.contains(#""code":"foreignURL""#),
                        "\(refused.field) \(index): \(answer)")
            }
            // Signed with the secret, so recorded; none was taken.
            let deploys = try await AgentFixture.object("/apps/shop/deploys?after=0", from: client)
            let outcomes = try #require(deploys["deploys"] as? [[String: Any]])
            #expect(outcomes.count == bodies.count && outcomes.allSatisfy { $0["outcome"] as? String == "refused" }, "\(outcomes)")
            #expect(fixture.agent.context.store.highestTaken("shop") == nil)

            // The farm's own routes are taken.
            let pinned = try fixture.body(extra: ["config": ["version": 2, "url": "\(farm)/api/apps/shop/config/versions/2?expires=1&signature=00"]])
            let taken = try await fixture.post(pinned, key: "pin-ok", to: client)
            #expect(taken.status == 202, "\(taken)")
            // Its deploy fails (nothing listens at the farm); the agent's work ends with the test.
            let ended = try await AgentFixture.object("/apps/shop/deploys?after=\(bodies.count)&wait=60", from: client)
            #expect((ended["deploys"] as? [[String: Any]])?.first?["outcome"] as? String == "failed", "\(ended)")
            await fixture.agent.deployers.shutdown()
        }
    }

    @Test func aVersionNotAboveTheHighestTakenIsAlreadyTakenUnderAnyKeyAndAcrossRestarts() async throws {
        let fixture = try AgentFixture()
        try await Application(router: fixture.agent.router()).test(.router) { client in
            let second = try await fixture.post(try fixture.body(version: 2), key: "k-2", to: client)
            #expect(second.status == 202, "\(second)")
            // Nothing listens at the farm: v2 fails, once.
            let failed = try await AgentFixture.object("/apps/shop/deploys?after=0&wait=60", from: client)
            #expect((failed["deploys"] as? [[String: Any]])?.first?["outcome"] as? String == "failed", "\(failed)")

            let older = try await fixture.post(try fixture.body(version: 1), key: "k-1", to: client)
            #expect(older.status == 200 && older.body.contains(#""status":"already taken""#)
                && older.body.contains("v1 is not newer than v2, which this agent has taken"), "\(older)")
            let replayed = try await fixture.post(try fixture.body(version: 2), key: "a-fresh-key", to: client)
            #expect(replayed.status == 200 && replayed.body.contains("v2 is not newer than v2, which this agent has taken"), "\(replayed)")

            // A body the farm did not sign writes nothing, even for an app the agent knows.
            let forged = try await fixture.post(try fixture.body(version: 9), signature: Webhook.timestampedSignature(of: Data("other".utf8),
                                                                                                                    secret: AgentFixture.secret, at: Date()),
                                                key: "k-9", to: client)
            #expect(forged.status == 401, "\(forged)")
            let unsigned = try await fixture.post(try fixture.body(version: 10), signature: .some(nil), key: "k-10", to: client)
            #expect(unsigned.status == 401, "\(unsigned)")

            // Neither deployed nor recorded: the only outcome is v2's failure.
            let after = try await AgentFixture.object("/apps/shop/deploys?after=1", from: client)
            #expect((after["deploys"] as? [Any])?.isEmpty == true, "\(after)")
            #expect(fixture.agent.context.store.highestTaken("shop") == 2)
        }
        await fixture.agent.deployers.shutdown()
        let restarted = try AgentFixture(directory: fixture.directory, key: fixture.key)
        try await Application(router: restarted.agent.router()).test(.router) { client in
            let resent = try await restarted.post(try restarted.body(version: 2), key: "yet-another-key", to: client)
            #expect(resent.status == 200 && resent.body.contains("v2 is not newer than v2"), "\(resent)")
        }
    }

    @Test func aStatusReportNamesItsAppAndReleaseAndIsSignedWithTheSecret() async throws {
        let received = Mutex<[(body: Data, signature: String?)]>([])
        let router = Router()
        router.post("api/apps/shop/releases/v3/status") { request, _ -> HTTPResponse.Status in
            var request = request
            let body = Data(try await request.collectBody(upTo: 1 << 16).readableBytesView)
            received.withLock { $0.append((body, request.headers[HTTPField.Name("X-Kiln-Signature")!])) }
            return .ok
        }
        let farm = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await farm.test(.live) { client in
            let port = try #require(client.port)
            var logger = Logger(label: "kiln-agent-test")
            logger.logLevel = .error
            let reporter = StatusReporter(secret: AgentFixture.secret, logger: logger)
            await reporter.report(.failed, reason: "web exited", to: "http://127.0.0.1:\(port)/api/apps/shop/releases/v3/status", app: "shop", version: 3)
        }
        let report = try #require(received.withLock { $0.first })
        let object = try #require(try JSONSerialization.jsonObject(with: report.body) as? [String: String])
        #expect(object == ["app": "shop", "release": "v3", "status": "failed", "reason": "web exited"], "\(object)")
        try Webhook.verify(header: report.signature, body: report.body, secret: AgentFixture.secret, now: Date())
    }

    @Test func theConfigAnswerMustBeOfTheAppAndVersionAskedFor() async throws {
        let router = Router()
        router.get("api/apps/shop/config/versions/:version") { _, context -> Response in
            let version = try context.parameters.require("version", as: Int.self)
            // Version 3 is answered as another app's, version 4 as another version: neither is taken.
            let app = version == 3 ? "other" : "shop"
            let text = #"{"app":"\#(app)","version":\#(version == 4 ? 5 : version),"vars":{"GREETING":"hi"}}"#
            return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        }
        let farm = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await farm.test(.live) { client in
            let base = "http://127.0.0.1:\(try #require(client.port))/api/apps/shop/config/versions"
            #expect(try await ReleaseFiles.configVars("\(base)/2?expires=1&signature=00", app: "shop", version: 2) == ["GREETING": "hi"])
            let otherApp = await #expect(throws: AgentError.self) { try await ReleaseFiles.configVars("\(base)/3", app: "shop", version: 3) }
            #expect(otherApp?.description == "the config URL answered other config v3, the hand-off names shop config v3", "\(String(describing: otherApp))")
            let otherVersion = await #expect(throws: AgentError.self) { try await ReleaseFiles.configVars("\(base)/4", app: "shop", version: 4) }
            #expect(otherVersion?.description == "the config URL answered shop config v5, the hand-off names shop config v4", "\(String(describing: otherVersion))")
        }
    }

    @Test func anImagesVariablesAreItsProcessEnvironmentNotItsArguments() {
        let command = Launcher(user: nil).imageCommand(rootfs: URL(fileURLWithPath: "/srv/rootfs"), argv: ["/bin/web"], workingDirectory: "/app",
                                                        imageEnvironment: ["PATH=/bin", "MODE=image"], environment: ["DATABASE_URL": "postgres://secret", "MODE": "config"])
        #expect(!command.arguments.contains { $0.contains("secret") || $0 == "--setenv" || $0 == "--clearenv" }, "\(command.arguments)")
        #expect(command.arguments.suffix(2) == ["--", "/bin/web"], "\(command.arguments)")
        #expect(!command.inheritEnvironment)
        #expect(command.environment == ["PATH": "/bin", "MODE": "config", "DATABASE_URL": "postgres://secret"], "\(command.environment)")
    }

    @Test func stateIsOwnerOnlyAndAnUnreadableStateStopsTheAgent() async throws {
        let fixture = try AgentFixture()
        _ = try fixture.agent.context.store.take(version: 1, of: "shop")
        let state = fixture.directory.appendingPathComponent("apps/state.json")
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: state.path)[.posixPermissions] as? Int)
        #expect(mode == 0o600, "\(String(mode, radix: 8))")
        let apps = try #require(try FileManager.default.attributesOfItem(atPath: fixture.directory.appendingPathComponent("apps").path)[.posixPermissions] as? Int)
        #expect(apps == 0o711, "\(String(apps, radix: 8))")

        let broken = try TestEnvironment.temporaryDirectory("agent")
        try FileManager.default.createDirectory(at: broken.appendingPathComponent("apps/state.json"), withIntermediateDirectories: true)
        let error = #expect(throws: AgentError.self) { try AgentFixture(directory: broken) }
        #expect(error?.description.contains(broken.appendingPathComponent("apps/state.json").path) == true, "\(String(describing: error))")
    }

    @Test func anUnpackedRootLosesSetuidBitsDevicesAndFifosAndNoLinkIsFollowed() throws {
        let root = try TestEnvironment.temporaryDirectory("rootfs")
        let outside = try TestEnvironment.temporaryDirectory("outside").appendingPathComponent("kept")
        try Data("outside".utf8).write(to: outside)
        #expect(chmod(outside.path, 0o4755) == 0)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("usr/bin"), withIntermediateDirectories: true)
        let su = root.appendingPathComponent("usr/bin/su")
        try Data("#!/bin/sh\n".utf8).write(to: su)
        #expect(chmod(su.path, 0o6755) == 0)
        #expect(chmod(root.appendingPathComponent("usr").path, 0o2775) == 0)
        #expect(mkfifo(root.appendingPathComponent("usr/fifo").path, 0o644) == 0)
        let device = root.appendingPathComponent("usr/null")
        let madeDevice = getuid() == 0 && mknod(device.path, mode_t(S_IFCHR) | 0o666, deviceNumber(1, 3)) == 0
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("usr/bin/link").path, withDestinationPath: outside.path)

        try OCIImage.sanitize(rootfs: root)

        func mode(_ url: URL) throws -> Int { try #require(try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int) }
        #expect(try mode(su) == 0o755)
        #expect(try mode(root.appendingPathComponent("usr")) == 0o775)
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("usr/fifo").path))
        if madeDevice { #expect(!FileManager.default.fileExists(atPath: device.path)) }
        #expect(try mode(outside) == 0o4755, "the link's target outside the root is left alone")
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: root.appendingPathComponent("usr/bin/link").path)) == outside.path)
    }
}

private func deviceNumber(_ major: UInt32, _ minor: UInt32) -> dev_t {
    dev_t((UInt64(major & 0xfff) << 8) | (UInt64(major & ~0xfff) << 32) | UInt64(minor & 0xff) | (UInt64(minor & ~0xff) << 12))
}
