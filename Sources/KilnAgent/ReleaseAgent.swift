import Foundation
import HTTPTypes
import Hummingbird
import KilnSandbox
import Logging
import NIOCore
import Synchronization

/// The reference release service (`kiln release-agent`): takes Kiln's
/// release hand-offs at `POST /releases`, checks them (X-Kiln-Signature, the
/// idempotency key, the version against the highest taken, the farm's
/// signature over the manifest, the URLs against the pinned farm), answers 202 and
/// deploys each app's releases one at a time behind the app's stable port,
/// reporting each outcome to the hand-off's `status_url`. `GET /apps/APP`
/// and `GET /apps/APP/deploys?after=N&wait=S` show what it did.
/// One host, no scaling, no TLS: docs/slug-protocol.md says what it is not.
public struct ReleaseAgent: Sendable {
    /// The largest hand-off body read.
    static let maxBody = 4 << 20
    /// The longest `wait` of a deploys long-poll, in seconds.
    static let maxWait = 120

    let context: AgentContext
    let check: HandoffCheck
    let taken: TakenKeys
    let deployers: Deployers

    /// Opens the agent's directory (made if need be) and its records. Throws
    /// when they cannot be read, or the run user does not exist (as root).
    public init(configuration: AgentConfiguration, logger: Logger) throws {
        let directory = configuration.appsDirectory
        // 0711: the run user traverses it for the sandbox's binds; no one else lists the apps.
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o711])
        guard chmod(directory.path, 0o711) == 0 else {
            throw AgentError("cannot make \(directory.path) mode 0711: \(String(cString: strerror(errno)))")
        }
        let user = getuid() == 0 ? try SandboxUser.named(configuration.runUser) : nil
        let store = try AgentStore(file: directory.appendingPathComponent("state.json"))
        context = AgentContext(configuration: configuration, store: store, launcher: Launcher(user: user),
                               reporter: StatusReporter(secret: configuration.secret, logger: logger), logger: logger)
        check = HandoffCheck(secret: configuration.secret, farm: configuration.farm, trustedKeys: configuration.trustedKeys)
        taken = try TakenKeys(file: directory.appendingPathComponent("taken-keys"))
        deployers = Deployers(context: context)
    }

    /// Starts every app's recorded current release again, serves until
    /// SIGTERM or SIGINT, then stops every app's process and stable port.
    public func run() async throws {
        for app in context.store.appNames {
            guard let current = context.store.record(app)?.current else { continue }
            await deployers.deployer(for: app).enqueue(.restart(current))
        }
        let configuration = context.configuration
        let application = Application(router: router(), configuration: .init(address: .hostname(configuration.host, port: configuration.port),
                                                                              serverName: "kiln-release-agent"),
                                      logger: context.logger)
        context.logger.info("release agent listening", metadata: ["address": "\(configuration.host):\(configuration.port)",
                                                                  "apps_dir": "\(configuration.appsDirectory.path)"])
        do {
            try await application.runService()
        } catch {
            await deployers.shutdown()
            throw error
        }
        await deployers.shutdown()
    }

    /// The agent's routes: hand-offs, the apps' state and their deploys, health.
    public func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.get("health") { _, _ in "ok\n" }
        router.post("releases") { request, _ in try await takeHandoff(request) }
        router.post("releases/**") { request, _ in try await takeHandoff(request) }
        router.get("apps/:app") { _, context in
            let app = try context.parameters.require("app")
            return try await json(status(of: app))
        }
        router.get("apps/:app/deploys") { request, context in
            let app = try context.parameters.require("app")
            guard Handoff.isAppName(app) else { return try json(["error": "\(app) is not an app name"], status: .notFound) }
            let query = request.uri.queryParameters
            let after = query["after"].flatMap { Int($0) } ?? 0
            let wait = min(max(query["wait"].flatMap { Int($0) } ?? 0, 0), Self.maxWait)
            if wait > 0, self.context.store.deploys(app, after: after).isEmpty {
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { await self.context.store.waitForDeploys(app, after: after) }
                    group.addTask { try? await Task.sleep(for: .seconds(wait)) }
                    await group.next()
                    group.cancelAll()
                }
            }
            let deploys = self.context.store.deploys(app, after: after)
            return try json(DeployList(app: app, after: after, count: self.context.store.count(app), deploys: deploys))
        }
        return router
    }

    /// What `GET /apps/APP` answers; an app the agent has never seen is `none` with no port.
    func status(of app: String) async throws -> AppStatus {
        guard Handoff.isAppName(app) else { throw HTTPError(.notFound, message: "\(app) is not an app name") }
        let record = context.store.record(app)
        let live = await deployers.existing(app)?.live
        return AppStatus(app: app, port: live?.port ?? record?.port, version: live?.running == true ? live?.version : nil,
                         state: live?.running == true ? "running" : "none", deploys: record?.deploys ?? [])
    }

    /// `POST /releases`: checks the hand-off, takes it (202) or says why not.
    func takeHandoff(_ request: Request) async throws -> Response {
        var request = request
        let body = Data(try await request.collectBody(upTo: Self.maxBody).readableBytesView)
        let header = request.headers[HTTPField.Name("X-Kiln-Signature")!]
        let logger = context.logger
        let handoff: Handoff
        do {
            handoff = try check.signed(body: body, header: header)
        } catch let error as HandoffRefusal {
            // Logged only: a body whose signature fails is not from the farm, and writes no state and wakes no long-poll.
            logger.warning("hand-off refused", metadata: ["reason": "\(error.message)"])
            return try refusal(error)
        }
        let key = request.headers[HTTPField.Name("Idempotency-Key")!] ?? "\(handoff.app)-v\(handoff.version)"
        guard TakenKeys.isUsable(key) else {
            return try refusal(HandoffRefusal(.malformedBody, "refused: Idempotency-Key \(key.prefix(80).debugDescription) is not printable ASCII of at most 200 bytes"))
        }
        var metadata: Logger.Metadata = ["app": "\(handoff.app)", "version": "v\(handoff.version)", "idempotency_key": "\(key)"]
        if taken.contains(key) {
            logger.info("hand-off already taken", metadata: metadata)
            return try json(["status": "already taken", "idempotency_key": key])
        }
        // The Idempotency-Key is not signed: a replay under a fresh one is caught by the signed version.
        if let highest = context.store.highestTaken(handoff.app), handoff.version <= highest {
            return try notNewer(handoff, than: highest, key: key, metadata: metadata)
        }
        let verified: HandoffCheck.Verified
        do {
            verified = try await check.manifest(of: handoff)
        } catch let error as HandoffRefusal {
            metadata["reason"] = "\(error.message)"
            logger.warning("hand-off refused", metadata: metadata)
            if error.code != .keysUnavailable {
                context.store.append(DeployRecord(version: handoff.version, outcome: .refused, reason: error.message), app: handoff.app)
            }
            return try refusal(error)
        }
        if let highest = try context.store.take(version: handoff.version, of: handoff.app) {
            return try notNewer(handoff, than: highest, key: key, metadata: metadata)
        }
        guard try taken.take(key) else {
            return try json(["status": "already taken", "idempotency_key": key])
        }
        logger.info("hand-off taken", metadata: metadata.merging(["kind": "\(handoff.hot != nil ? "hot" : handoff.slug != nil ? "slug" : "image")"]) { $1 })
        await deployers.deployer(for: handoff.app).enqueue(.handoff(verified))
        return try json(["status": "taken", "app": handoff.app, "version": "\(handoff.version)"], status: .accepted)
    }

    /// A signed hand-off of a version not above the highest taken: answered
    /// 200 "already taken", neither deployed nor recorded as an outcome.
    func notNewer(_ handoff: Handoff, than highest: Int, key: String, metadata: Logger.Metadata) throws -> Response {
        let reason = "v\(handoff.version) is not newer than v\(highest), which this agent has taken"
        context.logger.info("hand-off already taken", metadata: metadata.merging(["reason": "\(reason)"]) { $1 })
        return try json(["status": "already taken", "app": handoff.app, "version": "\(handoff.version)", "reason": reason, "idempotency_key": key])
    }

    func refusal(_ refusal: HandoffRefusal) throws -> Response {
        try json(["error": refusal.message, "code": refusal.code.rawValue], status: HTTPResponse.Status(code: refusal.status))
    }

    func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: try encoder.encode(value) + Data("\n".utf8))))
    }
}

/// Every app's deployer, made on first use.
final class Deployers: Sendable {
    private let context: AgentContext
    private let deployers = Mutex<[String: AppDeployer]>([:])

    init(context: AgentContext) { self.context = context }

    func deployer(for app: String) -> AppDeployer {
        deployers.withLock { deployers in
            if let existing = deployers[app] { return existing }
            let made = AppDeployer(app: app, context: context)
            deployers[app] = made
            return made
        }
    }

    func existing(_ app: String) -> AppDeployer? {
        deployers.withLock { $0[app] }
    }

    func shutdown() async {
        for deployer in deployers.withLock({ Array($0.values) }) {
            await deployer.shutdown()
        }
    }
}
