import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
@testable import KilnAgent
import KilnProcess
import KilnSigning
import KilnSlug
import KilnTestSupport
import KilnWebhook
import Logging

/// A release agent in the test's process on a fresh directory, trusting one
/// farm key made for the test, and hand-offs signed as Kiln signs them.
struct AgentFixture: Sendable {
    static let secret = "release-agent-test-secret"
    /// The farm the agent is pinned to: nothing listens there, so a slug or config fetch fails.
    static let farm = "http://127.0.0.1:9"

    let directory: URL
    let key: FarmKey
    let agent: ReleaseAgent

    init(directory: URL? = nil, key: FarmKey? = nil, revoked: [FarmKeyRevocation] = []) throws {
        let directory = try directory ?? TestEnvironment.temporaryDirectory("agent")
        let key = try key ?? FarmKey.loadOrCreate(at: directory.appendingPathComponent("farm.key"))
        let trusted = TrustedFarmKeys([key.publicKey], revoked: revoked)
        var logger = Logger(label: "kiln-agent-test")
        logger.logLevel = .error
        // A stable port the kernel chose, not the default range: other programs on the host may hold those.
        let stable = try LoopbackPort.free()
        let configuration = AgentConfiguration(port: 0, secret: Self.secret, farm: Self.farm, appsDirectory: directory.appendingPathComponent("apps"),
                                               trustedKeys: { trusted }, portRange: stable...stable, bootTimeout: .seconds(20), drainTimeout: .seconds(5))
        self.directory = directory
        self.key = key
        agent = try ReleaseAgent(configuration: configuration, logger: logger)
    }

    /// A hand-off body of `app` vN whose slug is at `slugURL` (the farm's signed URL of it by default), its manifest
    /// signed with `key` (the fixture's by default), with `extra` fields (`config`, `status_url`) added.
    func body(app: String = "shop", version: Int = 1, slugURL: String? = nil, sha256: String = String(repeating: "ab", count: 32),
              signedWith signer: FarmKey? = nil, extra: [String: Any] = [:]) throws -> Data {
        let slugURL = slugURL ?? "\(Self.farm)/slugs/\(sha256)?expires=4102444800&signature=00"
        var manifest = SlugManifest(app: app, build: "b-\(version)", commit: nil, sha256: sha256, size: 1, format: "tar.zst",
                                    processTypes: ["web": "./run"], buildpacks: [], stack: "host", created: Date(timeIntervalSince1970: 1_733_000_000))
        let signer = signer ?? key
        manifest.keyID = signer.publicKey.id
        let bytes = try manifest.encoded()
        var object: [String: Any] = [
            "event": "release", "app": app, "version": version, "description": "Deploy b-\(version)",
            "slug": ["sha256": sha256, "size": 1, "url": slugURL],
            "manifest": bytes.base64EncodedString(), "manifest_signature": try signer.sign(bytes).base64EncodedString(),
            "process_types": ["web": "./run"],
        ]
        object.merge(extra) { $1 }
        return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    }

    /// POSTs `body` to the agent's `/releases` with `signature` (Kiln's, signed now, by default).
    func post(_ body: Data, signature: String?? = .none, key: String = "b-1", to client: some TestClientProtocol) async throws -> (status: Int, body: String) {
        var headers: HTTPFields = [.contentType: "application/json", HTTPField.Name("Idempotency-Key")!: key]
        let header = signature ?? Webhook.timestampedSignature(of: body, secret: Self.secret, at: Date())
        if let header { headers[HTTPField.Name("X-Kiln-Signature")!] = header }
        let response = try await client.execute(uri: "/releases", method: .post, headers: headers, body: ByteBuffer(bytes: body))
        return (Int(response.status.code), String(buffer: response.body))
    }

    /// The JSON object at `uri`.
    static func object(_ uri: String, from client: some TestClientProtocol) async throws -> [String: Any] {
        let response = try await client.execute(uri: uri, method: .get)
        guard let object = try JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8)) as? [String: Any] else {
            throw TestSetupError("\(uri) answered \(String(buffer: response.body))")
        }
        return object
    }
}
